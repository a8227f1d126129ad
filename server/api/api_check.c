/* The trainer's check of a submission: `angora-train --check SPEC` resolves the spec, creates
 * the task and builds the model (what the daemon, free of MuJoCo and BLAS, cannot do itself),
 * under a time limit; its verdicts are cached by a hash of the canonical spec text without the
 * members the check never reads (name, tags, notes, seed, budget, eval, checkpoint_every); a
 * spec whose check reads a file it names (a policy to start from, a pretrained encoder) is
 * checked every time.
 * `angora-train --pretrain-check SPEC` does the same for a pretraining (the dataset's header
 * and the model for its image size), uncached.
 *
 * DESIGN
 * - The child is started with ag_spawn as every worker is, in its own session, its verdict read
 *   from a pipe (the last line of its output); past API_CHECK_TIMEOUT_S its group is killed.
 *   api_child_output does that for the catalogue loader too.
 * - Only a verdict is cached and trusted: a trainer that cannot run, times out or prints no
 *   verdict (an older one, a test double) leaves the submission to the daemon's own checks and
 *   the failure is logged. */
#include "api_int.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_log.h"
#include "ag_rundir.h"
#include "ag_spawn.h"
#include "ag_time.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define API_CHECK_TIMEOUT_S 10.0
#define API_CHECK_OUT_MAX   (64u << 10)

/* the child's output until it closes the pipe or the deadline passes (0, or -1 on timeout) */
static int child_read(int fd, double timeout_s, AgBuf *out) {
    double deadline = ag_time_now() + timeout_s;
    char chunk[4096];
    for (;;) {
        double left = deadline - ag_time_now();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0) {
            return -1;
        }
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            return -1;
        }
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || ag_buf_append(out, chunk, (size_t)n) != 0) {
            return 0;
        }
    }
}

int api_child_output(const char *const *argv, double timeout_s, AgBuf *out, int *status, char *err,
                     size_t err_sz) {
    int pipefd[2], rc = 0;
    pid_t pid;
    *status = 0;
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        return ag_errorf(err, err_sz, AG_EIO, "pipe: %s", strerror(errno));
    }
    /* started as the scheduler starts workers: clean signal state, no inherited descriptors,
     * its own process group (killed whole on a timeout) */
    AgSpawn sp = {
        .argv = argv, .stdin_fd = -1, .stdout_fd = pipefd[1], .stderr_fd = -1, .new_session = 1};
    rc = ag_spawn(&sp, &pid, err, err_sz);
    close(pipefd[1]);
    if (rc) {
        close(pipefd[0]);
        return rc;
    }
    if (child_read(pipefd[0], timeout_s, out) != 0) {
        kill(-pid, SIGKILL);
        rc = ag_errorf(err, err_sz, AG_ETIMEOUT, "%s %s took over %.0f s; killed", argv[0],
                       argv[1] ? argv[1] : "", timeout_s);
    }
    close(pipefd[0]);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
    }
    return rc;
}

/* the verdict: the last line of out that parses as an object with "valid" (new reference) */
static json_t *check_verdict(const AgBuf *out) {
    size_t end = out->len;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && out->data[start - 1] != '\n') {
            start--;
        }
        json_t *o = json_loadb(out->data + start, end - start, 0, NULL);
        if (json_is_boolean(json_object_get(o, "valid"))) {
            return o;
        }
        json_decref(o);
        end = start > 0 ? start - 1 : 0;
    }
    return NULL;
}

/* runs `trainer FLAG FILE` on spec_text (FLAG: --check, or --pretrain-check); the verdict (new
 * reference) or NULL */
static json_t *check_run(const char *trainer, const char *flag, const char *spec_text) {
    char path[] = "/tmp/angorad-check-XXXXXX", err[256] = "";
    size_t len = strlen(spec_text);
    json_t *verdict = NULL;
    int status = 0;
    AgBuf out;
    int fd = mkstemp(path);
    if (fd < 0) {
        ag_log_warn("api: spec check: cannot make a temporary file: %s", strerror(errno));
        return NULL;
    }
    if (write(fd, spec_text, len) != (ssize_t)len) {
        ag_log_warn("api: spec check: cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return NULL;
    }
    close(fd);
    const char *const argv[] = {trainer, flag, path, NULL};
    ag_buf_init(&out, 0, API_CHECK_OUT_MAX);
    if (api_child_output(argv, API_CHECK_TIMEOUT_S, &out, &status, err, sizeof err) != 0) {
        ag_log_warn("api: spec check: %s", err);
    } else if (WIFEXITED(status) &&
               (WEXITSTATUS(status) == AG_EXIT_DONE || WEXITSTATUS(status) == AG_EXIT_USAGE)) {
        verdict = check_verdict(&out);
    }
    if (!verdict && !err[0]) {
        ag_log_warn("api: %s %s gave no verdict (status %d)", trainer, flag, status);
    }
    unlink(path);
    ag_buf_free(&out);
    return verdict;
}

/* the SHA-256 of what the trainer's check depends on: the spec without the members it never
 * looks at (checked by the daemon itself), so that a thousand runs of one task differing only in
 * name, seed or budget cost one check, not a thousand */
static void check_hash(const char *text, unsigned char hash[API_CHECK_HASH]) {
    static const char *const ignored[] = {
        "name",     "tags",    "notes", "seed", "budget", "eval", "checkpoint_every",
        "priority", "executor"};
    unsigned int n = 0;
    json_t *spec = json_loads(text, 0, NULL);
    char *key = NULL;
    if (json_is_object(spec)) {
        for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
            json_object_del(spec, ignored[i]);
        }
        key = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    }
    const char *hashed = key ? key : text;
    EVP_Digest(hashed, strlen(hashed), hash, &n, EVP_sha256(), NULL);
    free(key);
    json_decref(spec);
}

