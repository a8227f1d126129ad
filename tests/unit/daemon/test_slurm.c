/* Tests of the Slurm executor's text (server/daemon/slurm.c): shell quoting checked by a real sh
 * on hostile strings, the batch script run with a stand-in trainer (its arguments, --resume only
 * when the run has a checkpoint, srun for several ranks), sbatch's arguments, and the output of
 * sbatch, scontrol and sacct read back, with every job state's outcome. */
#include "slurm.h"

#include "ag_error.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const hostile[] = {
    "$(touch /tmp/x)",
    "a\"; rm -rf / #",
    "it's",
    "'",
    "''",
    "`id`",
    "a\nb",
    "\\'",
    "$HOME",
    "",
    "; exit 7",
    "*",
};

/* runs a sh command line and returns what it printed (malloc'd) */
static char *sh_output(const char *line) {
    char tmpl[] = "/tmp/angora-slurm-sh-XXXXXX", cmd[8192];
    int fd = mkstemp(tmpl);
    char *out = calloc(1, 8192);
    FILE *f;
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s > %s", line, tmpl);
    ck_assert_int_eq(system(cmd), 0);
    f = fopen(tmpl, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_lt(fread(out, 1, 8191, f), 8191);
    fclose(f);
    unlink(tmpl);
    return out;
}

START_TEST(test_shell_quote_survives_sh) {
    char quoted[512], line[1024], *out;
    ck_assert_int_eq(slurm_shell_quote(hostile[_i], quoted, sizeof quoted), AG_OK);
    /* sh must hand the string to printf as one argument, byte for byte */
    snprintf(line, sizeof line, "printf '[%%s]' %s", quoted);
    out = sh_output(line);
    ck_assert_int_eq(out[0], '[');
    ck_assert_int_eq(strncmp(out + 1, hostile[_i], strlen(hostile[_i])), 0);
    ck_assert_str_eq(out + 1 + strlen(hostile[_i]), "]");
    free(out);
}
END_TEST

START_TEST(test_shell_quote_too_long) {
    char small[6];
    ck_assert_int_eq(slurm_shell_quote("abcd", small, sizeof small), AG_ETOOBIG);
    ck_assert_int_eq(slurm_shell_quote("abc", small, sizeof small), AG_OK);
    ck_assert_str_eq(small, "'abc'");
}
END_TEST

/* a run directory whose name needs quoting, and a stand-in trainer that prints its arguments */
static char root[128], run_dir[512], trainer[600], srun[600];

static void write_exec(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0700), 0);
}

