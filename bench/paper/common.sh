# Sourced by the experiment scripts of bench/paper/ (from the project root):
# where the programs are, how ranks are launched, which stores, where the
# CSV and PNG go.  Every setting is an environment variable, so the same
# script runs on this machine and on a cluster (docs/paper-experiments.md,
# "Experiment 4: on a cluster"):
#   PS_BENCH_BIN    directory of prebuilt bench_* programs (default: build
#                   them in Release in PS_BUILD_DIR, default build-bench)
#   PS_MPIRUN       the launcher, given -n N after it (default: mpirun
#                   --oversubscribe --bind-to none; "mpirun -H h1,h2", "srun")
#   PS_PAPER_STORES store URLs for the by-proxy runs, space separated
#                   (default shm://ps-paper-PID?arena=SIZE, SIZE from the
#                   calling script's paper_arena_bytes; PS_BENCH_STORE=redis
#                   adds a private redis-server on loopback)
#   PS_PAPER_OUT    where the CSV and PNG go (default docs/paper)

# paper_setup TARGET...: sets bin, launcher (array), stores (array), out.
# The caller sets paper_arena_bytes first: what its by-proxy runs hold in
# the store at once, with room to spare.  The default shm:// store keeps
# its objects in an arena of that size (docs/connectors/shm.md, "The
# arena"): without one every put makes a fresh segment, whose tmpfs pages
# cost several times the copy.  An arena is created in full at the
# store's first open, outside the timed part, so it is sized to the run.
paper_setup() {
  if [ -n "${PS_BENCH_BIN:-}" ]; then
    bin=$PS_BENCH_BIN
  else
    local build=${PS_BUILD_DIR:-build-bench}
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPS_BUILD_TESTS=OFF -DPS_BUILD_ANALYZER=OFF \
      -DPS_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build "$build" --target "$@" -j 2 >/dev/null
    bin=$build/bench
  fi
  if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  read -r -a launcher <<<"${PS_MPIRUN:-mpirun --oversubscribe --bind-to none}"
  local arena_mib=$(((paper_arena_bytes + 1048575) / 1048576))
  read -r -a stores <<<"${PS_PAPER_STORES:-shm://ps-paper-$$?arena=${arena_mib}M}"
  if [ "${PS_BENCH_STORE:-}" = redis ]; then
    # shellcheck source=scripts/redis-private.sh
    source scripts/redis-private.sh
    redis_private_start
    trap redis_private_stop EXIT
    stores+=("redis://127.0.0.1:${REDIS_PRIVATE_PORT}")
  fi
  out=${PS_PAPER_OUT:-docs/paper}
  mkdir -p "$out"
  echo "by proxy on: ${stores[*]}"
}

# The CSV's first line: what it was measured on.
paper_machine() {
  echo "# $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, Linux $(uname -r)," \
    "$(mpirun --version 2>/dev/null | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# paper_launch WORKERS TOPOLOGY PROGRAM ARGS...: PROGRAM TOPOLOGY ARGS on
# WORKERS workers, plus the client and, for "scheduler", the scheduler rank.
paper_launch() {
  local workers=$1 topology=$2 program=$3 extra=1
  shift 3
  [ "$topology" = scheduler ] && extra=2
  "${launcher[@]}" -n $((workers + extra)) "$bin/$program" "$topology" "$@"
}

# paper_sweep NAME HEADER: $out/NAME.csv is the machine line, HEADER and the
# rows the caller's function `runs TOPOLOGY` prints for each topology of
# PS_PAPER_TOPOLOGIES (default "scheduler direct"); it replaces the previous
# CSV only when every run succeeded.  Then draws NAME.png (bench/paper/NAME.gp).
paper_sweep() {
  local csv=$out/$1.csv topology
  {
    paper_machine
    echo "$2"
    for topology in ${PS_PAPER_TOPOLOGIES:-scheduler direct}; do runs "$topology"; done
  } | tee "$csv.new"
  mv "$csv.new" "$csv"
  paper_plot "bench/paper/$1.gp" "$csv" "$out/$1.png"
}

# paper_plot GP CSV PNG: draw, when gnuplot is installed.
paper_plot() {
  if command -v gnuplot >/dev/null; then
    gnuplot -e "csv='$2'; png='$3'" "$1"
    echo "wrote $2 and $3"
  else
    echo "wrote $2 (no gnuplot: no plot)"
  fi
}
