#!/usr/bin/env bash
# The cluster recipe of docs/paper-experiments.md (experiment 4), run on
# this one node exactly as its commands run on a cluster: the experiment's
# script with prebuilt programs (PS_BENCH_BIN), a launcher (PS_MPIRUN), the
# store on file:// (a directory; on a cluster, one on a shared file system)
# or redis:// (the suite's private server, PS_TEST_REDIS_URL), at its
# smallest sizes; or, as on this machine, the scripts' default store
# (shm:// on an arena sized to the run).  Then checks the CSV it wrote,
# that the store is empty, and that a failing run leaves the CSV as it was.
#   recipe.sh throughput|reuse file|redis|shm SOURCE_DIR BIN_DIR LAUNCHER...
set -euo pipefail
experiment=$1 kind=$2 src=$3 bin=$4
shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

case $kind in
  file) mkdir "$tmp/store"; url="file://$tmp/store" ;;
  redis) [ -n "${PS_TEST_REDIS_URL:-}" ] || { echo "no PS_TEST_REDIS_URL"; exit 77; }
         # a prefix of its own: other tests share the server, and the
         # program checks that its store is empty at the end
         url="$PS_TEST_REDIS_URL?prefix=paper-$experiment-$$" ;;
  shm) url=shm:// ;;                # the scripts' default, PS_PAPER_STORES unset
  *) fail "store kind '$kind': file, redis or shm" ;;
esac

export PS_BENCH_BIN=$bin PS_MPIRUN="$*" PS_PAPER_OUT=$tmp/out
if [ "$kind" = shm ]; then unset PS_PAPER_STORES; else export PS_PAPER_STORES=$url; fi
export PS_PAPER_TOPOLOGIES="scheduler direct"
case $experiment in
  throughput)
    export PS_PAPER_WORKERS=2 PS_PAPER_TASKS=20 PS_PAPER_REPEAT=1
    arena=10M                       # 2 x (an argument and a result per worker + 1) x 1 MB
    header=topology,store,mode,workers,batch,tasks,bytes,seconds,tasks_per_s
    rows=$((2 * 2)) ;;              # topologies x (by value, by proxy)
  reuse)
    export PS_PAPER_WORKERS=2 PS_PAPER_N=64 PS_PAPER_BLOCKS=4 PS_PAPER_REPS=1
    arena=1M                        # three products' panels: 3 x 2 x 64^2 doubles
    header=topology,store,mode,workers,n,blocks,tasks,reps,median_s,min_s,worker_maps,worker_cache_hits
    rows=$((2 * 2)) ;;              # topologies x (by value, by proxy)
  *) fail "experiment '$experiment': throughput or reuse" ;;
esac
"$src/bench/paper/$experiment.sh" >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "$experiment.sh failed"; }
csv=$tmp/out/$experiment.csv
[ -f "$csv" ] || fail "no $csv"

# Well-formed: the machine line, the header, then one row per run, every
# field of a row present, by value and by proxy (on this store) alternating,
# every measured figure a positive number.
head -1 "$csv" | grep -q '^# .*cores' || fail "first line is not the machine: $(head -1 "$csv")"
[ "$(sed -n 2p "$csv")" = "$header" ] || fail "header: $(sed -n 2p "$csv")"
scheme=${url%%:*}
awk -F, -v want="$rows" -v nf="$(echo "$header" | awk -F, '{print NF}')" -v scheme="$scheme" '
  NR <= 2 { next }
  NF != nf { print "row " NR ": " NF " fields, want " nf; bad = 1 }
  { mode = (NR % 2 == 1) ? "none,value" : scheme ",proxy"
    if ($2 "," $3 != mode) { print "row " NR ": " $2 "," $3 ", want " mode; bad = 1 }
    for (i = 4; i <= NF; i++)
      if ($i !~ /^[0-9]+(\.[0-9]+)?$/) { print "row " NR " field " i ": " $i; bad = 1 }
    if ($9 + 0 <= 0) { print "row " NR ": no time: " $9; bad = 1 }
    n++ }
  END { if (n != want) { print n " rows, want " want; bad = 1 } exit bad }' "$csv" ||
  fail "malformed $csv: $(cat "$csv")"
if [ "$experiment" = reuse ]; then
  # By proxy every read of a panel was a map or a cache hit: 2 per task.
  awk -F, 'NR > 2 && $3 == "proxy" && $11 + $12 != 2 * $7 * $8 { exit 1 }' "$csv" ||
    fail "worker maps and cache hits do not add up to 2 per task: $(cat "$csv")"
fi
if [ "$kind" = file ] && [ -n "$(ls -A "$tmp/store")" ]; then
  fail "left in the store: $(ls -A "$tmp/store")"
fi
if [ "$kind" = shm ]; then
  # The default store is an arena of the size the script computes from the
  # run's sizes, and nothing of it (arena file or segment) outlives the run.
  name=$(sed -n "s|^by proxy on: shm://\([^?]*\)?arena=$arena\$|\1|p" "$tmp/log")
  [ -n "$name" ] || fail "default store is not shm://NAME?arena=$arena: $(grep '^by proxy on' "$tmp/log")"
  left=$(find /dev/shm -maxdepth 1 -name "ps-$name+*" 2>/dev/null)
  [ -z "$left" ] || fail "left in /dev/shm: $left"
fi
if command -v gnuplot >/dev/null; then
  head -c 8 "$tmp/out/$experiment.png" | od -An -c | grep -q 'P   N   G' || fail "no PNG plot"
fi

# A run that fails (a store URL the library refuses) exits non-zero with
# the reason and keeps the CSV of the last complete run (once per
# experiment: with the file:// store).
if [ "$kind" = file ]; then
cp "$csv" "$tmp/before"
if PS_PAPER_TOPOLOGIES=direct PS_PAPER_STORES="file://relative/dir" "$src/bench/paper/$experiment.sh" >"$tmp/log" 2>&1; then
  fail "a run on file://relative/dir succeeded"
fi
grep -q "relative" "$tmp/log" || fail "no reason given: $(cat "$tmp/log")"
cmp -s "$csv" "$tmp/before" || fail "a failed run changed $csv"
fi
echo "$experiment on $scheme: $rows rows, well-formed"
