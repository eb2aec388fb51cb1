#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: install packages, build
# (gcc, -Werror), start a private redis-server on a free loopback port, run
# every test, stop the server by its pid.
#   scripts/test.sh              normal build in build/
#   PS_SANITIZE=ON scripts/test.sh   AddressSanitizer + UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

sanitize=${PS_SANITIZE:-OFF}
build=${PS_BUILD_DIR:-build}
[ "$sanitize" = ON ] && build=${PS_BUILD_DIR:-build-asan}
cmake -S . -B "$build" -DPS_SANITIZE="$sanitize" >/dev/null
cmake --build "$build" -j "$(nproc)"

# shellcheck source=scripts/redis-private.sh
source scripts/redis-private.sh
redis_private_start
trap redis_private_stop EXIT
export PS_TEST_REDIS_URL="redis://127.0.0.1:${REDIS_PRIVATE_PORT}"

ctest --test-dir "$build" --output-on-failure -j 2 "$@"
