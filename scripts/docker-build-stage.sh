#!/usr/bin/env bash
# Runs the build stage of the Dockerfile as a plain script, for machines
# without a Docker engine (CI, the tests): the same build command, into a
# temporary folder (or the folder given as $1), then checks that the result
# is a static Linux binary: an ELF executable without a program interpreter
# (no dynamic loader), built with CGO_ENABLED=0. e2e/docker_test.go checks that
# the build command below is the Dockerfile's.
#
#   scripts/docker-build-stage.sh [OUT_DIR]   build into OUT_DIR (default: a temporary folder) and check
#   scripts/docker-build-stage.sh --check BIN check an existing binary only
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--check" ]; then
  bin="${2:?--check needs a binary}"
else
  out="${1:-}"
  if [ -z "$out" ]; then
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
  fi
  mkdir -p "$out"
  # build: the Dockerfile's RUN line, with /out replaced by "$out".
  CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags="-s -w" -o "$out"/assetgate .
  bin="$out/assetgate"
fi

fail() { echo "docker-build-stage: $bin: $*" >&2; exit 1; }
[ -f "$bin" ] && [ -x "$bin" ] || fail "not an executable file"
# The ELF magic number.
[ "$(head -c 4 "$bin" | od -An -c | tr -d ' ')" = "177ELF" ] || fail "not an ELF binary"
# A dynamically linked binary has a PT_INTERP program header naming its loader.
if command -v readelf >/dev/null; then
  if readelf --program-headers "$bin" | grep -q INTERP; then fail "has a program interpreter: not static"; fi
elif command -v file >/dev/null; then
  file "$bin" | grep -q "statically linked" || fail "not statically linked: $(file "$bin")"
else
  fail "neither readelf nor file is installed to check the binary"
fi
go version -m "$bin" | grep -q 'CGO_ENABLED=0' || fail "not built with CGO_ENABLED=0"
echo "docker-build-stage: $bin: static binary, $(wc -c <"$bin") bytes"
