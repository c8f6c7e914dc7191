#!/usr/bin/env bash
# `make test-install`: `make install` into a temporary PREFIX, then checks
# what a C/C++ user of that copy sees:
#  - the files, the SONAME (readelf) and the links
#    libsse.so -> libsse.so.0 -> libsse.so.0.1.0; stripped libraries and ssecat;
#  - pkg-config: sse.pc's version; tests/c/install_check.c built with
#    `pkg-config --cflags --libs sse` (NEEDED libsse.so.0) and with
#    `--libs sse-static` (no libsse.so at run time); sse.hpp in C++17;
#  - the README: its C quick start built with its pkg-config lines for a
#    custom prefix (rpath) and static, run WITHOUT LD_LIBRARY_PATH against
#    the demo server, must print the stream's five events and end;
#  - CMake: tests/cmake-consumer (find_package(libsse CONFIG), libsse::sse)
#    configured, built and run, shared and with LIBSSE_USE_STATIC=ON;
#  - the man pages: `man -l` of each renders without a warning, `man -M`
#    finds them installed, and every option of `ssecat --help` is in ssecat(1);
#  - what the docs say of callbacks with messages_only (tests/c/callback_end_check.c);
#  - `make uninstall` leaves no file behind.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
tmp=$(mktemp -d)
source scripts/demo-server.sh
trap 'stop_demo_server; rm -rf "$tmp"' EXIT
fail() { echo "test-install: $*" >&2; exit 1; }
say() { printf '== install: %s\n' "$*"; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
prefix="$tmp/prefix"
make --no-print-directory -s build >/dev/null
# As `sudo make install` runs it: no cargo on the way (root may have none).
make --no-print-directory -s install PREFIX="$prefix" CARGO=false >/dev/null ||
  fail "make install ran cargo again (or failed) after make"

# --- files, SONAME, links, stripping
for f in include/sse.h include/sse.hpp lib/libsse.so.$version lib/libsse.a \
         lib/pkgconfig/sse.pc lib/pkgconfig/sse-static.pc \
         lib/cmake/libsse/libsseConfig.cmake lib/cmake/libsse/libsseConfigVersion.cmake \
         bin/ssecat share/man/man1/ssecat.1 share/man/man3/libsse.3; do
  [ -e "$prefix/$f" ] || fail "$f was not installed"
done
[ "$(readlink "$prefix/lib/libsse.so")" = "libsse.so.$major" ] || fail "lib/libsse.so is not a link to libsse.so.$major"
[ "$(readlink "$prefix/lib/libsse.so.$major")" = "libsse.so.$version" ] || fail "lib/libsse.so.$major is not a link to libsse.so.$version"
[ ! -L "$prefix/lib/libsse.so.$version" ] || fail "lib/libsse.so.$version is a link, not the library"
for lib in "$prefix/lib/libsse.so.$version" target/release/libsse.so; do
  soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  [ "$soname" = "libsse.so.$major" ] || fail "$lib: SONAME '$soname', want libsse.so.$major"
done
say "SONAME libsse.so.$major (readelf -d), links libsse.so -> libsse.so.$major -> libsse.so.$version"
for bin in "$prefix/lib/libsse.so.$version" "$prefix/bin/ssecat"; do
  ! grep -q '\.symtab' <<<"$(readelf -S "$bin")" || fail "$bin is not stripped"
done
! grep -q '\.debug_' <<<"$(readelf -S "$prefix/lib/libsse.a" 2>/dev/null)" || fail "libsse.a keeps debug sections"
say "stripped: libsse.so $(( $(stat -c %s target/release/libsse.so) / 1024 )) KiB -> $(( $(stat -c %s "$prefix/lib/libsse.so.$version") / 1024 )) KiB," \
  "ssecat $(( $(stat -c %s build/ssecat) / 1024 )) KiB -> $(( $(stat -c %s "$prefix/bin/ssecat") / 1024 )) KiB," \
  "libsse.a $(( $(stat -c %s target/release/libsse.a) / 1024 )) KiB -> $(( $(stat -c %s "$prefix/lib/libsse.a") / 1024 )) KiB"

# --- pkg-config
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --exists sse sse-static || fail "pkg-config does not find sse and sse-static"
got=$(pkg-config --modversion sse)
[ "$got" = "$version" ] || fail "sse.pc version $got, Cargo.toml $version"
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/check-shared" tests/c/install_check.c \
  $(pkg-config --cflags --libs sse)
grep -q "NEEDED.*\[libsse.so.$major\]" <<<"$(readelf -d "$tmp/check-shared")" || fail "check-shared does not need libsse.so.$major"
grep -q "$prefix/lib/libsse.so.$major" <<<"$(LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/check-shared")" ||
  fail "check-shared does not use the installed libsse.so.$major"
