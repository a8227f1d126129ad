/* Tests of the experiment spec (common/ag_spec.c): defaults, presets and overrides, a table of
 * bad specs each with the exact JSON path it must name, cross-field checks, the round trip
 * parse(to_json(parse(x))) == parse(x), copy, iterations and the learning-rate schedule. */
#include "ag_error.h"
#include "ag_fs.h"
#include "ag_spec.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *text, AgSpec *s, AgJsonErr *e) {
    memset(e, 0, sizeof *e);
    return ag_spec_parse_text(text, strlen(text), s, e);
}

/* parses or fails the test with the message */
static void parse_ok(const char *text, AgSpec *s) {
    AgJsonErr e;
    int rc = parse(text, s, &e);
    ck_assert_msg(rc == AG_OK, "spec %s refused: %s: %s", text, e.path, e.reason);
}

/* equal in every field, including the owned JSON values */
static void assert_spec_equal(const AgSpec *a, const AgSpec *b) {
    ck_assert(json_equal(a->model, b->model));
    ck_assert(json_equal(a->task_options, b->task_options));
    AgSpec x = *a, y = *b;
    x.model = y.model = NULL;
    x.task_options = y.task_options = NULL;
    ck_assert_str_eq(x.name, y.name);
    ck_assert_str_eq(x.task, y.task);
    ck_assert_double_eq(x.ppo.lr, y.ppo.lr);
    ck_assert_double_eq(x.ppo.gamma, y.ppo.gamma);
    ck_assert_int_eq(memcmp(&x, &y, sizeof x), 0);
}

/* ---- defaults ---- */

START_TEST(test_defaults_minimal) {
    AgSpec s;
    parse_ok("{\"task\": \"CartPole\"}", &s);
    ck_assert_str_eq(s.task, "CartPole");
    ck_assert_str_eq(s.name, "CartPole"); /* the name follows the task */
    ck_assert_str_eq(s.preset, "default");
    ck_assert(json_is_object(s.task_options));
    ck_assert_int_eq(json_object_size(s.task_options), 0);
    ck_assert(json_is_string(s.model));
    ck_assert_str_eq(json_string_value(s.model), "simple");
    ck_assert_int_eq(s.policy, AG_POLICY_AUTO);
    ck_assert_int_eq(s.bins, 11);
    ck_assert_int_eq(s.ppo.envs_per_rank, 8);
    ck_assert_int_eq(s.ppo.horizon, 256);
    ck_assert_int_eq(s.ppo.epochs, 4);
    ck_assert_int_eq(s.ppo.minibatch, 256);
    ck_assert_double_eq(s.ppo.lr, 3e-4);
    ck_assert_int_eq(s.ppo.lr_schedule, AG_LR_CONSTANT);
    ck_assert_double_eq(s.ppo.lr_decay, 0.999);
    ck_assert_double_eq(s.ppo.lr_final, 0.0);
    ck_assert_double_eq(s.ppo.clip, 0.2);
    ck_assert_double_eq(s.ppo.c_entropy, 0.01);
    ck_assert_double_eq(s.ppo.c_value, 0.5);
    ck_assert_double_eq(s.ppo.gae_lambda, 0.95);
    ck_assert_double_eq(s.ppo.gamma, 0.99);
    ck_assert_double_eq(s.ppo.grad_clip, 0.5);
    ck_assert_double_eq(s.ppo.value_clip, 0.0);
    ck_assert_int_eq(s.ppo.tbptt, 1);
    ck_assert_double_eq(s.ppo.target_kl, 0.0);
    ck_assert_double_eq(s.ppo.adam_eps, 1e-5);
    ck_assert_int_eq(s.ppo.normalize_advantages, 1);
    ck_assert_int_eq(s.normalize.observations, 1);
    ck_assert_int_eq(s.normalize.rewards, 1);
    ck_assert_double_eq(s.normalize.clip_obs, 10.0);
    ck_assert_double_eq(s.normalize.clip_reward, 10.0);
    ck_assert_int_eq(s.budget_env_steps, 1000000);
    ck_assert_int_eq(s.ranks, 1);
    ck_assert_uint_eq(s.seed, 0);
    ck_assert_int_eq(s.checkpoint_every, 0);
    ck_assert_int_eq(s.eval.every, 10);
    ck_assert_int_eq(s.eval.episodes, 10);
    ck_assert_int_eq(s.eval.deterministic, 1);
    ck_assert_int_eq(s.num_tags, 0);
    ck_assert_str_eq(s.notes, "");
    ag_spec_free(&s);
    /* free leaves an empty spec that can be freed again */
    ck_assert_ptr_null(s.model);
    ag_spec_free(&s);
    ag_spec_free(NULL);
}
END_TEST

START_TEST(test_nulls_mean_defaults) {
    AgSpec a, b;
    parse_ok("{\"task\": \"CartPole\"}", &a);
    parse_ok("{\"task\": \"CartPole\", \"name\": null, \"model\": null, \"policy\": null, \"ppo\": "
             "null, \"normalize\": {\"clip_obs\": null}, \"budget\": null, \"seed\": null, "
             "\"eval\": null, \"tags\": null, \"notes\": null, \"task_options\": null, "
             "\"preset\": null}",
             &b);
    assert_spec_equal(&a, &b);
    ag_spec_free(&a);
    ag_spec_free(&b);
}
END_TEST

START_TEST(test_recurrent_model_defaults_tbptt) {
    AgSpec s;
    parse_ok("{\"task\": \"CartPoleNoVel\", \"model\": \"simple_lstm\"}", &s);
    ck_assert_int_eq(s.ppo.tbptt, 16);
    ag_spec_free(&s);
    parse_ok("{\"task\": \"CartPoleNoVel\", \"model\": \"simple_gru\"}", &s);
    ck_assert_int_eq(s.ppo.tbptt, 16);
    ag_spec_free(&s);
    /* an explicit value wins, even 1 */
    parse_ok("{\"task\": \"CartPoleNoVel\", \"model\": \"simple_lstm\", \"ppo\": {\"tbptt\": 1, "
             "\"horizon\": 100}}",
             &s);
    ck_assert_int_eq(s.ppo.tbptt, 1);
    ag_spec_free(&s);
    /* a feed-forward model does not need the horizon to be a multiple of 16 */
    parse_ok("{\"task\": \"CartPole\", \"model\": \"simple\", \"ppo\": {\"horizon\": 100, "
             "\"minibatch\": 100}}",
             &s);
    ck_assert_int_eq(s.ppo.tbptt, 1);
    ck_assert_int_eq(s.ppo.horizon, 100);
    ag_spec_free(&s);
    /* recurrence comes from the description, not from a name: the pathways preset, an inline
     * recurrent core, a preset whose core is replaced */
    parse_ok("{\"task\": \"CartPoleNoVel\", \"model\": \"pathways\"}", &s);
    ck_assert_int_eq(s.ppo.tbptt, 16);
    ag_spec_free(&s);
    parse_ok("{\"task\": \"CartPoleNoVel\", \"model\": {\"trunk\": [{\"type\": \"dense\", "
             "\"units\": 8}], \"core\": {\"type\": \"gru\", \"units\": 8}}}",
             &s);
    ck_assert_int_eq(s.ppo.tbptt, 16);
    ag_spec_free(&s);
    parse_ok("{\"task\": \"CartPole\", \"model\": {\"preset\": \"simple_lstm\", \"core\": null}, "
             "\"ppo\": {\"horizon\": 100, \"minibatch\": 100}}",
             &s);
    ck_assert_int_eq(s.ppo.tbptt, 1);
    ag_spec_free(&s);
    parse_ok("{\"task\": \"CartPoleNoVel\", \"model\": {\"preset\": \"simple\", \"core\": "
             "{\"type\": \"lstm\", \"units\": 16}}}",
             &s);
    ck_assert_int_eq(s.ppo.tbptt, 16);
    ag_spec_free(&s);
}
END_TEST

