#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit suites under ASan + UBSan with
# warnings as errors, then the integration, learning and browser tests on an optimised build.
# Last, the Slurm executor against a real one-node Slurm cluster on localhost (label `slurm`, a few
# minutes; it runs the cluster's daemons as root, so it is skipped for other users).
# Usage: deploy/test.sh [--slow] [--no-slurm]
#   --slow      adds the long learning checks labelled `slow`
#   --no-slurm  leaves out the Slurm tests and their packages
set -euo pipefail
cd "$(dirname "$0")/.."

slow=0
slurm=1
for arg in "$@"; do
    case "$arg" in
    --slow) slow=1 ;;
    --no-slurm) slurm=0 ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done
if [ "$slurm" -eq 1 ] && [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: not root: the Slurm tests are skipped (their test cluster runs as root)"
    slurm=0
fi

deps=(--with-web --with-bench)
if [ "$slurm" -eq 1 ]; then
    deps+=(--with-slurm)
fi
deploy/install-deps.sh "${deps[@]}"
jobs=$(nproc)

echo "== format check"
cmake -S . -B build/test-san -DCMAKE_BUILD_TYPE=Debug -DANGORA_WERROR=ON -DANGORA_ASAN=ON \
    -DANGORA_UBSAN=ON >/dev/null
cmake --build build/test-san --target format-check

echo "== unit tests (ASan + UBSan, -Werror)"
cmake --build build/test-san -j"$jobs"
# leaks are checked; MPI and OpenBLAS keep process-lifetime allocations, see tests/lsan.supp
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
(cd build/test-san && ctest -L unit -LE slow --output-on-failure -j"$jobs")

echo "== integration, learning and browser tests (optimised build, -Werror)"
cmake -S . -B build/test-rel -DCMAKE_BUILD_TYPE=Release -DANGORA_WERROR=ON >/dev/null
cmake --build build/test-rel -j"$jobs"
exclude="unit|slow|slurm"
if [ "$slow" -eq 1 ]; then
    exclude="unit|slurm"
fi
(cd build/test-rel && ctest -LE "$exclude" --output-on-failure -j"$jobs" --no-tests=ignore)

if [ "$slurm" -eq 1 ]; then
    echo "== Slurm executor (a one-node Slurm cluster on localhost)"
    (cd build/test-rel && ctest -L slurm --output-on-failure)
fi
