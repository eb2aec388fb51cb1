#!/usr/bin/env bash
# Build and run bench_mpi under mpirun -n 2 on this machine, with a private,
# memory-only redis-server on a free loopback port for the redis:// column
# (stopped by its pid when the run ends).
#   bench/mpi.sh                 build in build-bench/ (Release), full run
#   bench/mpi.sh --quick         fewer repetitions
#   PS_BUILD_DIR=dir bench/mpi.sh   use another build directory
# Extra mpirun options (e.g. another transport) go in PS_MPIRUN_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PS_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPS_BUILD_TESTS=OFF -DPS_BUILD_ANALYZER=OFF \
  -DPS_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target bench_mpi -j 2 >/dev/null

# shellcheck source=scripts/redis-private.sh
source scripts/redis-private.sh
redis_private_start
trap redis_private_stop EXIT
export PS_BENCH_REDIS_URL="redis://127.0.0.1:${REDIS_PRIVATE_PORT}"

# mpirun refuses to start as root unless told it may.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
echo "# $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, Linux $(uname -r), $(mpirun --version | head -1), $(redis-server --version | cut -d' ' -f1-3)"
# shellcheck disable=SC2086
mpirun -n 2 --bind-to none ${PS_MPIRUN_ARGS:-} -x PS_BENCH_REDIS_URL "$build/bench/bench_mpi" "$@"