/* ---- presets ---- */

START_TEST(test_preset_hand) {
    AgSpec s;
    parse_ok("{\"task\": \"HandBlock\", \"preset\": \"hand\"}", &s);
    ck_assert_str_eq(s.preset, "hand");
    ck_assert_str_eq(json_string_value(s.model), "hand_lstm");
    ck_assert_int_eq(s.policy, AG_POLICY_BETA);
    ck_assert_int_eq(s.ppo.envs_per_rank, 32);
    ck_assert_int_eq(s.ppo.horizon, 256);
    ck_assert_int_eq(s.ppo.epochs, 2);
    ck_assert_int_eq(s.ppo.minibatch, 2048);
    ck_assert_double_eq(s.ppo.lr, 3e-4);
    ck_assert_int_eq(s.ppo.lr_schedule, AG_LR_EXPONENTIAL);
    ck_assert_double_eq(s.ppo.lr_decay, 0.999);
    ck_assert_double_eq(s.ppo.gamma, 0.998);
    ck_assert_double_eq(s.ppo.gae_lambda, 0.95);
    ck_assert_double_eq(s.ppo.c_value, 1.0);
    ck_assert_int_eq(s.ppo.tbptt, 16);
    ck_assert_int_eq(s.budget_env_steps, 20000000);
    ck_assert_int_eq(s.checkpoint_every, 100);
    ck_assert_int_eq(s.eval.every, 20);
    ag_spec_free(&s);
}
END_TEST

START_TEST(test_preset_locomotion) {
    AgSpec s;
    parse_ok("{\"task\": \"Hopper\", \"preset\": \"locomotion\"}", &s);
    ck_assert_str_eq(s.preset, "locomotion");
    ck_assert_str_eq(json_string_value(s.model), "simple");
    ck_assert_int_eq(s.ppo.envs_per_rank, 8);
    ck_assert_int_eq(s.ppo.horizon, 256);
    ck_assert_int_eq(s.ppo.epochs, 10);
    ck_assert_int_eq(s.ppo.minibatch, 64);
    ck_assert_double_eq(s.ppo.lr, 3e-4);
    ck_assert_int_eq(s.ppo.lr_schedule, AG_LR_LINEAR);
    ck_assert_double_eq(s.ppo.c_entropy, 0.0);
    ck_assert_int_eq(s.budget_env_steps, 1000000);
    ck_assert_int_eq(ag_spec_iterations(&s), 489);
    ag_spec_free(&s);
}
END_TEST

START_TEST(test_preset_override) {
    AgSpec s;
    parse_ok("{\"task\": \"HandBlock\", \"preset\": \"hand\", \"model\": \"deeper_lstm\", "
             "\"policy\": \"gaussian\", \"ppo\": {\"gamma\": 0.99, \"minibatch\": 512}, "
             "\"budget\": {\"env_steps\": 5000000}, \"ranks\": 2}",
             &s);
    /* the explicit keys win ... */
    ck_assert_str_eq(json_string_value(s.model), "deeper_lstm");
    ck_assert_int_eq(s.policy, AG_POLICY_GAUSSIAN);
    ck_assert_double_eq(s.ppo.gamma, 0.99);
    ck_assert_int_eq(s.ppo.minibatch, 512);
    ck_assert_int_eq(s.budget_env_steps, 5000000);
    ck_assert_int_eq(s.ranks, 2);
    /* ... and the rest stays the preset's */
    ck_assert_int_eq(s.ppo.lr_schedule, AG_LR_EXPONENTIAL);
    ck_assert_int_eq(s.ppo.envs_per_rank, 32);
    ck_assert_int_eq(s.ppo.tbptt, 16);
    ck_assert_double_eq(s.ppo.gae_lambda, 0.95);
    ck_assert_str_eq(s.preset, "hand");
    ag_spec_free(&s);
}
END_TEST

