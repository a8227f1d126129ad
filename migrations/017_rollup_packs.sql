-- 017: roll-up buckets packed 64 to a row (server/store/store_rollup_pack.c). A series of 1000
-- points read about 1000 bucket rows of each of its two keys, and SQLite's work per row was most
-- of its cost; a pack holds the 64 finished buckets 64p .. 64p + 63 of one key at one level as a
-- blob. Packs are written by the daemon, a run per transaction, which deletes the bucket rows
-- they hold: existing databases start with packed_seq 0 and are packed after this migration
-- (every bucket row stays readable until then), as roll-ups were caught up after 007. The
-- partial index finds the runs whose rollup_seq has passed a pack of the finest level (64 x 256
-- rows) since they were last packed.
CREATE TABLE metric_bucket_packs (
    exp_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL,
    width INTEGER NOT NULL,
    pack INTEGER NOT NULL,
    buckets BLOB NOT NULL,
    PRIMARY KEY (exp_id, key_id, width, pack)
);
ALTER TABLE experiments ADD COLUMN packed_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX experiments_packs_due ON experiments (id) WHERE packed_seq / 16384 < rollup_seq / 16384;
