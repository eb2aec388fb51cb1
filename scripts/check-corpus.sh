#!/usr/bin/env bash
# ps-check over a large public C code base that uses no proxies: Debian's
# redis source package (redis-server 7.0, ~140 C files with its bundled
# hiredis, lua, linenoise and hdr_histogram).  ps-check must report nothing
# and crash on nothing.  Prints the run and its timing beside
# `clang-19 -fsyntax-only` over the same commands.
#   scripts/check-corpus.sh [WORK_DIR]      default: /tmp/ps-corpus
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/ps-corpus}
build=${PS_BUILD_DIR:-$here/build}
pscheck=$build/analyzer/ps-check
[ -x "$pscheck" ] || { echo "build ps-check first (scripts/demo.sh)" >&2; exit 2; }
command -v bear >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bear >/dev/null

mkdir -p "$work"
cd "$work"
if ! ls redis-*/src/server.c >/dev/null 2>&1; then
  if ! apt-get source --download-only -qq redis >/dev/null 2>&1; then
    # Source packages need a deb-src entry; add Debian's for bookworm.
    cat > /etc/apt/sources.list.d/ps-corpus-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq
    apt-get source --download-only -qq redis
  fi
  tar xzf redis_*.orig.tar.gz
fi
src=$(ls -d "$work"/redis-*/ | head -1)
cd "$src"
if [ ! -s compile_commands.json ]; then
  echo "building redis once to record its compile commands (bear)..."
  bear -- make MALLOC=libc -j "$(nproc)" >/dev/null 2>&1
fi
files=$(python3 -c 'import json;print(len(json.load(open("compile_commands.json"))))')
echo "corpus: $src ($files translation units, $(cat $(python3 -c 'import json;print(" ".join(e["file"] for e in json.load(open("compile_commands.json"))))') | wc -l) lines of .c)"

status=0
for jobs in 1 2; do
  start=$(date +%s.%N)
  set +e
  "$pscheck" -p . --root . -j "$jobs" --no-progress > "$work/ps-check-j$jobs.out" 2>&1
  rc=$?
  set -e
  end=$(date +%s.%N)
  printf 'ps-check -j %d: exit %d, %d output lines, %.2f s\n' "$jobs" "$rc" \
    "$(wc -l < "$work/ps-check-j$jobs.out")" "$(python3 -c "print($end - $start)")"
  [ "$rc" -eq 0 ] || { status=1; head -20 "$work/ps-check-j$jobs.out"; }
done
start=$(date +%s.%N)
"$pscheck" -p . --print-commands 2>/dev/null | while read -r cmd; do eval "$cmd" >/dev/null 2>&1 || true; done
end=$(date +%s.%N)
printf 'clang-19 -fsyntax-only, same commands, one at a time: %.2f s\n' "$(python3 -c "print($end - $start)")"
exit $status