START_TEST(test_preset_names) {
    int n = 0;
    for (; ag_spec_preset_names[n]; n++) {
        char text[128];
        snprintf(text, sizeof text, "{\"task\": \"T\", \"preset\": \"%s\"}",
                 ag_spec_preset_names[n]);
        AgSpec s;
        parse_ok(text, &s);
        ck_assert_str_eq(s.preset, ag_spec_preset_names[n]);
        ag_spec_free(&s);
    }
    ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(test_defaults_json) {
    for (int i = 0; ag_spec_preset_names[i]; i++) {
        json_t *d = ag_spec_defaults_json(ag_spec_preset_names[i]);
        ck_assert_ptr_nonnull(d);
        /* every key but the task and its name has a default */
        ck_assert_ptr_null(json_object_get(d, "task"));
        ck_assert_ptr_null(json_object_get(d, "name"));
        ck_assert_str_eq(json_string_value(json_object_get(d, "preset")), ag_spec_preset_names[i]);
        ck_assert(json_is_object(json_object_get(d, "ppo")));
        ck_assert_int_eq(json_object_size(json_object_get(d, "ppo")), 19);
        /* the defaults given explicitly are the same spec as the preset alone */
        json_object_set_new(d, "task", json_string("T"));
        AgSpec a, b;
        AgJsonErr e;
        ck_assert_int_eq(ag_spec_parse(d, &a, &e), AG_OK);
        char text[128];
        snprintf(text, sizeof text, "{\"task\": \"T\", \"preset\": \"%s\"}",
                 ag_spec_preset_names[i]);
        parse_ok(text, &b);
        assert_spec_equal(&a, &b);
        ag_spec_free(&a);
        ag_spec_free(&b);
        json_decref(d);
    }
    json_t *d = ag_spec_defaults_json(NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(json_string_value(json_object_get(d, "preset")), "default");
    ck_assert_double_eq(json_real_value(json_object_get(json_object_get(d, "ppo"), "lr")), 3e-4);
    json_decref(d);
    ck_assert_ptr_null(ag_spec_defaults_json("humanoid"));
}
END_TEST

/* ---- bad specs ---- */

typedef struct BadSpec {
    const char *json;
    const char *path;   /* the exact path the error must name */
    const char *reason; /* a part of the reason, or NULL */
} BadSpec;

#define T         "\"task\": \"CartPole\""
#define LONG64    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG128   LONG64 LONG64
#define LONG63    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_LOWER "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_UPPER "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"

static const BadSpec bad_specs[] = {
    /* the document */
    {"[]", "", "object"},
    {"{" T ", \"nmae\": \"x\"}", "nmae", "unknown key"},
    {"{\"name\": \"x\"}", "task", "required"},
    {"{\"task\": \"\"}", "task", NULL},
    {"{\"task\": 5}", "task", "string"},
    {"{\"task\": \"Cart Pole\"}", "task", NULL},
    {"{\"task\": \"" LONG64 "\"}", "task", "too long"},
    {"{" T ", \"name\": \"\"}", "name", "non-empty"},
    {"{" T ", \"name\": \"" LONG128 "\"}", "name", "too long"},
    {"{" T ", \"name\": \"a\\nb\"}", "name", "control"},
    {"{" T ", \"name\": [\"x\"]}", "name", "string"},
    {"{" T ", \"task_options\": []}", "task_options", "object"},
    {"{" T ", \"task_options\": \"fast\"}", "task_options", "object"},
    /* model */
    {"{" T ", \"model\": 3}", "model", "preset name"},
    {"{" T ", \"model\": []}", "model", NULL},
    {"{" T ", \"model\": \"\"}", "model", NULL},
    {"{" T ", \"model\": \"wider lstm\"}", "model", NULL},
    /* policy */
    {"{" T ", \"policy\": \"dirichlet\"}", "policy", "must be one of"},
    {"{" T ", \"policy\": 3}", "policy", NULL},
    {"{" T ", \"policy\": {\"distribution\": \"beta\", \"binz\": 3}}", "policy.binz",
     "unknown key"},
    {"{" T ", \"policy\": {\"distribution\": \"multicategorical\", \"bins\": 1}}", "policy.bins",
     "between 2 and 255"},
    {"{" T ", \"policy\": {\"distribution\": \"multicategorical\", \"bins\": 256}}", "policy.bins",
     "between 2 and 255"},
    {"{" T ", \"policy\": {\"distribution\": true}}", "policy.distribution", "must be one of"},
    {"{" T ", \"policy\": {\"distribution\": \"Beta\"}}", "policy.distribution", "Beta"},
    /* ppo */
    {"{" T ", \"ppo\": 5}", "ppo", "object"},
    {"{" T ", \"ppo\": {\"lr_rate\": 0.1}}", "ppo.lr_rate", "unknown key"},
    {"{" T ", \"ppo\": {\"envs_per_rank\": 0}}", "ppo.envs_per_rank", "between 1 and 4096"},
    {"{" T ", \"ppo\": {\"envs_per_rank\": 4097}}", "ppo.envs_per_rank", "between 1 and 4096"},
    {"{" T ", \"ppo\": {\"envs_per_rank\": \"8\"}}", "ppo.envs_per_rank", "integer"},
    {"{" T ", \"ppo\": {\"envs_per_rank\": 8.5}}", "ppo.envs_per_rank", "integer"},
    {"{" T ", \"ppo\": {\"horizon\": 0}}", "ppo.horizon", NULL},
    {"{" T ", \"ppo\": {\"horizon\": 100001}}", "ppo.horizon", "100000"},
    {"{" T ", \"ppo\": {\"epochs\": 0}}", "ppo.epochs", NULL},
    {"{" T ", \"ppo\": {\"minibatch\": 0}}", "ppo.minibatch", NULL},
    {"{" T ", \"ppo\": {\"minibatch\": -64}}", "ppo.minibatch", NULL},
    {"{" T ", \"ppo\": {\"lr\": 0}}", "ppo.lr", "greater than 0"},
    {"{" T ", \"ppo\": {\"lr\": 1.5}}", "ppo.lr", NULL},
    {"{" T ", \"ppo\": {\"lr\": -0.001}}", "ppo.lr", NULL},
    {"{" T ", \"ppo\": {\"lr\": \"fast\"}}", "ppo.lr", "number"},
    {"{" T ", \"ppo\": {\"lr_schedule\": \"cosine\"}}", "ppo.lr_schedule", "constant"},
    {"{" T ", \"ppo\": {\"lr_decay\": 0}}", "ppo.lr_decay", NULL},
    {"{" T ", \"ppo\": {\"lr_decay\": 1.01}}", "ppo.lr_decay", NULL},
    {"{" T ", \"ppo\": {\"lr_final\": -0.1}}", "ppo.lr_final", NULL},
    {"{" T ", \"ppo\": {\"clip\": 0}}", "ppo.clip", NULL},
    {"{" T ", \"ppo\": {\"c_entropy\": -0.01}}", "ppo.c_entropy", NULL},
    {"{" T ", \"ppo\": {\"c_value\": 101}}", "ppo.c_value", NULL},
    {"{" T ", \"ppo\": {\"gae_lambda\": 1.1}}", "ppo.gae_lambda", NULL},
    {"{" T ", \"ppo\": {\"gamma\": 1.5}}", "ppo.gamma", "between 0 and 1"},
    {"{" T ", \"ppo\": {\"gamma\": -0.1}}", "ppo.gamma", NULL},
    {"{" T ", \"ppo\": {\"gamma\": null, \"grad_clip\": -1}}", "ppo.grad_clip", NULL},
    {"{" T ", \"ppo\": {\"value_clip\": -1}}", "ppo.value_clip", NULL},
    {"{" T ", \"ppo\": {\"tbptt\": 0}}", "ppo.tbptt", NULL},
    {"{" T ", \"ppo\": {\"tbptt\": 1025}}", "ppo.tbptt", "1024"},
    {"{" T ", \"ppo\": {\"target_kl\": -1}}", "ppo.target_kl", NULL},
    {"{" T ", \"ppo\": {\"adam_eps\": 0}}", "ppo.adam_eps", NULL},
    {"{" T ", \"ppo\": {\"normalize_advantages\": 1}}", "ppo.normalize_advantages",
     "true or false"},
    /* normalize */
    {"{" T ", \"normalize\": \"yes\"}", "normalize", "object"},
    {"{" T ", \"normalize\": {\"observations\": \"true\"}}", "normalize.observations", NULL},
    {"{" T ", \"normalize\": {\"clip_obs\": 0}}", "normalize.clip_obs", NULL},
    {"{" T ", \"normalize\": {\"clip_reward\": -5}}", "normalize.clip_reward", NULL},
    {"{" T ", \"normalize\": {\"clip_rwd\": 5}}", "normalize.clip_rwd", "unknown key"},
    /* budget, ranks, seed, checkpoints */
    {"{" T ", \"budget\": 1000}", "budget", "object"},
    {"{" T ", \"budget\": {\"env_steps\": 0}}", "budget.env_steps", NULL},
    {"{" T ", \"budget\": {\"env_steps\": 1e13}}", "budget.env_steps", NULL},
    {"{" T ", \"budget\": {\"env_steps\": \"1M\"}}", "budget.env_steps", "integer"},
    {"{" T ", \"budget\": {\"steps\": 1000}}", "budget.steps", "unknown key"},
    {"{" T ", \"ranks\": 0}", "ranks", NULL},
    {"{" T ", \"ranks\": 1025}", "ranks", "1024"},
    {"{" T ", \"seed\": -1}", "seed", NULL},
    {"{" T ", \"seed\": 9007199254740992}", "seed", NULL},
    {"{" T ", \"seed\": 1.5}", "seed", "integer"},
    {"{" T ", \"checkpoint_every\": -1}", "checkpoint_every", NULL},
    /* eval */
    {"{" T ", \"eval\": true}", "eval", "object"},
    {"{" T ", \"eval\": {\"every\": -1}}", "eval.every", NULL},
    {"{" T ", \"eval\": {\"episodes\": 0}}", "eval.episodes", NULL},
    {"{" T ", \"eval\": {\"deterministic\": \"no\"}}", "eval.deterministic", NULL},
    {"{" T ", \"eval\": {\"evry\": 5}}", "eval.evry", "unknown key"},
    /* preset */
    {"{" T ", \"preset\": \"humanoid\"}", "preset", "default, locomotion, hand"},
    {"{" T ", \"preset\": 1}", "preset", NULL},
    /* tags and notes */
    {"{" T ", \"tags\": \"a\"}", "tags", "array"},
    {"{" T ", \"tags\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\","
     "\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}",
     "tags", "at most 16"},
    {"{" T ", \"tags\": [\"a\", \"b\", \"" LONG64 "\"]}", "tags[2]", "1 to 63"},
    {"{" T ", \"tags\": [\"a\", 7]}", "tags[1]", "string"},
    {"{" T ", \"tags\": [\"\"]}", "tags[0]", NULL},
    {"{" T ", \"tags\": [\"x\", \"x\"]}", "tags[1]", "repeats"},
    {"{" T ", \"notes\": 5}", "notes", "string"},
    /* cross-field checks */
    {"{" T ", \"ppo\": {\"minibatch\": 4096}}", "ppo.minibatch", "collects only 2048"},
    {"{" T ", \"ranks\": 2, \"ppo\": {\"minibatch\": 4097}}", "ppo.minibatch", "4096"},
    {"{" T ", \"ppo\": {\"tbptt\": 16, \"horizon\": 100}}", "ppo.horizon", "multiple of ppo.tbptt"},
    {"{" T ", \"ppo\": {\"tbptt\": 16, \"minibatch\": 100}}", "ppo.minibatch",
     "multiple of ppo.tbptt"},
    {"{" T ", \"model\": \"simple_lstm\", \"ppo\": {\"horizon\": 200}}", "ppo.horizon",
     "multiple of ppo.tbptt (16)"},
    {"{" T ", \"model\": \"simple_gru\", \"ppo\": {\"minibatch\": 200}}", "ppo.minibatch",
     "multiple of ppo.tbptt (16)"},
    {"{\"task\": \"HandBlock\", \"preset\": \"hand\", \"ppo\": {\"horizon\": 100}}", "ppo.horizon",
     "multiple of ppo.tbptt"},
    /* init: the policy a run starts from */
    {"{" T ", \"init\": \"runs/a/last.ckpt\"}", "init", "object"},
    {"{" T ", \"init\": {}}", "init.checkpoint", "missing"},
    {"{" T ", \"init\": {\"checkpoint\": \"\"}}", "init.checkpoint", "non-empty"},
    {"{" T ", \"init\": {\"checkpoint\": 5}}", "init.checkpoint", "string"},
    {"{" T ", \"init\": {\"checkpoint\": \"a\\nb\"}}", "init.checkpoint", "control"},
    {"{" T ", \"init\": {\"checkpoint\": \"/" LONG128 LONG128 LONG128 LONG128 LONG128 LONG128
         LONG128 LONG128 "\"}}",
     "init.checkpoint", "too long"},
    {"{" T ", \"init\": {\"checkpoint\": \"x\", \"sha\": \"ab\"}}", "init.sha", "unknown key"},
    {"{" T ", \"init\": {\"checkpoint\": \"x\", \"sha256\": \"abc\"}}", "init.sha256",
     "64 lowercase hexadecimal digits, got \"abc\""},
    {"{" T ", \"init\": {\"checkpoint\": \"x\", \"sha256\": \"" SHA_LOWER "0\"}}", "init.sha256",
     "too long"},
    {"{" T ", \"init\": {\"checkpoint\": \"x\", \"sha256\": \"" SHA_UPPER "\"}}", "init.sha256",
     "lowercase"},
    {"{" T ", \"init\": {\"checkpoint\": \"x\", \"sha256\": 7}}", "init.sha256", "string"},
};

#define NUM_BAD_SPECS ((int)(sizeof bad_specs / sizeof bad_specs[0]))

START_TEST(test_bad_spec) {
    const BadSpec *b = &bad_specs[_i];
    AgSpec s;
    AgJsonErr e;
    memset(&s, 0x5a, sizeof s);
    int rc = parse(b->json, &s, &e);
    ck_assert_msg(rc == AG_ESPEC, "spec %d (%s) gave %d, want AG_ESPEC", _i, b->json, rc);
    ck_assert_msg(strcmp(e.path, b->path) == 0, "spec %d (%s): path \"%s\", want \"%s\" (%s)", _i,
                  b->json, e.path, b->path, e.reason);
    ck_assert_msg(strlen(e.reason) > 0, "spec %d: empty reason", _i);
    if (b->reason) {
        ck_assert_msg(strstr(e.reason, b->reason) != NULL,
                      "spec %d (%s): reason \"%s\" lacks \"%s\"", _i, b->json, e.reason, b->reason);
    }
    /* a refused spec is left empty, safe to free */
    ck_assert_ptr_null(s.model);
    ck_assert_ptr_null(s.task_options);
    ck_assert_int_eq(s.ranks, 0);
    ag_spec_free(&s);
    /* the formatted message starts with the path */
    char msg[512];
    ag_json_err_format(&e, msg, sizeof msg);
    ck_assert(strncmp(msg, b->path, strlen(b->path)) == 0);
}
END_TEST

START_TEST(test_bad_table_size) {
    ck_assert_int_ge(NUM_BAD_SPECS, 30);
}
END_TEST

START_TEST(test_malformed_text) {
    AgSpec s;
    AgJsonErr e;
    ck_assert_int_eq(parse("{\"task\": \"CartPole\",\n \"ranks\": }", &s, &e), AG_EJSON);
    ck_assert_str_eq(e.path, "");
    ck_assert_ptr_nonnull(strstr(e.reason, "line 2"));
    ck_assert_ptr_null(s.model);
    /* a repeated key is refused, not silently overwritten */
    ck_assert_int_eq(parse("{\"task\": \"A\", \"task\": \"B\"}", &s, &e), AG_EJSON);
    ck_assert_ptr_nonnull(strstr(e.reason, "duplicate"));
    ck_assert_int_eq(parse("", &s, &e), AG_EJSON);
    /* a document that is not an object */
    json_t *num = json_integer(42);
    ck_assert_int_eq(ag_spec_parse(num, &s, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "");
    ck_assert_ptr_nonnull(strstr(e.reason, "object"));
    json_decref(num);
    ck_assert_int_eq(ag_spec_parse(NULL, &s, &e), AG_ESPEC);
    /* a NULL error struct is allowed */
    ck_assert_int_eq(ag_spec_parse_text("{}", 2, &s, NULL), AG_ESPEC);
}
END_TEST

/* ---- good specs at the edges, and the round trip ---- */

static const char *const good_specs[] = {
    "{\"task\": \"CartPole\"}",
    "{\"task\": \"CartPole\", \"ppo\": {\"envs_per_rank\": 4096, \"horizon\": 1, \"minibatch\": "
    "1, \"lr\": 1, \"gamma\": 0, \"gae_lambda\": 1, \"epochs\": 1000}}",
    "{\"task\": \"CartPole\", \"ppo\": {\"envs_per_rank\": 8.0, \"gamma\": 1, \"lr_final\": 1, "
    "\"lr_decay\": 1, \"clip\": 1, \"grad_clip\": 0, \"adam_eps\": 1e-12}}",
    "{\"task\": \"CartPole\", \"seed\": 9007199254740991, \"ranks\": 1024, \"budget\": "
    "{\"env_steps\": 1000000000000}, \"checkpoint_every\": 1000000}",
    "{\"task\": \"CartPole\", \"name\": \"" LONG64 LONG63 "\"}",
    "{\"task\": \"CartPole\", \"tags\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\","
    "\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"" LONG63 "\"], \"notes\": \"line one\\nline "
    "two\"}",
    "{\"name\": \"hand run\", \"task\": \"HandBlock\", \"preset\": \"hand\", \"task_options\": "
    "{\"sensations\": [\"proprioception\", \"touch\", \"goal\"], \"relative_actions\": true}, "
    "\"policy\": {\"distribution\": \"multicategorical\", \"bins\": 21}, \"ranks\": 2, "
    "\"seed\": 7, \"tags\": [\"hand\", \"lstm\"]}",
    "{\"task\": \"Hopper\", \"preset\": \"locomotion\", \"model\": {\"core\": {\"type\": "
    "\"lstm\", \"units\": 64}, \"layers\": [64, 64]}, \"policy\": \"gaussian\", \"ppo\": "
    "{\"lr_schedule\": \"exponential\", \"lr_decay\": 0.995, \"target_kl\": 0.02, "
    "\"value_clip\": 0.2, \"normalize_advantages\": false}, \"normalize\": {\"rewards\": false, "
    "\"clip_obs\": 5.5}, \"eval\": {\"every\": 0, \"episodes\": 3, \"deterministic\": false}}",
    "{\"task\": \"CartPoleNoVel\", \"model\": \"simple_lstm\", \"ppo\": {\"horizon\": 128, "
    "\"minibatch\": 512}}",
    "{\"task\": \"CartPole\", \"ranks\": 2, \"ppo\": {\"minibatch\": 4096}}",
};

#undef T

#define NUM_GOOD_SPECS ((int)(sizeof good_specs / sizeof good_specs[0]))

START_TEST(test_round_trip) {
    AgSpec a, b;
    AgJsonErr e;
    parse_ok(good_specs[_i], &a);
    json_t *j1 = ag_spec_to_json(&a);
    ck_assert_ptr_nonnull(j1);
    ck_assert_int_eq(ag_spec_parse(j1, &b, &e), AG_OK);
    assert_spec_equal(&a, &b);
    /* and through text, as angorad stores it */
    char *text = json_dumps(j1, JSON_COMPACT);
    ck_assert_ptr_nonnull(text);
    AgSpec c;
    parse_ok(text, &c);
    assert_spec_equal(&a, &c);
    json_t *j2 = ag_spec_to_json(&c);
    ck_assert(json_equal(j1, j2));
    /* the resolved spec has every key */
    ck_assert_int_eq(json_object_size(j1), 15);
    ck_assert_int_eq(json_object_size(json_object_get(j1, "ppo")), 19);
    ck_assert_int_eq(json_object_size(json_object_get(j1, "normalize")), 4);
    ck_assert_int_eq(json_object_size(json_object_get(j1, "eval")), 3);
    ck_assert_int_eq(json_object_size(json_object_get(j1, "policy")), 2);
    free(text);
    json_decref(j1);
    json_decref(j2);
    ag_spec_free(&a);
    ag_spec_free(&b);
    ag_spec_free(&c);
}
END_TEST

START_TEST(test_to_json_values) {
    AgSpec s;
    parse_ok(good_specs[6], &s);
    json_t *j = ag_spec_to_json(&s);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "hand run");
    ck_assert_str_eq(json_string_value(json_object_get(j, "model")), "hand_lstm");
    json_t *policy = json_object_get(j, "policy");
    ck_assert_str_eq(json_string_value(json_object_get(policy, "distribution")),
                     "multicategorical");
    ck_assert_int_eq(json_integer_value(json_object_get(policy, "bins")), 21);
    json_t *ppo = json_object_get(j, "ppo");
    ck_assert_str_eq(json_string_value(json_object_get(ppo, "lr_schedule")), "exponential");
    ck_assert_double_eq(json_real_value(json_object_get(ppo, "gamma")), 0.998);
    ck_assert(json_is_true(json_object_get(ppo, "normalize_advantages")));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "seed")), 7);
    ck_assert_int_eq(json_array_size(json_object_get(j, "tags")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "tags"), 1)), "lstm");
    json_t *opts = json_object_get(j, "task_options");
    ck_assert(json_is_true(json_object_get(opts, "relative_actions")));
    json_decref(j);
    ag_spec_free(&s);
}
END_TEST