static void setup(void) {
    snprintf(root, sizeof root, "/tmp/angora-slurm-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(run_dir, sizeof run_dir, "%s/run it's $(touch pwned) \"q\" `touch pwned`", root);
    ck_assert_int_eq(mkdir(run_dir, 0700), 0);
    snprintf(trainer, sizeof trainer, "%s/train er's", root);
    write_exec(trainer, "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>' \"$a\"; done\n"
                        "printf 'blas=%s' \"$OPENBLAS_NUM_THREADS\"\n");
    snprintf(srun, sizeof srun, "%s/srun", root);
    write_exec(srun, "#!/bin/sh\nprintf 'srun:'\nfor a in \"$@\"; do printf '<%s>' \"$a\"; done\n");
}

static void teardown(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

/* writes the script of sc and runs it with sh; its output (malloc'd) */
static char *script_run(const SlurmScript *sc) {
    char path[700], text[16384], err[256], line[800], x[600];
    ck_assert_int_eq(slurm_script_text(sc, text, sizeof text, err, sizeof err), AG_OK);
    snprintf(path, sizeof path, "%s/job.sh", root);
    write_exec(path, text);
    snprintf(line, sizeof line, "'%s' 2>/dev/null", path);
    char *out = sh_output(line);
    /* before or after the script's cd */
    snprintf(x, sizeof x, "%s/pwned", run_dir);
    ck_assert_msg(access(x, F_OK) != 0 && access("pwned", F_OK) != 0,
                  "the run directory's name ran in the shell");
    return out;
}

START_TEST(test_script_runs_the_trainer) {
    SlurmScript sc = {.id = 7, .attempt = 2, .run_dir = run_dir, .trainer = trainer, .ranks = 1};
    char expect[2048], ck[700];
    char *out = script_run(&sc);
    snprintf(expect, sizeof expect, "<%s/submitted.json><--run-dir><%s>blas=1", run_dir, run_dir);
    ck_assert_str_eq(out, expect);
    free(out);
    /* a checkpoint there: the same script resumes (a requeued job runs it again) */
    snprintf(ck, sizeof ck, "%s/checkpoints", run_dir);
    ck_assert_int_eq(mkdir(ck, 0700), 0);
    snprintf(ck, sizeof ck, "%s/checkpoints/last.ckpt", run_dir);
    write_exec(ck, "x");
    out = script_run(&sc);
    snprintf(expect, sizeof expect, "<%s/submitted.json><--run-dir><%s><--resume>blas=1", run_dir,
             run_dir);
    ck_assert_str_eq(out, expect);
    free(out);
}
END_TEST

START_TEST(test_script_ranks_use_srun) {
    SlurmScript sc = {.id = 7,
                      .attempt = 1,
                      .run_dir = run_dir,
                      .trainer = trainer,
                      .ranks = 4,
                      .srun = srun,
                      .mpi = "pmix"};
    char expect[2048];
    char *out = script_run(&sc);
    snprintf(expect, sizeof expect,
             "srun:<--mpi=pmix><--kill-on-bad-exit=1><%s><%s/submitted.json>"
             "<--run-dir><%s>",
             trainer, run_dir, run_dir);
    ck_assert_str_eq(out, expect);
    free(out);
}
END_TEST

/* a pause's TERM to the batch shell of a multi-rank job reaches the ranks through scancel (srun
 * itself would end the step at once), and the shell exits with the ranks' code */
START_TEST(test_script_passes_term_to_the_ranks) {
    char waiting_srun[700], fake_scancel[700], pid_file[700], args_file[700], script[700];
    char text[16384], got[256] = "";
    SlurmScript sc = {.id = 7,
                      .attempt = 1,
                      .run_dir = run_dir,
                      .trainer = trainer,
                      .ranks = 2,
                      .srun = waiting_srun,
                      .scancel = fake_scancel,
                      .mpi = "pmix"};
    char body[2048];
    pid_t pid;
    int status = 0;
    FILE *f;
    snprintf(pid_file, sizeof pid_file, "%s/srun.pid", root);
    snprintf(args_file, sizeof args_file, "%s/scancel.args", root);
    /* the step: stops with the trainer's "interrupted" code on TERM */
    snprintf(waiting_srun, sizeof waiting_srun, "%s/waiting-srun", root);
    snprintf(body, sizeof body,
             "#!/bin/sh\ntrap 'exit 3' TERM\necho $$ > '%s'\nwhile :; do sleep 0.05; done\n",
             pid_file);
    write_exec(waiting_srun, body);
    /* scancel: records its arguments, signals the step */
    snprintf(fake_scancel, sizeof fake_scancel, "%s/fake-scancel", root);
    snprintf(body, sizeof body, "#!/bin/sh\necho \"$@\" > '%s'\nkill -TERM $(cat '%s')\n",
             args_file, pid_file);
    write_exec(fake_scancel, body);
    ck_assert_int_eq(slurm_script_text(&sc, text, sizeof text, got, sizeof got), AG_OK);
    snprintf(script, sizeof script, "%s/job.sh", root);
    write_exec(script, text);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("SLURM_JOB_ID", "77", 1);
        if (!freopen("/dev/null", "w", stderr)) {
            _exit(126);
        }
        execl("/bin/sh", "sh", script, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && access(pid_file, F_OK) != 0; i++) {
        usleep(20000);
    }
    ck_assert_int_eq(access(pid_file, F_OK), 0);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 3);
    f = fopen(args_file, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(got, sizeof got, f));
    fclose(f);
    ck_assert_str_eq(got, "--signal=TERM 77\n");
}
END_TEST

START_TEST(test_sbatch_argv) {
    SlurmSbatch b;
    AgExecutor x = {.kind = AG_EXECUTOR_SLURM,
                    .partition = "debug",
                    .account = "lab",
                    .time_limit = "1-0",
                    .mem = "2G",
                    .nodes = 2,
                    .cpus_per_task = 3,
                    .num_extra = 1,
                    .extra = {"--qos=long"}};
    const char *expect[] = {"sbatch",
                            "--parsable",
                            "--job-name=angora-12",
                            "--chdir=/r/12",
                            "--output=/r/12/worker.log",
                            "--open-mode=append",
                            "--requeue",
                            "--ntasks=4",
                            "--partition=debug",
                            "--account=lab",
                            "--time=1-0",
                            "--nodes=2",
                            "--cpus-per-task=3",
                            "--mem=2G",
                            "--qos=long",
                            "/r/12/slurm-1.sh",
                            NULL};
    char err[256], long_dir[400];
    ck_assert_int_eq(
        slurm_sbatch_argv(&b, "sbatch", &x, 4, 12, "/r/12", "/r/12/slurm-1.sh", err, sizeof err),
        AG_OK);
    for (int i = 0; expect[i]; i++) {
        ck_assert_ptr_nonnull(b.argv[i]);
        ck_assert_str_eq(b.argv[i], expect[i]);
    }
    ck_assert_ptr_null(b.argv[16]);
    /* only what is set */
    memset(&x, 0, sizeof x);
    ck_assert_int_eq(
        slurm_sbatch_argv(&b, "sbatch", &x, 1, 3, "/r/3", "/r/3/s.sh", err, sizeof err), AG_OK);
    ck_assert_str_eq(b.argv[7], "--ntasks=1");
    ck_assert_str_eq(b.argv[8], "/r/3/s.sh");
    ck_assert_ptr_null(b.argv[9]);
    /* a run directory too long for an option is an error, not a cut path */
    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[sizeof long_dir - 1] = '\0';
    ck_assert_int_eq(slurm_sbatch_argv(&b, "sbatch", &x, 1, 3, long_dir, "s", err, sizeof err),
                     AG_ETOOBIG);
}
END_TEST

START_TEST(test_parse_job_id) {
    char id[SLURM_JOB_LEN];
    ck_assert_int_eq(slurm_parse_job_id("123\n", id, sizeof id), AG_OK);
    ck_assert_str_eq(id, "123");
    ck_assert_int_eq(slurm_parse_job_id("456;cluster\n", id, sizeof id), AG_OK);
    ck_assert_str_eq(id, "456");
    ck_assert_int_eq(slurm_parse_job_id("", id, sizeof id), AG_EFORMAT);
    ck_assert_int_eq(slurm_parse_job_id("sbatch: error: x\n", id, sizeof id), AG_EFORMAT);
    ck_assert_int_eq(slurm_parse_job_id("12x\n", id, sizeof id), AG_EFORMAT);
    ck_assert_int_eq(slurm_parse_job_id("123456789012345678901234567890123456\n", id, sizeof id),
                     AG_EFORMAT);
}
END_TEST

START_TEST(test_parse_scontrol) {
    SlurmJobInfo j;
    const char *pending =
        "JobId=5 JobName=angora-3 UserId=root(0) Priority=1 Nice=0 Account=(null) QOS=(null) "
        "JobState=PENDING Reason=BeginTime Dependency=(null) Requeue=1 Restarts=1 BatchFlag=1 "
        "Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED NodeList=(null) "
        "BatchHost=node1\n";
    const char *done = "JobId=5 JobState=FAILED Reason=NonZeroExitCode Restarts=0 ExitCode=3:0 "
                       "NodeList=node[1-2] DerivedExitCode=0:0\n";
    ck_assert_int_eq(slurm_parse_scontrol(pending, &j), AG_OK);
    ck_assert_str_eq(j.state, "PENDING");
    ck_assert_str_eq(j.reason, "BeginTime");
    ck_assert_str_eq(j.nodes, "");
    ck_assert_int_eq(j.restarts, 1);
    ck_assert_int_eq(slurm_parse_scontrol(done, &j), AG_OK);
    ck_assert_str_eq(j.state, "FAILED");
    ck_assert_str_eq(j.nodes, "node[1-2]");
    ck_assert_int_eq(j.exit_code, 3);
    ck_assert_int_eq(j.exit_signal, 0);
    ck_assert_int_eq(slurm_parse_scontrol("JobState=CANCELLED Reason=None ExitCode=0:15", &j),
                     AG_OK);
    ck_assert_str_eq(j.reason, "");
    ck_assert_int_eq(j.exit_signal, 15);
    ck_assert_int_eq(slurm_parse_scontrol("slurm_load_jobs error: Invalid job id specified\n", &j),
                     AG_ENOTFOUND);
    ck_assert_int_eq(slurm_parse_scontrol("JobState=RUNNING ExitCode=zero", &j), AG_EFORMAT);
    /* a key inside another's value is not the key */
    ck_assert_int_eq(slurm_parse_scontrol("Comment=JobState=COMPLETED JobState=RUNNING", &j),
                     AG_OK);
    ck_assert_str_eq(j.state, "RUNNING");
}
END_TEST

START_TEST(test_parse_sacct) {
    SlurmJobInfo j;
    const char *acct = "12|FAILED|1:0\n12.batch|FAILED|1:0\n12.0|COMPLETED|0:0\n";
    ck_assert_int_eq(slurm_parse_sacct(acct, "12", &j), AG_OK);
    ck_assert_str_eq(j.state, "FAILED");
    ck_assert_int_eq(j.exit_code, 1);
    ck_assert_int_eq(slurm_parse_sacct("7|CANCELLED by 0|0:15\n", "7", &j), AG_OK);
    ck_assert_str_eq(j.state, "CANCELLED");
    ck_assert_int_eq(j.exit_signal, 15);
    /* job 1 is not job 12 */
    ck_assert_int_eq(slurm_parse_sacct(acct, "1", &j), AG_ENOTFOUND);
    ck_assert_int_eq(slurm_parse_sacct("", "12", &j), AG_ENOTFOUND);
    ck_assert_int_eq(slurm_parse_sacct("12|TIMEOUT\n", "12", &j), AG_EFORMAT);
}
END_TEST

START_TEST(test_state_outcomes) {
    static const struct {
        const char *state;
        SlurmOutcome outcome;
    } table[] = {
        {"PENDING", SLURM_ACTIVE},       {"RUNNING", SLURM_ACTIVE},
        {"COMPLETING", SLURM_ACTIVE},    {"REQUEUED", SLURM_ACTIVE},
        {"CONFIGURING", SLURM_ACTIVE},   {"SUSPENDED", SLURM_ACTIVE},
        {"COMPLETED", SLURM_EXITED},     {"FAILED", SLURM_EXITED},
        {"TIMEOUT", SLURM_TIMEOUT},      {"DEADLINE", SLURM_TIMEOUT},
        {"CANCELLED", SLURM_CANCELLED},  {"CANCELLED by 0", SLURM_CANCELLED},
        {"NODE_FAIL", SLURM_LOST},       {"PREEMPTED", SLURM_LOST},
        {"BOOT_FAIL", SLURM_LOST},       {"OUT_OF_MEMORY", SLURM_LOST},
        {"SOMETHING_NEW", SLURM_ACTIVE}, {"COMPLETEDX", SLURM_ACTIVE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        ck_assert_msg(slurm_state_outcome(table[i].state) == table[i].outcome, "%s",
                      table[i].state);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("slurm");
    TCase *tc = tcase_create("core");
    TCase *script = tcase_create("script");
    SRunner *sr;
    int failed;
    tcase_add_loop_test(tc, test_shell_quote_survives_sh, 0,
                        (int)(sizeof hostile / sizeof hostile[0]));
    tcase_add_test(tc, test_shell_quote_too_long);
    tcase_add_test(tc, test_sbatch_argv);
    tcase_add_test(tc, test_parse_job_id);
    tcase_add_test(tc, test_parse_scontrol);
    tcase_add_test(tc, test_parse_sacct);
    tcase_add_test(tc, test_state_outcomes);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(script, setup, teardown);
    tcase_add_test(script, test_script_runs_the_trainer);
    tcase_add_test(script, test_script_ranks_use_srun);
    tcase_add_test(script, test_script_passes_term_to_the_ranks);
    suite_add_tcase(s, script);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
