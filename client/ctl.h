/* angoractl internals: command-line parsing, address and token discovery, HTTP over libcurl,
 * exit codes, tables and terminal charts, and the commands themselves. main.c only strings
 * them together; the unit tests call the pieces directly.
 *
 * DESIGN
 * Every command is a row of one table (ctl_commands) giving its synopsis, help, positional
 * arguments and options, so parsing, --help and the man page agree. A command returns an exit
 * code (CTL_EXIT_*), never calls exit(), and prints its errors as "angoractl: ..." on stderr;
 * its normal output goes to stdout, as a table for people or as JSON with --json. */
#ifndef CTL_H
#define CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- exit codes (ctl_exit.c) ---- */

typedef enum CtlExit {
    CTL_EXIT_OK = 0,
    CTL_EXIT_OTHER = 1,       /* server error, failed run, local I/O error */
    CTL_EXIT_USAGE = 2,       /* bad command line or client configuration */
    CTL_EXIT_NOTFOUND = 3,    /* unknown experiment, checkpoint, token or route */
    CTL_EXIT_AUTH = 4,        /* missing, unknown, revoked or read-only token */
    CTL_EXIT_UNREACHABLE = 5, /* no answer from angorad */
    CTL_EXIT_REJECTED = 6     /* invalid spec or a request the server refused */
} CtlExit;

/* exit code of an HTTP status (2xx gives CTL_EXIT_OK) */
int ctl_exit_of_status(long status);
/* exit code of an AG_E* code from local work (spec checks, files) */
int ctl_exit_of_error(int code);
/* "usage", "not found", ... */
const char *ctl_exit_name(int code);
/* a problem+json (or any) error body as one line for people:
 * "not found: no experiment 99" or "invalid experiment spec: ppo.lr: ... (field ppo.lr)" */
void ctl_problem_format(long status, const char *body, size_t len, char *out, size_t out_sz);

/* ---- command line (ctl_args.c) ---- */

#define CTL_MAX_POS  8
#define CTL_MAX_OPTS 48

typedef struct CtlOptDef {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 when none */
    int has_value;
    int repeatable;
    const char *help;
} CtlOptDef;

typedef struct CtlCommandDef {
    const char *name;
    const char *synopsis; /* arguments after the name */
    const char *summary;
    int min_pos, max_pos;
    const CtlOptDef *opts; /* terminated by a NULL name; may be NULL */
    const char *help;      /* further explanation for --help */
} CtlCommandDef;

/* a command for scripts (its name starts with "__", like __complete): not listed or suggested */
#define CTL_COMMAND_HIDDEN(c) ((c)->name[0] == '_' && (c)->name[1] == '_')

typedef struct CtlOpt {
    const char *name; /* the definition's name */
    const char *value;
} CtlOpt;

typedef struct CtlArgs {
    const CtlCommandDef *cmd; /* NULL when only global options were given */
    int npos;
    const char *pos[CTL_MAX_POS];
    int nopts;
    CtlOpt opts[CTL_MAX_OPTS];
    /* global options */
    const char *url;
    const char *token;
    const char *token_file;
    const char *data_dir;
    const char *config;
    const char *timeout; /* seconds, checked by ctl_config_resolve */
    int json;
    int help;
    int version;
} CtlArgs;

/* the command table, terminated by a NULL name */
extern const CtlCommandDef ctl_commands[];
extern const CtlOptDef ctl_global_opts[];

const CtlCommandDef *ctl_command_find(const char *name);
/* parses argv[1..]; global options may appear anywhere; "--opt=value" and "--opt value" both
 * work; "--" ends the options. Returns AG_EINVAL with a message on any usage error. With
 * --help the positional count is not checked. */
int ctl_args_parse(int argc, char *const *argv, CtlArgs *a, char *err, size_t err_sz);
/* last value of an option (NULL when absent; "" for a flag that is present) */
const char *ctl_args_get(const CtlArgs *a, const char *name);
int ctl_args_has(const CtlArgs *a, const char *name);
/* the i-th value of a repeatable option (NULL past the end) */
const char *ctl_args_nth(const CtlArgs *a, const char *name, int i);
/* an integer option in [min, max], def when absent; AG_EINVAL with a message otherwise */
int ctl_args_get_int(const CtlArgs *a, const char *name, long long def, long long min,
                     long long max, long long *out, char *err, size_t err_sz);