/* init: kept as given, written back only when set, and copied with the spec */
START_TEST(test_init) {
    AgSpec a, b, c;
    AgJsonErr e;
    parse_ok("{\"task\": \"HandBlock\", \"init\": {\"checkpoint\": \"/runs/rp/last.ckpt\"}}", &a);
    ck_assert_str_eq(a.init.checkpoint, "/runs/rp/last.ckpt");
    ck_assert_str_eq(a.init.sha256, "");
    json_t *j = ag_spec_to_json(&a);
    json_t *init = json_object_get(j, "init");
    ck_assert_int_eq(json_object_size(init), 1);
    ck_assert_str_eq(json_string_value(json_object_get(init, "checkpoint")), "/runs/rp/last.ckpt");
    ck_assert_int_eq(ag_spec_parse(j, &b, &e), AG_OK);
    assert_spec_equal(&a, &b);
    json_decref(j);
    ag_spec_free(&b);
    /* with the file's hash */
    snprintf(a.init.sha256, sizeof a.init.sha256, "%s", SHA_LOWER);
    j = ag_spec_to_json(&a);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "init"), "sha256")),
                     SHA_LOWER);
    ck_assert_int_eq(ag_spec_parse(j, &b, &e), AG_OK);
    assert_spec_equal(&a, &b);
    ck_assert_int_eq(ag_spec_copy(&c, &a), AG_OK);
    assert_spec_equal(&a, &c);
    json_decref(j);
    ag_spec_free(&a);
    ag_spec_free(&b);
    ag_spec_free(&c);
    /* a NUL inside the path (a JSON text refuses \u0000; a document built in memory may hold it) */
    json_t *doc =
        json_pack("{s:s, s:{s:s%}}", "task", "CartPole", "init", "checkpoint", "a\0b", (size_t)3);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(ag_spec_parse(doc, &a, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "init.checkpoint");
    ck_assert_ptr_nonnull(strstr(e.reason, "NUL"));
    json_decref(doc);
    /* null or absent: no init, and none written */
    parse_ok("{\"task\": \"CartPole\", \"init\": null}", &a);
    ck_assert_str_eq(a.init.checkpoint, "");
    j = ag_spec_to_json(&a);
    ck_assert_ptr_null(json_object_get(j, "init"));
    json_decref(j);
    ag_spec_free(&a);
}
END_TEST

