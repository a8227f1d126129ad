/* Tests of a run's start from another run's policy (server/train/train_init.c): a fresh run
 * takes the policy and records the file's SHA-256 in its spec and trainer, a hash given in the
 * spec must be the file's, a resumed run takes the hash its own checkpoint recorded without
 * reading the init file again, a missing file is refused naming the spec's key, and --check's
 * comparison of the hash. */
#include "train_init.h"

#include "../rl/rl_test_util.h"
#include "ag_error.h"
#include "ag_rundir.h"
#include "rl_ppo.h"
#include "train_activations.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPEC_HEAD                                                                                  \
    "{\"task\": \"CartPole\", \"ppo\": {\"envs_per_rank\": 2, \"horizon\": 32, \"minibatch\": "    \
    "32, \"epochs\": 1}, \"budget\": {\"env_steps\": 4096}, \"seed\": 5"

static char g_dir[256], g_from[300], g_sha[65];

/* a trained CartPole policy in g_from, its hash in g_sha */
static void setup(void) {
    char err[512] = "";
    snprintf(g_dir, sizeof g_dir, "/tmp/angora-train-init-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    snprintf(g_from, sizeof g_from, "%s/from.ckpt", g_dir);
    AgSpec spec;
    rl_test_spec(&spec, SPEC_HEAD "}");
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    RlIterStats st;
    ck_assert(rl_trainer_iterate(t, &st, err, sizeof err) == 0);
    ck_assert_msg(rl_trainer_save(t, g_from, err, sizeof err) == 0, "%s", err);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
    ck_assert_msg(train_sha256_file(g_from, g_sha, err, sizeof err) == 0, "%s", err);
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* a trainer of SPEC_HEAD starting from `from`, with `sha` as the spec's hash when not NULL */
static RlTrainer *make(AgSpec *spec, const char *from, const char *sha) {
    char text[1024], err[512] = "";
    snprintf(text, sizeof text, SPEC_HEAD ", \"init\": {\"checkpoint\": \"%s\"%s%s%s}}", from,
             sha ? ", \"sha256\": \"" : "", sha ? sha : "", sha ? "\"" : "");
    rl_test_spec(spec, text);
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    return t;
}

/* the first parameter of a checkpoint's policy, through a trainer that loads it */
static float first_param_of(const char *path) {
    char err[512] = "";
    AgSpec spec;
    RlTrainer *t = make(&spec, path, NULL);
    ck_assert_msg(rl_trainer_init_from(t, NULL, err, sizeof err) == 0, "%s", err);
    float v = nn_model_params(rl_trainer_model(t))[0];
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
    return v;
}

START_TEST(test_fresh_run_records_hash) {
    char err[512] = "", saved[300];
    AgSpec spec;
    RlTrainer *t = make(&spec, g_from, NULL);
    ck_assert(nn_model_params(rl_trainer_model(t))[0] != first_param_of(g_from));
    ck_assert_msg(train_init_start(t, &spec, g_dir, 0, err, sizeof err) == 0, "%s", err);
    ck_assert(nn_model_params(rl_trainer_model(t))[0] == first_param_of(g_from));
    ck_assert_str_eq(spec.init.sha256, g_sha);
    /* and the trainer's checkpoints carry it */
    snprintf(saved, sizeof saved, "%s/saved.ckpt", g_dir);
    ck_assert(rl_trainer_save(t, saved, err, sizeof err) == 0);
    AgSpec stored;
    ck_assert(rl_ckpt_read_spec(saved, &stored, err, sizeof err) == 0);
    ck_assert_str_eq(stored.init.sha256, g_sha);
    ag_spec_free(&stored);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
    /* the same hash given in the spec is accepted */
    t = make(&spec, g_from, g_sha);
    ck_assert_msg(train_init_start(t, &spec, g_dir, 0, err, sizeof err) == 0, "%s", err);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

START_TEST(test_other_hash_refused) {
    char err[512] = "", other[65];
    snprintf(other, sizeof other, "%s", g_sha);
    other[0] = other[0] == '0' ? '1' : '0';
    AgSpec spec;
    RlTrainer *t = make(&spec, g_from, other);
    float before = nn_model_params(rl_trainer_model(t))[0];
    ck_assert_int_eq(train_init_start(t, &spec, g_dir, 0, err, sizeof err), AG_ECHECKSUM);
    ck_assert_msg(strstr(err, "init.checkpoint") && strstr(err, g_sha) && strstr(err, other), "%s",
                  err);
    /* nothing taken from the file */
    ck_assert(nn_model_params(rl_trainer_model(t))[0] == before);
    ck_assert_str_eq(spec.init.sha256, other);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

START_TEST(test_resumed_run_keeps_hash) {
    char err[512] = "", run[300], last[400];
    snprintf(run, sizeof run, "%s/run", g_dir);
    snprintf(last, sizeof last, "%s/" AG_RUN_CHECKPOINTS, run);
    ck_assert_int_eq(mkdir(run, 0755), 0);
    ck_assert_int_eq(mkdir(last, 0755), 0);
    snprintf(last, sizeof last, "%s/" AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST, run);
    AgSpec spec;
    RlTrainer *t = make(&spec, g_from, NULL);
    ck_assert(train_init_start(t, &spec, run, 0, err, sizeof err) == 0);
    ck_assert(rl_trainer_save(t, last, err, sizeof err) == 0);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
    /* the init file is gone; the spec is given again without the hash, as angorad gives it */
    ck_assert_int_eq(unlink(g_from), 0);
    t = make(&spec, g_from, NULL);
    ck_assert_msg(rl_trainer_load(t, last, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(train_init_start(t, &spec, run, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(spec.init.sha256, g_sha);
    snprintf(last, sizeof last, "%s/again.ckpt", g_dir);
    ck_assert(rl_trainer_save(t, last, err, sizeof err) == 0);
    AgSpec stored;
    ck_assert(rl_ckpt_read_spec(last, &stored, err, sizeof err) == 0);
    ck_assert_str_eq(stored.init.sha256, g_sha);
    ag_spec_free(&stored);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
    /* but a fresh start needs the file */
    t = make(&spec, g_from, NULL);
    err[0] = '\0';
    ck_assert_int_ne(train_init_start(t, &spec, run, 0, err, sizeof err), 0);
    ck_assert_msg(strncmp(err, "init.checkpoint: ", 17) == 0 && strstr(err, g_from), "%s", err);
    ck_assert_str_eq(spec.init.sha256, "");
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

START_TEST(test_without_init_nothing) {
    char err[512] = "";
    AgSpec spec;
    rl_test_spec(&spec, SPEC_HEAD "}");
    RlTrainer *t = NULL;
    ck_assert(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0);
    float before = nn_model_params(rl_trainer_model(t))[0];
    ck_assert_int_eq(train_init_start(t, &spec, g_dir, 0, err, sizeof err), 0);
    ck_assert(nn_model_params(rl_trainer_model(t))[0] == before);
    ck_assert_str_eq(spec.init.sha256, "");
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

/* --check's part: the hash a spec gives must be the file's */
START_TEST(test_verify_hash) {
    char err[512] = "", path[64] = "", other[65];
    AgSpec spec;
    RlTrainer *t = make(&spec, g_from, g_sha);
    ck_assert_msg(train_init_verify(&spec, path, sizeof path, err, sizeof err) == 0, "%s", err);
    snprintf(other, sizeof other, "%s", g_sha);
    other[63] = other[63] == 'a' ? 'b' : 'a';
    snprintf(spec.init.sha256, sizeof spec.init.sha256, "%s", other);
    ck_assert_int_eq(train_init_verify(&spec, path, sizeof path, err, sizeof err), AG_ECHECKSUM);
    ck_assert_str_eq(path, "init.sha256");
    ck_assert_msg(strstr(err, other) && strstr(err, g_sha), "%s", err);
    /* without a hash there is nothing to compare (rl_trainer_check reads the file) */
    spec.init.sha256[0] = '\0';
    ck_assert_int_eq(unlink(g_from), 0);
    ck_assert_int_eq(train_init_verify(&spec, path, sizeof path, err, sizeof err), 0);
    /* with one, a missing file is refused */
    snprintf(spec.init.sha256, sizeof spec.init.sha256, "%s", g_sha);
    path[0] = '\0';
    ck_assert_int_ne(train_init_verify(&spec, path, sizeof path, err, sizeof err), 0);
    ck_assert_str_eq(path, "init.checkpoint");
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

static Suite *init_suite(void) {
    Suite *s = suite_create("train_init");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fresh_run_records_hash);
    tcase_add_test(tc, test_other_hash_refused);
    tcase_add_test(tc, test_resumed_run_keeps_hash);
    tcase_add_test(tc, test_without_init_nothing);
    tcase_add_test(tc, test_verify_hash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return rl_test_run_suite(init_suite());
}
