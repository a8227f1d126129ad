/* Where a run executes: the executor part of an experiment spec ("executor": {"kind": "slurm",
 * ...}) and the daemon's default. "local" runs angora-train on angorad's own machine; "slurm"
 * hands each attempt to a Slurm cluster with sbatch (docs/cluster.md).
 *
 * DESIGN
 * - Every value is checked at submit time, naming its JSON path, so that sbatch never sees a
 *   value it would refuse for its form. Values reach sbatch as separate arguments, never through
 *   a shell; the batch script holds only paths, each shell-quoted.
 * - An absent executor means the daemon's default (AG_EXECUTOR_DEFAULT); the resolved spec then
 *   has no "executor" key, so specs written before executors existed read back unchanged. */
#ifndef AG_EXECUTOR_H
#define AG_EXECUTOR_H

#include "ag_json.h"

#define AG_EXECUTOR_NAME_MAX  64 /* partition, account */
#define AG_EXECUTOR_VALUE_MAX 32 /* time limit, memory */
#define AG_EXECUTOR_EXTRA_MAX 16
#define AG_EXECUTOR_EXTRA_LEN 128

typedef enum AgExecutorKind {
    AG_EXECUTOR_DEFAULT = 0, /* the daemon's configured executor */
    AG_EXECUTOR_LOCAL,
    AG_EXECUTOR_SLURM
} AgExecutorKind;

typedef struct AgExecutor {
    AgExecutorKind kind;
    char partition[AG_EXECUTOR_NAME_MAX];   /* "" for the cluster's default */
    char account[AG_EXECUTOR_NAME_MAX];     /* "" for the user's default */
    char time_limit[AG_EXECUTOR_VALUE_MAX]; /* Slurm's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S */
    char mem[AG_EXECUTOR_VALUE_MAX];        /* per node: a number with an optional K/M/G/T */
    int nodes;                              /* 0 for Slurm's choice */
    int cpus_per_task;                      /* 0 for Slurm's default */
    int num_extra;
    char extra[AG_EXECUTOR_EXTRA_MAX][AG_EXECUTOR_EXTRA_LEN]; /* more sbatch options, "--x=y" */
} AgExecutor;

/* reads the executor object v at path (NULL or null: the default); AG_ESPEC names the bad
 * value's path */
int ag_executor_parse(const json_t *v, const char *path, AgExecutor *out, AgJsonErr *e);
/* the executor as it parses back (new reference); NULL for the default */
json_t *ag_executor_to_json(const AgExecutor *x);
/* "default", "local", "slurm" */
const char *ag_executor_kind_name(AgExecutorKind kind);
/* "local" or "slurm" (the daemon's configuration and angoractl); -1 otherwise */
int ag_executor_kind_parse(const char *name);
/* a Slurm time limit in one of its forms (M, M:S, H:M:S, D-H, D-H:M, D-H:M:S) */
int ag_executor_time_limit_valid(const char *s);
/* a partition or account name: letters, digits, '_', '-', '.' (1 to 63) */
int ag_executor_name_valid(const char *s);

#endif
