-- 001: experiments queue, metric rows, API tokens and an event journal.
CREATE TABLE experiments (
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
    request_at REAL
);
CREATE INDEX experiments_queue ON experiments (state, priority DESC, id);

CREATE TABLE metrics (
    exp_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    iteration INTEGER,
    env_steps INTEGER,
    return_mean REAL,
    wall_s REAL,
    row TEXT NOT NULL,
    PRIMARY KEY (exp_id, seq)
) WITHOUT ROWID;

CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'full')),
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    exp_id INTEGER,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX events_exp ON events (exp_id, id);
