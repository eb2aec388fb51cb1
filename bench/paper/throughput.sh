#!/usr/bin/env bash
# Experiment 2 of docs/paper-experiments.md: task throughput (the paper's
# Figure 4).  Tasks that consume and produce 1 MB, 2000 of them, an initial
# batch of one per worker and a new one submitted as each finishes, by
# value and by proxy, with 1 to 8 workers, in both MPI topologies.
# Writes $PS_PAPER_OUT/throughput.csv (default docs/paper) and draws
# throughput.png.
#   bench/paper/throughput.sh                        shm:// store, on an arena
#   PS_BENCH_STORE=redis bench/paper/throughput.sh   adds a private redis-server
# Sizes: PS_PAPER_WORKERS ("1 2 3 4 5 6 7 8"), PS_PAPER_TASKS (2000),
# PS_PAPER_BYTES (1000000), PS_PAPER_REPEAT (3: runs of each point, interleaved
# by value / by proxy), PS_PAPER_TOPOLOGIES ("scheduler direct");
# launcher, stores and output: bench/paper/common.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/paper/common.sh
# At once the store holds an argument and a result per worker and the
# result the client checks: the arena gets twice that for the most workers.
max_workers=$(printf '%s\n' ${PS_PAPER_WORKERS:-1 2 3 4 5 6 7 8} | sort -n | tail -1)
paper_arena_bytes=$((2 * (2 * max_workers + 1) * ${PS_PAPER_BYTES:-1000000}))
paper_setup bench_throughput
runs() {
  for w in ${PS_PAPER_WORKERS:-1 2 3 4 5 6 7 8}; do
    for _ in $(seq "${PS_PAPER_REPEAT:-3}"); do
      for url in none "${stores[@]}"; do
        paper_launch "$w" "$1" bench_throughput "$url" "${PS_PAPER_TASKS:-2000}" "${PS_PAPER_BYTES:-1000000}"
      done
    done
  done
}
paper_sweep throughput topology,store,mode,workers,batch,tasks,bytes,seconds,tasks_per_s
