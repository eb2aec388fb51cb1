#!/usr/bin/env bash
# bench_check.sh — ps-check against clang-19 -fsyntax-only on the same
# files with the same flags, in the same run; ps-check -j2 against -j1;
# the largest resident set of every run, and of ps-check on N and 4N files
# (it must not grow with the number of files).
#
#   bench/bench_check.sh [BUILD_DIR]      (default: build; needs ps-check
#                                          built there and its compile_commands.json)
#   N=50 REPEAT=3 bench/bench_check.sh
#
# Corpora:
#   project    this project's sources, from BUILD_DIR/compile_commands.json
#   generated  N files from bench/check/gen_corpus.sh (and 4N for memory)
#   one-file   the same N units in one file: no per-file costs, parsing
#              and checking dominate
#   system     the C examples Debian ships with libgit2-dev and zlib1g-dev,
#              read where they are installed (skipped when absent)
#
# clang runs twice: "per file" (one process per file, as a build does) and
# "batched" (one process per group of files with identical flags, so
# process start-up is paid once: the stricter baseline).  The flags are
# exactly ps-check's, printed by `ps-check --print-commands`.  Each figure
# is the best of REPEAT runs (wall time; the machine may be shared).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
pscheck=$build/analyzer/ps-check
n=${N:-50}
repeat=${REPEAT:-3}
[ -x "$pscheck" ] || { echo "no ps-check in $build/analyzer (build it first)" >&2; exit 2; }
[ -f "$build/compile_commands.json" ] || { echo "no $build/compile_commands.json" >&2; exit 2; }
command -v clang-19 >/dev/null || { echo "clang-19 not found" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/measure" "$root/bench/check/measure.c"

# Runs a command $repeat times; prints "best_wall max_rss_kb best_cpu".
measure_best() {
    local bw="" br=0 bc="" line w r c
    for _ in $(seq "$repeat"); do
        # The command's own output goes to /dev/null (the quiet wrapper), so
        # measure's line is all there is on stdout.
        line=$("$work/measure" "$@" 2>/dev/null) || true
        read -r w r c <<< "$line"
        if [ -z "$bw" ] || awk "BEGIN{exit !($w < $bw)}"; then bw=$w; fi
        if [ -z "$bc" ] || awk "BEGIN{exit !($c < $bc)}"; then bc=$c; fi
        [ "$r" -gt "$br" ] && br=$r
    done
    echo "$bw $br $bc"
}

# Wrappers that silence a command's output so only measure's line is seen.
cat > "$work/quiet" <<'Q'
#!/bin/sh
exec "$@" >/dev/null 2>&1
Q
chmod +x "$work/quiet"

ratio() { awk "BEGIN{printf \"%.2f\", $1 / $2}"; }

# bench_corpus NAME DB_DIR [PATHS...]
bench_corpus() {
    local name=$1 db=$2
    shift 2
    "$pscheck" -p "$db" --no-config --print-commands "$@" > "$work/$name.cmds" 2>/dev/null
    local files
    files=$(wc -l < "$work/$name.cmds")
    # Batches: one clang per distinct flag set (the file is the last word).
    declare -A group=()
    local order=() line key
    while IFS= read -r line; do
        key=${line% *}
        [ -z "${group[$key]+x}" ] && order+=("$key")
        group[$key]="${group[$key]:-} ${line##* }"
    done < "$work/$name.cmds"
    : > "$work/$name.batch"
    for key in "${order[@]}"; do
        echo "$key${group[$key]}" >> "$work/$name.batch"
    done
    local per batched j1 j2 w r c
    per=$(measure_best "$work/quiet" sh "$work/$name.cmds")
    batched=$(measure_best "$work/quiet" sh "$work/$name.batch")
    j1=$(measure_best "$work/quiet" "$pscheck" -p "$db" --no-config --no-progress -j1 "$@")
    j2=$(measure_best "$work/quiet" "$pscheck" -p "$db" --no-config --no-progress -j2 "$@")
    local row
    row=$(printf '| %-9s | %5s |' "$name" "$files")
    for m in "$per" "$batched" "$j1" "$j2"; do
        read -r w r c <<< "$m"
        row+=$(printf ' %6.2fs %6.2fs %4dM |' "$w" "$c" $((r / 1024)))
    done
    read -r w r c <<< "$j1"
    local bw bc pw pc w2
    read -r bw _ bc <<< "$batched"
    read -r pw _ pc <<< "$per"
    read -r w2 _ _ <<< "$j2"
    row+=$(printf ' %5s | %5s | %5s |' "$(ratio "$c" "$bc")" "$(ratio "$c" "$pc")" "$(ratio "$w" "$w2")")
    echo "$row"
}

echo "ps-check $("$pscheck" --version | sed 's/^ps-check //'), $(nproc) CPUs, best of $repeat"
echo
echo "Each cell: wall time, CPU time (user+system), max RSS.  Ratios: ps-check -j1 CPU over"
echo "clang's CPU (batched, per file), and the -j1/-j2 wall-time speed-up."
echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| corpus    | files |  clang per file         |  clang batched          |  ps-check -j1           |  ps-check -j2           | j1/batched | j1/per-file | speed-up j2 |"
echo "|-----------|-------|-------------------------|-------------------------|-------------------------|-------------------------|-------|-------|-------|"

bench_corpus project "$build" "$root/runtime" "$root/analyzer" "$root/tests" "$root/examples" "$root/bench"

"$root/bench/check/gen_corpus.sh" "$n" "$work/gen-n"
bench_corpus generated "$work/gen-n"
"$root/bench/check/gen_corpus.sh" --single "$n" "$work/gen-single"
bench_corpus one-file "$work/gen-single"

sysdir="$work/system"
mkdir -p "$sysdir"
{
    echo "["
    sep=""
    for f in /usr/share/doc/libgit2-dev/examples/*.c /usr/share/doc/zlib1g-dev/examples/*.c; do
        [ -f "$f" ] || continue
        # infcover.c needs zlib's internal headers.
        case "$f" in */infcover.c) continue ;; esac
        printf '%s  {"directory": "%s", "file": "%s", "arguments": ["cc", "-O2", "-I%s", "-c", "%s"]}\n' \
            "$sep" "$(dirname "$f")" "$f" "$(dirname "$f")" "$f"
        sep=","
    done
    echo "]"
} > "$sysdir/compile_commands.json"
if grep -q '"file"' "$sysdir/compile_commands.json"; then
    bench_corpus system "$sysdir"
fi

echo
echo "Memory: ps-check on N and 4N generated files (max RSS must not grow with the file count)"
"$root/bench/check/gen_corpus.sh" $((4 * n)) "$work/gen-4n"
for jobs in 1 2; do
    for size in n 4n; do
        read -r w r c <<< "$(measure_best "$work/quiet" "$pscheck" -p "$work/gen-$size" --no-config \
                                --no-progress -j$jobs)"
        count=$n
        [ "$size" = 4n ] && count=$((4 * n))
        printf '  -j%d %5d files  %7.2fs wall  %7.2fs CPU  max RSS %6d kB\n' "$jobs" "$count" "$w" "$c" "$r"
    done
done
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
