-- 009: vision pretraining jobs (kind 'pretrain': angora-train --pretrain on a dataset, with a
-- learning curve and an encoder checkpoint). The kind's CHECK constraint cannot change in place,
-- so the experiments table is rebuilt as 005 rebuilt it: a new table with every column of 008,
-- the rows copied (ids and the AUTOINCREMENT counter kept), the old table dropped, the new one
-- renamed, the indexes of 005, 007 and 008 made again. Foreign key enforcement is off while the
-- file runs (the pragma line below), so the drop does not cascade to the metric rows; the runner
-- checks every foreign key before it commits.
-- pragma: foreign_keys=off
CREATE TABLE experiments_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    task TEXT NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'paused', 'succeeded', 'failed', 'cancelled')),
    priority INTEGER NOT NULL DEFAULT 0,
    submitted_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    ranks INTEGER NOT NULL DEFAULT 1 CHECK (ranks >= 1),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    run_dir TEXT,
    pid INTEGER,
    pid_start INTEGER,
    tags TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '',
    ingest_offset INTEGER NOT NULL DEFAULT 0,
    last_seq INTEGER NOT NULL DEFAULT 0,
    request TEXT CHECK (request IS NULL OR request IN ('cancel', 'pause')),
    request_at REAL,
    kind TEXT NOT NULL DEFAULT 'train'
        CHECK (kind IN ('train', 'evaluate', 'analysis', 'pretrain')),
    parent_id INTEGER REFERENCES experiments (id),
    budget_env_steps INTEGER,
    latest_iteration INTEGER,
    latest_env_steps INTEGER,
    latest_return REAL,
    latest_task_metric REAL,
    latest_task_key TEXT,
    phase TEXT CHECK (phase IS NULL OR phase IN ('recording', 'analyzing', 'done')),
    executor TEXT NOT NULL DEFAULT 'local' CHECK (executor IN ('local', 'slurm')),
    slurm_job_id TEXT,
    slurm_state TEXT,
    slurm_reason TEXT,
    slurm_nodes TEXT,
    slurm_restarts INTEGER NOT NULL DEFAULT 0,
    rollup_seq INTEGER NOT NULL DEFAULT 0
);
INSERT INTO experiments_new (id, name, task, spec, state, priority, submitted_at, started_at,
    finished_at, ranks, attempts, error, run_dir, pid, pid_start, tags, notes, ingest_offset,
    last_seq, request, request_at, kind, parent_id, budget_env_steps, latest_iteration,
    latest_env_steps, latest_return, latest_task_metric, latest_task_key, phase, executor,
    slurm_job_id, slurm_state, slurm_reason, slurm_nodes, slurm_restarts, rollup_seq)
SELECT id, name, task, spec, state, priority, submitted_at, started_at, finished_at, ranks,
    attempts, error, run_dir, pid, pid_start, tags, notes, ingest_offset, last_seq, request,
    request_at, kind, parent_id, budget_env_steps, latest_iteration, latest_env_steps,
    latest_return, latest_task_metric, latest_task_key, phase, executor, slurm_job_id,
    slurm_state, slurm_reason, slurm_nodes, slurm_restarts, rollup_seq
FROM experiments ORDER BY id;
-- the counter of the old table (ids of deleted experiments are never given out again) moves to
-- the new one, and the drop below finds none to remove
DELETE FROM sqlite_sequence WHERE name = 'experiments_new';
UPDATE sqlite_sequence SET name = 'experiments_new' WHERE name = 'experiments';
DROP TABLE experiments;
ALTER TABLE experiments_new RENAME TO experiments;
CREATE INDEX experiments_queue ON experiments (state, priority DESC, id);
CREATE INDEX experiments_submitted ON experiments (submitted_at, id);
CREATE INDEX experiments_name ON experiments (name COLLATE NOCASE, id);
CREATE INDEX experiments_parent ON experiments (parent_id, kind, id);
CREATE INDEX experiments_rollup_due ON experiments (id) WHERE rollup_seq < last_seq;
CREATE INDEX experiments_task ON experiments (task, id);
CREATE INDEX experiments_state ON experiments (state, id);
CREATE INDEX experiments_priority ON experiments (priority, id);
CREATE INDEX experiments_started_desc ON experiments (coalesce(started_at, -1e308), id);
CREATE INDEX experiments_started_asc ON experiments (coalesce(started_at, 1e308), id);
CREATE INDEX experiments_finished_desc ON experiments (coalesce(finished_at, -1e308), id);
CREATE INDEX experiments_finished_asc ON experiments (coalesce(finished_at, 1e308), id);
CREATE INDEX experiments_return_desc ON experiments (coalesce(latest_return, -1e308), id);
CREATE INDEX experiments_return_asc ON experiments (coalesce(latest_return, 1e308), id);
CREATE INDEX experiments_progress_desc ON experiments (coalesce((CASE WHEN budget_env_steps > 0
    THEN CAST(latest_env_steps AS REAL) / budget_env_steps END), -1e308), id);
CREATE INDEX experiments_progress_asc ON experiments (coalesce((CASE WHEN budget_env_steps > 0
    THEN CAST(latest_env_steps AS REAL) / budget_env_steps END), 1e308), id);
