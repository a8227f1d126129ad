/* The catalogue of task classes: one plain table of class pointers, looked up by name. A new
 * task is added by declaring its class in its module's header and appending it to
 * env_registry_table. */
#include "env.h"

#include "ag_error.h"

#include <string.h>

/* classic control (classic.c) */
#include "classic.h"

/* MuJoCo tasks (mujoco/) are declared in mj_tasks.h and appended to the table */
#include "mj_tasks.h"

/* one entry per line, kept so by hand */
/* clang-format off */
static const EnvClass *const env_registry_table[] = {
    /* classic control (classic.c) */
    &env_cartpole_class,
    &env_cartpole_novel_class,
    &env_acrobot_class,
    &env_pendulum_class,
    &env_pendulum_novel_class,
    &env_mountain_car_continuous_class,
    /* MuJoCo (mujoco/mj_locomotion.c) */
    &env_mj_inverted_pendulum_class,
    &env_mj_inverted_double_pendulum_class,
    &env_mj_reacher_class,
    &env_mj_swimmer_class,
    &env_mj_hopper_class,
    &env_mj_half_cheetah_class,
    &env_mj_walker2d_class,
    &env_mj_ant_class,
    &env_mj_humanoid_class,
    /* MuJoCo hand (mujoco/mj_hand.c) */
    &env_mj_hand_reach_class, &env_mj_hand_free_reach_class, &env_mj_hand_block_class,
    &env_mj_hand_block_z_class, &env_mj_hand_block_parallel_class,
};
/* clang-format on */

#define ENV_REGISTRY_COUNT ((int)(sizeof(env_registry_table) / sizeof(env_registry_table[0])))

int env_registry_count(void) {
    return ENV_REGISTRY_COUNT;
}

const EnvClass *env_registry_at(int index) {
    if (index < 0 || index >= ENV_REGISTRY_COUNT) {
        return NULL;
    }
    return env_registry_table[index];
}

const EnvClass *env_registry_find(const char *name) {
    if (name == NULL) {
        return NULL;
    }
    for (int i = 0; i < ENV_REGISTRY_COUNT; i++) {
        if (strcmp(env_registry_table[i]->name, name) == 0) {
            return env_registry_table[i];
        }
    }
    return NULL;
}