LD_LIBRARY_PATH="$prefix/lib" "$tmp/check-shared" >/dev/null
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/check-static" tests/c/install_check.c \
  $(pkg-config --cflags --libs sse-static)
! grep -q libsse <<<"$(ldd "$tmp/check-static")" || fail "check-static (pkg-config --libs sse-static) links libsse.so"
env -u LD_LIBRARY_PATH "$tmp/check-static" >/dev/null
printf '#include <sse.hpp>\nint main() { return sse::version().empty() ? 1 : 0; }\n' >"$tmp/check.cpp"
c++ -std=c++17 -Wall -Wextra -Werror -o "$tmp/check-cpp" "$tmp/check.cpp" $(pkg-config --cflags --libs sse)
LD_LIBRARY_PATH="$prefix/lib" "$tmp/check-cpp"
"$prefix/bin/ssecat" --version >/dev/null
say "pkg-config: sse (NEEDED libsse.so.$major), sse-static (no libsse.so at run time), C++17 sse.hpp"

# --- the README's C quick start, built as the README says
start_demo_server
mkdir "$tmp/readme"
awk '/^```c$/ { n++; if (n == 1) { on = 1; next } } /^```$/ { on = 0 } on' README.md |
  sed "s|http://127.0.0.1:8080|$DEMO_URL|" >"$tmp/readme/demo.c"
grep -q 'sse_client_start' "$tmp/readme/demo.c" || fail "no C quick start found in README.md"
readme_line() { # the README's line containing $1, `$HOME/.local` as our prefix
  local line
  line=$(grep -F -- "$1" README.md | grep -v '^#' | head -n 1)
  [ -n "$line" ] || fail "README.md has no line with '$1'"
  printf '%s\n' "${line//\$HOME\/.local/$prefix}"
}
want=$(printf 'message: tick %s (id %s)\n' 1 1 2 2 3 3 4 4 5 5)
for marker in '-Wl,-rpath,$(pkg-config --variable=libdir sse)' '--libs sse-static'; do
  line=$(readme_line "$marker")
  out=$(cd "$tmp/readme" && rm -f demo && env -u LD_LIBRARY_PATH timeout 60 bash -ec "$line") ||
    fail "README line failed: $line"
  [ "$out" = "$want" ] || fail "README line: $line printed:"$'\n'"$out"
done
awk '/^```cpp$/ { on = 1; next } /^```$/ { on = 0 } on' README.md |
  sed "s|http://127.0.0.1:8080|$DEMO_URL|" >"$tmp/readme/demo.cpp"
grep -q 'sse::client' "$tmp/readme/demo.cpp" || fail "no C++ example found in README.md"
line=$(grep -o 'c++ -std=c++17 demo.cpp $(pkg-config --cflags --libs sse)' README.md | head -n 1)
[ -n "$line" ] || fail "README.md has no c++ build line"
out=$(cd "$tmp/readme" && env -u LD_LIBRARY_PATH bash -ec "$line -Wl,-rpath,\$(pkg-config --variable=libdir sse) -o demo-cpp && timeout 60 ./demo-cpp") ||
  fail "README C++ example failed"
