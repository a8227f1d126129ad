# bench/lib/group_summary.jq: run summaries (an array from run_summary.jq) grouped into one row
# per experiment group: mean and spread over seeds, the anchor beside it and a plain verdict.
# jq -s --slurpfile anchors ANCHORS.json -f group_summary.jq RUNS...

def mean: if length > 0 then add / length else null end;
# sample standard deviation over seeds (0 for one seed)
def sd: if length > 1 then (mean as $m | (map((. - $m) * (. - $m)) | add) / (length - 1) | sqrt)
        elif length == 1 then 0 else null end;
def vals($k): [.[] | .[$k] | select(. != null)];

($anchors[0] // {}) as $a
| sort_by(.order) | group_by(.group) | sort_by(.[0].order)
| map(. as $runs
  | [.[] | select(.exit_code == 0)] as $ok
  | ($a[$runs[0].task] // null) as $an
  | {
      group: $runs[0].group, task: $runs[0].task, kind: $runs[0].kind, spec: $runs[0].spec,
      ranks: $runs[0].ranks, order: $runs[0].order,
      policy: ($runs[0].group | if test("-beta$") then "beta" elif test("-gaussian$") then "gaussian" else null end),
      seeds: ($runs | length), ok: ($ok | length),
      failed: [$runs[] | select(.exit_code != 0) | {seed, exit_code}],
      eval_mean: ($ok | vals("eval_mean") | mean), eval_sd: ($ok | vals("eval_mean") | sd),
      eval_n: ($ok | vals("eval_mean") | length),
      eval_episodes: ($ok | vals("eval_episodes") | max),
      train_mean: ($ok | vals("train_last") | mean), train_sd: ($ok | vals("train_last") | sd),
      env_steps: ($ok | vals("env_steps") | max),
      wall_s: ($ok | vals("wall_s") | mean),
      sps: ($ok | vals("sps") | mean),
      collect_sps: ($ok | vals("collect_sps") | mean),
      collect_total_s: ($ok | vals("collect_total_s") | mean),
      update_total_s: ($ok | vals("update_total_s") | mean),
      allreduce_total_s: ($ok | vals("allreduce_total_s") | mean),
      success_last: ($ok | vals("success_last") | mean),
      goals_last: ($ok | vals("goals_last") | mean),
      eval_goals: ($ok | vals("eval_goals") | mean),
      eval_success: ($ok | vals("eval_success") | mean),
      load: ($runs | vals("load_start") | mean),
      # mean over seeds of the last periodic evaluation at or before the anchor's step count
      eval_at_anchor: (if $an != null and $an.at_steps > 0
                       then [$ok[] | [(.evals // [])[] | select(.[0] <= $an.at_steps)] | last | select(. != null) | .[1]] | mean
                       else null end),
      anchor: $an
    }
  | .verdict = (
      if .anchor == null then null
      elif .eval_mean == null then "no result"
      elif .anchor.at_steps > 0 and .env_steps != null and (.env_steps < 0.9 * .anchor.at_steps)
        then "not comparable: \(.env_steps) steps here, anchor at \(.anchor.at_steps)"
      elif (.eval_mean < .anchor.low) and (.train_mean == null or .train_mean < .anchor.low)
        then "SHORT of the anchor (evaluation \(.eval_mean | round) vs \(.anchor.low))"
      elif .eval_mean < .anchor.low
        then "SHORT on evaluation (\(.eval_mean | round) vs \(.anchor.low)); training episodes reach it"
      elif .eval_mean < .anchor.high then "within the anchors' range"
      else "meets the anchor" end)
  | if .anchor != null and .anchor.at_steps > 0 and .env_steps != null
       and .env_steps > 1.1 * .anchor.at_steps and .eval_at_anchor != null then
      if .eval_at_anchor < .anchor.low
      then .verdict = "SHORT at the anchor's \(.anchor.at_steps) steps (periodic evaluation \(.eval_at_anchor | round) vs \(.anchor.low)); after \(.env_steps) steps: \(.verdict)"
      else .verdict += "; already at the anchor's \(.anchor.at_steps) steps (periodic evaluation \(.eval_at_anchor | round))" end
    elif .anchor != null and .anchor.at_steps > 0 and .env_steps != null and .env_steps > 1.1 * .anchor.at_steps
    then .verdict += " (after \(.env_steps) steps, more than the anchor's \(.anchor.at_steps))"
    else . end)
