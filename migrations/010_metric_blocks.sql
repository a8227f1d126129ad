-- 010: numeric metrics by key in compact per-run blocks (server/store/store_blocks.c). The
-- metrics table keeps the newest rows of each run as JSON text (the tail); older rows are sealed
-- in chunks of at most 256 rows: metric_chunks holds a chunk's seqs and the key order of its
-- rows, metric_blocks the values of one key over the chunk as one blob, metric_row_text the text
-- of any row the blocks would not give back byte for byte. The runner then seals the rows
-- already stored, run by run, in this migration's transaction (store_blocks_convert_locked).
CREATE TABLE metric_chunks (
    exp_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    nrows INTEGER NOT NULL,
    min_iter INTEGER,
    max_iter INTEGER,
    n_text INTEGER NOT NULL,
    layout BLOB NOT NULL,
    PRIMARY KEY (exp_id, first_seq)
) WITHOUT ROWID;
CREATE INDEX metric_chunks_iter ON metric_chunks (exp_id, max_iter);
-- a rowid table: blobs of a few kilobytes fill its pages, where an index b-tree (WITHOUT
-- ROWID) would spill each one to a mostly empty overflow page
CREATE TABLE metric_blocks (
    id INTEGER PRIMARY KEY,
    exp_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE UNIQUE INDEX metric_blocks_key ON metric_blocks (exp_id, key_id, first_seq);
CREATE TABLE metric_row_text (
    exp_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (exp_id, seq)
);
