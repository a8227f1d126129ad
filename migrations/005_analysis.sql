-- 005: analysis jobs (kind 'analysis': a checkpoint's activity recorded, then analysed) and the
-- phase of such a job (recording, analyzing, done). SQLite cannot change a CHECK constraint in
-- place, so the experiments table is rebuilt by SQLite's own procedure: a new table, the rows
-- copied (ids and the AUTOINCREMENT counter kept), the old table dropped, the new one renamed,
-- the indexes made again. The runner applies this file with foreign key enforcement off (the
-- pragma line below), so dropping the old table does not cascade to the metric rows, and checks
-- every foreign key before it commits.
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
    kind TEXT NOT NULL DEFAULT 'train' CHECK (kind IN ('train', 'evaluate', 'analysis')),
    parent_id INTEGER REFERENCES experiments (id),
    budget_env_steps INTEGER,
    latest_iteration INTEGER,
    latest_env_steps INTEGER,
    latest_return REAL,
    latest_task_metric REAL,
    latest_task_key TEXT,
    phase TEXT CHECK (phase IS NULL OR phase IN ('recording', 'analyzing', 'done'))
);
INSERT INTO experiments_new (id, name, task, spec, state, priority, submitted_at, started_at,
    finished_at, ranks, attempts, error, run_dir, pid, pid_start, tags, notes, ingest_offset,
    last_seq, request, request_at, kind, parent_id, budget_env_steps, latest_iteration,
    latest_env_steps, latest_return, latest_task_metric, latest_task_key)
SELECT id, name, task, spec, state, priority, submitted_at, started_at, finished_at, ranks,
    attempts, error, run_dir, pid, pid_start, tags, notes, ingest_offset, last_seq, request,
    request_at, kind, parent_id,
    coalesce(budget_env_steps, json_extract(spec, '$.budget.env_steps')), latest_iteration,
    latest_env_steps, latest_return, latest_task_metric, latest_task_key
FROM experiments ORDER BY id;
-- rows written without the list summary (by hand, or by a tool of that schema) get it as 004
-- gave it to older rows: from the newest metric row
UPDATE experiments_new SET (latest_iteration, latest_env_steps, latest_return) =
    (SELECT coalesce(m.iteration, json_extract(m.row, '$.iteration')),
            coalesce(m.env_steps, json_extract(m.row, '$.env_steps')),
            coalesce(m.return_mean, json_extract(m.row, '$.return_mean')) FROM metrics AS m
     WHERE m.exp_id = experiments_new.id ORDER BY m.seq DESC LIMIT 1)
WHERE latest_iteration IS NULL;
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
