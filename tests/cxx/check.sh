#!/usr/bin/env bash
# The public headers compile as C++ with g++ and clang++ (-Wall -Wextra
# -Werror -pedantic, C++11 and C++17), and a C++ program links the library
# and runs.  check.sh SRC GENERATED_INCLUDE LIBRARY|- [EXTRA_LIBS...]
#   LIBRARY: libproxystore.a to link and run against; "-" compiles only
#   (sanitized builds, whose library needs the sanitizer runtimes).
#   EXTRA_LIBS: what else that build of the library links (MPI, cJSON).
set -euo pipefail
src=$1 gen=$2 lib=$3
shift 3
extra=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
incs=(-I"$src/runtime/include" -I"$src/annotations" -I"$gen")
for cxx in g++ clang++-19; do
  for std in c++11 c++17; do
    if [ "$lib" = - ]; then
      "$cxx" -std=$std -Wall -Wextra -Werror -pedantic "${incs[@]}" -fsyntax-only "$src/tests/cxx/header_check.cpp"
    else
      "$cxx" -std=$std -Wall -Wextra -Werror -pedantic "${incs[@]}" -o "$work/check" \
          "$src/tests/cxx/header_check.cpp" "$lib" "${extra[@]}" -lhiredis -lxxhash -lpthread -lrt
      "$work/check"
    fi
  done
done
echo "C++ header check: g++ and clang++-19, C++11 and C++17"
