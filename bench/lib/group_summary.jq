# bench/lib/group_summary.jq: run summaries (an array from run_summary.jq) grouped into one row
# per experiment group: mean, 95 % bootstrap interval and IQM over seeds (from stats.awk), the
# anchors beside them and the verdicts.
# jq --slurpfile anchors ANCHORS.json --slurpfile stats STATS.json --slurpfile policies POL.json
#    -f group_summary.jq RUNS.json
#   ANCHORS: [{task, source ("public" | "angorapy" | "target"), policy, value, at_steps, metric,
#             text}]
#   STATS:   {group: {metric: {n, mean, lo, hi, iqm}}}; POL: {group: policy of its spec}
#
# The verdict compares like with like: the final policy's training return (the episodes of the
# last 5 % of iterations, mean over seeds) against an anchor that is a final training return.
# It "meets" the anchor only when that mean is at or above it, and names the interval's lower
# bound beside it; otherwise it is SHORT. A row of fewer steps than the anchor's is not compared.

def mean: if length > 0 then add / length else null end;
# sample standard deviation over seeds (null for fewer than two)
def sd: if length > 1 then (mean as $m | (map((. - $m) * (. - $m)) | add) / (length - 1) | sqrt)
        else null end;
def vals($k): [.[] | .[$k] | select(. != null)];
def r: if . == null then "-" elif (. | fabs) >= 100 then (. | round | tostring)
       else ((. * 100 | round) / 100 | tostring) end;

# verdict of statistics $s (of the final training return) against anchor $an after $steps steps
def verdict($s; $an; $steps):
  if $an == null then null
  elif $s == null or $s.mean == null then "no result"
  elif $an.at_steps > 0 and $steps != null and ($steps < 0.9 * $an.at_steps)
    then "not comparable: \($steps) steps here, anchor at \($an.at_steps)"
  else
    (if $s.lo == null then "1 seed" else "95 % CI lower bound \($s.lo | r)" end) as $lb
    # a mean that rounds to the anchor but is not it shows two decimals ("SHORT of 120 (mean 120)"
    # would read as a mistake)
    | ($s.mean | if . != $an.value and r == ($an.value | r) then ((. * 100 | round) / 100 | tostring)
                 else r end) as $m
    | (if $s.mean >= $an.value then "meets \($an.value | r) (mean \($m); \($lb))"
       else "SHORT of \($an.value | r) (mean \($m); \($lb))" end)
    + (if $an.at_steps > 0 and $steps != null and $steps > 1.1 * $an.at_steps
       then " after \($steps) steps, more than the anchor's \($an.at_steps)" else "" end)
  end;

($anchors[0] // []) as $a | ($stats[0] // {}) as $st | ($policies[0] // {}) as $pol
| sort_by(.order) | group_by(.group) | sort_by(.[0].order)
| map(. as $runs
  | [.[] | select(.exit_code == 0)] as $ok
  | $runs[0].group as $g
  | ($g | if test("-beta$") then "beta" elif test("-gaussian$") then "gaussian" else null end) as $p
  | ($p // $pol[$g]) as $spec_policy
  | ([$a[] | select(.task == $runs[0].task and .source == "public")][0] // null) as $an
  | ([$a[] | select(.task == $runs[0].task and .source == "angorapy"
                    and (.policy == "any" or .policy == $spec_policy))][0] // null) as $own
  | ([$a[] | select(.task == $runs[0].task and .source == "target")][0] // null) as $tg
  | ($st[$g] // {}) as $s
  | ($ok | vals("env_steps") | max) as $steps
  | {
      group: $g, task: $runs[0].task, kind: $runs[0].kind, spec: $runs[0].spec,
      ranks: $runs[0].ranks, order: $runs[0].order, policy: $p, spec_policy: $spec_policy,
      seeds: ($runs | length), ok: ($ok | length),
      failed: [$runs[] | select(.exit_code != 0) | {seed, exit_code}],
      # the headline: the final policy
      train_final: $s.train_final, final_stoch: $s.final_stoch, final_det: $s.final_det,
      final_episodes: ($ok | vals("final_episodes") | max),
      final_seeds: [$ok[] | .final_eval_seed // .final_seed | select(. != null)],
      # the selected checkpoint (best.ckpt), secondary
      selected: $s.selected,
      selected_env_steps: ($ok | vals("eval_env_steps") | max),
      eval_mean: ($ok | vals("eval_mean") | mean), eval_sd: ($ok | vals("eval_mean") | sd),
      eval_episodes: ($ok | vals("eval_episodes") | max),
      train_mean: ($ok | vals("train_last") | mean), train_sd: ($ok | vals("train_last") | sd),
      env_steps: $steps,
      wall_s: ($ok | vals("wall_s") | mean),
      process_wall_s: ($ok | vals("process_wall_s") | mean),
      sps: ($ok | vals("sps") | mean),
      collect_sps: ($ok | vals("collect_sps") | mean),
      collect_total_s: ($ok | vals("collect_total_s") | mean),
      update_total_s: ($ok | vals("update_total_s") | mean),
      allreduce_total_s: ($ok | vals("allreduce_total_s") | mean),
      success_last: ($ok | vals("success_last") | mean),
      goals_last: ($ok | vals("goals_last") | mean),
      final_success: ($ok | vals("final_success") | mean),
      final_goals: ($ok | vals("final_goals") | mean),
      eval_goals: ($ok | vals("eval_goals") | mean),
      eval_success: ($ok | vals("eval_success") | mean),
      load: ($runs | vals("load_start") | mean),
      anchor: $an, own_anchor: $own, target: $tg,
      verdict: verdict($s.train_final; $an; $steps),
      own_verdict: verdict($s.train_final; $own; $steps),
      target_verdict: verdict($s.train_final; $tg; $steps)
    })
