#!/usr/bin/env bash
# Experiment 1 of docs/paper-experiments.md: the task round trip by value
# and by proxy, 1 kB to 100 MB, on the threads backend and on the MPI
# backend with and without the scheduler rank (one worker in each).
# Writes docs/paper/round_trip.csv and draws docs/paper/round_trip.png.
#   bench/paper/round_trip.sh                 shm:// store (with an arena;
#                                             PS_BENCH_SHM_URL=shm://NAME without)
#   PS_BENCH_STORE=redis bench/paper/round_trip.sh   adds a redis:// run
#                                             (a private redis-server)
#   PS_BUILD_DIR=dir bench/paper/round_trip.sh       another build directory
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${PS_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPS_BUILD_TESTS=OFF -DPS_BUILD_ANALYZER=OFF \
  -DPS_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target bench_round_trip -j 2 >/dev/null
bin="$build/bench/bench_round_trip"

if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
mkdir -p docs/paper
csv=docs/paper/round_trip.csv
# The shm store keeps its objects in a 1 GiB arena (docs/connectors/shm.md):
# two 100 MB objects, the argument and the result, are alive at once.
urls=("${PS_BENCH_SHM_URL:-shm://ps-bench-rt?arena=1G}")
if [ "${PS_BENCH_STORE:-}" = redis ]; then
  # shellcheck source=scripts/redis-private.sh
  source scripts/redis-private.sh
  redis_private_start
  trap redis_private_stop EXIT
  urls+=("redis://127.0.0.1:${REDIS_PRIVATE_PORT}")
fi
{
  echo "# $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, Linux $(uname -r), $(mpirun --version | head -1)"
  echo "backend,store,mode,bytes,reps,median_us,min_us"
  first_url=1
  for url in "${urls[@]}"; do
    for run in "threads" "mpi 2 direct" "mpi 3 scheduler"; do
      set -- $run
      if [ "$1" = threads ]; then
        out=$("$bin" threads "$url")
      else
        out=$(mpirun -n "$2" --oversubscribe --bind-to none "$bin" "$3" "$url")
      fi
      # one header for the file; the by-value rows (no store) once
      if [ $first_url = 1 ]; then echo "$out" | tail -n +2; else echo "$out" | tail -n +2 | grep -v ',none,value,'; fi
    done
    first_url=0
  done
} | tee "$csv"
gnuplot bench/paper/round_trip.gp
echo "wrote $csv and docs/paper/round_trip.png"
