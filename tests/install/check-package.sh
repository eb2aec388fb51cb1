#!/usr/bin/env bash
# cpack builds a Debian package with the library, headers, CMake and
# pkg-config files, both tools, their manual pages and the docs, laid out
# for /usr (checked with dpkg-deb --contents and --field).  A separate
# /usr-prefixed build of the library and tools, without tests or benchmarks.
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX=/usr -DPS_BUILD_TESTS=OFF -DPS_BUILD_BENCH=OFF \
      -DPS_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$work/build" -j 2 >/dev/null
(cd "$work/build" && cpack -G DEB >/dev/null)
deb=$(ls "$work"/build/proxystore_*.deb)
dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$work/contents"
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
missing=0
for f in /usr/lib/$arch/libproxystore.so /usr/lib/$arch/libproxystore.a /usr/include/proxystore/proxystore.h \
         /usr/include/proxystore/annotations.h /usr/include/proxystore/version.h \
         /usr/lib/$arch/cmake/ProxyStore/ProxyStoreConfig.cmake /usr/lib/$arch/cmake/ProxyStore/PsCheck.cmake \
         /usr/lib/$arch/pkgconfig/proxystore.pc /usr/bin/ps-check /usr/bin/ps-store \
         /usr/share/man/man1/ps-check.1 /usr/share/man/man1/ps-store.1 \
         /usr/share/doc/ProxyStore/README.md /usr/share/doc/ProxyStore/runtime.md \
         /usr/share/doc/ProxyStore/ps-store.md; do
  grep -qxF "$f" "$work/contents" || { echo "package lacks $f" >&2; missing=1; }
done
[ "$missing" -eq 0 ] || { cat "$work/contents" >&2; exit 1; }
version=$(dpkg-deb --field "$deb" Version)
grep -q "^project(ProxyStore VERSION $version " "$src/CMakeLists.txt" ||
  { echo "package version $version is not the project's" >&2; exit 1; }
dpkg-deb --field "$deb" Depends | grep -q libhiredis0.14 || { echo "no dependency on hiredis" >&2; exit 1; }
# A /usr install needs no rpath.
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/lib/$arch/pkgconfig/proxystore.pc" | grep -q rpath &&
  { echo "the /usr package's proxystore.pc sets an rpath" >&2; exit 1; }
echo "package check: $(basename "$deb"), $(wc -l < "$work/contents") entries"
