#!/usr/bin/env bash
# Run the Redis example against PS_TEST_REDIS_URL, or a private server
# started (and stopped by its pid) for this run.
set -euo pipefail
exe=$1 src=$2
url=${PS_TEST_REDIS_URL:-}
if [ -z "$url" ]; then
  # shellcheck source=scripts/redis-private.sh
  source "$src/scripts/redis-private.sh"
  redis_private_start
  trap redis_private_stop EXIT
  url="redis://127.0.0.1:${REDIS_PRIVATE_PORT}"
fi
"$exe" "$url?prefix=example-$$"
