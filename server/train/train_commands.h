/* angora-train's command line, and its commands that need no run directory: --list-tasks,
 * --check, --evaluate and --record-activations. Each prints its result on stdout and returns
 * the process's exit status (AG_EXIT_*), having said why on stderr when it is not 0. */
#ifndef TRAIN_COMMANDS_H
#define TRAIN_COMMANDS_H

#define TRAIN_SPEC_MAX_BYTES (1 << 20)
/* the periodic evaluations' seed is the run's seed with these bits flipped */
#define TRAIN_EVAL_SEED_MIX 0x9e3779b97f4a7c15ull

typedef struct TrainArgs {
    const char *spec_path;
    const char *run_dir;
    const char *evaluate;
    const char *record, *trajectory;
    const char *activations, *out; /* --record-activations CHECKPOINT --out FILE.h5 */
    const char *check;             /* --check SPEC */
    const char *pretrain_data;     /* --pretrain-data SPEC (with --out) */
    const char *pretrain;          /* --pretrain SPEC (with --run-dir) */
    const char *pretrain_check;    /* --pretrain-check SPEC */
    const char *pretrain_evaluate; /* --pretrain-evaluate CHECKPOINT (with --data) */
    const char *data;              /* --data FILE.h5 */
    const char *task_options;      /* --task-options JSON (evaluation, recording) */
    int pool_conv;
    int record_width, record_height;
    int resume, quiet, list_tasks, deterministic, episodes;
    long long stop_after;
    unsigned long long seed;
    int have_seed;
} TrainArgs;

int train_cmd_list_tasks(void);
/* --check: the verdict on one line of stdout, {"valid", "message", "path"}; 0 or AG_EXIT_USAGE */
int train_cmd_check(const TrainArgs *a);
int train_cmd_evaluate(const TrainArgs *a);
/* --record-activations: the episodes' every layer output and task variable into FILE.h5, and a
 * summary on stdout. The episodes are fresh ones: neither the training environments nor the
 * periodic evaluations' (docs/recording.md). */
int train_cmd_record_activations(const TrainArgs *a);

#endif
