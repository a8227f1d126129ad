/* Helpers shared by the hand suites (test_mj_hand.c, test_mj_hand_block.c): one task and one
 * environment opened from option text and a seed, stepped and read through the class. */
#ifndef MJ_HAND_TEST_UTIL_H
#define MJ_HAND_TEST_UTIL_H

#include "mj_hand.h"
#include "mj_runtime.h"
#include "mj_tasks.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Mesa's software renderer keeps some allocations until the process ends; LeakSanitizer reads
 * this hook when the tests run under ASan */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:libOSMesa\n";
}

typedef struct HandEnv {
    EnvTask task;
    EnvMjHandState *st;
    const EnvMjHandShared *sh;
    AgRng rng;
    float *obs;
} HandEnv;

static inline int hand_open_opts(HandEnv *e, const EnvClass *cls, const char *opts, uint64_t seed,
                                 char *err, size_t err_sz) {
    memset(e, 0, sizeof(*e));
    e->task.cls = cls;
    json_t *o = opts ? json_loads(opts, 0, NULL) : NULL;
    int rc = cls->task_create(&e->task, o, err, err_sz);
    json_decref(o);
    if (rc != 0) {
        return rc;
    }
    e->sh = e->task.shared;
    e->st = calloc(1, cls->state_size);
    ck_assert_int_eq(cls->env_create(&e->task, e->st, err, err_sz), 0);
    e->obs = calloc((size_t)e->task.spec.obs_size, sizeof(float));
    ag_rng_seed(&e->rng, seed, 0);
    cls->reset(&e->task, e->st, &e->rng, e->obs);
    return 0;
}

static inline void hand_open(HandEnv *e, const EnvClass *cls, const char *opts, uint64_t seed) {
    char err[256] = "";
    int rc = hand_open_opts(e, cls, opts, seed, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s", err);
}

static inline void hand_close(HandEnv *e) {
    e->task.cls->env_destroy(&e->task, e->st);
    e->task.cls->task_destroy(&e->task);
    free(e->st);
    free(e->obs);
}

static inline EnvStep hand_step(HandEnv *e, const float *a) {
    EnvStep out;
    e->task.cls->step(&e->task, e->st, &e->rng, a, e->obs, &out);
    return out;
}

static inline float hand_metric(HandEnv *e) {
    float m[ENV_MAX_METRICS];
    e->task.cls->episode_metrics(&e->task, e->st, m);
    return m[0];
}

static inline const EnvSensation *hand_sensation(const HandEnv *e, const char *name) {
    for (int i = 0; i < e->task.spec.num_sensations; i++) {
        if (strcmp(e->task.spec.sensations[i].name, name) == 0) {
            return &e->task.spec.sensations[i];
        }
    }
    return NULL;
}

#endif
