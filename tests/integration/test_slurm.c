/* The Slurm executor against a real one-node Slurm cluster on localhost (slurm/cluster.sh, CTest
 * label slurm): started once for the suite, stopped by its PIDs at the end. Each test starts
 * angorad with the Slurm executor on its own data directory. The real trainer runs short
 * CartPole runs (one and two ranks); the test double of angora-train (fake_trainer.sh) makes
 * cancel, pause, restarts, requeues and time limits take seconds.
 *
 * Cases: submit, run, ingest and succeed, with a hostile name and tags and a run root whose path
 * holds quotes and $(...); two ranks under srun, paused and resumed; a bad partition; cancel; pause
 * and resume; a pending job's reason, and its pause; kill -9 of angorad and re-adoption by job id
 * with no row lost; a node set down, the job requeued and resumed from its checkpoint; a time limit
 * reported as such and not retried. */
#include "itest.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define NODE "angoranode1"

static char cluster_dir[256];
static char cluster_script[512];

/* "--key value" arguments of every angorad here: the Slurm executor, asked often */
#define SLURM_ARGS "--executor", "slurm", "--slurm-poll-seconds", "0.2", "--grace-seconds", "8"

static const char *real_trainer(void) {
    const char *t = getenv("ITEST_TRAINER");
    ck_assert_msg(t && *t, "ITEST_TRAINER is not set");
    return t;
}

/* a string field of the experiment (copied; "" when null) */
static void exp_field(const Daemon *d, long long id, const char *key, char *out, size_t out_sz) {
    json_t *o = itest_get(d, id);
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(out, out_sz, "%s", v ? v : "");
    json_decref(o);
}

/* waits for state; a different final state fails at once with the run's error */
static json_t *wait_final(const Daemon *d, long long id, const char *state, double timeout_s) {
    double t0 = itest_now();
    char last[32] = "";
    while (itest_now() - t0 < timeout_s) {
        json_t *o = itest_get(d, id);
        snprintf(last, sizeof last, "%s", itest_state(o));
        if (!strcmp(last, state)) {
            return o;
        }
        if (strcmp(last, "queued") && strcmp(last, "running")) {
            const char *e = json_string_value(json_object_get(o, "error"));
            ck_abort_msg("experiment %lld: %s (%s), expected %s", id, last, e ? e : "no error",
                         state);
        }
        json_decref(o);
        itest_sleep(0.1);
    }
    ck_abort_msg("experiment %lld: still %s after %.0f s, expected %s", id, last, timeout_s, state);
    return NULL;
}

/* waits until the string field key of the experiment is value */
static void wait_field(const Daemon *d, long long id, const char *key, const char *value,
                       double timeout_s) {
    double t0 = itest_now();
    char have[128] = "";
    while (itest_now() - t0 < timeout_s) {
        exp_field(d, id, key, have, sizeof have);
        if (!strcmp(have, value)) {
            return;
        }
        itest_sleep(0.1);
    }
    ck_abort_msg("experiment %lld: %s is \"%s\" after %.0f s, expected \"%s\"", id, key, have,
                 timeout_s, value);
}

/* 1 if the experiment's journal has an event of kind */
static int has_event(const Daemon *d, long long id, const char *kind) {
    char path[128];
    HttpResult r;
    int found = 0;
    snprintf(path, sizeof path, "/api/v1/experiments/%lld/events?limit=1000", id);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    if (r.status == 200 && r.json) {
        json_t *events = json_object_get(r.json, "items");
        size_t i;
        json_t *e;
        json_array_foreach(events, i, e) {
            const char *k = json_string_value(json_object_get(e, "kind"));
            found |= k && !strcmp(k, kind);
        }
    }
    itest_http_free(&r);
    return found;
}

/* 1 if a line of the run's file name holds needle */
static int run_file_has(const Daemon *d, long long id, const char *name, const char *needle) {
    char path[512], line[512];
    FILE *f;
    int found = 0;
    snprintf(path, sizeof path, "%s/runs/%lld/%s", d->dir, id, name);
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no %s", path);
    while (fgets(line, sizeof line, f)) {
        found |= strstr(line, needle) != NULL;
    }
    fclose(f);
    return found;
}

