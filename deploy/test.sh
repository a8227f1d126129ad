#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit suites under ASan + UBSan with
# warnings as errors, then the integration, learning and browser tests on an optimised build.
# Usage: deploy/test.sh [--slow]   (--slow adds the long learning checks labelled `slow`)
set -euo pipefail
cd "$(dirname "$0")/.."

slow=0
for arg in "$@"; do
    case "$arg" in
    --slow) slow=1 ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

deploy/install-deps.sh --with-web --with-bench
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
exclude="unit|slow"
if [ "$slow" -eq 1 ]; then
    exclude="unit"
fi
(cd build/test-rel && ctest -LE "$exclude" --output-on-failure -j"$jobs" --no-tests=ignore)
