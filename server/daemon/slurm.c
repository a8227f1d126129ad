/* The Slurm executor's text: batch script, sbatch arguments and the output of sbatch, scontrol
 * and sacct (slurm.h). */
#include "slurm.h"

#include "ag_error.h"
#include "ag_rundir.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int slurm_shell_quote(const char *in, char *out, size_t out_sz) {
    size_t n = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 >= out_sz) {                                                                     \
            if (out_sz) {                                                                          \
                out[0] = '\0';                                                                     \
            }                                                                                      \
            return AG_ETOOBIG;                                                                     \
        }                                                                                          \
        out[n++] = (c);                                                                            \
    } while (0)
    PUT('\'');
    for (const char *p = in; *p; p++) {
        if (*p == '\'') {
            /* close the quote, an escaped quote, open again */
            PUT('\'');
            PUT('\\');
            PUT('\'');
            PUT('\'');
        } else {
            PUT(*p);
        }
    }
    PUT('\'');
#undef PUT
    out[n] = '\0';
    return AG_OK;
}

/* appends printf output at *len; AG_ETOOBIG when it does not fit */
static int append(char *out, size_t out_sz, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char *out, size_t out_sz, size_t *len, const char *fmt, ...) {
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(out + *len, out_sz - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= out_sz - *len) {
        return AG_ETOOBIG;
    }
    *len += (size_t)n;
    return AG_OK;
}

int slurm_script_text(const SlurmScript *sc, char *out, size_t out_sz, char *err, size_t err_sz) {
    char dir[4200], trainer[4200], srun[4200], scancel[4200], mpi[200];
    size_t len = 0;
    int rc;
    if (slurm_shell_quote(sc->run_dir, dir, sizeof dir) ||
        slurm_shell_quote(sc->trainer, trainer, sizeof trainer) ||
        slurm_shell_quote(sc->srun ? sc->srun : "srun", srun, sizeof srun) ||
        slurm_shell_quote(sc->scancel ? sc->scancel : "scancel", scancel, sizeof scancel) ||
        slurm_shell_quote(sc->mpi && *sc->mpi ? sc->mpi : "pmix", mpi, sizeof mpi)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "a path of the batch script is too long");
    }
    rc = append(out, out_sz, &len,
                "#!/bin/sh\n"
                "# angora experiment %lld, attempt %d: written by angorad for sbatch, which runs\n"
                "# it again as it is when Slurm requeues the job (docs/cluster.md)\n"
                "export OPENBLAS_NUM_THREADS=1\n"
                "cd %s || exit %d\n"
                "# a run that ran before goes on from its checkpoint\n"
                "resume=\n"
                "if [ -e " AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST " ] || [ -e " AG_RUN_METRICS
                " ]; then\n"
                "    resume=" AG_TRAIN_RESUME "\n"
                "fi\n"
                "echo \"angorad: Slurm job ${SLURM_JOB_ID:-?} on $(hostname),"
                " restart ${SLURM_RESTART_COUNT:-0}\" >&2\n",
                (long long)sc->id, sc->attempt, dir, AG_EXIT_USAGE);
    if (rc == AG_OK && sc->ranks > 1) {
        /* one task per rank in the allocation. srun would end the step at once on SIGTERM, so
         * the batch shell passes a pause's TERM to the ranks themselves (scancel without -b
         * signals every step but the batch one): they checkpoint together and exit
         * "interrupted", and the shell exits with srun's code */
        rc = append(out, out_sz, &len,
                    "trap '%s --signal=TERM \"$SLURM_JOB_ID\"' TERM\n"
                    "%s --mpi=%s --kill-on-bad-exit=1 %s %s/" AG_RUN_SUBMITTED " " AG_TRAIN_RUN_DIR
                    " %s $resume &\n"
                    "step=$!\n"
                    "wait $step\n"
                    "code=$?\n"
                    "while kill -0 $step 2>/dev/null; do\n"
                    "    wait $step\n"
                    "    code=$?\n"
                    "done\n"
                    "exit $code\n",
                    scancel, srun, mpi, trainer, dir, dir);
    } else if (rc == AG_OK) {
        rc = append(out, out_sz, &len,
                    "exec %s %s/" AG_RUN_SUBMITTED " " AG_TRAIN_RUN_DIR " %s $resume\n", trainer,
                    dir, dir);
    }
    if (rc) {
        return ag_errorf(err, err_sz, rc, "the batch script is too long");
    }
    return AG_OK;
}

