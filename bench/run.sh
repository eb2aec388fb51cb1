#!/usr/bin/env bash
# Build and run bench_runtime against a private, memory-only redis-server on
# a free loopback port (stopped by its pid when the run ends).
#   bench/run.sh                 build in build-bench/ (Release), full run
#   bench/run.sh --quick         fewer repetitions
#   PS_BUILD_DIR=dir bench/run.sh   use another build directory
#   PS_BENCH=bench_future bench/run.sh   another benchmark of bench/
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PS_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPS_BUILD_TESTS=OFF -DPS_BUILD_ANALYZER=OFF \
  -DPS_BUILD_EXAMPLES=OFF >/dev/null
bench=${PS_BENCH:-bench_runtime}
cmake --build "$build" --target "$bench" -j 2 >/dev/null

# shellcheck source=scripts/redis-private.sh
source scripts/redis-private.sh
redis_private_start
trap redis_private_stop EXIT
export PS_BENCH_REDIS_URL="redis://127.0.0.1:${REDIS_PRIVATE_PORT}"

echo "# $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, Linux $(uname -r), $(redis-server --version | cut -d' ' -f1-3)"
"$build/bench/$bench" "$@"
