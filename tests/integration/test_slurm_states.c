/* The Slurm executor's decisions on what a one-node test cluster cannot show in seconds, against
 * a test double of Slurm's commands (fake_slurm.sh, given to angorad as --slurm-bin): a job the
 * controller has forgotten, read from the job completion log (sacct -c); a job lost without a
 * requeue (NODE_FAIL), retried by angorad from its checkpoint with no row lost or repeated; a
 * controller that does not answer, which leaves the run queued; sbatch refusing the job; a job
 * cancelled outside angorad. Runs without root or Slurm (label integration). */
#include "itest.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fake_dir[128], bin_dir[160];

/* the state folder of the fake and a folder of sbatch, scontrol, sacct, scancel linked to it */
static void setup(void) {
    static const char *const names[] = {"sbatch", "scontrol", "sacct", "scancel"};
    const char *fake = getenv("ITEST_FAKE_SLURM");
    char link_path[256];
    ck_assert_msg(fake && *fake, "ITEST_FAKE_SLURM is not set");
    snprintf(fake_dir, sizeof fake_dir, "/tmp/angora-fake-slurm-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fake_dir));
    snprintf(bin_dir, sizeof bin_dir, "%s/bin", fake_dir);
    ck_assert_int_eq(mkdir(bin_dir, 0700), 0);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(link_path, sizeof link_path, "%s/%s", bin_dir, names[i]);
        ck_assert_int_eq(symlink(fake, link_path), 0);
    }
    setenv("FAKE_SLURM_DIR", fake_dir, 1);
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fake_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void fake_write(const char *name, const char *text) {
    char path[300];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", fake_dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void start(Daemon *d) {
    const char *extra[] = {
        "--executor", "slurm",           "--slurm-bin", bin_dir, "--slurm-poll-seconds",
        "0.1",        "--queue-seconds", "0.05",        NULL};
    itest_daemon_init(d);
    itest_daemon_start(d, itest_fake_trainer(), extra);
}

static const char *field(json_t *o, const char *key) {
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "";
}

START_TEST(test_forgotten_job_read_from_completion_log) {
    Daemon d;
    long long ok, bad;
    json_t *o;
    fake_write("forget", "");
    start(&d);
    ok = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=8,sleep=0.05\"}", 0);
    o = itest_wait_state(&d, ok, "succeeded", 30);
    ck_assert_str_eq(field(o, "slurm_state"), "COMPLETED");
    json_decref(o);
    itest_assert_rows_exact(&d, ok, 8);
    /* bad input, known only from the completion log: failed at once with the trainer's message */
    bad = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=8,crash=input\"}", 0);
    o = itest_wait_state(&d, bad, "failed", 30);
    ck_assert_str_eq(field(o, "error"), "task_options.bogus: unknown key");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 1);
    json_decref(o);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_lost_job_retried_from_checkpoint) {
    Daemon d;
    long long id;
    char path[300], text[32] = "";
    FILE *f;
    json_t *o;
    start(&d);
    id = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=40,sleep=0.1\"}", 0);
    itest_wait_rows(&d, id, 6, 30);
    /* the node dies under job 1 and Slurm does not requeue it */
    fake_write("job-1.state", "NODE_FAIL\n");
    snprintf(path, sizeof path, "%s/job-1.pid", fake_dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(text, sizeof text, f));
    fclose(f);
    ck_assert_int_eq(kill(atoi(text), SIGKILL), 0);
    o = itest_wait_state(&d, id, "succeeded", 60);
    ck_assert_str_eq(field(o, "slurm_job_id"), "2");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 1);
    json_decref(o);
    itest_assert_rows_exact(&d, id, 40);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_unreachable_controller_keeps_the_run_queued) {
    Daemon d;
    long long id;
    char path[300];
    json_t *o;
    fake_write("sbatch-error", "sbatch: error: Batch job submission failed: Unable to contact "
                               "slurm controller (connect failure)\n");
    start(&d);
    id = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=3,sleep=0.05\"}", 0);
    itest_sleep(1.0);
    o = itest_get(&d, id);
    ck_assert_str_eq(field(o, "state"), "queued");
    json_decref(o);
    /* the controller is back */
    snprintf(path, sizeof path, "%s/sbatch-error", fake_dir);
    ck_assert_int_eq(unlink(path), 0);
    json_decref(itest_wait_state(&d, id, "succeeded", 30));
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_sbatch_refusal_fails_the_run) {
    Daemon d;
    long long id;
    json_t *o;
    fake_write("sbatch-error", "sbatch: error: Batch job submission failed: Invalid account or "
                               "account/partition combination specified\n");
    start(&d);
    id = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=3\"}", 0);
    o = itest_wait_state(&d, id, "failed", 30);
    ck_assert_str_eq(field(o, "error"),
                     "sbatch failed: sbatch: error: Batch job submission failed: "
                     "Invalid account or account/partition combination "
                     "specified");
    json_decref(o);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_cancelled_outside_angorad) {
    Daemon d;
    long long id;
    char cmd[400];
    json_t *o;
    start(&d);
    id = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=200,sleep=0.1\"}", 0);
    itest_wait_rows(&d, id, 3, 30);
    snprintf(cmd, sizeof cmd, "FAKE_SLURM_DIR='%s' '%s/scancel' 1", fake_dir, bin_dir);
    ck_assert_int_eq(system(cmd), 0);
    o = itest_wait_state(&d, id, "cancelled", 30);
    ck_assert_ptr_nonnull(strstr(field(o, "error"), "outside angorad"));
    json_decref(o);
    itest_daemon_finish(&d);
}
END_TEST

int main(void) {
    Suite *s = suite_create("integration_slurm_states");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_forgotten_job_read_from_completion_log);
    tcase_add_test(tc, test_lost_job_retried_from_checkpoint);
    tcase_add_test(tc, test_unreachable_controller_keeps_the_run_queued);
    tcase_add_test(tc, test_sbatch_refusal_fails_the_run);
    tcase_add_test(tc, test_cancelled_outside_angorad);
    suite_add_tcase(s, tc);
    return itest_run_suite(s);
}
