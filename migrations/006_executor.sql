-- 006: the executor each run was started with ('local' or 'slurm'), and for Slurm the job of its
-- current attempt: the job id (a run is re-adopted by it after a restart of angorad), the job's
-- state and pending reason as Slurm last reported them, its node list and its restart count (a
-- requeue re-reads the metrics from the start). Columns added in place; existing runs are local.
ALTER TABLE experiments ADD COLUMN executor TEXT NOT NULL DEFAULT 'local'
    CHECK (executor IN ('local', 'slurm'));
ALTER TABLE experiments ADD COLUMN slurm_job_id TEXT;
ALTER TABLE experiments ADD COLUMN slurm_state TEXT;
ALTER TABLE experiments ADD COLUMN slurm_reason TEXT;
ALTER TABLE experiments ADD COLUMN slurm_nodes TEXT;
ALTER TABLE experiments ADD COLUMN slurm_restarts INTEGER NOT NULL DEFAULT 0;
