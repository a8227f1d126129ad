#!/usr/bin/env bash
# Runs learn_run.sh for several seeds of one spec, one after another (one core each time), keeps
# every run directory under OUT_DIR and prints the mean +- sample std over the seeds of the
# final policy's (last.ckpt) evaluation on fresh seeds (deterministic and stochastic; 20
# episodes, 200 for success rates) and of the final training return (last 5 % of iterations).
# Exits non-zero when the mean evaluation (or success rate) is below THRESHOLD.
# usage: learn_seeds.sh ANGORA_TRAIN SPEC METRIC THRESHOLD OUT_DIR SEED...
set -u
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ $# -ge 6 ] || fail "usage: learn_seeds.sh ANGORA_TRAIN SPEC METRIC THRESHOLD OUT_DIR SEED..."
BIN=$1
SPEC=$2
METRIC=$3
THRESHOLD=$4
OUT=$5
shift 5
HERE=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$SPEC" .json)
mkdir -p "$OUT" || fail "cannot create $OUT"
: >"$OUT/$name.results"
for seed in "$@"; do
    bash "$HERE/learn_run.sh" "$BIN" "$SPEC" "$METRIC" 0 "$seed" "$OUT/$name-seed$seed" \
        >"$OUT/$name-seed$seed.log" 2>&1
    grep '^RESULT' "$OUT/$name-seed$seed.log" >>"$OUT/$name.results" ||
        fail "seed $seed produced no result (see $OUT/$name-seed$seed.log)"
    tail -n 2 "$OUT/$name-seed$seed.log" | head -n 1
done
# mean and sample std of one key=value field over the result lines
stat() {
    tr ' ' '\n' <"$OUT/$name.results" | grep "^$1=" | cut -d= -f2 | awk '
        $1 != "null" { n++; s += $1; q += $1 * $1 }
        END { if (n == 0) { print "null"; exit }
              m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0; if (v < 0) v = 0
              printf "%.4g +- %.2g (n=%d)\n", m, sqrt(v), n }'
}
if [ "$METRIC" = success ]; then
    key=eval_success
else
    key=eval_mean
fi
echo "$name: last.ckpt deterministic evaluation return, mean over seeds: $(stat eval_mean)"
echo "$name: last.ckpt stochastic evaluation return, mean over seeds: $(stat eval_stochastic_mean)"
echo "$name: last.ckpt success rate, mean over seeds: $(stat eval_success)"
echo "$name: final training return (last 5 % of iterations), over seeds: $(stat train_final_return)"
mean=$(tr ' ' '\n' <"$OUT/$name.results" | grep "^$key=" | cut -d= -f2 |
    awk '{ s += $1; n++ } END { print s / n }')
awk -v f="$mean" -v t="$THRESHOLD" 'BEGIN { exit !(f >= t) }' ||
    fail "$name: mean $key $mean is below $THRESHOLD"
echo "PASS: $name mean $key $mean >= $THRESHOLD"