int slurm_sbatch_argv(SlurmSbatch *b, const char *sbatch, const AgExecutor *x, int ranks,
                      int64_t id, const char *run_dir, const char *script, char *err,
                      size_t err_sz) {
    int argc = 0, nopt = 0, overflow = 0;
    memset(b, 0, sizeof *b);
#define OPT(...)                                                                                   \
    do {                                                                                           \
        int n_ = snprintf(b->opts[nopt], SLURM_OPT_LEN, __VA_ARGS__);                              \
        overflow |= n_ < 0 || n_ >= SLURM_OPT_LEN;                                                 \
        b->argv[argc++] = b->opts[nopt++];                                                         \
    } while (0)
    b->argv[argc++] = sbatch;
    b->argv[argc++] = "--parsable";
    OPT("--job-name=angora-%lld", (long long)id);
    OPT("--chdir=%s", run_dir);
    OPT("--output=%s/" AG_RUN_WORKER_LOG, run_dir);
    b->argv[argc++] = "--open-mode=append";
    b->argv[argc++] = "--requeue";
    OPT("--ntasks=%d", ranks > 0 ? ranks : 1);
    if (x->partition[0]) {
        OPT("--partition=%s", x->partition);
    }
    if (x->account[0]) {
        OPT("--account=%s", x->account);
    }
    if (x->time_limit[0]) {
        OPT("--time=%s", x->time_limit);
    }
    if (x->nodes > 0) {
        OPT("--nodes=%d", x->nodes);
    }
    if (x->cpus_per_task > 0) {
        OPT("--cpus-per-task=%d", x->cpus_per_task);
    }
    if (x->mem[0]) {
        OPT("--mem=%s", x->mem);
    }
    for (int i = 0; i < x->num_extra; i++) {
        b->argv[argc++] = x->extra[i];
    }
    b->argv[argc++] = script;
    b->argv[argc] = NULL;
#undef OPT
    if (overflow) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "an sbatch option is too long (run directory %s)",
                         run_dir);
    }
    return AG_OK;
}

int slurm_parse_job_id(const char *text, char *out, size_t out_sz) {
    size_t n = 0;
    while (*text == ' ' || *text == '\n') {
        text++;
    }
    while (isdigit((unsigned char)text[n])) {
        n++;
    }
    /* digits, then the end, a newline or ";cluster" */
    if (n == 0 || n >= out_sz ||
        (text[n] && text[n] != '\n' && text[n] != ';' && text[n] != '\r')) {
        return AG_EFORMAT;
    }
    memcpy(out, text, n);
    out[n] = '\0';
    return AG_OK;
}

/* value of " Key=" in one line of scontrol -o output into out ("" when absent): values end at
 * the next space */
static int scontrol_value(const char *text, const char *key, char *out, size_t out_sz) {
    size_t klen = strlen(key);
    for (const char *p = text; (p = strstr(p, key)) != NULL; p += klen) {
        if ((p == text || p[-1] == ' ' || p[-1] == '\n') && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t n = strcspn(v, " \n");
            if (n >= out_sz) {
                n = out_sz - 1;
            }
            memcpy(out, v, n);
            out[n] = '\0';
            return 1;
        }
    }
    out[0] = '\0';
    return 0;
}

/* "code:signal" */
static int parse_exit(const char *s, SlurmJobInfo *out) {
    char *end;
    long code = strtol(s, &end, 10), sig;
    if (end == s || *end != ':') {
        return AG_EFORMAT;
    }
    s = end + 1;
    sig = strtol(s, &end, 10);
    if (end == s || (*end && *end != ' ' && *end != '\n')) {
        return AG_EFORMAT;
    }
    out->exit_code = (int)code;
    out->exit_signal = (int)sig;
    return AG_OK;
}

int slurm_parse_scontrol(const char *text, SlurmJobInfo *out) {
    char v[64];
    memset(out, 0, sizeof *out);
    if (!scontrol_value(text, "JobState", out->state, sizeof out->state) || !out->state[0]) {
        return AG_ENOTFOUND;
    }
    scontrol_value(text, "Reason", out->reason, sizeof out->reason);
    if (!strcmp(out->reason, "None")) {
        out->reason[0] = '\0';
    }
    scontrol_value(text, "NodeList", out->nodes, sizeof out->nodes);
    if (!strcmp(out->nodes, "(null)")) {
        out->nodes[0] = '\0';
    }
    if (scontrol_value(text, "Restarts", v, sizeof v)) {
        out->restarts = atoi(v);
    }
    if (scontrol_value(text, "ExitCode", v, sizeof v)) {
        return parse_exit(v, out);
    }
    return AG_OK;
}

int slurm_parse_sacct(const char *text, const char *job_id, SlurmJobInfo *out) {
    size_t idlen = strlen(job_id);
    memset(out, 0, sizeof *out);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        const char *state, *exit;
        size_t n;
        if (strncmp(line, job_id, idlen) || line[idlen] != '|') {
            continue;
        }
        state = line + idlen + 1;
        exit = strchr(state, '|');
        if (!exit) {
            return AG_EFORMAT;
        }
        /* "CANCELLED by 0": the state is the first word */
        n = strcspn(state, " |");
        if (n == 0 || n >= sizeof out->state) {
            return AG_EFORMAT;
        }
        memcpy(out->state, state, n);
        out->state[n] = '\0';
        return parse_exit(exit + 1, out);
    }
    return AG_ENOTFOUND;
}

SlurmOutcome slurm_state_outcome(const char *state) {
    static const struct {
        const char *state;
        SlurmOutcome outcome;
    } table[] = {
        {"COMPLETED", SLURM_EXITED}, {"FAILED", SLURM_EXITED},       {"TIMEOUT", SLURM_TIMEOUT},
        {"DEADLINE", SLURM_TIMEOUT}, {"CANCELLED", SLURM_CANCELLED}, {"NODE_FAIL", SLURM_LOST},
        {"PREEMPTED", SLURM_LOST},   {"BOOT_FAIL", SLURM_LOST},      {"OUT_OF_MEMORY", SLURM_LOST},
    };
    size_t n = strcspn(state, " ");
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strlen(table[i].state) == n && !strncmp(state, table[i].state, n)) {
            return table[i].outcome;
        }
    }
    return SLURM_ACTIVE;
}
