-- 007: one index per order of the experiments list (server/store/store_experiments.c), so that a
-- page is a range of an index read forwards or backwards instead of a sort of every experiment.
-- Keys that can be empty (never started, no metrics yet) are ordered by their value with NULL as
-- the value that sorts last in the page's direction: one expression per direction.
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