/* a positive experiment (or token) id from a positional argument */
int ctl_parse_id(const char *s, const char *what, int64_t *out, char *err, size_t err_sz);
/* general help (cmd NULL) or one command's help */
void ctl_usage_print(FILE *f, const CtlCommandDef *cmd);

/* ---- address and token (ctl_config.c) ---- */

#define CTL_URL_MAX   512
#define CTL_TOKEN_MAX 256
#define CTL_PATH_MAX  1024

typedef struct CtlConfig {
    char url[CTL_URL_MAX]; /* "http://host:port", no trailing slash */
    char token[CTL_TOKEN_MAX];
    char url_source[CTL_PATH_MAX + 32];   /* where the URL came from, for messages */
    char token_source[CTL_PATH_MAX + 32]; /* "" when no token was found */
    char data_dir[CTL_PATH_MAX];          /* the local daemon's data directory used */
    double timeout_s;                     /* per request; 0 means none */
} CtlConfig;

/* the config file path: $XDG_CONFIG_HOME/angora/client.json or ~/.config/angora/client.json */
int ctl_config_default_path(char *out, size_t out_sz);
/* the default data directory of a local angorad (matches server/daemon/config.c) */
int ctl_config_daemon_data_dir(char *out, size_t out_sz);
/* Resolves the address and token, first found wins (flags, then environment, then the config
 * file, then a local daemon's files):
 *   URL:   --url, $ANGORA_URL, "url" in the config file, <data-dir>/port of a local daemon,
 *          http://127.0.0.1:7878
 *   token: --token, --token-file, $ANGORA_TOKEN, "token" then "token_file" in the config file,
 *          <data-dir>/token of a local daemon
 * data-dir is --data-dir, "data_dir" in the config file, or the daemon's default. The config
 * file is --config FILE, $ANGORA_CONFIG, or the default path (which may be absent). A bad
 * config file, URL or timeout is AG_EINVAL/AG_EJSON/AG_EIO with a message. */
int ctl_config_resolve(const CtlArgs *a, CtlConfig *c, char *err, size_t err_sz);
/* 0 when path is private to its owner (no group or other permission bits), else
 * AG_EFORBIDDEN with a message naming the file, its mode and the chmod that fixes it; a config
 * file holding a token is refused unless it is private */
int ctl_config_check_private(const char *path, char *err, size_t err_sz);
/* checks and normalises a base URL (http or https, no query, trailing '/' removed) */
int ctl_url_normalize(const char *in, char *out, size_t out_sz, char *err, size_t err_sz);

/* ---- HTTP (ctl_http.c) ---- */

typedef struct CtlResponse {
    long status;
    char content_type[128];
    char log_range[128]; /* X-Log-Range header, "" when absent */
    char *body;          /* NUL-terminated, may be NULL */
    size_t len;
    json_t *json; /* parsed body when it is JSON, else NULL */
} CtlResponse;

/* one request; body may be NULL. Returns 0 when the server answered (any status) or a
 * negative code when it could not be reached (err says why). */
int ctl_http_request(const CtlConfig *c, const char *method, const char *path, const char *body,
                     size_t body_len, CtlResponse *r, char *err, size_t err_sz);
/* a GET whose 2xx body is streamed into out; an error body is kept in r */
int ctl_http_download(const CtlConfig *c, const char *path, FILE *out, CtlResponse *r, char *err,
                      size_t err_sz);
void ctl_response_free(CtlResponse *r);

/* ---- websocket stream (ctl_ws.c) ---- */

typedef struct CtlWsHandlers {
    /* a metric row, each once and in seq order */
    void (*on_row)(void *ud, int64_t seq, json_t *row);
    /* the experiment's state (at subscription and on each change); nonzero when it has ended */
    int (*on_state)(void *ud, const char *state);
    /* the server restarts the series from the beginning; may be NULL */
    void (*on_resync)(void *ud);
    /* called about every tick_s seconds; nonzero stops following; may be NULL */
    int (*on_tick)(void *ud);
} CtlWsHandlers;