START_TEST(test_model_object_kept) {
    AgSpec s;
    parse_ok(good_specs[7], &s);
    ck_assert(json_is_object(s.model));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(s.model, "core"), "units")),
                     64);
    /* its recurrent core sets the recurrent tbptt default, as a recurrent preset name does */
    ck_assert_int_eq(s.ppo.tbptt, 16);
    ck_assert_int_eq(s.policy, AG_POLICY_GAUSSIAN);
    ck_assert_int_eq(s.normalize.rewards, 0);
    ck_assert_double_eq(s.normalize.clip_obs, 5.5);
    ck_assert_int_eq(s.eval.every, 0);
    ck_assert_int_eq(s.eval.deterministic, 0);
    ag_spec_free(&s);
}
END_TEST

START_TEST(test_parse_does_not_alias_input) {
    AgJsonErr e;
    json_t *doc = json_pack("{s:s, s:{s:i}, s:{s:i}}", "task", "CartPole", "task_options", "k", 1,
                            "model", "units", 8);
    ck_assert_ptr_nonnull(doc);
    AgSpec s;
    ck_assert_int_eq(ag_spec_parse(doc, &s, &e), AG_OK);
    ck_assert_ptr_ne(s.model, json_object_get(doc, "model"));
    json_decref(doc); /* the spec owns its copies */
    ck_assert_int_eq(json_integer_value(json_object_get(s.task_options, "k")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(s.model, "units")), 8);
    ag_spec_free(&s);
}
END_TEST

