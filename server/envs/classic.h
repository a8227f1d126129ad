/* The classic control task classes (classic.c), listed in env_registry.c. */
#ifndef CLASSIC_H
#define CLASSIC_H

#include "env.h"

extern const EnvClass env_cartpole_class;
extern const EnvClass env_cartpole_novel_class;
extern const EnvClass env_acrobot_class;
extern const EnvClass env_pendulum_class;
extern const EnvClass env_pendulum_novel_class;
extern const EnvClass env_mountain_car_continuous_class;

#endif
