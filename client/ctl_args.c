/* angoractl's command line: the command table (synopsis, help, arguments, options) and the parser
 * that checks a command line against it. */
#include "ctl.h"

#include "ag_error.h"
#include "ag_parse.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const CtlOptDef ctl_global_opts[] = {
    {"url", 0, 1, 0, "angorad's address, e.g. http://127.0.0.1:7878"},
    {"token", 0, 1, 0, "API token (prefer ANGORA_TOKEN or a token file)"},
    {"token-file", 0, 1, 0, "file holding the API token"},
    {"data-dir", 0, 1, 0, "data directory of a local angorad (token and port files)"},
    {"config", 0, 1, 0, "client config file (JSON)"},
    {"timeout", 0, 1, 0, "seconds per request (default 30, 0 for none)"},
    {"json", 0, 0, 0, "machine-readable JSON output"},
    {"help", 'h', 0, 0, "show help"},
    {"version", 0, 0, 0, "show the client version"},
    {NULL, 0, 0, 0, NULL}};

static const CtlOptDef submit_opts[] = {
    {"name", 0, 1, 0, "experiment name (overrides the spec's name)"},
    {"priority", 0, 1, 0, "queue priority, -1000..1000 (higher runs first)"},
    {"tag", 0, 1, 1, "add a tag (repeatable)"},
    {"dry-run", 0, 0, 0, "validate on the server without queueing"},
    {"executor", 0, 1, 0, "local or slurm (overrides the spec's executor)"},
    {"partition", 0, 1, 0, "Slurm partition (implies --executor slurm)"},
    {"time-limit", 0, 1, 0, "Slurm time limit, e.g. 2:00:00 or 1-0 (implies --executor slurm)"},
    {"account", 0, 1, 0, "Slurm account (implies --executor slurm)"},
    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef ls_opts[] = {
    {"state", 0, 1, 0, "queued, running, paused, succeeded, failed or cancelled"},
    {"task", 0, 1, 0, "only this task"},
    {"tag", 0, 1, 0, "only experiments with this tag"},
    {"limit", 0, 1, 0, "experiments per page, 1..1000 (default 100)"},
    {"cursor", 0, 1, 0, "continue after this id (from the previous page)"},
    {"all", 0, 0, 0, "follow every page"},
    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef logs_opts[] = {
    {"follow", 'f', 0, 0, "keep printing new lines until the run ends"},
    {"tail", 0, 1, 0, "bytes from the end to show first (default 65536)"},
    {"worker", 0, 0, 0, "the trainer's output (worker.log) instead of train.log"},
    {"interval", 0, 1, 0, "seconds between polls with -f (default 1)"},
    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef metrics_opts[] = {
    {"keys", 0, 0, 0, "list the metric names"},
    {"csv", 0, 0, 0, "the rows as CSV (every column unless --key)"},
    {"key", 0, 1, 1, "column to show after iteration and env_steps (repeatable)"},
    {"after-seq", 0, 1, 0, "only rows after this sequence number"},
    {"limit", 0, 1, 0, "at most this many rows"},
    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef watch_opts[] = {
    {"interval", 0, 1, 0, "seconds between polls (default 1)"},
    {"key", 0, 1, 0, "metric to chart (default return_mean)"},
    {"timeout-run", 0, 1, 0, "give up after this many seconds (default: never)"},
    {"poll", 0, 0, 0, "poll the REST API even when the server streams"},
    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef download_opts[] = {
    {"checkpoint", 0, 1, 0, "checkpoint name (default last.ckpt)"},
    {"output", 'o', 1, 0, "file to write ('-' for stdout)"},
    {"video", 0, 0, 0, "the MP4 of an evaluation job queued with --record"},
    {"trajectory", 0, 0, 0, "the trajectory (JSON) of an evaluation job queued with --record"},
    {"analysis", 0, 0, 0, "the results of analysis job ID into a folder (-o DIR)"},
    {"h5", 0, 0, 0, "with --analysis: also the HDF5 recording (activations.h5)"},
    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef analyze_opts[] = {
    {"ckpt", 0, 1, 0, "best, last or a checkpoint file (default best when the run has one)"},
    {"episodes", 0, 1, 0, "episodes to record, 3..1000 (default 20)"},
    {"folds", 0, 1, 0, "cross-validation folds of whole episodes, 3..20 (default 5)"},
    {"deterministic", 0, 0, 0, "deterministic actions (the policy's mean) instead of sampled ones"},
    {"variables", 0, 1, 0, "the task variables to decode, a,b (default all)"},
    {"layers", 0, 1, 0, "the layers to analyse, x,y (default all)"},
    {"wait", 0, 0, 0, "follow the job and print the best layer per variable"},
    {"interval", 0, 1, 0, "seconds between polls with --wait (default 1)"},
    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef pretrain_opts[] = {
    {"name", 0, 1, 0, "job name (default: pretrain on DATASET)"},
    {"priority", 0, 1, 0, "queue priority, -1000..1000 (higher runs first)"},
    {"wait", 0, 0, 0, "follow the job and print its held-out errors and encoder"},
    {"interval", 0, 1, 0, "seconds between polls with --wait (default 1)"},
    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef evaluate_opts[] = {
    {"episodes", 0, 1, 0, "episodes to run, 1..10000 (default 10)"},
    {"checkpoint", 0, 1, 0, "checkpoint name (default last.ckpt)"},
    {"stochastic", 0, 0, 0, "sample actions instead of the deterministic policy"},
    {"record", 0, 0, 0, "also record one episode (video and trajectory, MuJoCo tasks)"},
    {"no-wait", 0, 0, 0, "queue the evaluation and return at once"},
    {"interval", 0, 1, 0, "seconds between polls while waiting (default 0.5)"},
    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef rm_opts[] = {{"yes", 'y', 0, 0, "delete without asking"},
                                    {NULL, 0, 0, 0, NULL}};
static const CtlOptDef token_opts[] = {{"scope", 0, 1, 0, "read or full (create; default read)"},
                                       {NULL, 0, 0, 0, NULL}};

const CtlCommandDef ctl_commands[] = {
    {"submit", "SPEC.json", "validate a spec locally, then queue it", 1, 1, submit_opts,
     "The spec is checked with the same code the server uses; an error names the JSON path\n"
     "of the bad value (exit 6). SPEC.json may be '-' for standard input."},
    {"ls", "", "list experiments", 0, 0, ls_opts,
     "Newest first, with each run's progress (steps of its budget), latest return, steps/s,\n"
     "duration and ETA. A further page is announced on stderr with its --cursor."},
    {"show", "ID", "show one experiment", 1, 1, NULL,
     "Its state, times, progress (steps of the budget), latest return, steps/s, duration,\n"
     "ETA, tags, notes, error and run directory."},
    {"cancel", "ID", "cancel a queued, running or paused experiment", 1, 1, NULL, NULL},
    {"pause", "ID", "checkpoint and stop a running experiment", 1, 1, NULL, NULL},
    {"resume", "ID", "queue a paused experiment again", 1, 1, NULL, NULL},
    {"rm", "ID", "delete a finished experiment, its metrics and run directory", 1, 1, rm_opts,
     "On a terminal it shows the experiment and asks first; --yes deletes without asking.\n"
     "When standard input is not a terminal (a script, a pipe) it refuses without --yes\n"
     "(exit 2), so a script cannot delete by accident."},
    {"logs", "ID", "print the run's log", 1, 1, logs_opts, NULL},
    {"metrics", "ID", "print the run's metric rows", 1, 1, metrics_opts,
     "A table of a few columns by default; --csv and --json give every column. Every view\n"
     "starts with iteration and env_steps; --key K (repeatable) picks the others, and a key\n"
     "the run does not have is left out with a warning. CSV ends with the seq column."},
    {"watch", "ID", "follow a run live until it ends", 1, 1, watch_opts,
     "Shows a progress bar to the step budget, steps/s, the ETA, the latest return and\n"
     "evaluation, success rate or consecutive goals when the task reports them, and a chart\n"
     "of the curve; exits when the run ends\n"
     "(0 succeeded or paused, 1 failed or cancelled) after printing a summary. Rows arrive\n"
     "over angorad's websocket stream when it serves one (GET /api/v1/info), otherwise by\n"
     "polling the REST series; either way each row is shown once, in order. With --json it\n"
     "prints one JSON object per row and event."},
    {"checkpoints", "ID", "list a run's checkpoints", 1, 1, NULL, NULL},
    {"download", "ID", "download a checkpoint, an evaluation's recording or an analysis", 1, 1,
     download_opts,
     "The file is written to FILE.part and renamed when complete. --video and --trajectory\n"
     "fetch the recording of evaluation job ID (see evaluate --record). --analysis fetches\n"
     "analysis job ID's analysis.json, CSV tables and PNG figures into -o DIR (default\n"
     "analysis-ID), --h5 also its recording."},
    {"evaluate", "ID", "evaluate a checkpoint of a run", 1, 1, evaluate_opts,
     "Queues an evaluation job and, unless --no-wait, waits for it and prints its result.\n"
     "--record also renders one episode to a video and a trajectory on the server; fetch\n"
     "them with download EVALUATION_ID --video (or --trajectory) -o FILE."},
    {"analyze", "ID", "record and analyse a checkpoint of a run", 1, 1, analyze_opts,
     "Queues an analysis job: angora-train records the network's activity over fresh\n"
     "episodes, angora-analyze decodes the task variables from every layer and computes PCA,\n"
     "RSA and timescales (docs/analysis.md). Prints the job's id; with --wait it follows the\n"
     "job and prints the best layer for each variable (cross-validated R^2, with the\n"
     "shuffled-label control). Fetch everything with download JOB_ID --analysis."},
    {"pretrain", "SPEC.json", "pretrain a vision encoder on a dataset", 1, 1, pretrain_opts,
     "Queues a pretrain job: angora-train --pretrain trains an encoder to read the block's\n"
     "pose from a dataset of angora-train --pretrain-data (docs/training.md). The spec is\n"
     "checked locally first (exit 6, with the JSON path); a relative dataset path is sent as\n"
     "an absolute one. Prints the job's id and, on stderr, the path of its encoder checkpoint\n"
     "(model.encoder.checkpoint of a training spec); with --wait it follows the job and\n"
     "prints its last held-out errors. Its curve: metrics ID --key holdout_position_rmse_mm."},
    {"tasks", "", "list the tasks the server can train", 0, 0, NULL,
     "One row per task: its observation size, actions (discrete choices or continuous\n"
     "dimensions), episode steps, the metrics it reports and what it is."},
    {"token", "create NAME | list | revoke TOKEN_ID", "manage API tokens (needs a full token)", 1,
     2, token_opts, "create prints the new token once; keep it, it cannot be shown again."},
    {"version", "", "print the client and server versions", 0, 0, NULL, NULL},
    {"__complete", "WHAT [ARG]", "words for bash completion", 1, 2, NULL, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL}};

const CtlCommandDef *ctl_command_find(const char *name) {
    for (const CtlCommandDef *c = ctl_commands; c->name; c++) {
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

/* " (did you mean \"ls\"?)" for a mistyped command, "" when nothing is close */
static void command_hint(const char *word, char *out, size_t out_sz) {
    const char *names[64];
    size_t n = 0;
    const char *near;
    for (const CtlCommandDef *c = ctl_commands; c->name && n < 64; c++) {
        if (!CTL_COMMAND_HIDDEN(c)) {
            names[n++] = c->name;
        }
    }
    near = ctl_suggest(word, names, n);
    snprintf(out, out_sz, near ? " (did you mean \"%s\"?)" : "", near);
}

/* the same for a mistyped long option among the global ones and the command's */
static void option_hint(const CtlCommandDef *cmd, const char *word, size_t len, char *out,
                        size_t out_sz) {
    const char *names[CTL_MAX_OPTS * 2];
    char typed[CTL_SUGGEST_MAX + 1];
    size_t n = 0;
    const char *near;
    for (const CtlOptDef *d = ctl_global_opts; d->name; d++) {
        names[n++] = d->name;
    }
    for (const CtlOptDef *d = cmd ? cmd->opts : NULL; d && d->name && n < CTL_MAX_OPTS * 2; d++) {
        names[n++] = d->name;
    }
    snprintf(typed, sizeof(typed), "%.*s", (int)(len < CTL_SUGGEST_MAX ? len : CTL_SUGGEST_MAX),
             word);
    near = ctl_suggest(typed, names, n);
    snprintf(out, out_sz, near ? " (did you mean --%s?)" : "", near);
}

static const CtlOptDef *opt_find(const CtlOptDef *defs, const char *name, size_t len, char s) {
    for (const CtlOptDef *d = defs; d && d->name; d++) {
        if (s ? d->short_name == s : (strlen(d->name) == len && !strncmp(d->name, name, len))) {
            return d;
        }
    }
    return NULL;
}

static int set_global(CtlArgs *a, const CtlOptDef *d, const char *v) {
    if (!strcmp(d->name, "url")) {
        a->url = v;
    } else if (!strcmp(d->name, "token")) {
        a->token = v;
    } else if (!strcmp(d->name, "token-file")) {
        a->token_file = v;
    } else if (!strcmp(d->name, "data-dir")) {
        a->data_dir = v;
    } else if (!strcmp(d->name, "config")) {
        a->config = v;
    } else if (!strcmp(d->name, "timeout")) {
        a->timeout = v;
    } else if (!strcmp(d->name, "json")) {
        a->json = 1;
    } else if (!strcmp(d->name, "help")) {
        a->help = 1;
    } else if (!strcmp(d->name, "version")) {
        a->version = 1;
    }
    return 0;
}

int ctl_args_parse(int argc, char *const *argv, CtlArgs *a, char *err, size_t err_sz) {
    int only_pos = 0;
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *name, *eq, *value = NULL;
        const CtlOptDef *d = NULL;
        size_t len;
        int global = 0;
        if (only_pos || s[0] != '-' || !strcmp(s, "-")) {
            if (!a->cmd) {
                a->cmd = ctl_command_find(s);
                if (!a->cmd) {
                    char hint[96];
                    command_hint(s, hint, sizeof(hint));
                    return ag_errorf(err, err_sz, AG_EINVAL,
                                     "unknown command \"%s\"%s (see angoractl --help)", s, hint);
                }
                continue;
            }
            if (a->npos >= CTL_MAX_POS) {
                return ag_errorf(err, err_sz, AG_EINVAL, "too many arguments");
            }
            a->pos[a->npos++] = s;
            continue;
        }
        if (!strcmp(s, "--")) {
            only_pos = 1;
            continue;
        }
        if (s[1] == '-') {
            name = s + 2;
            eq = strchr(name, '=');
            len = eq ? (size_t)(eq - name) : strlen(name);
            if (eq) {
                value = eq + 1;
            }
            d = opt_find(ctl_global_opts, name, len, 0);
            global = d != NULL;
            if (!d && a->cmd) {
                d = opt_find(a->cmd->opts, name, len, 0);
            }
            if (!d) {
                char hint[96];
                option_hint(a->cmd, name, len, hint, sizeof(hint));
                return ag_errorf(err, err_sz, AG_EINVAL, "unknown option --%.*s%s%s%s", (int)len,
                                 name, a->cmd ? " for " : "", a->cmd ? a->cmd->name : "", hint);
            }
        } else {
            /* one short option, its value attached ("-oFILE") or next */
            d = opt_find(ctl_global_opts, NULL, 0, s[1]);
            global = d != NULL;
            if (!d && a->cmd) {
                d = opt_find(a->cmd->opts, NULL, 0, s[1]);
            }
            if (!d || (s[2] != '\0' && !d->has_value)) {
                return ag_errorf(err, err_sz, AG_EINVAL, "unknown option %s%s%s", s,
                                 a->cmd ? " for " : "", a->cmd ? a->cmd->name : "");
            }
            if (s[2] != '\0') {
                value = s + 2;
            }
        }
        if (d->has_value && !value) {
            if (i + 1 >= argc) {
                return ag_errorf(err, err_sz, AG_EINVAL, "option --%s needs a value", d->name);
            }
            value = argv[++i];
        } else if (!d->has_value && value) {
            return ag_errorf(err, err_sz, AG_EINVAL, "option --%s takes no value", d->name);
        }
        if (global) {
            set_global(a, d, value);
            continue;
        }
        if (!d->repeatable && ctl_args_has(a, d->name)) {
            return ag_errorf(err, err_sz, AG_EINVAL, "option --%s given twice", d->name);
        }
        if (a->nopts >= CTL_MAX_OPTS) {
            return ag_errorf(err, err_sz, AG_EINVAL, "too many options");
        }
        a->opts[a->nopts].name = d->name;
        a->opts[a->nopts].value = value ? value : "";
        a->nopts++;
    }
    if (a->help || a->version || !a->cmd) {
        return 0;
    }
    if (a->npos < a->cmd->min_pos) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: missing argument (usage: angoractl %s %s)",
                         a->cmd->name, a->cmd->name, a->cmd->synopsis);
    }
    if (a->npos > a->cmd->max_pos) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: unexpected argument \"%s\"", a->cmd->name,
                         a->pos[a->cmd->max_pos]);
    }
    return 0;
}

const char *ctl_args_get(const CtlArgs *a, const char *name) {
    const char *v = NULL;
    for (int i = 0; i < a->nopts; i++) {
        if (!strcmp(a->opts[i].name, name)) {
            v = a->opts[i].value;
        }
    }
    return v;
}

int ctl_args_has(const CtlArgs *a, const char *name) {
    return ctl_args_get(a, name) != NULL;
}

const char *ctl_args_nth(const CtlArgs *a, const char *name, int n) {
    for (int i = 0; i < a->nopts; i++) {
        if (!strcmp(a->opts[i].name, name) && n-- == 0) {
            return a->opts[i].value;
        }
    }
    return NULL;
}

int ctl_args_get_int(const CtlArgs *a, const char *name, long long def, long long min,
                     long long max, long long *out, char *err, size_t err_sz) {
    const char *v = ctl_args_get(a, name);
    long long x;
    if (!v) {
        *out = def;
        return 0;
    }
    int rc = ag_parse_int(v, min, max, &x);
    if (rc == AG_EINVAL) {
        return ag_errorf(err, err_sz, AG_EINVAL, "--%s: expected an integer, got \"%s\"", name, v);
    }
    if (rc) {
        return ag_errorf(err, err_sz, AG_EINVAL, "--%s: must be in [%lld, %lld], got %lld", name,
                         min, max, x);
    }
    *out = x;
    return 0;
}

int ctl_parse_id(const char *s, const char *what, int64_t *out, char *err, size_t err_sz) {
    long long x;
    /* digits from the first character: no blank or sign in front */
    if (!s || !(*s >= '0' && *s <= '9') || ag_parse_int(s, 1, LLONG_MAX, &x) != AG_OK) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s must be a positive integer, got \"%s\"", what,
                         s ? s : "");
    }
    *out = x;
    return 0;
}

static void opts_print(FILE *f, const CtlOptDef *defs) {
    for (const CtlOptDef *d = defs; d && d->name; d++) {
        char left[64];
        if (d->short_name) {
            snprintf(left, sizeof(left), "-%c, --%s%s", d->short_name, d->name,
                     d->has_value ? " V" : "");
        } else {
            snprintf(left, sizeof(left), "    --%s%s", d->name, d->has_value ? " V" : "");
        }
        fprintf(f, "  %-24s %s\n", left, d->help);
    }
}

void ctl_usage_print(FILE *f, const CtlCommandDef *cmd) {
    if (cmd) {
        fprintf(f, "usage: angoractl %s%s%s [options]\n\n%s.\n", cmd->name,
                *cmd->synopsis ? " " : "", cmd->synopsis, cmd->summary);
        if (cmd->help) {
            fprintf(f, "\n%s\n", cmd->help);
        }
        if (cmd->opts) {
            fprintf(f, "\noptions:\n");
            opts_print(f, cmd->opts);
        }
        fprintf(f, "\nglobal options:\n");
        opts_print(f, ctl_global_opts);
        return;
    }
    fprintf(f, "usage: angoractl [global options] COMMAND [arguments] [options]\n\n"
               "Command-line client of angorad's REST API.\n\ncommands:\n");
    for (const CtlCommandDef *c = ctl_commands; c->name; c++) {
        char left[64];
        if (CTL_COMMAND_HIDDEN(c)) {
            continue;
        }
        snprintf(left, sizeof(left), "%s %s", c->name, c->synopsis);
        if (strlen(left) > 28) {
            fprintf(f, "  %s\n  %-28s %s\n", left, "", c->summary);
        } else {
            fprintf(f, "  %-28s %s\n", left, c->summary);
        }
    }
    fprintf(f, "\nglobal options:\n");
    opts_print(f, ctl_global_opts);
    fprintf(f, "\nThe address and token come from, first found: --url/--token/--token-file,\n"
               "ANGORA_URL/ANGORA_TOKEN, the config file ($XDG_CONFIG_HOME/angora/client.json or\n"
               "~/.config/angora/client.json, mode 0600 when it holds a token), or a local\n"
               "angorad's data directory.\n"
               "Exit codes: 0 ok, 1 other error, 2 usage, 3 not found, 4 authentication,\n"
               "5 server unreachable, 6 invalid spec or request rejected.\n"
               "angoractl COMMAND --help shows a command's options.\n");
}
