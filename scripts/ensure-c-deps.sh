#!/usr/bin/env bash
# Installs what the C/C++ suites (`make test-c test-header test-install`)
# and `make demo` need, only when missing: a C and a C++ compiler, a
# working AddressSanitizer/UBSan runtime, valgrind, pkg-config, python3,
# squid (for `make test-proxy`).
#
# Prints nothing when everything is there. Which compiler builds the
# sanitizer binaries is decided by scripts/asan-cc.sh (gcc's libasan when
# it links, else clang with libclang-rt).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null || need_apt+=(gcc)
command -v c++ >/dev/null || need_apt+=(g++)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v python3 >/dev/null || need_apt+=(python3)
command -v make >/dev/null || need_apt+=(make)
# A real forward proxy for tests/proxy (Debian's Squid and its default rules).
command -v squid >/dev/null || [ -x /usr/sbin/squid ] || need_apt+=(squid)

apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "ensure-c-deps: installing $*" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if [ ${#need_apt[@]} -gt 0 ]; then
  apt_install "${need_apt[@]}"
fi

# A sanitizer runtime: try the compilers we have, install clang if none links.
if ! scripts/asan-cc.sh >/dev/null 2>&1; then
  apt_install clang libclang-rt-14-dev || apt_install clang
  if ! scripts/asan-cc.sh >/dev/null; then
    echo "ensure-c-deps: no compiler links -fsanitize=address,undefined" >&2
    exit 1
  fi
fi
