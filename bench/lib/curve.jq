# bench/lib/curve.jq: the learning curve of one experiment group over its seeds, as TSV lines
#   env_steps  mean  min  max  eval_mean  n_seeds  metric_mean  eval_metric_mean  wall_hours
# of the training return (episodes finished in that iteration), per iteration, and the mean
# deterministic evaluation return where the iteration evaluated ("?" where absent, gnuplot's
# missing value). $metric names a task metric key (e.g. success_rate) or is ""; the periodic
# evaluation's value of it is eval_<metric>; wall_hours is the seeds' mean wall clock.
# input: one array per seed of its metrics.jsonl lines, e.g.
#   for f in seed*/metrics.jsonl; do jq -s . "$f"; done | jq -s -r --arg metric KEY -f curve.jq

def mean: if length > 0 then add / length else null end;
def q: if . == null then "?" else tostring end;

# input: array of per-seed metric arrays
. as $seeds
| ([$seeds[] | length] | max // 0) as $n
| range(0; $n) as $i
| [$seeds[] | .[$i] | select(. != null)] as $rows
| [$rows[] | .return_mean | select(. != null)] as $r
| [$rows[] | .eval_return | select(. != null)] as $e
| [$rows[] | (if $metric == "" then null else .[$metric] end) | select(. != null)] as $k
| [$rows[] | (if $metric == "" then null else .["eval_" + $metric] end) | select(. != null)] as $ek
| [$rows[] | .wall_s | select(. != null)] as $w
| select(($r | length) > 0 or ($e | length) > 0)
| [($rows | map(.env_steps) | max), ($r | mean | q), ($r | min | q), ($r | max | q),
   ($e | mean | q), ($r | length), ($k | mean | q), ($ek | mean | q),
   (if ($w | length) > 0 then ($w | mean) / 3600 else null end | q)]
| @tsv