START_TEST(test_copy) {
    AgSpec a, b;
    parse_ok(good_specs[6], &a);
    ck_assert_int_eq(ag_spec_copy(&b, &a), AG_OK);
    assert_spec_equal(&a, &b);
    ck_assert_ptr_ne(a.model, b.model);
    ck_assert_ptr_ne(a.task_options, b.task_options);
    /* deep: changing the copy leaves the original alone */
    json_object_set_new(b.task_options, "relative_actions", json_false());
    ck_assert(json_is_true(json_object_get(a.task_options, "relative_actions")));
    ag_spec_free(&a);
    ck_assert(json_is_false(json_object_get(b.task_options, "relative_actions")));
    ag_spec_free(&b);
}
END_TEST

START_TEST(test_iterations) {
    AgSpec s;
    parse_ok("{\"task\": \"CartPole\"}", &s);
    ck_assert_int_eq(ag_spec_batch_size(&s), 2048);
    ck_assert_int_eq(ag_spec_iterations(&s), 489); /* ceil(1e6 / 2048) */
    s.budget_env_steps = 2048 * 10;
    ck_assert_int_eq(ag_spec_iterations(&s), 10);
    s.budget_env_steps = 2048 * 10 + 1;
    ck_assert_int_eq(ag_spec_iterations(&s), 11);
    s.budget_env_steps = 1;
    ck_assert_int_eq(ag_spec_iterations(&s), 1);
    s.ranks = 4;
    s.budget_env_steps = 1000000000000LL;
    ck_assert_int_eq(ag_spec_batch_size(&s), 8192);
    ck_assert_int_eq(ag_spec_iterations(&s), 122070313);
    s.ranks = 0;
    ck_assert_int_eq(ag_spec_iterations(&s), 0);
    ag_spec_free(&s);
    /* no overflow at the largest batch */
    parse_ok("{\"task\": \"CartPole\", \"ranks\": 1024, \"ppo\": {\"envs_per_rank\": 4096, "
             "\"horizon\": 100000}}",
             &s);
    ck_assert_int_eq(ag_spec_batch_size(&s), 1024LL * 4096 * 100000);
    ck_assert_int_eq(ag_spec_iterations(&s), 1);
    ag_spec_free(&s);
}
END_TEST

START_TEST(test_lr_schedule) {
    AgSpec s;
    parse_ok("{\"task\": \"CartPole\", \"ppo\": {\"lr\": 0.001}, \"budget\": {\"env_steps\": "
             "20480}}",
             &s);
    ck_assert_int_eq(ag_spec_iterations(&s), 10);
    ck_assert_double_eq(ag_spec_lr_at(&s, 0), 0.001);
    ck_assert_double_eq(ag_spec_lr_at(&s, 9), 0.001);
    ag_spec_free(&s);

    parse_ok("{\"task\": \"CartPole\", \"ppo\": {\"lr\": 0.001, \"lr_schedule\": \"linear\", "
             "\"lr_final\": 0.1}, \"budget\": {\"env_steps\": 20480}}",
             &s);
    ck_assert_double_eq_tol(ag_spec_lr_at(&s, 0), 0.001, 1e-15);
    ck_assert_double_eq_tol(ag_spec_lr_at(&s, 5), 0.001 * (1 - 0.5 * 0.9), 1e-15);
    ck_assert_double_eq_tol(ag_spec_lr_at(&s, 10), 0.0001, 1e-15);
    ck_assert_double_eq_tol(ag_spec_lr_at(&s, 50), 0.0001, 1e-15); /* clamped past the end */
    ck_assert_double_eq_tol(ag_spec_lr_at(&s, -3), 0.001, 1e-15);
    /* decreasing over the run */
    for (int i = 1; i < 10; i++) {
        ck_assert(ag_spec_lr_at(&s, i) < ag_spec_lr_at(&s, i - 1));
    }
    ag_spec_free(&s);

    parse_ok("{\"task\": \"CartPole\", \"ppo\": {\"lr\": 0.001, \"lr_schedule\": "
             "\"exponential\", \"lr_decay\": 0.9}}",
             &s);
    ck_assert_double_eq_tol(ag_spec_lr_at(&s, 0), 0.001, 1e-15);
    ck_assert_double_eq_tol(ag_spec_lr_at(&s, 1), 0.0009, 1e-15);
    ck_assert_double_eq_tol(ag_spec_lr_at(&s, 10), 0.001 * pow(0.9, 10), 1e-15);
    ag_spec_free(&s);
}
END_TEST

