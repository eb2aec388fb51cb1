#!/usr/bin/env bash
# The runtime under ThreadSanitizer: builds libproxystore with clang-19
# -fsanitize=thread in build-tsan/ and runs the thread stress programs of
# tests/tsan/ on local://, shm:// and shm:// with an arena (any report fails
# the run).  Without
# MPI: Open MPI is not built for TSan, and these programs do not use it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
build=${PS_BUILD_DIR:-build-tsan}
CC=clang-19 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPS_BUILD_TESTS=OFF \
  -DPS_BUILD_ANALYZER=OFF -DPS_BUILD_EXAMPLES=OFF -DPS_BUILD_BENCH=OFF -DPS_BUILD_TOOLS=OFF -DPS_WITH_MPI=OFF \
  -DCMAKE_C_FLAGS="-fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread >/dev/null
cmake --build "$build" --target proxystore_static -j "$(nproc)" >/dev/null
lib=$(find "$build" -name libproxystore.a | head -1)
for src in tests/tsan/*.c; do
  exe="$build/$(basename "$src" .c)"
  clang-19 -fsanitize=thread -g -O1 -Wall -Wextra -Werror -Iruntime/include -Iannotations \
    -I"$build/runtime/include" "$src" "$lib" -lhiredis -lxxhash -lcjson -lpthread -o "$exe"
  for url in local:// "shm://tsan-$$" "shm://tsan-arena-$$?arena=64M"; do
    TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$exe" "$url"
  done
done
echo "tsan: clean"
