/* angoractl's watch: a run followed live until it ends, over angorad's websocket stream when it
 * serves one and by polling the REST series otherwise, shown as a progress bar to the step
 * budget, a status line and a text chart of the curve, then a summary. */
#include "ctl.h"

#include "ag_dtoa.h"
#include "ag_error.h"
#include "ag_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define WATCH_PAGE       1000
#define WATCH_SERIES_CAP 65536

/* one watch: what it shows and how it ends */
typedef struct WatchRun {
    CtlCtx *x;
    CtlSeries series;
    json_t *last_row;
    json_t *eval_row; /* the latest row with an evaluation (eval_return), or NULL */
    int64_t last_seq;
    const char *key;
    int64_t id;
    json_t *exp;
    char state[32];
    long long budget;
    double t0, limit_s;
    int tty;
    int got; /* rows since the last update was shown */
    int timed_out;
} WatchRun;

int ctl_series_init(CtlSeries *s, size_t cap) {
    memset(s, 0, sizeof(*s));
    if (cap < 2 || cap % 2) {
        return AG_EINVAL;
    }
    s->ys = malloc(cap * sizeof(*s->ys));
    if (!s->ys) {
        return AG_ENOMEM;
    }
    s->cap = cap;
    s->stride = 1;
    s->best = NAN;
    return 0;
}

int ctl_metric_lower_is_better(const char *key) {
    static const char *const lower[] = {"loss", "error", "rmse",      "_deg",    "_mm",
                                        "dist", "drop",  "approx_kl", "unstable"};
    for (size_t i = 0; key && i < sizeof(lower) / sizeof(lower[0]); i++) {
        if (strstr(key, lower[i])) {
            return 1;
        }
    }
    return 0;
}

void ctl_series_add(CtlSeries *s, double y) {
    s->seen++;
    if (isfinite(y) && (!isfinite(s->best) || (s->lower_is_better ? y < s->best : y > s->best))) {
        s->best = y;
    }
    if (++s->skipped < s->stride) {
        return;
    }
    s->skipped = 0;
    if (s->n == s->cap) {
        for (size_t i = 0; i < s->n / 2; i++) {
            s->ys[i] = s->ys[2 * i + 1];
        }
        s->n /= 2;
        s->stride *= 2;
    }
    s->ys[s->n++] = y;
}

void ctl_series_reset(CtlSeries *s) {
    s->n = 0;
    s->stride = 1;
    s->skipped = 0;
    s->best = NAN;
    s->seen = 0;
}

void ctl_series_free(CtlSeries *s) {
    free(s->ys);
    memset(s, 0, sizeof(*s));
}

