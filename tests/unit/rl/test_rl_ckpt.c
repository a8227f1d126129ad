/* Tests of trainer checkpoints: save + load continues bit-identically, a task's own state (the
 * hand block tasks' goal curriculum) comes back, checkpoints of another model, task or shape are
 * refused with AG_EMISMATCH, damaged files are refused, the spec and policy can be read back
 * alone, and a fresh run can start from another run's policy (spec init). */
#include "mj_hand.h"
#include "rl_ppo_int.h"
#include "rl_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *SPEC_LSTM =
    "{\"task\": \"CartPoleNoVel\", \"model\": \"simple_lstm\", \"policy\": \"categorical\","
    " \"ppo\": {\"envs_per_rank\": 4, \"horizon\": 64, \"tbptt\": 8, \"minibatch\": 64,"
    " \"epochs\": 2}, \"budget\": {\"env_steps\": 4096}, \"seed\": 9}";

static char g_dir[256];

static void setup(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/angora-rl-ckpt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static RlTrainer *make(const char *text) {
    AgSpec spec;
    rl_test_spec(&spec, text);
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    ag_spec_free(&spec);
    return t;
}

static void same_stats(const RlIterStats *a, const RlIterStats *b) {
    ck_assert_int_eq(a->iteration, b->iteration);
    ck_assert_int_eq(a->env_steps, b->env_steps);
    ck_assert_int_eq(a->episodes, b->episodes);
    ck_assert(memcmp(&a->return_mean, &b->return_mean, sizeof(double)) == 0);
    ck_assert_double_eq(a->policy_loss, b->policy_loss);
    ck_assert_double_eq(a->value_loss, b->value_loss);
    ck_assert_double_eq(a->entropy, b->entropy);
    ck_assert_double_eq(a->approx_kl, b->approx_kl);
    ck_assert_double_eq(a->clip_fraction, b->clip_fraction);
    ck_assert_double_eq(a->grad_norm, b->grad_norm);
    ck_assert_double_eq(a->lr, b->lr);
}

static void check_resume(const char *text) {
    char path[300], err[512] = "";
    snprintf(path, sizeof path, "%s/last.ckpt", g_dir);
    RlIterStats straight[4], resumed[4];
    RlTrainer *a = make(text);
    for (int i = 0; i < 4; i++) {
        ck_assert(rl_trainer_iterate(a, &straight[i], err, sizeof err) == 0);
    }
    rl_trainer_destroy(a);

    RlTrainer *b = make(text);
    for (int i = 0; i < 2; i++) {
        ck_assert(rl_trainer_iterate(b, &resumed[i], err, sizeof err) == 0);
    }
    rl_trainer_set_best_eval(b, 123.5);
    ck_assert_msg(rl_trainer_save(b, path, err, sizeof err) == 0, "%s", err);
    rl_trainer_destroy(b);

    RlTrainer *c = make(text);
    ck_assert_msg(rl_trainer_load(c, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rl_trainer_iteration(c), 2);
    ck_assert_double_eq(rl_trainer_best_eval(c), 123.5);
    for (int i = 2; i < 4; i++) {
        ck_assert(rl_trainer_iterate(c, &resumed[i], err, sizeof err) == 0);
    }
    rl_trainer_destroy(c);
    for (int i = 0; i < 4; i++) {
        same_stats(&straight[i], &resumed[i]);
    }
}

START_TEST(test_resume_identical_recurrent) {
    check_resume(SPEC_LSTM);
}
END_TEST

START_TEST(test_resume_identical_gaussian) {
    /* continuous actions, value clipping and a linear schedule */
    check_resume("{\"task\": \"Pendulum\", \"policy\": \"gaussian\", \"ppo\": {\"envs_per_rank\":"
                 " 3, \"horizon\": 50, \"minibatch\": 50, \"value_clip\": 0.2, \"lr_schedule\":"
                 " \"linear\"}, \"budget\": {\"env_steps\": 3000}, \"seed\": 4}");
}
END_TEST

START_TEST(test_resume_keeps_curriculum) {
    /* HandBlockRotateZ with a goal curriculum: the angle is reported per iteration, and each
     * environment's curriculum (grown angle, window of outcomes) goes into the checkpoint and
     * comes back, after which both runs go on alike */
    const char *text =
        "{\"task\": \"HandBlockRotateZ\", \"task_options\": {\"curriculum\": {\"window\": 3}},"
        " \"ppo\": {\"envs_per_rank\": 2, \"horizon\": 32, \"minibatch\": 32, \"epochs\": 1},"
        " \"budget\": {\"env_steps\": 4096}, \"seed\": 3}";
    char path[300], err[512] = "";
    snprintf(path, sizeof path, "%s/curriculum.ckpt", g_dir);
    RlTrainer *a = make(text);
    RlIterStats sa, sc;
    ck_assert(rl_trainer_iterate(a, &sa, err, sizeof err) == 0);
    ck_assert_int_eq(sa.num_metrics, 2);
    ck_assert_str_eq(sa.metric_names[1], "curriculum_max_angle");
    ck_assert_msg(sa.episodes > 0, "no episode ended");
    ck_assert_double_eq_tol(sa.metrics[1], 0.6, 1e-6);
    /* environment 1 as if it had been promoted and then seen two episodes */
    size_t bytes = a->envs.task->cls->state_size;
    EnvMjHandState *s1 = (EnvMjHandState *)(a->envs.states + bytes);
    s1->curriculum.max_angle = 1.1;
    s1->curriculum.count = 2;
    s1->curriculum.pos = 2;
    s1->curriculum.successes = 1;
    s1->curriculum.ring[0] = 2;
    ck_assert_msg(rl_trainer_save(a, path, err, sizeof err) == 0, "%s", err);
    RlTrainer *c = make(text);
    ck_assert_msg(rl_trainer_load(c, path, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 2; i++) {
        const EnvMjHandState *x = (const EnvMjHandState *)(a->envs.states + i * bytes);
        const EnvMjHandState *y = (const EnvMjHandState *)(c->envs.states + i * bytes);
        ck_assert_mem_eq(&x->curriculum, &y->curriculum, sizeof(x->curriculum));
    }
    for (int i = 0; i < 2; i++) {
        ck_assert(rl_trainer_iterate(a, &sa, err, sizeof err) == 0);
        ck_assert(rl_trainer_iterate(c, &sc, err, sizeof err) == 0);
        same_stats(&sa, &sc);
        ck_assert(memcmp(sa.metrics, sc.metrics, sizeof(sa.metrics)) == 0);
    }
    rl_trainer_destroy(a);
    rl_trainer_destroy(c);
}
END_TEST

START_TEST(test_load_mismatch_refused) {
    char path[300], err[512] = "";
    snprintf(path, sizeof path, "%s/a.ckpt", g_dir);
    RlTrainer *a = make(SPEC_LSTM);
    ck_assert(rl_trainer_save(a, path, err, sizeof err) == 0);
    rl_trainer_destroy(a);
    /* another model */
    RlTrainer *b = make("{\"task\": \"CartPoleNoVel\", \"model\": \"simple_gru\", \"ppo\":"
                        " {\"envs_per_rank\": 4, \"horizon\": 64, \"tbptt\": 8, \"minibatch\":"
                        " 64}}");
    ck_assert_int_eq(rl_trainer_load(b, path, err, sizeof err), AG_EMISMATCH);
    ck_assert_msg(err[0] != '\0', "no message");
    ck_assert_int_eq(rl_trainer_iteration(b), 0);
    rl_trainer_destroy(b);
    /* another task */
    err[0] = '\0';
    RlTrainer *c = make("{\"task\": \"CartPole\", \"model\": \"simple_lstm\", \"ppo\":"
                        " {\"envs_per_rank\": 4, \"horizon\": 64, \"tbptt\": 8, \"minibatch\":"
                        " 64}}");
    ck_assert_int_eq(rl_trainer_load(c, path, err, sizeof err), AG_EMISMATCH);
    ck_assert_msg(strstr(err, "CartPoleNoVel") != NULL, "message: %s", err);
    rl_trainer_destroy(c);
    /* another number of environments */
    err[0] = '\0';
    RlTrainer *d = make("{\"task\": \"CartPoleNoVel\", \"model\": \"simple_lstm\", \"ppo\":"
                        " {\"envs_per_rank\": 2, \"horizon\": 64, \"tbptt\": 8, \"minibatch\":"
                        " 64}}");
    ck_assert_int_eq(rl_trainer_load(d, path, err, sizeof err), AG_EMISMATCH);
    rl_trainer_destroy(d);
}
END_TEST

START_TEST(test_damaged_and_missing_refused) {
    char path[300], err[512] = "";
    snprintf(path, sizeof path, "%s/a.ckpt", g_dir);
    RlTrainer *a = make(SPEC_LSTM);
    ck_assert(rl_trainer_save(a, path, err, sizeof err) == 0);
    /* flip one byte in the middle */
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size / 2, SEEK_SET);
    int c = fgetc(f);
    fseek(f, size / 2, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
    ck_assert_int_ne(rl_trainer_load(a, path, err, sizeof err), 0);
    ck_assert_msg(err[0] != '\0', "no message");
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.ckpt", g_dir);
    err[0] = '\0';
    ck_assert_int_ne(rl_trainer_load(a, missing, err, sizeof err), 0);
    ck_assert_msg(err[0] != '\0', "no message");
    AgSpec spec;
    ck_assert_int_ne(rl_ckpt_read_spec(missing, &spec, err, sizeof err), 0);
    /* an unwritable destination fails cleanly */
    ck_assert_int_ne(rl_trainer_save(a, "/nonexistent-dir/x.ckpt", err, sizeof err), 0);
    rl_trainer_destroy(a);
}
END_TEST

START_TEST(test_spec_and_policy_read_back) {
    char path[300], err[512] = "";
    snprintf(path, sizeof path, "%s/p.ckpt", g_dir);
    RlTrainer *a = make(SPEC_LSTM);
    RlIterStats st;
    ck_assert(rl_trainer_iterate(a, &st, err, sizeof err) == 0);
    ck_assert(rl_trainer_save(a, path, err, sizeof err) == 0);
    AgSpec spec;
    ck_assert_msg(rl_ckpt_read_spec(path, &spec, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(spec.task, "CartPoleNoVel");
    /* the model as built, not its preset's name, so that it loads whatever presets become */
    json_t *built = nn_model_describe(a->model);
    ck_assert(json_is_object(spec.model));
    ck_assert(json_equal(spec.model, built));
    json_decref(built);
    ck_assert_int_eq(spec.ppo.tbptt, 8);
    ck_assert_int_eq((int)spec.seed, 9);
    spec.ppo.envs_per_rank = 1;
    spec.ppo.minibatch = spec.ppo.horizon;
    RlTrainer *b = NULL;
    ck_assert(rl_trainer_create(&b, &spec, MPI_COMM_SELF, err, sizeof err) == 0);
    ck_assert_msg(rl_trainer_load_policy(b, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rl_trainer_iteration(b), 1);
    ck_assert(memcmp(nn_model_params(a->model), nn_model_params(b->model),
                     a->num_params * sizeof(float)) == 0);
    ck_assert_double_eq(a->obs_stat.count, b->obs_stat.count);
    ck_assert_double_eq(a->obs_stat.mean[0], b->obs_stat.mean[0]);
    rl_trainer_destroy(b);
    rl_trainer_destroy(a);
    ag_spec_free(&spec);
}
END_TEST

/* a spec of `task` with the small trainer of the curriculum test, starting from `from` (none
 * when NULL) */
static void spec_from(char *out, size_t out_sz, const char *task, const char *model,
                      const char *from) {
    int n = snprintf(out, out_sz,
                     "{\"task\": \"%s\", \"model\": \"%s\", \"ppo\": {\"envs_per_rank\": 2, "
                     "\"horizon\": 32, \"minibatch\": 32, \"epochs\": 1}, \"budget\": "
                     "{\"env_steps\": 4096}, \"seed\": 4",
                     task, model);
    snprintf(out + n, out_sz - (size_t)n, from ? ", \"init\": {\"checkpoint\": \"%s\"}}" : "}",
             from);
}

START_TEST(test_init_from_another_rung) {
    /* HandBlock starts from a HandBlockRotateZ policy: same observations and actions, another
     * task; it takes the weights and both normalisers, and nothing else */
    const char *sha = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    char path[300], text[1024], where[128], err[512] = "";
    snprintf(path, sizeof path, "%s/rotatez.ckpt", g_dir);
    spec_from(text, sizeof text, "HandBlockRotateZ", "simple", NULL);
    RlTrainer *a = make(text);
    RlIterStats st;
    ck_assert(rl_trainer_iterate(a, &st, err, sizeof err) == 0);
    ck_assert(rl_trainer_iterate(a, &st, err, sizeof err) == 0);
    ck_assert_msg(rl_trainer_save(a, path, err, sizeof err) == 0, "%s", err);
    spec_from(text, sizeof text, "HandBlock", "simple", path);
    ck_assert_msg(rl_test_check_spec(text, where, sizeof where, err, sizeof err) == 0, "%s", err);
    RlTrainer *b = make(text);
    ck_assert(memcmp(nn_model_params(a->model), nn_model_params(b->model),
                     a->num_params * sizeof(float)) != 0);
    ck_assert_msg(rl_trainer_init_from(b, sha, err, sizeof err) == 0, "%s", err);
    ck_assert(memcmp(nn_model_params(a->model), nn_model_params(b->model),
                     a->num_params * sizeof(float)) == 0);
    ck_assert_double_eq(a->obs_stat.count, b->obs_stat.count);
    ck_assert_int_eq(b->O, a->O);
    ck_assert(memcmp(a->obs_stat.mean, b->obs_stat.mean, (size_t)a->O * sizeof(double)) == 0);
    ck_assert(memcmp(a->obs_synced.mean, b->obs_synced.mean, (size_t)a->O * sizeof(double)) == 0);
    ck_assert_double_eq(a->ret_stat.count, b->ret_stat.count);
    ck_assert(b->ret_stat.count > 0);
    /* a fresh run for everything else */
    ck_assert_int_eq(rl_trainer_iteration(b), 0);
    ck_assert_int_eq(rl_trainer_env_steps(b), 0);
    ck_assert_int_eq(b->adam.step, 0);
    for (size_t i = 0; i < b->num_params; i++) {
        ck_assert(b->adam.m[i] == 0.0f && b->adam.v[i] == 0.0f);
    }
    ck_assert_str_eq(b->spec.init.sha256, sha);
    ck_assert(rl_trainer_iterate(b, &st, err, sizeof err) == 0);
    ck_assert_int_eq(st.iteration, 1);
    /* its checkpoints keep where it started */
    char path_b[300];
    snprintf(path_b, sizeof path_b, "%s/handblock.ckpt", g_dir);
    ck_assert(rl_trainer_save(b, path_b, err, sizeof err) == 0);
    AgSpec stored;
    ck_assert_msg(rl_ckpt_read_spec(path_b, &stored, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(stored.init.checkpoint, path);
    ck_assert_str_eq(stored.init.sha256, sha);
    ag_spec_free(&stored);
    rl_trainer_destroy(a);
    rl_trainer_destroy(b);
}
END_TEST

START_TEST(test_init_from_refused) {
    char path[300], text[1024], where[128], err[512] = "";
    snprintf(path, sizeof path, "%s/novel.ckpt", g_dir);
    RlTrainer *a = make(SPEC_LSTM);
    ck_assert(rl_trainer_save(a, path, err, sizeof err) == 0);
    rl_trainer_destroy(a);
    /* another observation size (CartPole sees 4 numbers, CartPoleNoVel 2) */
    spec_from(text, sizeof text, "CartPole", "simple_lstm", path);
    ck_assert_int_eq(rl_test_check_spec(text, where, sizeof where, err, sizeof err), AG_EMISMATCH);
    ck_assert_str_eq(where, "init.checkpoint");
    ck_assert_msg(strstr(err, "CartPoleNoVel (observation size 2") && strstr(err, path), "%s", err);
    RlTrainer *b = make(text);
    float first = nn_model_params(b->model)[0];
    err[0] = '\0';
    ck_assert_int_eq(rl_trainer_init_from(b, NULL, err, sizeof err), AG_EMISMATCH);
    ck_assert_msg(strstr(err, "observation size") != NULL, "%s", err);
    ck_assert(nn_model_params(b->model)[0] == first);
    ck_assert_str_eq(b->spec.init.sha256, "");
    rl_trainer_destroy(b);
    /* another model on the same task */
    spec_from(text, sizeof text, "CartPoleNoVel", "simple_gru", path);
    ck_assert_int_eq(rl_test_check_spec(text, where, sizeof where, err, sizeof err), AG_EMISMATCH);
    ck_assert_str_eq(where, "init.checkpoint");
    ck_assert_msg(strstr(err, path) != NULL, "%s", err);
    /* a missing file, and a file that is not a training checkpoint */
    char junk[300];
    snprintf(junk, sizeof junk, "%s/junk.ckpt", g_dir);
    FILE *f = fopen(junk, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("not a checkpoint", f);
    fclose(f);
    const char *bad[] = {"/nonexistent-dir/last.ckpt", junk};
    for (int i = 0; i < 2; i++) {
        spec_from(text, sizeof text, "CartPole", "simple", bad[i]);
        err[0] = '\0';
        ck_assert_int_ne(rl_test_check_spec(text, where, sizeof where, err, sizeof err), 0);
        ck_assert_str_eq(where, "init.checkpoint");
        ck_assert_msg(strstr(err, bad[i]) != NULL, "%s", err);
        RlTrainer *c = make(text);
        err[0] = '\0';
        ck_assert_int_ne(rl_trainer_init_from(c, NULL, err, sizeof err), 0);
        ck_assert_msg(err[0] != '\0', "no message");
        rl_trainer_destroy(c);
    }
}
END_TEST

static Suite *ckpt_suite(void) {
    Suite *s = suite_create("rl_ckpt");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_resume_identical_recurrent);
    tcase_add_test(tc, test_resume_identical_gaussian);
    tcase_add_test(tc, test_resume_keeps_curriculum);
    tcase_add_test(tc, test_load_mismatch_refused);
    tcase_add_test(tc, test_damaged_and_missing_refused);
    tcase_add_test(tc, test_spec_and_policy_read_back);
    tcase_add_test(tc, test_init_from_another_rung);
    tcase_add_test(tc, test_init_from_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return rl_test_run_suite(ckpt_suite());
}
