/* The MuJoCo task classes: Gymnasium-v4 locomotion and control benchmarks (mj_locomotion.c) and
 * the anthropomorphic hand tasks (mj_hand.c). Listed in env_registry.c. */
#ifndef MJ_TASKS_H
#define MJ_TASKS_H

#include "env.h"

extern const EnvClass env_mj_inverted_pendulum_class;
extern const EnvClass env_mj_inverted_double_pendulum_class;
extern const EnvClass env_mj_reacher_class;
extern const EnvClass env_mj_swimmer_class;
extern const EnvClass env_mj_hopper_class;
extern const EnvClass env_mj_half_cheetah_class;
extern const EnvClass env_mj_walker2d_class;
extern const EnvClass env_mj_ant_class;
extern const EnvClass env_mj_humanoid_class;

extern const EnvClass env_mj_hand_reach_class;
extern const EnvClass env_mj_hand_free_reach_class;
extern const EnvClass env_mj_hand_block_class;
extern const EnvClass env_mj_hand_block_z_class;
extern const EnvClass env_mj_hand_block_parallel_class;

#endif
