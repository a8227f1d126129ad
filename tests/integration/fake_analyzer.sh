#!/usr/bin/env bash
# Test double of angora-analyze for the daemon's tests: the same command line (FILE.h5 --out DIR
# [--variables a,b] [--layers x,y] [--folds K]) and exit codes (0 done, 1 runtime error, 2 bad
# input), writing a small complete set of outputs in a moment: decoding.csv, pca.csv,
# decoding.png and analysis.json (last). Its behaviour comes from directives in the recording
# (the fake recorder copies the checkpoint's text into it): analyze:sleep=S, analyze:exit=N.
# A variable named "speed" is unknown, as the real program would say.
set -u
h5=${1:-}
shift
out="" variables="action,obs.state" layers="policy.core.h,policy.trunk.0.dense" folds=5
while [ $# -gt 0 ]; do
    case "$1" in
    --out) out=$2; shift ;;
    --variables) variables=$2; shift ;;
    --layers) layers=$2; shift ;;
    --folds) folds=$2; shift ;;
    *) echo "fake-analyzer: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -r "$h5" ] || { echo "fake-analyzer: $h5: No such file or directory" >&2; exit 2; }
[ -n "$out" ] || { echo "fake-analyzer: --out DIR is required" >&2; exit 2; }
directive() { sed -n "s/^analyze:$1=//p" "$h5" | head -n 1; }
case ",$variables," in
*,speed,*)
    echo "fake-analyzer: $h5: unknown variable 'speed'; the file has: action, obs.state" >&2
    exit 2 ;;
esac
echo "$(date -u +%FT%TZ) INFO  fake analysis of $h5 ($folds folds)" >&2
pause=$(directive sleep)
for ((i = 0; i < ${pause:-0}0; i++)); do
    sleep 0.1
    [ $SECONDS -gt 600 ] && exit 1
done
code=$(directive exit)
if [ -n "$code" ]; then
    echo "fake-analyzer: simulated exit $code" >&2
    exit "$code"
fi
mkdir -p "$out" || exit 2
IFS=, read -r -a vs <<<"$variables"
IFS=, read -r -a ls <<<"$layers"
results="" csv="layer,variable,r2,r2_shuffled,lambda"
r=0
for l in "${ls[@]}"; do
    for v in "${vs[@]}"; do
        r=$((r + 1))
        value="0.$((90 - r * 7))"
        results="$results${results:+,}{\"layer\":\"$l\",\"variable\":\"$v\",\"r2\":$value,\"r2_shuffled\":-0.01,\"lambda\":1}"
        csv="$csv"$'\n'"$l,$v,$value,-0.01,1"
    done
done
pca="" rdms="" tau=""
for l in "${ls[@]}"; do
    pca="$pca${pca:+,}{\"layer\":\"$l\",\"participation_ratio\":1.5,\"total_variance\":2,\"eigenvalues\":[1.5,0.4,0.1],\"fractions\":[0.75,0.2,0.05],\"trajectory\":{\"episode\":0,\"steps\":3,\"components\":[[0,0,0],[1,0.5,0],[2,1,0.1]]}}"
    rdms="$rdms${rdms:+,}{\"layer\":\"$l\",\"rdm\":[[0,0.5],[0.5,0]]}"
    tau="$tau${tau:+,}{\"layer\":\"$l\",\"median\":3.5,\"units\":2,\"zero_variance\":0,\"capped\":0,\"tau\":[3,4]}"
done
printf '%s\n' "$csv" >"$out/decoding.csv"
printf 'layer,component,eigenvalue,fraction,cumulative,participation_ratio\n' >"$out/pca.csv"
printf '\x89PNG\r\n\x1a\nfake figure\n' >"$out/decoding.png"
cat >"$out/analysis.json.tmp" <<JSON
{"format":"angora-analysis","format_version":1,"input":{"path":"$h5","task":"CartPole"},
 "options":{"folds":$folds},"analysed":{"steps":30,"episodes":$folds},
 "decoding":{"folds":$folds,"results":[$results]},
 "pca":[$pca],
 "rsa":{"variable":"${vs[0]}","column":0,"bins":[{"lo":0,"hi":0.5,"steps":15},{"lo":0.5,"hi":1,"steps":15}],"rdms":[$rdms]},
 "timescales":{"max_lag":100,"results":[$tau]},
 "outputs":["decoding.csv","pca.csv","decoding.png","analysis.json"]}
JSON
mv "$out/analysis.json.tmp" "$out/analysis.json"
exit 0
