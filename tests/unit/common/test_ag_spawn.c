/* Tests of common/ag_spawn.c: the child gets the environment settings, its own working folder,
 * only descriptors 0-2, an empty signal mask with default handlers even when the parent blocks
 * or catches signals, its own session when asked, and a program that cannot run exits 127 with
 * a message. */
#include "ag_spawn.h"

#include "ag_error.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* runs sh -c script with the given settings; returns the exit code, output in out */
static int run_sh(const char *script, const char *const *env_set, const char *cwd, int new_session,
                  char *out, size_t out_sz) {
    const char *argv[] = {"sh", "-c", script, NULL};
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    AgSpawn s = {.argv = argv,
                 .env_set = env_set,
                 .cwd = cwd,
                 .stdin_fd = -1,
                 .stdout_fd = pipefd[1],
                 .stderr_fd = pipefd[1],
                 .new_session = new_session};
    char err[256] = "";
    pid_t pid = -1;
    ck_assert_msg(ag_spawn(&s, &pid, err, sizeof err) == 0, "%s", err);
    close(pipefd[1]);
    size_t used = 0;
    ssize_t n;
    while ((n = read(pipefd[0], out + used, out_sz - 1 - used)) > 0) {
        used += (size_t)n;
    }
    out[used] = '\0';
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(test_environment_and_cwd) {
    char out[512];
    setenv("AG_SPAWN_TEST_KEEP", "kept", 1);
    setenv("OPENBLAS_NUM_THREADS", "8", 1);
    const char *const set[] = {"OPENBLAS_NUM_THREADS=1", "AG_SPAWN_TEST_NEW=new", NULL};
    ck_assert_int_eq(run_sh("echo \"$OPENBLAS_NUM_THREADS $AG_SPAWN_TEST_NEW "
                            "$AG_SPAWN_TEST_KEEP $(pwd)\"; env | grep -c ^OPENBLAS_NUM_THREADS=",
                            set, "/tmp", 0, out, sizeof out),
                     0);
    ck_assert_str_eq(out, "1 new kept /tmp\n1\n");
    /* no settings: the environment as it is */
    ck_assert_int_eq(run_sh("echo $OPENBLAS_NUM_THREADS", NULL, NULL, 0, out, sizeof out), 0);
    ck_assert_str_eq(out, "8\n");
    unsetenv("AG_SPAWN_TEST_KEEP");
    unsetenv("OPENBLAS_NUM_THREADS");
}
END_TEST

static void on_usr1(int sig) {
    (void)sig;
}

START_TEST(test_descriptors_signals_session) {
    char out[512];
    /* an inherited descriptor without close-on-exec, a caught, an ignored and a blocked signal */
    int leak = dup(1);
    ck_assert_int_ge(leak, 3);
    signal(SIGUSR1, on_usr1);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    /* the child sees 0, 1, 2 (and the descriptor ls opens to list them), an empty mask, SIGPIPE
     * not ignored, and with a new session it leads its own group */
    ck_assert_int_eq(run_sh("ls /proc/self/fd | wc -l; grep -E '^Sig(Blk|Ign)' /proc/self/status; "
                            "ps -o sid= -o pgid= -p $$; echo $$",
                            NULL, NULL, 1, out, sizeof out),
                     0);
    int nfd = -1, sid = -1, pgid = -2, self = -3;
    char blk[32] = "", ign[32] = "";
    ck_assert_msg(sscanf(out, "%d SigBlk: %31s SigIgn: %31s %d %d %d", &nfd, blk, ign, &sid, &pgid,
                         &self) == 6,
                  "%s", out);
    ck_assert_int_eq(nfd, 4);
    ck_assert_str_eq(blk, "0000000000000000");
    ck_assert_msg((strtoull(ign, NULL, 16) & (1ull << (SIGPIPE - 1))) == 0, "SigIgn %s", ign);
    ck_assert_int_eq(sid, self);
    ck_assert_int_eq(pgid, self);
    /* without a new session the child stays in ours */
    ck_assert_int_eq(run_sh("ps -o sid= -p $$", NULL, NULL, 0, out, sizeof out), 0);
    ck_assert_int_eq(atoi(out), (int)getsid(0));
    sigprocmask(SIG_SETMASK, &old, NULL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    close(leak);
}
END_TEST

START_TEST(test_failures) {
    char out[512], err[256] = "";
    const char *const missing[] = {"/nonexistent/program", NULL};
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    AgSpawn s = {.argv = missing, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = pipefd[1]};
    pid_t pid = -1;
    ck_assert_int_eq(ag_spawn(&s, &pid, err, sizeof err), 0);
    close(pipefd[1]);
    ssize_t n = read(pipefd[0], out, sizeof out - 1);
    close(pipefd[0]);
    ck_assert_int_gt(n, 0);
    out[n] = '\0';
    ck_assert_ptr_nonnull(strstr(out, "cannot execute /nonexistent/program"));
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), AG_SPAWN_EXEC_FAILED);
    /* a working folder that does not exist */
    ck_assert_int_eq(run_sh("echo never", NULL, "/nonexistent-dir", 0, out, sizeof out),
                     AG_SPAWN_EXEC_FAILED);
    ck_assert_ptr_nonnull(strstr(out, "cannot enter /nonexistent-dir"));
    /* nothing to start */
    const char *const empty[] = {"", NULL};
    AgSpawn none = {.argv = empty, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    ck_assert_int_eq(ag_spawn(&none, &pid, err, sizeof err), AG_EINVAL);
    ck_assert_int_eq(pid, -1);
    ck_assert_int_eq(ag_spawn(NULL, &pid, err, sizeof err), AG_EINVAL);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ag_spawn");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_environment_and_cwd);
    tcase_add_test(tc, test_descriptors_signals_session);
    tcase_add_test(tc, test_failures);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