/* 0 for a valid verdict, else AG_ESPEC at its path under prefix. The path and the reason
 * apart, as a spec check gives them ("path: reason"); finer: a message that starts with a
 * deeper path than the verdict's ("model.trunk: ..." of path "model") names that one */
static int verdict_fail(const json_t *verdict, int finer, const char *prefix, ApiErr *e) {
    AgJsonErr je = {0};
    const char *path = json_string_value(json_object_get(verdict, "path"));
    const char *msg = json_string_value(json_object_get(verdict, "message"));
    size_t n = path ? strlen(path) : 0;
    if (json_is_true(json_object_get(verdict, "valid"))) {
        return 0;
    }
    msg = msg ? msg : "the trainer refused the spec";
    snprintf(je.path, sizeof(je.path), "%s", path ? path : "");
    if (finer && n && !strncmp(msg, path, n) && (msg[n] == '.' || msg[n] == '[')) {
        size_t deeper = strcspn(msg, ": ");
        if (msg[deeper] == ':' && msg[deeper + 1] == ' ' && deeper < sizeof(je.path)) {
            snprintf(je.path, sizeof(je.path), "%.*s", (int)deeper, msg);
            n = deeper;
        }
    }
    if (n && !strncmp(msg, je.path, n) && !strncmp(msg + n, ": ", 2)) {
        msg += n + 2;
    }
    snprintf(je.reason, sizeof(je.reason), "%s", msg);
    return api_spec_fail(e, &je, prefix);
}

/* whether the check reads files the spec names (init.checkpoint, model.encoder.checkpoint):
 * its verdict then holds only for the files as they were, so it is not cached */
static int check_reads_files(const char *text) {
    json_t *spec = json_loads(text, 0, NULL);
    const json_t *init = json_object_get(spec, "init");
    const json_t *encoder = json_object_get(json_object_get(spec, "model"), "encoder");
    int reads = (init && !json_is_null(init)) || (encoder && !json_is_null(encoder));
    json_decref(spec);
    return reads;
}

int api_check_spec(Api *api, const char *spec_text, const char *prefix, ApiErr *e) {
    unsigned char hash[API_CHECK_HASH];
    json_t *verdict = NULL;
    if (check_reads_files(spec_text)) {
        verdict = check_run(api->trainer, AG_TRAIN_CHECK, spec_text);
        int rc = verdict ? verdict_fail(verdict, 0, prefix, e) : 0;
        json_decref(verdict);
        return rc;
    }
    check_hash(spec_text, hash);
    /* a verdict given before */
    pthread_mutex_lock(&api->check_mu);
    for (int i = 0; i < API_CHECK_CACHE; i++) {
        if (api->checks[i].verdict && !memcmp(api->checks[i].hash, hash, API_CHECK_HASH)) {
            verdict = json_incref(api->checks[i].verdict);
            break;
        }
    }
    pthread_mutex_unlock(&api->check_mu);
    if (!verdict) {
        verdict = check_run(api->trainer, AG_TRAIN_CHECK, spec_text);
        if (!verdict) {
            return 0;
        }
        pthread_mutex_lock(&api->check_mu);
        ApiCheck *c = &api->checks[api->check_next];
        api->check_next = (api->check_next + 1) % API_CHECK_CACHE;
        json_decref(c->verdict);
        memcpy(c->hash, hash, API_CHECK_HASH);
        c->verdict = json_incref(verdict);
        pthread_mutex_unlock(&api->check_mu);
    }
    int rc = verdict_fail(verdict, 0, prefix, e);
    json_decref(verdict);
    return rc;
}

int api_check_pretrain(Api *api, const char *spec_text, const char *prefix, ApiErr *e) {
    /* not cached: the verdict depends on the dataset file as well as on the text */
    json_t *verdict = check_run(api->trainer, AG_TRAIN_PRETRAIN_CHECK, spec_text);
    int rc = verdict ? verdict_fail(verdict, 1, prefix, e) : 0;
    json_decref(verdict);
    return rc;
}

void api_check_cache_free(Api *api) {
    for (int i = 0; i < API_CHECK_CACHE; i++) {
        json_decref(api->checks[i].verdict);
        api->checks[i].verdict = NULL;
    }
}
