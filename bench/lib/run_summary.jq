# bench/lib/run_summary.jq: one benchmark run (its run.json record, metrics.jsonl lines and
# its three final evaluations) reduced to the figures the report shows.
# jq -n --slurpfile r RUN.json --slurpfile m METRICS.jsonl --slurpfile ls EVAL-LAST-STOCHASTIC.json
#       --slurpfile ld EVAL-LAST-DETERMINISTIC.json --slurpfile bd EVAL-BEST-DETERMINISTIC.json
#       -f run_summary.jq

def mean: if length > 0 then add / length else null end;
# the last training episodes: the last 10 iterations that finished an episode, weighted by
# the episodes each finished
def train_last($m):
  [$m[] | select(.return_mean != null and (.episodes // 0) > 0)] | .[-10:] as $l
  | if ($l | length) > 0
    then {v: (([$l[] | .return_mean * .episodes] | add) / ([$l[] | .episodes] | add)),
          episodes: ([$l[] | .episodes] | add)}
    else {v: null, episodes: 0} end;
# the final policy's training return, as CleanRL and Baselines report it: the episodes that
# finished in the last 5 % of iterations (at least one), weighted by the episodes of each
def train_final($m):
  (($m | length) * 0.05 | ceil | if . < 1 then 1 else . end) as $k
  | [$m[-$k:][] | select(.return_mean != null and (.episodes // 0) > 0)] as $l
  | if ($l | length) > 0
    then {v: (([$l[] | .return_mean * .episodes] | add) / ([$l[] | .episodes] | add)),
          episodes: ([$l[] | .episodes] | add), iterations: $k}
    else {v: null, episodes: 0, iterations: $k} end;
def last_metric($m; $k): [$m[-10:][] | .[$k] | select(. != null)] | mean;

$r[0] as $r | $m as $m
| ($ls[0] // null) as $ls | ($ld[0] // null) as $ld | ($bd[0] // null) as $e
| train_last($m) as $tl | train_final($m) as $tf
| $r + {
    iterations: ($m | length),
    env_steps: ($m[-1].env_steps // null),
    wall_s: ($m[-1].wall_s // null),
    sps: (if ($m | length) > 0 and ($m[-1].wall_s // 0) > 0
          then $m[-1].env_steps / $m[-1].wall_s else null end),
    # collection alone (environments + batched inference), warm-up iteration left out
    collect_sps: (if ($m | length) > 1
                  then ([$m[1:][] | .collect_s] | add) as $c
                  | if $c > 0 then ($m[-1].env_steps - $m[0].env_steps) / $c else null end
                  else null end),
    # the periodic deterministic evaluations during training, for comparisons at a step count
    evals: [$m[] | select(.eval_return != null) | [.env_steps, .eval_return]],
    collect_total_s: ([$m[] | .collect_s // 0] | add),
    update_total_s: ([$m[] | .update_s // 0] | add),
    allreduce_total_s: ([$m[] | .allreduce_s // 0] | add),
    train_last: $tl.v,
    train_final: $tf.v,
    train_final_episodes: $tf.episodes,
    train_final_iterations: $tf.iterations,
    # the final policy (last.ckpt) on the run's final-evaluation seed
    final_stoch: (if $ls then $ls.mean else null end),
    final_det: (if $ld then $ld.mean else null end),
    final_episodes: (if $ld then $ld.episodes elif $ls then $ls.episodes else null end),
    final_seed: (if $ld then $ld.seed elif $ls then $ls.seed else null end),
    final_success: (if $ld then ($ld.metrics.success // null) else null end),
    final_goals: (if $ld then ($ld.metrics.consecutive_goals // null) else null end),
    train_last_episodes: $tl.episodes,
    success_last: last_metric($m; "success_rate"),
    goals_last: last_metric($m; "consecutive_goals_mean"),
    # the selected checkpoint (best.ckpt, deterministic): eval_*, and the steps it had seen
    eval_mean: (if $e then $e.mean else null end),
    eval_std: (if $e then $e.std else null end),
    eval_episodes: (if $e then $e.episodes else null end),
    eval_iteration: (if $e then $e.iteration else null end),
    eval_env_steps: (if $e then $e.env_steps else null end),
    eval_goals: (if $e then ($e.metrics.consecutive_goals // null) else null end),
    eval_success: (if $e then ($e.metrics.success // null) else null end)
  }
