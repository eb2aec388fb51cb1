#!/usr/bin/env bash
# Install the build tree into a temporary prefix, then build a program
# outside the tree against it: with find_package (shared and static) and
# with pkg-config (shared and static).  Each program must run and pass.
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
LD_LIBRARY_PATH="$(dirname "$(find "$work/prefix" -name libproxystore.so | head -1)")" "$work/consumer/consumer_shared"
"$work/consumer/consumer_static"
pc=$(find "$work/prefix" -name proxystore.pc | head -1)
[ -n "$pc" ] || { echo "proxystore.pc was not installed" >&2; exit 1; }
libdir=$(dirname "$pc")
export PKG_CONFIG_PATH=$libdir
cc=${CC:-cc}
# shellcheck disable=SC2046
$cc -o "$work/pc_shared" "$src/tests/install/consumer/consumer.c" $(pkg-config --cflags --libs proxystore)
LD_LIBRARY_PATH="$(dirname "$libdir")" "$work/pc_shared"
# shellcheck disable=SC2046
$cc -static-libgcc -o "$work/pc_static" "$src/tests/install/consumer/consumer.c" \
    $(pkg-config --cflags proxystore) "$(dirname "$libdir")/libproxystore.a" $(pkg-config --libs --static proxystore | sed 's/-lproxystore//')
"$work/pc_static"
echo "install check: 4 consumers built and ran"
