#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install packages, build, run
# ps-check over the bundled examples (a correct program that passes and a
# buggy one with the diagnostics it earns), then run the example program on
# the default embedded store (local://).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${PS_BUILD_DIR:-build}
cmake -S . -B "$build" >/dev/null
cmake --build "$build" -j "$(nproc)"

echo
echo "== ps-check examples/matrix_pipeline.c (correct: expect no findings, exit 0)"
"$build/analyzer/ps-check" -p "$build" examples/matrix_pipeline.c
echo "exit 0"

echo
echo "== ps-check examples/matrix_buggy.c (buggy: expect findings, exit 1)"
set +e
"$build/analyzer/ps-check" -p "$build" examples/matrix_buggy.c
rc=$?
set -e
echo "exit $rc"
if [ "$rc" -ne 1 ]; then
  echo "demo: expected ps-check to exit 1 on the buggy example" >&2
  exit 1
fi

echo
echo "== examples/matrix_pipeline on local://"
"$build/examples/matrix_pipeline" local://
