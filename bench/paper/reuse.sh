#!/usr/bin/env bash
# Experiment 3 of docs/paper-experiments.md: data reuse.  A blocked matrix
# product C = A B (N = 1024) cut into BLOCKS row panels of A and column
# panels of B, BLOCKS^2 tasks each reading two panels, so every panel is
# read BLOCKS times: by value every task message carries copies; by proxy
# the panels are put once and each worker maps them once.
# Writes $PS_PAPER_OUT/reuse.csv (default docs/paper) and draws reuse.png.
#   bench/paper/reuse.sh                        shm:// store, on an arena
#   PS_BENCH_STORE=redis bench/paper/reuse.sh   adds a private redis-server
# Sizes: PS_PAPER_N (1024), PS_PAPER_BLOCKS ("4 8 16 32 64 128"),
# PS_PAPER_REPS (9), PS_PAPER_WORKERS ("2"), PS_PAPER_TOPOLOGIES
# ("scheduler direct"); launcher, stores and output: bench/paper/common.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/paper/common.sh
# The panels of one product are 2 N^2 doubles; the workers' caches may still
# hold the previous product's while the next is put: the arena gets room
# for three products' panels.
n=${PS_PAPER_N:-1024}
paper_arena_bytes=$((3 * 2 * n * n * 8))
paper_setup bench_reuse
runs() {
  for w in ${PS_PAPER_WORKERS:-2}; do
    for blocks in ${PS_PAPER_BLOCKS:-4 8 16 32 64 128}; do
      for url in none "${stores[@]}"; do
        paper_launch "$w" "$1" bench_reuse "$url" "$n" "$blocks" "${PS_PAPER_REPS:-9}"
      done
    done
  done
}
paper_sweep reuse topology,store,mode,workers,n,blocks,tasks,reps,median_s,min_s,worker_maps,worker_cache_hits
