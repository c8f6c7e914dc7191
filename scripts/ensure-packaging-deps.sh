#!/usr/bin/env bash
# Installs what the packaging tests need, only when missing:
#   cmake        cmake (the CMake consumer project of test-install)
#   man          man-db and groff (man -l of the man pages)
#   venv         python3-venv (the bare venv of test-packaging)
# Usage: scripts/ensure-packaging-deps.sh [cmake] [man] [venv]  (default: all)
set -euo pipefail
want=("$@"); [ ${#want[@]} -gt 0 ] || want=(cmake man venv)
need=()
for what in "${want[@]}"; do
  case "$what" in
    cmake) command -v cmake >/dev/null || need+=(cmake) ;;
    man) command -v man >/dev/null || need+=(man-db)
         command -v groff >/dev/null || need+=(groff-base) ;;
    venv) python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv) ;;
    *) echo "ensure-packaging-deps: unknown '$what'" >&2; exit 2 ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "ensure-packaging-deps: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