static int term_width(CtlCtx *x) {
    struct winsize ws;
    if (ioctl(fileno(x->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) {
        return ws.ws_col;
    }
    return 80;
}

static double row_num(const json_t *row, const char *key) {
    json_t *v = json_object_get(row, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

void ctl_watch_line(const json_t *row, const char *key, double best, long long budget, char *out,
                    size_t out_sz) {
    double steps = row_num(row, "env_steps"), y = row_num(row, key);
    double succ = row_num(row, "success_rate");
    double goals = row_num(row, "consecutive_goals_mean");
    size_t pos = (size_t)snprintf(out, out_sz, "iteration %.0f", row_num(row, "iteration"));
    /* a row without environment steps (a pretraining's epoch) shows none */
    if (isfinite(steps) && pos < out_sz) {
        pos += (size_t)snprintf(out + pos, out_sz - pos, "  steps %.0f", steps);
    }
    if (isfinite(steps) && budget > 0 && pos < out_sz) {
        pos += (size_t)snprintf(out + pos, out_sz - pos, "/%lld", budget);
    }
    if (pos < out_sz) {
        pos += (size_t)snprintf(out + pos, out_sz - pos, "  %s %.4g (best %.4g)", key, y, best);
    }
    if (isfinite(succ) && pos < out_sz) {
        pos += (size_t)snprintf(out + pos, out_sz - pos, "  success %.3f", succ);
    }
    if (isfinite(goals) && pos < out_sz) {
        snprintf(out + pos, out_sz - pos, "  consecutive goals %.2f", goals);
    }
}

void ctl_watch_pace_line(const json_t *row, long long budget, const json_t *eval_row, char *out,
                         size_t out_sz) {
    double rate, eta = ctl_pace_eta(row_num(row, "env_steps"), row_num(row, "wall_s"),
                                    (double)budget, &rate);
    double eval = row_num(eval_row, "eval_return");
    char r[16] = "-", left[32];
    size_t pos;
    if (isfinite(rate)) {
        ctl_format_count(rate, r, sizeof(r));
    }
    ctl_format_duration(eta, left, sizeof(left));
    pos = (size_t)snprintf(out, out_sz, "%s steps/s  ETA %s", r, left);
    if (pos >= out_sz) {
        return;
    }
    if (isfinite(eval)) {
        snprintf(out + pos, out_sz - pos, "  eval %.4g (iteration %.0f)", eval,
                 row_num(eval_row, "iteration"));
    } else {
        snprintf(out + pos, out_sz - pos, "  eval -");
    }
}

static void watch_draw(WatchRun *wr) {
    char line[512], bar[160], chart[64 * 1024], dur[32];
    CtlCtx *x = wr->x;
    int width = term_width(x), cw = width - 14;
    double steps = row_num(wr->last_row, "env_steps");
    if (cw > 200) {
        cw = 200;
    }
    ctl_format_duration(ag_time_now() - wr->t0, dur, sizeof(dur));
    fputs("\033[H\033[2J", x->out);
    fprintf(x->out, "experiment %lld \"%s\" (%s): %s, watching for %s\n", (long long)wr->id,
            ctl_jstr(wr->exp, "name"), ctl_jstr(wr->exp, "task"), wr->state, dur);
    ctl_progress_bar(wr->budget > 0 && isfinite(steps) ? steps / (double)wr->budget : 0, width - 12,
                     bar, sizeof(bar));
    fprintf(x->out, "%s\n", bar);
    if (wr->last_row) {
        ctl_watch_line(wr->last_row, wr->key, wr->series.best, wr->budget, line, sizeof(line));
        fprintf(x->out, "%s\n", line);
        ctl_watch_pace_line(wr->last_row, wr->budget, wr->eval_row, line, sizeof(line));
        fprintf(x->out, "%s\n\n", line);
    } else {
        fprintf(x->out, "no metric rows yet\n\n");
    }
    if (ctl_chart_render(wr->series.ys, wr->series.n, cw, 12, chart, sizeof(chart)) == 0) {
        fprintf(x->out, "%s\n", chart);
    }
    fprintf(x->out, "%*s%s over %lld rows\n", 13, "", wr->key, wr->series.seen);
}

/* the latest state on screen: a redraw on a terminal, else a line when rows came in */
static void watch_show(WatchRun *wr) {
    if (wr->tty) {
        watch_draw(wr);
    } else if (!wr->x->args->json && wr->got && wr->last_row) {
        char bar[64], line[512], pace[128];
        double steps = row_num(wr->last_row, "env_steps");
        ctl_progress_bar(wr->budget > 0 ? steps / (double)wr->budget : 0, 20, bar, sizeof(bar));
        ctl_watch_line(wr->last_row, wr->key, wr->series.best, wr->budget, line, sizeof(line));
        ctl_watch_pace_line(wr->last_row, wr->budget, wr->eval_row, pace, sizeof(pace));
        fprintf(wr->x->out, "%s  %s  %s\n", bar, line, pace);
    }
    wr->got = 0;
    fflush(wr->x->out);
}

/* one line of --json output; takes ev */
static void watch_event(WatchRun *wr, json_t *ev) {
    char *text = ag_dtoa_json_dumps(ev, 0);
    fprintf(wr->x->out, "%s\n", text ? text : "null");
    free(text);
    json_decref(ev);
}

static void watch_row(WatchRun *wr, int64_t seq, json_t *row) {
    wr->last_seq = seq;
    wr->got++;
    ctl_series_add(&wr->series, row_num(row, wr->key));
    json_decref(wr->last_row);
    wr->last_row = json_incref(row);
    /* evaluations come every few iterations: the latest one stays on screen */
    if (isfinite(row_num(row, "eval_return"))) {
        json_decref(wr->eval_row);
        wr->eval_row = json_incref(row);
    }
    if (wr->x->args->json) {
        watch_event(wr,
                    json_pack("{s:s,s:I,s:O}", "event", "row", "seq", (json_int_t)seq, "row", row));
    }
}

/* records a state; nonzero when the run has ended (paused counts: it may never come back) */
static int watch_state(WatchRun *wr, const char *state) {
    if (strcmp(wr->state, state) != 0) {
        snprintf(wr->state, sizeof(wr->state), "%s", state);
        if (wr->x->args->json) {
            watch_event(wr, json_pack("{s:s,s:s}", "event", "state", "state", state));
        } else if (!wr->tty) {
            fprintf(wr->x->out, "state %s\n", state);
        }
    }
    return ctl_state_final(state) || !strcmp(state, "paused");
}

static int watch_timed_out(WatchRun *wr) {
    if (wr->limit_s > 0 && ag_time_now() - wr->t0 > wr->limit_s) {
        wr->timed_out = 1;
    }
    return wr->timed_out;
}

/* reads every row after the last seq seen; returns 0 or an exit code */
static int watch_fetch(WatchRun *wr) {
    char path[256];
    for (;;) {
        CtlResponse r;
        json_t *rows, *v;
        size_t i, n;
        int code;
        snprintf(path, sizeof(path),
                 "/api/v1/experiments/%lld/metrics/export?format=json&after_seq=%lld&limit=%d",
                 (long long)wr->id, (long long)wr->last_seq, WATCH_PAGE);
        if ((code = ctl_api_call(wr->x, "GET", path, NULL, &r))) {
            return code;
        }
        rows = json_object_get(r.json, "rows");
        n = json_array_size(rows);
        json_array_foreach(rows, i, v) {
            watch_row(wr, json_integer_value(json_object_get(v, "seq")), json_object_get(v, "row"));
        }
        ctl_response_free(&r);
        if (n < WATCH_PAGE) {
            return 0;
        }
    }
}

/* the experiment afresh, then its new rows, shown; *ended when the run has ended. The state
 * comes first: a run seen ended has all its rows stored. Returns 0 or an exit code. */
static int watch_poll(WatchRun *wr, int *ended) {
    int code;
    json_decref(wr->exp);
    wr->exp = NULL;
    if ((code = ctl_exp_get(wr->x, wr->id, &wr->exp)) || (code = watch_fetch(wr))) {
        return code;
    }
    *ended = watch_state(wr, ctl_jstr(wr->exp, "state"));
    watch_show(wr);
    return 0;
}

/* ---- the websocket side of watch ---- */

static void ws_on_row(void *ud, int64_t seq, json_t *row) {
    watch_row(ud, seq, row);
}

static int ws_on_state(void *ud, const char *state) {
    return watch_state(ud, state);
}

static void ws_on_resync(void *ud) {
    WatchRun *wr = ud;
    ctl_series_reset(&wr->series);
    wr->last_seq = 0;
}

static int ws_on_tick(void *ud) {
    watch_show(ud);
    return watch_timed_out(ud);
}

/* the stream's port from /api/v1/info, 0 when there is none */
static int watch_ws_port(CtlCtx *x) {
    CtlResponse r;
    char err[256];
    int port = 0;
    if (ctl_args_has(x->args, "poll")) {
        return 0;
    }
    if (ctl_http_request(&x->cfg, "GET", "/api/v1/info", NULL, 0, &r, err, sizeof(err)) == 0 &&
        r.status == 200) {
        port = (int)json_integer_value(json_object_get(r.json, "websocket_port"));
    }
    ctl_response_free(&r);
    return port;
}

int ctl_cmd_watch(CtlCtx *x) {
    static const CtlWsHandlers handlers = {ws_on_row, ws_on_state, ws_on_resync, ws_on_tick};
    WatchRun wr;
    double interval;
    char line[512], dur[32], err[1024];
    int code, ws_port, ended = 0;
    memset(&wr, 0, sizeof(wr));
    wr.x = x;
    wr.t0 = ag_time_now();
    wr.tty = isatty(fileno(x->out)) && !x->args->json;
    wr.key = ctl_args_get(x->args, "key") ? ctl_args_get(x->args, "key") : "return_mean";
    if ((code = ctl_id_arg(x, &wr.id))) {
        return code;
    }
    if ((code = ctl_seconds_opt(x, "interval", 1.0, 0.05, 3600, &interval)) ||
        (code = ctl_seconds_opt(x, "timeout-run", 0, 0, 1e9, &wr.limit_s))) {
        return code;
    }
    if (ctl_series_init(&wr.series, WATCH_SERIES_CAP) != 0) {
        return ctl_say(x, CTL_EXIT_OTHER, "out of memory");
    }
    wr.series.lower_is_better = ctl_metric_lower_is_better(wr.key);
    if ((code = ctl_exp_get(x, wr.id, &wr.exp))) {
        goto out;
    }
    wr.budget = json_integer_value(
        json_object_get(json_object_get(json_object_get(wr.exp, "spec"), "budget"), "env_steps"));
    if (!wr.tty && !x->args->json) {
        if (wr.budget > 0) {
            fprintf(x->out, "watching experiment %lld \"%s\" (%s), budget %lld steps\n",
                    (long long)wr.id, ctl_jstr(wr.exp, "name"), ctl_jstr(wr.exp, "task"),
                    wr.budget);
        } else {
            fprintf(x->out, "watching experiment %lld \"%s\" (%s), no step budget\n",
                    (long long)wr.id, ctl_jstr(wr.exp, "name"), ctl_jstr(wr.exp, "task"));
        }
    }
    /* live over the websocket when the server streams, else (or if it fails) by polling */
    ws_port = watch_ws_port(x);
    if (ws_port > 0) {
        int rc = ctl_ws_follow(&x->cfg, ws_port, wr.id, wr.last_seq, &handlers, &wr, interval, err,
                               sizeof(err));
        if (rc == 0 && !wr.timed_out) {
            ended = 1;
        } else if (rc) {
            ctl_note(x, "note", "%s; following by polling instead", err);
        }
    }
    while (!ended && !wr.timed_out) {
        if ((code = watch_poll(&wr, &ended))) {
            goto out;
        }
        if (ended || watch_timed_out(&wr)) {
            break;
        }
        ag_time_sleep(interval);
    }
    if (wr.timed_out) {
        code = ctl_say(x, CTL_EXIT_OTHER, "experiment %lld still %s after %.0f s", (long long)wr.id,
                       wr.state, wr.limit_s);
        goto out;
    }
    /* the final experiment and any row the stream had not sent yet */
    if ((code = watch_poll(&wr, &ended))) {
        goto out;
    }
    /* the summary */
    {
        double started = json_number_value(json_object_get(wr.exp, "started_at"));
        double finished = json_number_value(json_object_get(wr.exp, "finished_at"));
        code = !strcmp(wr.state, "succeeded") || !strcmp(wr.state, "paused") ? CTL_EXIT_OK
                                                                             : CTL_EXIT_OTHER;
        if (x->args->json) {
            watch_event(&wr, json_pack("{s:s,s:O,s:I,s:O}", "event", "end", "experiment", wr.exp,
                                       "rows", (json_int_t)wr.series.seen, "last_row",
                                       wr.last_row ? wr.last_row : json_null()));
            goto out;
        }
        ctl_format_duration(started > 0 && finished >= started ? finished - started : NAN, dur,
                            sizeof(dur));
        fprintf(x->out, "experiment %lld %s after %lld metric rows in %s\n", (long long)wr.id,
                wr.state, wr.series.seen, dur);
        if (wr.last_row) {
            ctl_watch_line(wr.last_row, wr.key, wr.series.best, wr.budget, line, sizeof(line));
            fprintf(x->out, "final: %s\n", line);
            ctl_watch_pace_line(wr.last_row, wr.budget, wr.eval_row, line, sizeof(line));
            fprintf(x->out, "pace: %s\n", line);
        }
        if (*ctl_jstr(wr.exp, "error")) {
            fprintf(x->out, "error: %s\n", ctl_jstr(wr.exp, "error"));
        }
    }
out:
    json_decref(wr.eval_row);
    json_decref(wr.last_row);
    json_decref(wr.exp);
    ctl_series_free(&wr.series);
    return code;
}
