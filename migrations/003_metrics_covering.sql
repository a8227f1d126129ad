-- 003: series of the main keys (iteration, env_steps, return_mean, wall_s) read from an index
-- that holds them, instead of walking every row's JSON text.
CREATE INDEX metrics_main ON metrics (exp_id, seq, iteration, env_steps, return_mean, wall_s);