/* Follows one experiment over angorad's websocket stream (ws://<host of c->url>:port/api/v1/stream,
 * token in the Authorization header) from since_seq: rows and states go to the handlers. Returns
 * 0 once the run has ended and every row up to the end has arrived, or when on_tick asks to stop;
 * otherwise an error with err set: AG_EIO (cannot connect, refused, closed), AG_ETIMEOUT,
 * AG_ENOTFOUND (unknown experiment), AG_EPROTOCOL, AG_EUNSUPPORTED (https address). */
int ctl_ws_follow(const CtlConfig *c, int port, int64_t exp_id, int64_t since_seq,
                  const CtlWsHandlers *h, void *ud, double tick_s, char *err, size_t err_sz);

/* ---- output (ctl_table.c) ---- */

#define CTL_TABLE_MAX_COLS 16

typedef struct CtlTable {
    int ncols;
    const char *headers[CTL_TABLE_MAX_COLS];
    int right[CTL_TABLE_MAX_COLS]; /* right-aligned (numeric) columns */
    size_t nrows, cap;
    char **cells;  /* nrows * ncols strings */
    int max_width; /* longer cells are cut with "..." (0: no limit) */
} CtlTable;

int ctl_table_init(CtlTable *t, int ncols, const char *const *headers);
/* a column whose cells all parse as numbers is right-aligned automatically */
int ctl_table_add(CtlTable *t, const char *const *cells);
void ctl_table_print(const CtlTable *t, FILE *f);
void ctl_table_free(CtlTable *t);

/* "1h02m", "3m12s", "4.2s" */
void ctl_format_duration(double seconds, char *out, size_t out_sz);
/* UTC "2026-11-28 07:48:02"; "-" for 0 or less */
void ctl_format_time(double epoch, char *out, size_t out_sz);
/* "512 B", "1.5 KiB", "3.2 MiB" */
void ctl_format_bytes(double bytes, char *out, size_t out_sz);
/* shortest readable form of a JSON scalar ("-" for null/absent) */
void ctl_format_json(const json_t *v, char *out, size_t out_sz);
/* a count for people: "950", "1.5k", "30.7k", "150k", "1.2M"; "-" when negative or not finite */
void ctl_format_count(double n, char *out, size_t out_sz);

/* how far a run is, as text for ls and show; each field "-" when unknown */
typedef struct CtlPace {
    char progress[48]; /* env steps of the budget: "30.7k/100k 30%" */
    char ret[32];      /* latest_return, 4 significant digits */
    char rate[32];     /* steps_per_s, whole steps */
    char duration[32]; /* duration_s: "3m12s" */
    char eta[32];      /* eta_s */
} CtlPace;

/* the pace of an experiment as the API gives it (latest_env_steps, budget_env_steps or the
 * spec's budget, latest_return, steps_per_s, duration_s, eta_s) */
void ctl_pace_format(const json_t *exp, CtlPace *p);
/* the server's rule for a metric row: *rate = steps / wall_s (the trainer's clock), and the
 * seconds left to the budget at that rate (0 past it); NaN when either cannot be known */
double ctl_pace_eta(double steps, double wall_s, double budget, double *rate);
/* "[##########----------]  50.0%" with width cells; frac is clamped to [0, 1] */
void ctl_progress_bar(double frac, int width, char *out, size_t out_sz);
/* A chart of ys (n points, NaN skipped) in height rows of width columns, each row prefixed
 * with its y value, as '\n'-separated text. Fails with AG_ETOOBIG if out is too small, AG_EINVAL
 * for bad dimensions; with no finite point it writes "(no data)". */
int ctl_chart_render(const double *ys, size_t n, int width, int height, char *out, size_t out_sz);

/* ---- commands (ctl_cmd.c) ---- */

typedef struct CtlCtx {
    const CtlArgs *args;
    CtlConfig cfg;
    FILE *out; /* normal output */
    FILE *err; /* messages */
} CtlCtx;

/* ---- executors (ctl_executor.c) ---- */

/* submit's --executor, --partition, --time-limit and --account over the spec's "executor"
 * (a Slurm option alone implies --executor slurm), checked like the server checks it: 0, or
 * AG_ESPEC with err naming the option and the JSON path */
int ctl_executor_apply(const CtlArgs *a, json_t *doc, char *err, size_t err_sz);
/* show's lines of where the run executes: executor, Slurm job, state (with the reason it
 * waits), nodes */
