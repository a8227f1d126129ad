/* angoractl's output for people: aligned tables, durations, times, sizes, a progress bar and a
 * small text chart of a learning curve. */
#include "ctl.h"

#include "ag_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ctl_table_init(CtlTable *t, int ncols, const char *const *headers) {
    memset(t, 0, sizeof(*t));
    if (ncols <= 0 || ncols > CTL_TABLE_MAX_COLS) {
        return AG_EINVAL;
    }
    t->ncols = ncols;
    for (int i = 0; i < ncols; i++) {
        t->headers[i] = headers[i];
    }
    t->max_width = 40;
    return 0;
}

int ctl_table_add(CtlTable *t, const char *const *cells) {
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **n = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*n));
        if (!n) {
            return AG_ENOMEM;
        }
        t->cells = n;
        t->cap = cap;
    }
    for (int i = 0; i < t->ncols; i++) {
        char *c = strdup(cells[i] ? cells[i] : "");
        if (!c) {
            for (int j = 0; j < i; j++) {
                free(t->cells[t->nrows * (size_t)t->ncols + (size_t)j]);
            }
            return AG_ENOMEM;
        }
        t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = c;
    }
    t->nrows++;
    return 0;
}

static int is_number(const char *s) {
    char *end;
    if (!*s || !strcmp(s, "-")) {
        return -1; /* neutral */
    }
    strtod(s, &end);
    return *end == '\0';
}

static size_t cell_width(const CtlTable *t, const char *s) {
    size_t n = strlen(s);
    return t->max_width > 0 && n > (size_t)t->max_width ? (size_t)t->max_width : n;
}

static void cell_print(const CtlTable *t, FILE *f, const char *s, size_t width, int right,
                       int last) {
    size_t n = strlen(s);
    if (t->max_width > 0 && n > (size_t)t->max_width) {
        fprintf(f, "%.*s...", t->max_width - 3, s);
        n = (size_t)t->max_width;
    } else if (right) {
        fprintf(f, "%*s", (int)width, s);
        n = width;
    } else {
        fputs(s, f);
    }
    if (!last) {
        fprintf(f, "%*s", (int)(width - n + 2), "");
    }
}

void ctl_table_print(const CtlTable *t, FILE *f) {
    size_t width[CTL_TABLE_MAX_COLS];
    int right[CTL_TABLE_MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        int numeric = 0, text = 0;
        width[c] = strlen(t->headers[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
            size_t w = cell_width(t, s);
            int k = is_number(s);
            if (w > width[c]) {
                width[c] = w;
            }
            numeric += k == 1;
            text += k == 0;
        }
        right[c] = t->right[c] || (numeric > 0 && text == 0);
    }
    for (int c = 0; c < t->ncols; c++) {
        cell_print(t, f, t->headers[c], width[c], right[c], c == t->ncols - 1);
    }
    fputc('\n', f);
    for (size_t r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            cell_print(t, f, t->cells[r * (size_t)t->ncols + (size_t)c], width[c], right[c],
                       c == t->ncols - 1);
        }
        fputc('\n', f);
    }
}

void ctl_table_free(CtlTable *t) {
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

void ctl_format_duration(double s, char *out, size_t out_sz) {
    long long whole;
    if (!isfinite(s) || s < 0) {
        snprintf(out, out_sz, "-");
        return;
    }
    if (s < 60) {
        snprintf(out, out_sz, "%.1fs", s);
        return;
    }
    whole = (long long)(s + 0.5);
    if (whole < 3600) {
        snprintf(out, out_sz, "%lldm%02llds", whole / 60, whole % 60);
    } else if (whole < 86400) {
        snprintf(out, out_sz, "%lldh%02lldm", whole / 3600, (whole % 3600) / 60);
    } else {
        snprintf(out, out_sz, "%lldd%02lldh", whole / 86400, (whole % 86400) / 3600);
    }
}

void ctl_format_time(double epoch, char *out, size_t out_sz) {
    time_t t = (time_t)epoch;
    struct tm tm;
    if (!(epoch > 0) || !gmtime_r(&t, &tm)) {
        snprintf(out, out_sz, "-");
        return;
    }
    strftime(out, out_sz, "%Y-%m-%d %H:%M:%S", &tm);
}

void ctl_format_bytes(double b, char *out, size_t out_sz) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    if (!(b >= 0)) {
        snprintf(out, out_sz, "-");
        return;
    }
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    if (u == 0) {
        snprintf(out, out_sz, "%.0f B", b);
    } else {
        snprintf(out, out_sz, "%.1f %s", b, units[u]);
    }
}

