# bench/lib/seeds.jq: checks that the final evaluations ran on fresh seeds: no run's
# final-evaluation seed equals any run's training seed or periodic-evaluation seed. Seeds are
# compared as exact decimal strings (jq's numbers are doubles, too coarse for 64-bit seeds).
# input: runs.json (run summaries); output:
#   {checked: runs with a recorded final seed, unrecorded: runs without one,
#    clashes: [{group, seed, final_eval_seed, equals: "training" | "periodic evaluation"}]}
def s: if type == "string" then . else tostring end;

[.[] | select(.kind != null)] as $runs
| ([$runs[] | .seed | select(. != null) | s] | unique) as $train
| ([$runs[] | .periodic_eval_seed | select(. != null) | s] | unique) as $periodic
| [$runs[] | select(.exit_code == 0)] as $ok
| {
    checked: [$ok[] | select(.final_eval_seed != null)] | length,
    unrecorded: [$ok[] | select(.final_eval_seed == null)] | length,
    clashes: [$ok[] | select(.final_eval_seed != null) | (.final_eval_seed | s) as $f
              | (if ($train | index([$f])) != null then "training"
                 elif ($periodic | index([$f])) != null then "periodic evaluation" else empty end) as $eq
              | {group, seed, final_eval_seed: $f, equals: $eq}]
  }
