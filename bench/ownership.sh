#!/usr/bin/env bash
# Build and run bench_ownership (Release) against a private, memory-only
# redis-server on a free loopback port (stopped by its pid at the end).
#   bench/ownership.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PS_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPS_BUILD_TESTS=OFF -DPS_BUILD_ANALYZER=OFF \
  -DPS_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target bench_ownership -j 2 >/dev/null

# shellcheck source=scripts/redis-private.sh
source scripts/redis-private.sh
redis_private_start
trap 'redis_private_stop; rm -rf /tmp/ps-bench-own-*' EXIT
export PS_BENCH_REDIS_URL="redis://127.0.0.1:${REDIS_PRIVATE_PORT}"

echo "# $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, Linux $(uname -r)"
"$build/bench/bench_ownership" "$@"