START_TEST(test_names) {
    ck_assert_str_eq(ag_spec_policy_name(AG_POLICY_AUTO), "auto");
    ck_assert_str_eq(ag_spec_policy_name(AG_POLICY_GAUSSIAN), "gaussian");
    ck_assert_str_eq(ag_spec_policy_name(AG_POLICY_BETA), "beta");
    ck_assert_str_eq(ag_spec_policy_name(AG_POLICY_CATEGORICAL), "categorical");
    ck_assert_str_eq(ag_spec_policy_name(AG_POLICY_MULTICATEGORICAL), "multicategorical");
    ck_assert_str_eq(ag_spec_policy_name((AgPolicyKind)99), "?");
    ck_assert_str_eq(ag_spec_lr_schedule_name(AG_LR_CONSTANT), "constant");
    ck_assert_str_eq(ag_spec_lr_schedule_name(AG_LR_LINEAR), "linear");
    ck_assert_str_eq(ag_spec_lr_schedule_name(AG_LR_EXPONENTIAL), "exponential");
    ck_assert_str_eq(ag_spec_lr_schedule_name((AgLrSchedule)-1), "?");
    /* every policy name parses to its kind, as a string and as an object */
    for (int k = AG_POLICY_AUTO; k <= AG_POLICY_MULTICATEGORICAL; k++) {
        char text[160];
        AgSpec s;
        snprintf(text, sizeof text, "{\"task\": \"T\", \"policy\": \"%s\"}",
                 ag_spec_policy_name((AgPolicyKind)k));
        parse_ok(text, &s);
        ck_assert_int_eq(s.policy, k);
        ag_spec_free(&s);
        snprintf(text, sizeof text, "{\"task\": \"T\", \"policy\": {\"distribution\": \"%s\"}}",
                 ag_spec_policy_name((AgPolicyKind)k));
        parse_ok(text, &s);
        ck_assert_int_eq(s.policy, k);
        ck_assert_int_eq(s.bins, 11);
        ag_spec_free(&s);
    }
}
END_TEST

/* the examples of docs/spec.md, read from the document itself, parse, and give the numbers of
 * iterations the text states */
START_TEST(test_doc_examples) {
    char path[1024];
    const char *here = __FILE__;
    const char *cut = strstr(here, "tests/unit/common/");
    ck_assert_ptr_nonnull(cut);
    snprintf(path, sizeof path, "%.*sdocs/spec.md", (int)(cut - here), here);
    char *doc = NULL;
    size_t len = 0;
    char err[256];
    ck_assert_msg(ag_fs_read_file(path, 1 << 20, &doc, &len, err, sizeof err) == AG_OK, "%s", err);
    static const int64_t iterations[] = {489, 98, 489, 1221};
    int n = 0;
    for (char *p = strstr(doc, "```json\n"); p; p = strstr(p, "```json\n")) {
        p += strlen("```json\n");
        char *end = strstr(p, "```");
        ck_assert_ptr_nonnull(end);
        AgSpec s;
        AgJsonErr e;
        int rc = ag_spec_parse_text(p, (size_t)(end - p), &s, &e);
        ck_assert_msg(rc == AG_OK, "example %d: %s: %s", n, e.path, e.reason);
        ck_assert_int_lt(n, 4);
        ck_assert_int_eq(ag_spec_iterations(&s), iterations[n]);
        ag_spec_free(&s);
        n++;
        p = end + 3;
    }
    ck_assert_int_eq(n, 4);
    free(doc);
}
END_TEST

