-- 004: what the experiments list shows, kept on each experiment row so a page is one indexed
-- read: the step budget of the spec and the newest metric row's iteration, env_steps,
-- return_mean and task metric (success_rate, else consecutive_goals_mean). Ingestion updates
-- them in the transaction that inserts the rows.
ALTER TABLE experiments ADD COLUMN budget_env_steps INTEGER;
ALTER TABLE experiments ADD COLUMN latest_iteration INTEGER;
ALTER TABLE experiments ADD COLUMN latest_env_steps INTEGER;
ALTER TABLE experiments ADD COLUMN latest_return REAL;
ALTER TABLE experiments ADD COLUMN latest_task_metric REAL;
ALTER TABLE experiments ADD COLUMN latest_task_key TEXT;
UPDATE experiments SET budget_env_steps = json_extract(spec, '$.budget.env_steps');
UPDATE experiments SET (latest_iteration, latest_env_steps, latest_return) =
    (SELECT coalesce(m.iteration, json_extract(m.row, '$.iteration')),
            coalesce(m.env_steps, json_extract(m.row, '$.env_steps')),
            coalesce(m.return_mean, json_extract(m.row, '$.return_mean')) FROM metrics AS m
     WHERE m.exp_id = experiments.id ORDER BY m.seq DESC LIMIT 1);
UPDATE experiments SET (latest_task_metric, latest_task_key) =
    (SELECT coalesce(json_extract(m.row, '$.success_rate'),
                     json_extract(m.row, '$.consecutive_goals_mean')),
            CASE WHEN json_type(m.row, '$.success_rate') IN ('integer', 'real')
                 THEN 'success_rate' ELSE 'consecutive_goals_mean' END
     FROM metrics AS m WHERE m.exp_id = experiments.id
         AND (json_type(m.row, '$.success_rate') IN ('integer', 'real')
              OR json_type(m.row, '$.consecutive_goals_mean') IN ('integer', 'real'))
     ORDER BY m.seq DESC LIMIT 1);
CREATE INDEX experiments_submitted ON experiments (submitted_at, id);
CREATE INDEX experiments_name ON experiments (name COLLATE NOCASE, id);
