/* Helpers of angoractl's end-to-end tests (see ctl_itest.h). */
#include "ctl_itest.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char home[300];
static char stdin_path[400];

void ctl_itest_stdin(const char *path) {
    snprintf(stdin_path, sizeof(stdin_path), "%s", path);
}

void ctl_itest_env_init(const Daemon *d) {
    char path[400];
    snprintf(home, sizeof(home), "%s/clienthome", d->dir);
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    snprintf(path, sizeof(path), "%s/config", home);
    mkdir(path, 0700);
    setenv("XDG_CONFIG_HOME", path, 1);
    snprintf(path, sizeof(path), "%s/data", home);
    mkdir(path, 0700);
    setenv("XDG_DATA_HOME", path, 1);
    unsetenv("ANGORA_URL");
    unsetenv("ANGORA_TOKEN");
    unsetenv("ANGORA_CONFIG");
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

void ctl_itest_runv(CtlRun *r, const char *const *args) {
    const char *exe = getenv("ITEST_ANGORACTL");
    char out_path[400], err_path[400];
    const char *argv[64];
    int argc = 0, status = 0;
    pid_t pid;
    ck_assert_msg(exe && *exe, "ITEST_ANGORACTL is not set");
    snprintf(out_path, sizeof(out_path), "%s/ctl.out", home);
    snprintf(err_path, sizeof(err_path), "%s/ctl.err", home);
    argv[argc++] = exe;
    for (int i = 0; args[i] && argc < 62; i++) {
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int in = open(stdin_path[0] ? stdin_path : "/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0) {
            _exit(126);
        }
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    stdin_path[0] = '\0';
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->out = slurp(out_path);
    r->err = slurp(err_path);
}

void ctl_itest_run(CtlRun *r, const char *first, ...) {
    const char *args[64];
    int n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 63; a = va_arg(ap, const char *)) {
        args[n++] = a;
    }
    va_end(ap);
    args[n] = NULL;
    ctl_itest_runv(r, args);
}

void ctl_itest_free(CtlRun *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void ctl_itest_write(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

long long ctl_itest_submitted_id(const CtlRun *r) {
    const char *p = strstr(r->out, "submitted experiment ");
    ck_assert_msg(p != NULL, "no id in \"%s\" (stderr \"%s\")", r->out, r->err);
    return atoll(p + strlen("submitted experiment "));
}

json_t *ctl_itest_json(const char *text, const char *what) {
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    ck_assert_msg(doc != NULL, "%s is not one JSON document (%s): %s", what, je.text, text);
    return doc;
}

int ctl_itest_count(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

void ctl_itest_start(Daemon *d, const char *const *extra) {
    itest_daemon_init(d);
    itest_daemon_start(d, itest_fake_trainer(), extra);
    ctl_itest_env_init(d);
}

char *ctl_itest_run_tty(const char *const *args, const char *prompt, const char *answer,
                        int *code) {
    struct winsize ws = {30, 80, 0, 0};
    const char *argv[64];
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int master = -1, status = 0, argc = 0, answered = prompt == NULL;
    pid_t pid;
    argv[argc++] = getenv("ITEST_ANGORACTL");
    ck_assert_msg(argv[0] && *argv[0], "ITEST_ANGORACTL is not set");
    for (int i = 0; args[i] && argc < 62; i++) {
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;
    fflush(NULL);
    pid = forkpty(&master, NULL, NULL, &ws);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (;;) {
        char chunk[4096];
        ssize_t n = read(master, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break; /* EIO once the child has gone */
        }
        if (len + (size_t)n + 1 > cap) {
            cap = (len + (size_t)n + 1) * 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        memcpy(buf + len, chunk, (size_t)n);
        len += (size_t)n;
        buf[len] = '\0';
        /* the answer is typed once the question is on the screen */
        if (!answered && strstr(buf, prompt)) {
            ck_assert_int_eq(write(master, answer, strlen(answer)), (ssize_t)strlen(answer));
            answered = 1;
        }
    }
    close(master);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(answered, "never asked \"%s\": %s", prompt, buf ? buf : "");
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    return buf ? buf : calloc(1, 1);
}
