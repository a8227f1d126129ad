/* Helpers of angora-analyze's end-to-end tests (see an_itest.h). */
#include "an_itest.h"

#include "ag_spawn.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *an_itest_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len) {
        *len = (size_t)n;
    }
    return buf;
}

void an_itest_run(AnRun *r, const char *dir, const char *const *argv) {
    char out_path[512], err_path[512], err[256];
    snprintf(out_path, sizeof out_path, "%s/run.out", dir);
    snprintf(err_path, sizeof err_path, "%s/run.err", dir);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int errfd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert(out >= 0 && errfd >= 0);
    AgSpawn s = {.argv = argv, .stdin_fd = -1, .stdout_fd = out, .stderr_fd = errfd};
    pid_t pid;
    ck_assert_msg(ag_spawn(&s, &pid, err, sizeof err) == 0, "%s", err);
    close(out);
    close(errfd);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->out = an_itest_slurp(out_path, NULL);
    r->err = an_itest_slurp(err_path, NULL);
}

void an_itest_run_free(AnRun *r) {
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}
