/* The contract between angorad and its workers (angora-train, angora-analyze): the run
 * directory's files, the workers' command lines and their exit codes. The daemon, the workers
 * and the client name them only through this header.
 *
 * DESIGN
 * - The daemon never links the engine (no BLAS, MuJoCo or MPI in angorad). It speaks to the
 *   trainer through three channels only: the files of the run directory, the command line it
 *   starts the trainer with, and the trainer's exit code.
 * - Every file has one writer. The daemon writes the spec as submitted (AG_RUN_SUBMITTED); the
 *   trainer resolves it (presets, defaults that depend on the task and the model) and writes the
 *   result (AG_RUN_SPEC), its metrics, status, log and checkpoints. The process output goes to
 *   AG_RUN_WORKER_LOG, opened by the daemon.
 * - Files that must appear whole are written to a temporary name and renamed (checkpoints,
 *   status, spec, evaluation results); metrics are appended one complete line per iteration,
 *   and the daemon ingests complete lines only.
 * - Exit codes tell the daemon what to do next: AG_EXIT_DONE succeeded; AG_EXIT_INTERRUPTED
 *   checkpointed on a signal and can be resumed; AG_EXIT_USAGE is bad input (spec, task,
 *   checkpoint) that a retry cannot fix, and the daemon fails the experiment at once;
 *   AG_EXIT_ERROR (and a signal) is a runtime failure worth a retry. A failing trainer says why
 *   in AG_RUN_ERROR, whose message becomes the experiment's error. */
#ifndef AG_RUNDIR_H
#define AG_RUNDIR_H

/* ---- files of a run directory ---- */

#define AG_RUN_SUBMITTED       "submitted.json"  /* the spec as submitted (angorad) */
#define AG_RUN_SPEC            "spec.json"       /* the resolved spec (angora-train) */
#define AG_RUN_METRICS         "metrics.jsonl"   /* one JSON object per PPO iteration */
#define AG_RUN_STATUS          "status.json"     /* state, progress, pid, host */
#define AG_RUN_TRAIN_LOG       "train.log"       /* rank 0's log */
#define AG_RUN_WORKER_LOG      "worker.log"      /* the process output (angorad) */
#define AG_RUN_CHECKPOINTS     "checkpoints"     /* folder of the checkpoints below */
#define AG_RUN_CKPT_LAST       "last.ckpt"       /* newest state: resume starts here */
#define AG_RUN_CKPT_BEST       "best.ckpt"       /* best deterministic evaluation so far */
#define AG_RUN_CKPT_ITER_FMT   "iter-%lld.ckpt"  /* every checkpoint_every iterations */
#define AG_RUN_EVALUATION      "evaluation.json" /* an evaluation job's result */
#define AG_RUN_EVAL_VIDEO      "evaluation.mp4"  /* an evaluation job's recording */
#define AG_RUN_EVAL_TRAJECTORY "trajectory.json" /* an evaluation job's replayable poses */
/* why a run failed (angora-train, written atomically before it exits 1 or 2):
 * {"message": text, "path": JSON path of the spec or null, "class": "input" | "runtime"} */
#define AG_RUN_ERROR "error.json"
/* an analysis job: the recording (angora-train --record-activations), the recorder's summary
 * (its stdout), and the folder angora-analyze writes, analysis.json last */
#define AG_RUN_ACTIVATIONS   "activations.h5"
#define AG_RUN_RECORDING     "recording.json"
#define AG_RUN_ANALYSIS      "analysis"
#define AG_RUN_ANALYSIS_JSON "analysis.json"
/* a pretrain job (angora-train --pretrain): its summary line, the trainer's stdout, complete
 * only when the run finished ({"run_dir", "epochs", "seconds", "holdout_*"}) */
#define AG_RUN_PRETRAIN_SUMMARY "pretrain.json"
/* suffix of a file being written, renamed when complete */
#define AG_RUN_PARTIAL_SUFFIX ".part"

/* ---- angora-train's command line ---- */

#define AG_TRAIN_RUN_DIR       "--run-dir"
#define AG_TRAIN_RESUME        "--resume"
#define AG_TRAIN_QUIET         "--quiet"
#define AG_TRAIN_STOP_AFTER    "--stop-after"
#define AG_TRAIN_EVALUATE      "--evaluate"
#define AG_TRAIN_EPISODES      "--episodes"
#define AG_TRAIN_DETERMINISTIC "--deterministic"
#define AG_TRAIN_SEED          "--seed"
#define AG_TRAIN_RECORD        "--record"
#define AG_TRAIN_TRAJECTORY    "--trajectory"
#define AG_TRAIN_RECORD_SIZE   "--record-size"
#define AG_TRAIN_LIST_TASKS    "--list-tasks"
/* --check SPEC: resolve the spec, create the task, build the model; prints the verdict
 * {"valid": bool, "message": text, "path": JSON path or null} and exits 0 or AG_EXIT_USAGE */
#define AG_TRAIN_CHECK "--check"

/* activation recordings (docs/recording.md) */
#define AG_TRAIN_RECORD_ACTIVATIONS "--record-activations"
#define AG_TRAIN_OUT                "--out"
#define AG_TRAIN_POOL_CONV          "--pool-conv"
/* with --evaluate or --record-activations: a JSON object merged over the checkpoint's task
 * options (for example {"curriculum": null} to judge on the task's own goals) */
#define AG_TRAIN_TASK_OPTIONS "--task-options"

/* vision pretraining (docs/training.md): --pretrain-data SPEC --out FILE.h5 renders a dataset;
 * --pretrain SPEC --run-dir DIR trains an encoder on one (metrics.jsonl, checkpoints) */
#define AG_TRAIN_PRETRAIN_DATA "--pretrain-data"
#define AG_TRAIN_PRETRAIN      "--pretrain"
/* --pretrain-check SPEC: what --pretrain checks before it writes anything (the spec, the
 * dataset's header, the model for its image size), the verdict printed as --check prints it */
#define AG_TRAIN_PRETRAIN_CHECK "--pretrain-check"
/* --pretrain-evaluate CHECKPOINT --data FILE.h5: a pretrained encoder's figures on every image
 * of another dataset (a test set rendered with a seed it never saw) */
#define AG_TRAIN_PRETRAIN_EVALUATE "--pretrain-evaluate"
#define AG_TRAIN_DATA              "--data"

/* ---- angora-analyze's command line (docs/analysis.md) ---- */

#define AG_ANALYZE_OUT       "--out"
#define AG_ANALYZE_VARIABLES "--variables"
#define AG_ANALYZE_LAYERS    "--layers"
#define AG_ANALYZE_FOLDS     "--folds"

/* ---- angora-train's exit codes (angora-analyze's are the same) ---- */

typedef enum AgTrainExit {
    AG_EXIT_DONE = 0,        /* finished, or stopped by --stop-after */
    AG_EXIT_ERROR = 1,       /* runtime failure: a retry from the last checkpoint may succeed */
    AG_EXIT_USAGE = 2,       /* bad command line or input: spec, task, run directory, checkpoint */
    AG_EXIT_INTERRUPTED = 3, /* SIGTERM/SIGINT: last.ckpt written, resumable */
} AgTrainExit;

#endif
