-- 011: roll-up buckets of 256 rows and more only (server/store/store_rollup.c). The levels of 16
-- and 64 rows were 2.4 of the 2.6 bucket rows kept for each metric row of 30 keys: a third of
-- the database and most of the start-up integrity check's time. A series too fine for the
-- buckets of 256 rows (a run of fewer than 128,000 rows for 1000 points) is read from the sealed
-- blocks of its two keys instead. The pages freed here are reused by later rows; the file
-- shrinks only with a VACUUM.
DELETE FROM metric_buckets WHERE width < 256;
