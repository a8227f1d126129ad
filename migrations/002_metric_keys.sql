-- 002: the metric keys of each run (so listing them does not scan every row), a lookup of rows by
-- iteration (rewinds after a resume), and job kinds (training or evaluation of a parent run).
CREATE TABLE metric_keys (
    exp_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    PRIMARY KEY (exp_id, key)
) WITHOUT ROWID;
INSERT OR IGNORE INTO metric_keys (exp_id, key)
    SELECT DISTINCT m.exp_id, j.key FROM metrics AS m, json_each(m.row) AS j
    WHERE j.type IN ('integer', 'real');
CREATE INDEX metrics_iteration ON metrics (exp_id, iteration);
ALTER TABLE experiments ADD COLUMN kind TEXT NOT NULL DEFAULT 'train'
    CHECK (kind IN ('train', 'evaluate'));
ALTER TABLE experiments ADD COLUMN parent_id INTEGER REFERENCES experiments (id);
