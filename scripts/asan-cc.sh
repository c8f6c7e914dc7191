#!/usr/bin/env bash
# Prints the first C compiler that compiles, links and runs a program with
# -fsanitize=address,undefined ("cc" (gcc) or "clang"); exits 1 if none
# does. With --cxx, prints the matching C++ compiler instead.
# The answer is cached in build/.asan-cc.
set -uo pipefail
cd "$(dirname "$0")/.."
cache=build/.asan-cc
if [ ! -s "$cache" ]; then
  mkdir -p build
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  printf '#include <stdlib.h>\nint main(void){char*p=malloc(4);p[0]=1;int r=p[0]-1;free(p);return r;}\n' >"$tmp/t.c"
  for cc in cc clang; do
    command -v "$cc" >/dev/null || continue
    if "$cc" -fsanitize=address,undefined "$tmp/t.c" -o "$tmp/t" 2>/dev/null && "$tmp/t"; then
      echo "$cc" >"$cache"
      break
    fi
  done
fi
[ -s "$cache" ] || exit 1
cc=$(cat "$cache")
if [ "${1:-}" = "--cxx" ]; then
  case "$cc" in
    clang) echo clang++ ;;
    *) echo c++ ;;
  esac
else
  echo "$cc"
fi