void ctl_executor_show(CtlCtx *x, const json_t *exp);

/* runs the parsed command; returns its exit code */
int ctl_run(CtlCtx *ctx);

/* ---- a run's log and metrics (ctl_metrics.c), the server's tasks, tokens and version
 * (ctl_server.c) ---- */

int ctl_cmd_logs(CtlCtx *x);
int ctl_cmd_metrics(CtlCtx *x);
int ctl_cmd_tasks(CtlCtx *x);
int ctl_cmd_token(CtlCtx *x);
int ctl_cmd_version(CtlCtx *x);
/* the task names of a catalogue (GET /api/v1/catalogue) as a new array of strings, empty when
 * it has none */
json_t *ctl_task_names(const json_t *catalogue);
/* when task is not one of the server's: a hint naming the closest task name ("did you mean"),
 * or pointing at angoractl tasks; nothing when it is known or the catalogue cannot be read */
void ctl_task_hint(CtlCtx *x, const char *task);

/* ---- bash completion (ctl_complete.c) ---- */

/* angoractl __complete WHAT [ARG]: one word per line, WHAT commands, options [CMD], ids, tasks,
 * states or checkpoints ID; takes-id CMD exits 0 when CMD's argument is an experiment id.
 * Server words are fetched quietly: nothing is printed when the server cannot be reached. */
int ctl_complete(CtlCtx *x, int argc, const char *const *argv);

/* the reading of a spec for submit: parses the file, applies --name/--tag overrides and
 * validates it with the shared spec code; on failure err names the file and JSON path.
 * *doc_out is the (overridden) document to send. */
int ctl_spec_load(const char *path, const char *name, const char *const *tags, int ntags,
                  json_t **doc_out, char *err, size_t err_sz);

/* ---- helpers the commands share (ctl_util.c) ---- */

/* one "key  value" line of show ("-" for an empty value) */
void ctl_kv(CtlCtx *x, const char *key, const char *value);
/* an error: "angoractl: ..." and a newline on x->err, or with --json one line
 * {"error": {"message", "exit_code", "exit_name"}}; returns code */
