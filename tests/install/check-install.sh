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
# No LD_LIBRARY_PATH: pkg-config's flags carry the rpath to a prefix like this.
env -u LD_LIBRARY_PATH "$work/pc_shared"
# shellcheck disable=SC2046
$cc -static-libgcc -o "$work/pc_static" "$src/tests/install/consumer/consumer.c" \
    $(pkg-config --cflags proxystore) "$(dirname "$libdir")/libproxystore.a" $(pkg-config --libs --static proxystore | sed 's/-lproxystore//')
"$work/pc_static"

# The installed ps-check finds its header relative to itself: run it with
# the build and source trees hidden (a mount namespace with empty
# directories over them), from a prefix they never were.
cat > "$work/twice.c" <<'C'
#include <proxystore/proxystore.h>
struct matrix { int n; };
PS_TYPE_DECLARE(matrix_type, struct matrix);
void twice(ps_store *store, struct matrix *m)
{
    PROXY(struct matrix) p = ps_proxy(store, &matrix_type, m);
    ps_proxy_free(p);
    ps_proxy_free(p);
}
C
# Man pages are installed and render without groff warnings; both tools
# report the one version.
for page in ps-check ps-store; do
  man1="$work/prefix/share/man/man1/$page.1"
  [ -f "$man1" ] || { echo "$man1 was not installed" >&2; exit 1; }
  warnings=$(LC_ALL=C groff -man -ww -z "$man1" 2>&1)
  [ -z "$warnings" ] || { echo "$page.1: $warnings" >&2; exit 1; }
done
v_check=$("$work/prefix/bin/ps-check" --version | cut -d' ' -f2)
v_store=$("$work/prefix/bin/ps-store" --version | cut -d' ' -f2)
[ "$v_check" = "$v_store" ] || { echo "ps-check $v_check, ps-store $v_store: versions differ" >&2; exit 1; }
mv "$work/prefix" "$work/moved"
# hidden_check WANT_RC WANT_TEXT WHAT: the installed ps-check on twice.c.
hidden_check() {
  set +e
  unshare -m sh -c 'mount -t tmpfs none "$2" && mount -t tmpfs none "$1" && cd / && "$3/bin/ps-check" "$4"' \
      sh "$src" "$build" "$work/moved" "$work/twice.c" >"$work/check.out" 2>&1
  local rc=$?
  set -e
  if [ "$rc" -ne "$1" ] || ! grep -q "$2" "$work/check.out"; then
    echo "installed ps-check, $3: exit $rc, expected $1 with '$2':" >&2
    cat "$work/check.out" >&2
    exit 1
  fi
}
hidden_check 1 "ps-double-free" "trees hidden"
# With its header gone, it says so (exit 2) instead of failing every parse.
rm "$work/moved/include/proxystore/annotations.h"
hidden_check 2 "cannot find proxystore/annotations.h" "header removed"
echo "install check: 4 consumers built and ran; the installed ps-check ran with the trees hidden"