void ctl_format_json(const json_t *v, char *out, size_t out_sz) {
    if (json_is_string(v)) {
        snprintf(out, out_sz, "%s", json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(out, out_sz, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(out, out_sz, "%.6g", json_real_value(v));
    } else if (json_is_true(v)) {
        snprintf(out, out_sz, "yes");
    } else if (json_is_false(v)) {
        snprintf(out, out_sz, "no");
    } else if (!v || json_is_null(v)) {
        snprintf(out, out_sz, "-");
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, out_sz, "%s", s ? s : "?");
        free(s);
    }
}

void ctl_progress_bar(double frac, int width, char *out, size_t out_sz) {
    size_t pos = 0;
    int fill;
    if (!(frac >= 0)) {
        frac = 0;
    }
    if (frac > 1) {
        frac = 1;
    }
    if (width < 1) {
        width = 1;
    }
    fill = (int)(frac * width + 1e-9);
    if (out_sz < (size_t)width + 12) {
        snprintf(out, out_sz, "%5.1f%%", frac * 100);
        return;
    }
    out[pos++] = '[';
    for (int i = 0; i < width; i++) {
        out[pos++] = i < fill ? '#' : '-';
    }
    out[pos++] = ']';
    snprintf(out + pos, out_sz - pos, " %5.1f%%", frac * 100);
}

int ctl_chart_render(const double *ys, size_t n, int width, int height, char *out, size_t out_sz) {
    double lo = INFINITY, hi = -INFINITY;
    size_t pos = 0, need;
    int label = 10;
    if (width < 2 || height < 2 || width > 1000 || height > 200 || out_sz == 0) {
        return AG_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ys[i])) {
            continue;
        }
        lo = ys[i] < lo ? ys[i] : lo;
        hi = ys[i] > hi ? ys[i] : hi;
    }
    if (!(lo <= hi)) {
        if (out_sz < 10) {
            return AG_ETOOBIG;
        }
        snprintf(out, out_sz, "(no data)");
        return 0;
    }
    need = (size_t)height * ((size_t)label + 3 + (size_t)width + 1) + 1;
    if (out_sz < need) {
        return AG_ETOOBIG;
    }
    if (hi == lo) {
        hi += 0.5;
        lo -= 0.5;
    }
    for (int row = 0; row < height; row++) {
        /* the band of y values this row stands for, top row highest */
        double top = hi - (hi - lo) * row / height;
        double bottom = hi - (hi - lo) * (row + 1) / height;
        if (row == 0 || row == height - 1 || row == height / 2) {
            pos += (size_t)snprintf(out + pos, out_sz - pos, "%*.4g |", label,
                                    row == height - 1 ? lo
                                    : row == 0        ? hi
                                                      : (top + bottom) / 2);
        } else {
            pos += (size_t)snprintf(out + pos, out_sz - pos, "%*s |", label, "");
        }
        for (int col = 0; col < width; col++) {
            /* points falling in this column: the mean of the column's points */
            size_t a = n * (size_t)col / (size_t)width, b = n * (size_t)(col + 1) / (size_t)width;
            double sum = 0;
            int cnt = 0;
            char ch = ' ';
            if (b == a && a < n) {
                b = a + 1;
            }
            if (n < (size_t)width) {
                /* fewer points than columns: each point is stretched over its columns */
                a = n * (size_t)col / (size_t)width;
                b = a + 1;
            }
            for (size_t i = a; i < b && i < n; i++) {
                if (isfinite(ys[i])) {
                    sum += ys[i];
                    cnt++;
                }
            }
            if (cnt) {
                double y = sum / cnt;
                if ((y <= top && y > bottom) || (row == height - 1 && y <= top) ||
                    (row == 0 && y > top)) {
                    ch = '*';
                } else if (y <= bottom) {
                    ch = ' ';
                }
            }
            out[pos++] = ch;
        }
        out[pos++] = '\n';
    }
    out[pos ? pos - 1 : 0] = '\0';
    return 0;
}

void ctl_format_count(double n, char *out, size_t out_sz) {
    static const char *const units[] = {"", "k", "M", "G", "T"};
    int u = 0;
    if (!isfinite(n) || n < 0) {
        snprintf(out, out_sz, "-");
        return;
    }
    while (n >= 999.95 && u < 4) {
        n /= 1000;
        u++;
    }
    if (u == 0) {
        snprintf(out, out_sz, "%.0f", n);
    } else {
        /* "1.5k" but "150k": three significant digits at most */
        snprintf(out, out_sz, n < 99.95 ? "%.3g%s" : "%.0f%s", n, units[u]);
    }
}

/* a number member, NaN when absent or null */
static double member(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

void ctl_pace_format(const json_t *exp, CtlPace *p) {
    double steps = member(exp, "latest_env_steps"), budget = member(exp, "budget_env_steps");
    double ret = member(exp, "latest_return"), rate = member(exp, "steps_per_s");
    char done[16], total[16];
    if (!isfinite(budget)) {
        budget = member(json_object_get(json_object_get(exp, "spec"), "budget"), "env_steps");
    }
    ctl_format_count(isfinite(steps) ? steps : 0, done, sizeof(done));
    ctl_format_count(budget, total, sizeof(total));
    if (budget > 0) {
        double frac = (isfinite(steps) ? steps : 0) / budget;
        snprintf(p->progress, sizeof(p->progress), "%s/%s %.0f%%", done, total,
                 floor((frac > 1 ? 1 : frac) * 100));
    } else {
        snprintf(p->progress, sizeof(p->progress), "-");
    }
    if (isfinite(ret)) {
        snprintf(p->ret, sizeof(p->ret), "%.4g", ret);
    } else {
        snprintf(p->ret, sizeof(p->ret), "-");
    }
    if (isfinite(rate)) {
        snprintf(p->rate, sizeof(p->rate), "%.0f", rate);
    } else {
        snprintf(p->rate, sizeof(p->rate), "-");
    }
    ctl_format_duration(member(exp, "duration_s"), p->duration, sizeof(p->duration));
    ctl_format_duration(member(exp, "eta_s"), p->eta, sizeof(p->eta));
}

double ctl_pace_eta(double steps, double wall_s, double budget, double *rate) {
    *rate = steps > 0 && wall_s > 0 ? steps / wall_s : NAN;
    if (!(*rate > 0) || !(budget > 0)) {
        return NAN;
    }
    return budget > steps ? (budget - steps) / *rate : 0;
}
