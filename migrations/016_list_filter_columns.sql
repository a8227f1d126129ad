-- 016: the list's task and state filters tested from the order's index
-- (server/store/store_exp_list.c). Under a sort other than the submitted order a page reads the
-- order's index (migration 008) and tests its filters on each entry until the page is full; with
-- only (order value, id) in the index each entry read the experiments row to test task and state
-- (about 0.3 us a row): task=Ant&state=succeeded&sort=return read about 1,500 rows a page at
-- 10^4 experiments. With task and state after the id in every order's index, SQLite tests them
-- from the index entry (a deferred seek: the row is read only for the entries that pass), and the
-- order, the keyset ranges and the pages stay what they were. One index per order as before, each
-- a little wider; a change of state (a few per run) now writes each of them. parent_id, tag and
-- name searches keep their own ways.
DROP INDEX experiments_task;
CREATE INDEX experiments_task ON experiments (task, id, state);
DROP INDEX experiments_state;
CREATE INDEX experiments_state ON experiments (state, id, task);
DROP INDEX experiments_name;
CREATE INDEX experiments_name ON experiments (name COLLATE NOCASE, id, task, state);
DROP INDEX experiments_priority;
CREATE INDEX experiments_priority ON experiments (priority, id, task, state);
DROP INDEX experiments_started_desc;
CREATE INDEX experiments_started_desc ON experiments (coalesce(started_at, -1e308), id, task, state);
DROP INDEX experiments_started_asc;
CREATE INDEX experiments_started_asc ON experiments (coalesce(started_at, 1e308), id, task, state);
DROP INDEX experiments_finished_desc;
CREATE INDEX experiments_finished_desc ON experiments (coalesce(finished_at, -1e308), id, task,
    state);
DROP INDEX experiments_finished_asc;
CREATE INDEX experiments_finished_asc ON experiments (coalesce(finished_at, 1e308), id, task,
    state);
DROP INDEX experiments_return_desc;
CREATE INDEX experiments_return_desc ON experiments (coalesce(latest_return, -1e308), id, task,
    state);
DROP INDEX experiments_return_asc;
CREATE INDEX experiments_return_asc ON experiments (coalesce(latest_return, 1e308), id, task,
    state);
DROP INDEX experiments_progress_desc;
CREATE INDEX experiments_progress_desc ON experiments (coalesce((CASE WHEN budget_env_steps > 0
    THEN CAST(latest_env_steps AS REAL) / budget_env_steps END), -1e308), id, task, state);
DROP INDEX experiments_progress_asc;
CREATE INDEX experiments_progress_asc ON experiments (coalesce((CASE WHEN budget_env_steps > 0
    THEN CAST(latest_env_steps AS REAL) / budget_env_steps END), 1e308), id, task, state);