/* the messages of the table in docs/spec.md, word for word */
START_TEST(test_doc_messages) {
    static const char *const rows[][2] = {
        {"{\"task\": \"T\", \"ppo\": {\"lr_rate\": 0.1}}", "ppo.lr_rate: unknown key"},
        {"{\"task\": \"T\", \"ppo\": {\"lr\": 0}}",
         "ppo.lr: must be greater than 0 and at most 1, got 0"},
        {"{\"task\": \"T\", \"ppo\": {\"envs_per_rank\": 8.5}}",
         "ppo.envs_per_rank: must be an integer, got 8.5"},
        {"{\"task\": \"T\", \"policy\": \"dirichlet\"}",
         "policy: must be one of auto, gaussian, beta, categorical, multicategorical, got "
         "\"dirichlet\""},
        {"{\"task\": \"T\", \"policy\": {\"distribution\": \"multicategorical\", \"bins\": 1}}",
         "policy.bins: must be between 2 and 255, got 1"},
        {"{\"task\": \"T\", \"tags\": [\"a\", \"b\", \"" LONG64 "\"]}",
         "tags[2]: must be 1 to 63 printable characters, got 64 characters"},
        {"{\"task\": \"T\", \"ppo\": {\"minibatch\": 4096}}",
         "ppo.minibatch: is 4096 but one iteration collects only 2048 transitions (ranks 1 x "
         "envs_per_rank 8 x horizon 256)"},
        {"{\"task\": \"T\", \"model\": \"simple_lstm\", \"ppo\": {\"horizon\": 200}}",
         "ppo.horizon: must be a multiple of ppo.tbptt (16) for recurrent training, got 200"},
        {"{\"name\": \"x\"}", "task: is required (the name of a task, e.g. \"CartPole\")"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        AgSpec s;
        AgJsonErr e;
        ck_assert_int_eq(parse(rows[i][0], &s, &e), AG_ESPEC);
        char msg[512];
        ag_json_err_format(&e, msg, sizeof msg);
        ck_assert_str_eq(msg, rows[i][1]);
    }
}
END_TEST

/* ---- out of memory: every allocation in turn fails; nothing crashes or leaks ---- */

static int allocs_left;

static void *failing_malloc(size_t n) {
    if (allocs_left == 0) {
        return NULL;
    }
    allocs_left--;
    return malloc(n);
}

START_TEST(test_out_of_memory) {
    AgSpec src;
    parse_ok(good_specs[6], &src);
    json_t *doc = ag_spec_to_json(&src);
    ck_assert_ptr_nonnull(doc);
    int parsed = 0, built = 0, copied = 0;
    for (int n = 0; n < 400; n++) {
        json_set_alloc_funcs(failing_malloc, free);
        allocs_left = n;
        AgSpec s, c;
        AgJsonErr e;
        int rc = ag_spec_parse(doc, &s, &e);
        json_t *j = ag_spec_to_json(&src);
        int crc = ag_spec_copy(&c, &src);
        json_set_alloc_funcs(malloc, free);
        if (rc == AG_OK) {
            assert_spec_equal(&s, &src);
            parsed++;
        } else {
            ck_assert_int_eq(rc, AG_ENOMEM);
            ck_assert_ptr_nonnull(strstr(e.reason, "out of memory"));
            ck_assert_ptr_null(s.model);
        }
        if (j) {
            ck_assert(json_equal(j, doc));
            built++;
        }
        if (crc == AG_OK) {
            assert_spec_equal(&c, &src);
            copied++;
        } else {
            ck_assert_int_eq(crc, AG_ENOMEM);
            ck_assert_ptr_null(c.model);
        }
        json_decref(j);
        ag_spec_free(&s);
        ag_spec_free(&c);
    }
    /* enough allocations let every call through */
    ck_assert_int_gt(parsed, 0);
    ck_assert_int_gt(built, 0);
    ck_assert_int_gt(copied, 0);
    json_decref(doc);
    ag_spec_free(&src);
}
END_TEST

/* every preset's full table, as docs/spec.md lists it */
static const char *const preset_tables[][2] = {
    {"default",
     "{\"task_options\": {}, \"model\": \"simple\", \"policy\": {\"distribution\": \"auto\", "
     "\"bins\": 11}, \"ppo\": {\"envs_per_rank\": 8, \"horizon\": 256, \"epochs\": 4, "
     "\"minibatch\": 256, \"lr\": 0.0003, \"lr_schedule\": \"constant\", \"lr_decay\": 0.999, "
     "\"lr_final\": 0.0, \"clip\": 0.2, \"c_entropy\": 0.01, \"c_value\": 0.5, \"gae_lambda\": "
     "0.95, \"gamma\": 0.99, \"grad_clip\": 0.5, \"value_clip\": 0.0, \"tbptt\": 1, "
     "\"target_kl\": 0.0, \"adam_eps\": 1e-05, \"normalize_advantages\": true}, \"normalize\": "
     "{\"observations\": true, \"rewards\": true, \"clip_obs\": 10.0, \"clip_reward\": 10.0}, "
     "\"budget\": {\"env_steps\": 1000000}, \"ranks\": 1, \"seed\": 0, \"checkpoint_every\": 0, "
     "\"eval\": {\"every\": 10, \"episodes\": 10, \"deterministic\": true}, \"preset\": "
     "\"default\", \"tags\": [], \"notes\": \"\"}"},
    {"locomotion",
     "{\"task_options\": {}, \"model\": \"simple\", \"policy\": {\"distribution\": \"auto\", "
     "\"bins\": 11}, \"ppo\": {\"envs_per_rank\": 8, \"horizon\": 256, \"epochs\": 10, "
     "\"minibatch\": 64, \"lr\": 0.0003, \"lr_schedule\": \"linear\", \"lr_decay\": 0.999, "
     "\"lr_final\": 0.0, \"clip\": 0.2, \"c_entropy\": 0.0, \"c_value\": 0.5, \"gae_lambda\": "
     "0.95, \"gamma\": 0.99, \"grad_clip\": 0.5, \"value_clip\": 0.0, \"tbptt\": 1, "
     "\"target_kl\": 0.0, \"adam_eps\": 1e-05, \"normalize_advantages\": true}, \"normalize\": "
     "{\"observations\": true, \"rewards\": true, \"clip_obs\": 10.0, \"clip_reward\": 10.0}, "
     "\"budget\": {\"env_steps\": 1000000}, \"ranks\": 1, \"seed\": 0, \"checkpoint_every\": 0, "
     "\"eval\": {\"every\": 10, \"episodes\": 10, \"deterministic\": true}, \"preset\": "
     "\"locomotion\", \"tags\": [], \"notes\": \"\"}"},
    {"hand",
     "{\"task_options\": {}, \"model\": \"hand_lstm\", \"policy\": {\"distribution\": "
     "\"beta\", \"bins\": 11}, \"ppo\": {\"envs_per_rank\": 32, \"horizon\": 256, \"epochs\": 2, "
     "\"minibatch\": 2048, \"lr\": 0.0003, \"lr_schedule\": \"exponential\", \"lr_decay\": "
     "0.999, \"lr_final\": 0.0, \"clip\": 0.2, \"c_entropy\": 0.01, \"c_value\": 1.0, "
     "\"gae_lambda\": 0.95, \"gamma\": 0.998, \"grad_clip\": 0.5, \"value_clip\": 0.0, "
     "\"tbptt\": 16, \"target_kl\": 0.0, \"adam_eps\": 1e-05, \"normalize_advantages\": true}, "
     "\"normalize\": {\"observations\": true, \"rewards\": true, \"clip_obs\": 10.0, "
     "\"clip_reward\": 10.0}, \"budget\": {\"env_steps\": 20000000}, \"ranks\": 1, \"seed\": 0, "
     "\"checkpoint_every\": 100, \"eval\": {\"every\": 20, \"episodes\": 10, \"deterministic\": "
     "true}, \"preset\": \"hand\", \"tags\": [], \"notes\": \"\"}"},
};

START_TEST(test_preset_tables) {
    const char *name = preset_tables[_i][0];
    AgJsonErr e;
    json_t *want = ag_json_parse(preset_tables[_i][1], strlen(preset_tables[_i][1]), &e);
    ck_assert_msg(want != NULL, "%s", e.reason);
    json_t *got = ag_spec_defaults_json(name);
    ck_assert_ptr_nonnull(got);
    char *text = json_dumps(got, JSON_COMPACT);
    ck_assert_msg(json_equal(want, got), "preset %s: %s", name, text);
    free(text);
    json_decref(want);
    json_decref(got);
}
END_TEST

static Suite *spec_suite(void) {
    Suite *s = suite_create("ag_spec");
    TCase *tc = tcase_create("spec");
    tcase_add_test(tc, test_defaults_minimal);
    tcase_add_test(tc, test_nulls_mean_defaults);
    tcase_add_test(tc, test_recurrent_model_defaults_tbptt);
    tcase_add_test(tc, test_preset_hand);
    tcase_add_test(tc, test_preset_locomotion);
    tcase_add_test(tc, test_preset_override);
    tcase_add_test(tc, test_preset_names);
    tcase_add_test(tc, test_defaults_json);
    tcase_add_loop_test(tc, test_preset_tables, 0, 3);
    tcase_add_test(tc, test_bad_table_size);
    tcase_add_loop_test(tc, test_bad_spec, 0, NUM_BAD_SPECS);
    tcase_add_test(tc, test_malformed_text);
    tcase_add_loop_test(tc, test_round_trip, 0, NUM_GOOD_SPECS);
    tcase_add_test(tc, test_to_json_values);
    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_model_object_kept);
    tcase_add_test(tc, test_parse_does_not_alias_input);
    tcase_add_test(tc, test_copy);
    tcase_add_test(tc, test_iterations);
    tcase_add_test(tc, test_lr_schedule);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_doc_examples);
    tcase_add_test(tc, test_doc_messages);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(spec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