static void post(const Daemon *d, long long id, const char *action, long expect) {
    char path[128];
    HttpResult r;
    snprintf(path, sizeof path, "/api/v1/experiments/%lld/%s", id, action);
    itest_http(d, "POST", path, "", NULL, 0, &r);
    ck_assert_msg(r.status == expect, "%s: %ld %s", action, r.status, r.body ? r.body : "");
    itest_http_free(&r);
}

/* runs a command of the cluster (scontrol ...) and fails the test when it fails */
static void slurm_run(const char *cmd) {
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

/* angorad with the Slurm executor and the test double of angora-train */
static void start_fake(Daemon *d) {
    const char *extra[] = {SLURM_ARGS, NULL};
    itest_daemon_init(d);
    itest_daemon_start(d, itest_fake_trainer(), extra);
}

/* submits a run of the test double: iters iterations of sleep_s seconds, with the executor
 * (JSON text) or the daemon's */
static long long submit_fake(const Daemon *d, const char *name, int iters, double sleep_s,
                             const char *executor) {
    char spec[512];
    snprintf(spec, sizeof spec,
             "{\"task\":\"CartPole\",\"name\":\"%s\",\"notes\":\"fake:iters=%d,sleep=%g\""
             "%s%s}",
             name, iters, sleep_s, executor ? ",\"executor\":" : "", executor ? executor : "");
    return itest_submit(d, spec, 0);
}

START_TEST(test_submit_run_ingest_succeed_hostile_names) {
    /* the name and tags would run touch if they reached a shell unquoted; so would the run
     * root, whose path the batch script does hold */
    char spec[4096], root[1024], proof[300], script[1200], job[32], nodes[64], *text;
    Daemon d;
    long long id;
    struct stat sb;
    FILE *f;
    itest_daemon_init(&d);
    snprintf(proof, sizeof proof, "%s/pwned", d.dir);
    snprintf(root, sizeof root, "%s/runs it's \"$(touch %s)\"", d.dir, proof);
    const char *extra[] = {SLURM_ARGS, "--run-root", root, NULL};
    itest_daemon_start(&d, real_trainer(), extra);
    snprintf(spec, sizeof spec,
             "{\"task\":\"CartPole\",\"name\":\"$(touch %s)\",\"seed\":1,"
             "\"tags\":[\"a\\\"; touch %s #\",\"';touch %s;'\",\"`touch %s`\"],"
             "\"ppo\":{\"envs_per_rank\":4,\"horizon\":128,\"minibatch\":128},"
             "\"budget\":{\"env_steps\":2560}}",
             proof, proof, proof, proof);
    id = itest_submit(&d, spec, 0);
    json_decref(wait_final(&d, id, "succeeded", 120));
    itest_assert_rows_exact(&d, id, 5);
    exp_field(&d, id, "executor", job, sizeof job);
    ck_assert_str_eq(job, "slurm");
    exp_field(&d, id, "slurm_job_id", job, sizeof job);
    ck_assert_msg(atoi(job) > 0, "slurm_job_id \"%s\"", job);
    exp_field(&d, id, "slurm_state", nodes, sizeof nodes);
    ck_assert_str_eq(nodes, "COMPLETED");
    exp_field(&d, id, "slurm_nodes", nodes, sizeof nodes);
    ck_assert_str_eq(nodes, NODE);
    ck_assert_msg(access(proof, F_OK) != 0, "a user string ran in a shell");
    /* the script: private, executable, and free of every user string */
    snprintf(script, sizeof script, "%s/%lld/slurm-1.sh", root, id);
    ck_assert_int_eq(stat(script, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0700);
    f = fopen(script, "r");
    ck_assert_ptr_nonnull(f);
    text = calloc(1, 8192);
    ck_assert_uint_gt(fread(text, 1, 8191, f), 0);
    fclose(f);
    ck_assert_ptr_null(strstr(text, "pwned)\"' "));
    ck_assert_ptr_null(strstr(text, "touch %s #"));
    ck_assert_ptr_null(strstr(text, "a\"; touch"));
    free(text);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_two_ranks_pause_resume) {
    const char *extra[] = {SLURM_ARGS, NULL};
    /* 100 iterations of 2 ranks x 2 environments x 128 steps */
    const char *spec = "{\"task\":\"Pendulum\",\"name\":\"two ranks\",\"seed\":1,\"ranks\":2,"
                       "\"ppo\":{\"envs_per_rank\":2,\"horizon\":128,\"minibatch\":128},"
                       "\"budget\":{\"env_steps\":51200}}";
    Daemon d;
    long long id;
    json_t *o;
    itest_daemon_init(&d);
    itest_daemon_start(&d, real_trainer(), extra);
    id = itest_submit(&d, spec, 0);
    itest_wait_rows(&d, id, 5, 120);
    /* rank 0 says how many ranks it trains with */
    ck_assert_msg(run_file_has(&d, id, "train.log", "2 ranks x 2 envs"),
                  "train.log does not show 2 ranks");
    /* the pause's TERM reaches both ranks through srun: they checkpoint and stop together */
    post(&d, id, "pause", 202);
    o = wait_final(&d, id, "paused", 60);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    ck_assert_msg(run_file_has(&d, id, "train.log", "interrupted at iteration"),
                  "the ranks did not checkpoint on the pause");
    post(&d, id, "resume", 200);
    json_decref(wait_final(&d, id, "succeeded", 180));
    itest_assert_rows_exact(&d, id, 100);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_bad_partition) {
    char error[256];
    Daemon d;
    long long id;
    start_fake(&d);
    id = submit_fake(&d, "bad partition", 3, 0.05,
                     "{\"kind\":\"slurm\",\"partition\":\"nosuchpartition\"}");
    json_decref(wait_final(&d, id, "failed", 30));
    exp_field(&d, id, "error", error, sizeof error);
    ck_assert_msg(strstr(error, "sbatch failed") && strstr(error, "partition"), "error: %s", error);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_cancel) {
    char state[32];
    Daemon d;
    long long id;
    start_fake(&d);
    id = submit_fake(&d, "cancel me", 600, 0.1, NULL);
    itest_wait_rows(&d, id, 3, 60);
    post(&d, id, "cancel", 202);
    json_decref(wait_final(&d, id, "cancelled", 30));
    exp_field(&d, id, "slurm_state", state, sizeof state);
    ck_assert_str_eq(state, "CANCELLED");
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_pause_resume) {
    char job1[32], job2[32];
    Daemon d;
    long long id;
    json_t *o;
    start_fake(&d);
    id = submit_fake(&d, "pause me", 60, 0.1, NULL);
    itest_wait_rows(&d, id, 5, 60);
    exp_field(&d, id, "slurm_job_id", job1, sizeof job1);
    post(&d, id, "pause", 202);
    o = wait_final(&d, id, "paused", 30);
    /* the trainer checkpointed and stopped: no attempt was used up */
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    post(&d, id, "resume", 200);
    json_decref(wait_final(&d, id, "succeeded", 60));
    exp_field(&d, id, "slurm_job_id", job2, sizeof job2);
    ck_assert_str_ne(job1, job2);
    itest_assert_rows_exact(&d, id, 60);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_pending_reason_and_pause_while_pending) {
    char reason[64];
    Daemon d;
    long long id;
    json_t *o;
    start_fake(&d);
    /* a job that may not start for an hour waits with the reason BeginTime */
    id = submit_fake(&d, "later", 3, 0.05, "{\"kind\":\"slurm\",\"extra\":[\"--begin=now+3600\"]}");
    wait_field(&d, id, "slurm_reason", "BeginTime", 30);
    exp_field(&d, id, "slurm_state", reason, sizeof reason);
    ck_assert_str_eq(reason, "PENDING");
    /* nothing ran, nothing to checkpoint: the job is withdrawn and the run paused */
    post(&d, id, "pause", 202);
    o = wait_final(&d, id, "paused", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "metric_rows")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_kill9_readopts_by_job_id) {
    char job1[32], job2[32];
    Daemon d;
    long long id;
    start_fake(&d);
    id = submit_fake(&d, "survivor", 50, 0.1, NULL);
    itest_wait_rows(&d, id, 5, 60);
    exp_field(&d, id, "slurm_job_id", job1, sizeof job1);
    itest_daemon_kill9(&d);
    /* the job trains on without the daemon */
    itest_sleep(1.5);
    {
        const char *extra[] = {SLURM_ARGS, NULL};
        itest_daemon_start(&d, itest_fake_trainer(), extra);
    }
    ck_assert(has_event(&d, id, "adopted"));
    json_decref(wait_final(&d, id, "succeeded", 60));
    exp_field(&d, id, "slurm_job_id", job2, sizeof job2);
    ck_assert_str_eq(job1, job2);
    itest_assert_rows_exact(&d, id, 50);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_node_down_requeue_resumes) {
    char job[32], cmd[256];
    Daemon d;
    long long id;
    json_t *o;
    start_fake(&d);
    id = submit_fake(&d, "requeued", 60, 0.1, NULL);
    itest_wait_rows(&d, id, 8, 60);
    exp_field(&d, id, "slurm_job_id", job, sizeof job);
    slurm_run("scontrol update nodename=" NODE " state=down reason=angora-test");
    /* Slurm requeues the job: it waits for the node */
    wait_field(&d, id, "slurm_state", "PENDING", 30);
    slurm_run("scontrol update nodename=" NODE " state=resume");
    /* a requeued job waits cred_expire before it may start again: start it now */
    snprintf(cmd, sizeof cmd, "scontrol update jobid=%s starttime=now", job);
    for (int i = 0; i < 50 && system(cmd) != 0; i++) {
        itest_sleep(0.2);
    }
    o = wait_final(&d, id, "succeeded", 90);
    /* the same job, requeued, not a retry of the daemon's */
    ck_assert_str_eq(json_string_value(json_object_get(o, "slurm_job_id")), job);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    ck_assert(has_event(&d, id, "requeued"));
    itest_assert_rows_exact(&d, id, 60);
    /* the second start went on from the checkpoint */
    ck_assert_msg(run_file_has(&d, id, "train.log", "resumed at iteration"),
                  "the requeued job did not resume from its checkpoint");
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_time_limit) {
    char error[256];
    Daemon d;
    long long id;
    json_t *o;
    start_fake(&d);
    /* 1 minute; Slurm checks limits about every 30 s */
    id = submit_fake(&d, "too slow", 3000, 0.1, "{\"kind\":\"slurm\",\"time_limit\":\"1\"}");
    o = wait_final(&d, id, "failed", 150);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    exp_field(&d, id, "error", error, sizeof error);
    ck_assert_msg(strstr(error, "time limit") == error, "error: %s", error);
    exp_field(&d, id, "slurm_state", error, sizeof error);
    ck_assert_str_eq(error, "TIMEOUT");
    /* not retried: it stays failed */
    itest_sleep(1.0);
    exp_field(&d, id, "state", error, sizeof error);
    ck_assert_str_eq(error, "failed");
    itest_daemon_finish(&d);
}
END_TEST

/* a free TCP port on loopback */
static int free_port(void) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* the cluster's own commands (start, stop) with their output on stderr */
static int cluster(const char *action) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' >&2", cluster_script, action, cluster_dir);
    return system(cmd);
}

int main(void) {
    const TTest *tests[] = {test_submit_run_ingest_succeed_hostile_names,
                            test_bad_partition,
                            test_cancel,
                            test_pause_resume,
                            test_pending_reason_and_pause_while_pending,
                            test_kill9_readopts_by_job_id,
                            test_two_ranks_pause_resume,
                            test_node_down_requeue_resumes,
                            test_time_limit};
    char conf[300], port[16];
    const char *script = getenv("ITEST_SLURM_CLUSTER");
    int rc;
    if (!script || !*script) {
        fprintf(stderr, "ITEST_SLURM_CLUSTER is not set\n");
        return EXIT_FAILURE;
    }
    snprintf(cluster_script, sizeof cluster_script, "%s", script);
    snprintf(cluster_dir, sizeof cluster_dir, "/tmp/angora-slurm-XXXXXX");
    if (!mkdtemp(cluster_dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    snprintf(port, sizeof port, "%d", free_port());
    setenv("SLURM_TEST_CTLD_PORT", port, 1);
    snprintf(port, sizeof port, "%d", free_port());
    setenv("SLURM_TEST_SLURMD_PORT", port, 1);
    setenv("SLURM_TEST_NODE", NODE, 1);
    snprintf(conf, sizeof conf, "%s/slurm.conf", cluster_dir);
    setenv("SLURM_CONF", conf, 1);
    if (cluster("start") != 0) {
        fprintf(stderr, "the test cluster did not start (its logs are kept in %s)\n", cluster_dir);
        cluster("stop");
        return EXIT_FAILURE;
    }
    rc = itest_run_tests("integration_slurm", 200, tests, ITEST_COUNT(tests));
    cluster("stop");
    {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", cluster_dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "cannot remove %s\n", cluster_dir);
        }
    }
    return rc;
}
