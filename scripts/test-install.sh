#!/usr/bin/env bash
# `make test-install`: installs libsse into a temporary PREFIX with
# `make install`, then builds tests/c/install_check.c against that copy
# using only pkg-config, twice: against the shared library
# (`pkg-config --cflags --libs sse`) and statically against libsse.a
# (`pkg-config --static --libs sse`, whose Libs.private must suffice), and
# runs both. Also checks installed ssecat and the C++ header compile.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
make --no-print-directory -s install PREFIX="$prefix" >/dev/null
for f in include/sse.h include/sse.hpp lib/libsse.so lib/libsse.a lib/pkgconfig/sse.pc bin/ssecat; do
  [ -e "$prefix/$f" ] || { echo "test-install: $f was not installed" >&2; exit 1; }
done
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --exists sse || { echo "test-install: pkg-config does not find sse" >&2; exit 1; }
want=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
got=$(pkg-config --modversion sse)
[ "$got" = "$want" ] || { echo "test-install: sse.pc version $got, Cargo.toml $want" >&2; exit 1; }

# Shared: the runtime linker finds the library through LD_LIBRARY_PATH,
# as for any library installed outside the system directories.
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/check-shared" tests/c/install_check.c \
  $(pkg-config --cflags --libs sse)
if ! ldd "$tmp/check-shared" | grep -q "$prefix/lib/libsse.so"; then
  LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/check-shared" | grep -q "$prefix/lib/libsse.so" ||
    { echo "test-install: check-shared does not use the installed libsse.so" >&2; exit 1; }
fi
LD_LIBRARY_PATH="$prefix/lib" "$tmp/check-shared"

# Static: libsse.a plus Libs.private, no libsse.so needed at run time.
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/check-static" tests/c/install_check.c \
  $(pkg-config --cflags sse) -Wl,-Bstatic -lsse -Wl,-Bdynamic \
  $(pkg-config --static --libs sse | sed 's/\(^\| \)-lsse\( \|$\)/ /')
if ldd "$tmp/check-static" | grep -q libsse; then
  echo "test-install: check-static links libsse.so" >&2; exit 1
fi
"$tmp/check-static"

# C++: the RAII header from the installed include directory.
printf '#include <sse.hpp>\nint main() { return sse::version().empty() ? 1 : 0; }\n' >"$tmp/check.cpp"
c++ -std=c++17 -Wall -Wextra -Werror -o "$tmp/check-cpp" "$tmp/check.cpp" $(pkg-config --cflags --libs sse)
LD_LIBRARY_PATH="$prefix/lib" "$tmp/check-cpp"

"$prefix/bin/ssecat" --version
echo "test-install: ok (make install PREFIX=$prefix; pkg-config shared + static + C++)"