int ctl_say(CtlCtx *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* a warning ("angoractl: warning: ...") or a hint ("angoractl: ..."), kind "warning" or "hint";
 * with --json one line {"<kind>": {"message"}} */
void ctl_note(CtlCtx *x, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* {"<kind>": body} as one line of JSON on f; takes body */
void ctl_json_error_print(FILE *f, const char *kind, json_t *body);
/* one API call: 0 with r filled on a 2xx answer, else the exit code after telling why */
int ctl_api_call(CtlCtx *x, const char *method, const char *path, const char *body, CtlResponse *r);
/* the exit code of a non-2xx answer, after telling why (with a hint on a 401); frees r */
int ctl_answer_fail(CtlCtx *x, CtlResponse *r);
/* experiment id as a JSON object (a new reference in *out) */
int ctl_exp_get(CtlCtx *x, int64_t id, json_t **out);
/* what ctl_exp_wait shows of each state it reads (a phase, a progress line) */
typedef void (*CtlPollFn)(CtlCtx *x, const json_t *exp, void *ud);
/* polls experiment id every interval seconds until it has ended (succeeded, failed or
 * cancelled); on_poll (may be NULL) sees every read; *out receives the final experiment */
int ctl_exp_wait(CtlCtx *x, int64_t id, double interval, CtlPollFn on_poll, void *ud, json_t **out);
/* queues a job on experiment id: POST body (freed) to /api/v1/experiments/ID/SUB; 0 with the
 * answer in r and the new job's id in *job, else the exit code */
int ctl_job_queue(CtlCtx *x, int64_t id, const char *sub, char *body, CtlResponse *r, int64_t *job);
/* GET path into the file dest, written to dest.part and renamed when complete ("-": x->out);
 * 0 or the exit code after telling why */
int ctl_download_file(CtlCtx *x, const char *path, const char *dest);
/* percent-encodes a query or path value */
void ctl_url_escape(const char *s, char *out, size_t out_sz);
/* the experiment id argument (the first positional one) */
int ctl_id_arg(CtlCtx *x, int64_t *id);
/* a seconds option in [min, max], def when absent */
int ctl_seconds_opt(CtlCtx *x, const char *name, double def, double min, double max, double *out);
/* a string member ("" when absent or not a string) */
const char *ctl_jstr(const json_t *o, const char *key);
/* succeeded, failed or cancelled */
int ctl_state_final(const char *state);
/* the closest of n candidates to a mistyped word (letters compared without case), NULL when
 * none is within a third of the word's length in edits; the word itself is never suggested */
#define CTL_SUGGEST_MAX        64
#define CTL_SUGGEST_CANDIDATES 512
const char *ctl_suggest(const char *word, const char *const *cands, size_t n);
/* the same over a JSON array of strings (the first CTL_SUGGEST_CANDIDATES) */
const char *ctl_suggest_json(const char *word, const json_t *names);
/* doc indented on x->out, reals in their shortest exact form; a response as JSON when it is,
 * else its raw body */
void ctl_json_print(CtlCtx *x, const json_t *doc);
void ctl_body_print(CtlCtx *x, const CtlResponse *r);
/* a JSON array of tags as "a,b,c" (cut at out_sz) */
void ctl_tags_text(const json_t *tags, char *out, size_t out_sz);

/* ---- pretrain jobs (ctl_pretrain.c) ---- */

/* reads a pretraining spec file and checks it with the shared reader (common/ag_pretrain.h);
 * a relative dataset path that exists here is made absolute. On failure err names the file
 * and the JSON path (AG_ESPEC), or what could not be read. */
int ctl_pretrain_spec_load(const char *path, json_t **doc_out, char *err, size_t err_sz);
/* the pretrain command */
int ctl_cmd_pretrain(CtlCtx *x);

/* ---- analysis jobs (ctl_analysis.c) ---- */

/* the best layer of every decoded variable of an analysis.json (in the order the variables
 * first appear): a new array of {variable, layer, r2, r2_shuffled}, layer and r2 null when no
 * layer has an R^2 for it; NULL when doc has no decoding results */
json_t *ctl_analysis_best(const json_t *doc);
/* the API path of an output file of analysis job id: tables (.csv), figures (.png) or
 * analysis.json itself; AG_EINVAL for any other name (not a plain file name of those kinds) */
int ctl_analysis_file_path(int64_t id, const char *name, char *out, size_t out_sz);
/* the analyze command, and download --analysis */
int ctl_cmd_analyze(CtlCtx *x);
int ctl_cmd_download_analysis(CtlCtx *x);

/* ---- watch (ctl_watch.c) ---- */

/* a learning curve of bounded size: when full, every other point is dropped and from then on
 * only every stride-th new point is kept, so a run of any length fits */
typedef struct CtlSeries {
    double *ys;
    size_t n, cap;  /* cap is even */
    size_t stride;  /* new points per kept point */
    size_t skipped; /* new points since the last kept one */
    double best;    /* best finite value seen (NaN before any) */
    long long seen; /* points added */
    int lower_is_better;
} CtlSeries;

/* 1 for a metric whose best value is its lowest: losses, errors, distances, drops, the KL */
int ctl_metric_lower_is_better(const char *key);

int ctl_series_init(CtlSeries *s, size_t cap);
void ctl_series_add(CtlSeries *s, double y);
void ctl_series_reset(CtlSeries *s);
void ctl_series_free(CtlSeries *s);
/* the status line of a metric row: "iteration 8  steps 8000/10000  return_mean 80.25 (best 90)"
 * plus "  success 0.500" and "  consecutive goals 2.00" when the row has success_rate and
 * consecutive_goals_mean; the budget is left out when it is 0 */
void ctl_watch_line(const json_t *row, const char *key, double best, long long budget, char *out,
                    size_t out_sz);
/* the pace line of watch: "1.2k steps/s  ETA 3m12s  eval 95.5 (iteration 40)" from the latest
 * row (env_steps over wall_s, the server's rule) and the latest row with an eval_return
 * (eval_row, NULL for "eval -"); budget 0 leaves the ETA "-" */
void ctl_watch_pace_line(const json_t *row, long long budget, const json_t *eval_row, char *out,
                         size_t out_sz);
/* the watch command */
int ctl_cmd_watch(CtlCtx *x);

#endif
