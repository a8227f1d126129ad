-- 006: roll-ups of metric rows, so that a downsampled series of any key reads buckets instead of
-- every row's JSON: the min, max and last value of each numeric key over buckets of 16 to 16384
-- consecutive seqs (server/store/store_rollup.c). Keys are numbered once in metric_key_ids.
-- experiments.rollup_seq records up to which seq a run's buckets are complete; existing runs
-- start at 0 and are rolled up from their stored rows by the daemon after start (the rows stay
-- as they are), the partial index finding the runs that are behind.
CREATE TABLE metric_key_ids (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
CREATE TABLE metric_buckets (
    exp_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL,
    width INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    n INTEGER NOT NULL,
    vmin REAL NOT NULL,
    vmax REAL NOT NULL,
    vlast REAL NOT NULL,
    PRIMARY KEY (exp_id, key_id, width, bucket)
) WITHOUT ROWID;
ALTER TABLE experiments ADD COLUMN rollup_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX experiments_rollup_due ON experiments (id) WHERE rollup_seq < last_seq;