[ "$out" = "$(printf '%s: tick %s\n' 1 1 2 2 3 3 4 4 5 5)" ] || fail "README C++ example printed: $out"
say "README: quick start built with its rpath and sse-static lines, ran without LD_LIBRARY_PATH; C++ example too"
# What the README and libsse(3) say of callbacks with messages_only.
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/callback-end" tests/c/callback_end_check.c \
  $(pkg-config --cflags --libs sse-static)
out=$(timeout 60 "$tmp/callback-end" "$DEMO_URL/ticker?count=3") || fail "callback_end_check: $out"
say "callback + messages_only: the end shows as $out"

# --- CMake consumer, shared and static
command -v cmake >/dev/null || ./scripts/ensure-packaging-deps.sh cmake
for flavour in shared static; do
  dir="$tmp/cmake-$flavour"
  flag=OFF; [ "$flavour" = static ] && flag=ON
  cmake -S tests/cmake-consumer -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DLIBSSE_USE_STATIC=$flag \
    -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; fail "cmake configure ($flavour)"; }
  cmake --build "$dir" >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log" >&2; fail "cmake build ($flavour)"; }
  for exe in consumer consumer_cpp; do
    if [ "$flavour" = shared ]; then
      grep -q "NEEDED.*\[libsse.so.$major\]" <<<"$(readelf -d "$dir/$exe")" || fail "cmake $exe ($flavour) does not need libsse.so.$major"
      grep -q "$prefix/lib/libsse.so.$major" <<<"$(env -u LD_LIBRARY_PATH ldd "$dir/$exe")" || fail "cmake $exe does not find the installed library"
    else
      ! grep -q 'NEEDED.*libsse' <<<"$(readelf -d "$dir/$exe")" || fail "cmake $exe ($flavour) needs libsse.so"
    fi
    out=$(env -u LD_LIBRARY_PATH timeout 60 "$dir/$exe" "$DEMO_URL/ticker?count=3") || fail "cmake $exe ($flavour) failed"
    [ "$out" = $'1 tick 1\n2 tick 2\n3 tick 3' ] || fail "cmake $exe ($flavour) printed: $out"
  done
done
stop_demo_server
say "CMake: find_package(libsse CONFIG), libsse::sse shared (NEEDED libsse.so.$major) and static, C and C++"

# --- man pages
command -v man >/dev/null && command -v groff >/dev/null || ./scripts/ensure-packaging-deps.sh man
for page in "$prefix/share/man/man1/ssecat.1" "$prefix/share/man/man3/libsse.3"; do
  LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" >/dev/null 2>"$tmp/man.err"
  [ ! -s "$tmp/man.err" ] || { cat "$tmp/man.err" >&2; fail "man -l $page warns"; }
  [ "$(MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)" -gt 40 ] || fail "man -l $page renders almost nothing"
done
grep -q 'print a Server-Sent Events stream' <<<"$(MANWIDTH=80 man -M "$prefix/share/man" ssecat 2>/dev/null)" || fail "man -M: no ssecat(1)"
grep -q 'SSE_KIND_CLOSED' <<<"$(MANWIDTH=80 man -M "$prefix/share/man" 3 libsse 2>/dev/null)" || fail "man -M: no libsse(3)"
page=$(MANWIDTH=200 man -l man/ssecat.1 2>/dev/null)
for opt in $("$prefix/bin/ssecat" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  grep -q -- "$opt" <<<"$page" || fail "ssecat(1) does not document $opt (in ssecat --help)"
done
say "man: ssecat(1), libsse(3) render without warnings; ssecat(1) lists every option of --help"
# --- make uninstall removes every file make install put there
make --no-print-directory -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" \( -type f -o -type l \) | sed "s|^$prefix/||")
[ -z "$left" ] || fail "make uninstall left: $left"
say "make uninstall removed every file"
echo "test-install: ok (make install PREFIX=$prefix)"
