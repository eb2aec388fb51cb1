#!/usr/bin/env bash
# Install the Debian 12 packages the build, tests and benchmarks need.
# Does nothing when they are all present; needs root (or sudo) otherwise.
# libclang-rt-19-dev (clang's sanitizer runtimes) is only recommended by
# clang-19, and recommends are not installed here: name it.
set -euo pipefail
packages=(cmake make gcc g++ pkg-config clang-19 libclang-rt-19-dev libclang-19-dev llvm-19-dev libcjson-dev
          libcriterion-dev libhiredis-dev libxxhash-dev redis-server groff-base openmpi-bin libopenmpi-dev
          gnuplot-nox)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
