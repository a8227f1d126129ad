/* The run directory of angora-train: layout, the metrics file (one JSON object per iteration),
 * the status file, and the truncation of metrics on resume.
 *
 *   DIR/spec.json             the resolved spec (every default filled in)
 *   DIR/metrics.jsonl         one JSON object per PPO iteration, flushed each iteration
 *   DIR/status.json           {state, iteration, total_iterations, pid, ranks, started,
 *                             updated[, message]}, replaced atomically
 *   DIR/train.log             the log of rank 0
 *   DIR/error.json            why the run failed {message, path, class}, replaced atomically
 *   DIR/checkpoints/last.ckpt, iter-N.ckpt, best.ckpt
 */
#ifndef TRAIN_RUN_H
#define TRAIN_RUN_H

#include "rl_ppo.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TRAIN_PATH_MAX 4096

/* builds DIR/<name> into out (AG_ETOOBIG when it does not fit) */
int train_path(char *out, size_t out_sz, const char *dir, const char *name);

/* creates DIR and DIR/checkpoints and checks they can be written; a fresh run (resume = 0)
 * refuses a directory that already holds metrics, so nothing of another run is overwritten */
int train_rundir_prepare(const char *dir, int resume, char *err, size_t err_sz);

/* keeps the lines of DIR/metrics.jsonl whose iteration is at most `iteration` (atomically);
 * *last_wall_s and *last_cpu_s get the wall_s and cpu_s of the last line kept (0 if none; cpu_s
 * NAN when that line has none, as lines written before it existed). A missing file is fine. */
int train_metrics_truncate(const char *path, int64_t iteration, double *last_wall_s,
                           double *last_cpu_s, char *err, size_t err_sz);

/* the metrics object of one iteration (new reference). cpu_s is the CPU time of every rank
 * together since the run began (left out when NAN: unknown after resuming a run of an earlier
 * version). `eval` is the periodic evaluation of this iteration or NULL: its return and task
 * metrics go in as eval_return, eval_return_std and eval_<metric> (eval_success_rate,
 * eval_consecutive_goals_mean). Every real is rounded to the precision of its key
 * (ag_metric_round: timings to 2^-20 s, statistics of float32 quantities to float32) */
json_t *train_metrics_json(const RlIterStats *st, double wall_s, double cpu_s, double iter_s,
                           const RlEvalResult *eval);

/* writes DIR/status.json atomically */
/* adds the host's identity to a run's metadata: "cpu_model" (from /proc/cpuinfo) and
 * "blas_core" (openblas_get_corename()); same-seed runs match to the bit only where both agree */
void train_host_describe(json_t *o);
/* A warning when OpenBLAS fell back to generic kernels on a CPU that has wider ones: Debian's
 * OpenBLAS does not know every newer CPU (a Xeon with AVX-512 was given "Prescott", at half the
 * training speed of "SkylakeX"). NULL when there is nothing to say; the text is static. */
const char *train_blas_hint(void);
/* the same for a BLAS core name and the CPU's features */
const char *train_blas_hint_for(const char *core, int avx512, int avx2);

int train_status_write(const char *dir, const char *state, int64_t iteration, int64_t total,
                       int ranks, const char *message, char *err, size_t err_sz);

/* writes DIR/error.json atomically: {"message", "path" (null when path is NULL or ""),
 * "class": "input" when input is set, else "runtime"} */
int train_error_write(const char *dir, const char *message, const char *path, int input, char *err,
                      size_t err_sz);

#endif
