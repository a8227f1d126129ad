-- 018: a page under a sort and a task or state filter as one range of an index. Since 016 such a
-- page reads its order's index and tests task and state on each entry until the page is full:
-- task=Ant&state=succeeded&sort=return read about 1,000 entries a page at 10^4 experiments (a
-- tenth of them match), and task=Ant alone about 500. With the filter's column first and the
-- order after it, the page is the range of the filter's value read in order, and the other filter
-- is tested from the entry (server/store/store_exp_list.c decides which column the planner sees).
-- Task never changes and state a few times a run; the return and progress indexes are written
-- when a run's latest metrics move, as their order's indexes already are.
CREATE INDEX experiments_task_name ON experiments (task, name COLLATE NOCASE, id, state);
CREATE INDEX experiments_task_priority ON experiments (task, priority, id, state);
CREATE INDEX experiments_task_started_desc ON experiments (task, coalesce(started_at, -1e308), id,
    state);
CREATE INDEX experiments_task_started_asc ON experiments (task, coalesce(started_at, 1e308), id,
    state);
CREATE INDEX experiments_task_finished_desc ON experiments (task, coalesce(finished_at, -1e308),
    id, state);
CREATE INDEX experiments_task_finished_asc ON experiments (task, coalesce(finished_at, 1e308), id,
    state);
CREATE INDEX experiments_task_return_desc ON experiments (task, coalesce(latest_return, -1e308),
    id, state);
CREATE INDEX experiments_task_return_asc ON experiments (task, coalesce(latest_return, 1e308), id,
    state);
CREATE INDEX experiments_task_progress_desc ON experiments (task, coalesce((CASE WHEN
    budget_env_steps > 0 THEN CAST(latest_env_steps AS REAL) / budget_env_steps END), -1e308), id,
    state);
CREATE INDEX experiments_task_progress_asc ON experiments (task, coalesce((CASE WHEN
    budget_env_steps > 0 THEN CAST(latest_env_steps AS REAL) / budget_env_steps END), 1e308), id,
    state);
CREATE INDEX experiments_state_name ON experiments (state, name COLLATE NOCASE, id, task);
CREATE INDEX experiments_state_priority ON experiments (state, priority, id, task);
CREATE INDEX experiments_state_started_desc ON experiments (state, coalesce(started_at, -1e308),
    id, task);
CREATE INDEX experiments_state_started_asc ON experiments (state, coalesce(started_at, 1e308), id,
    task);
CREATE INDEX experiments_state_finished_desc ON experiments (state, coalesce(finished_at, -1e308),
    id, task);
CREATE INDEX experiments_state_finished_asc ON experiments (state, coalesce(finished_at, 1e308),
    id, task);
CREATE INDEX experiments_state_return_desc ON experiments (state, coalesce(latest_return, -1e308),
    id, task);
CREATE INDEX experiments_state_return_asc ON experiments (state, coalesce(latest_return, 1e308),
    id, task);
CREATE INDEX experiments_state_progress_desc ON experiments (state, coalesce((CASE WHEN
    budget_env_steps > 0 THEN CAST(latest_env_steps AS REAL) / budget_env_steps END), -1e308), id,
    task);
CREATE INDEX experiments_state_progress_asc ON experiments (state, coalesce((CASE WHEN
    budget_env_steps > 0 THEN CAST(latest_env_steps AS REAL) / budget_env_steps END), 1e308), id,
    task);
CREATE INDEX experiments_task_state ON experiments (task, state, id);
CREATE INDEX experiments_state_task ON experiments (state, task, id);
