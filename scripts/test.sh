#!/usr/bin/env bash
# Runs the whole test suite. On a machine with PostgreSQL and Redis on
# 127.0.0.1 (trust auth), it points the suites at them unless the variables
# are already set; without them the PostgreSQL and Redis suites skip (and fail
# when CI=true). Browser tests install Debian's chromium when it is missing,
# the metrics test Debian's prometheus package (for promtool), and the MQTT
# end-to-end test Debian's mosquitto-clients.
#
# The arguments go to `go test -json`, whose events scripts/testsummary turns
# into the output of a plain go test (every failed test's output in full;
# with -v, everything) followed by a summary: packages, tests passed, failed
# and skipped, the skips grouped by reason, and the real parts the tests used.
# The exit status is go test's.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${ASSETGATE_TEST_DATABASE_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  export ASSETGATE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
fi
if [ -z "${ASSETGATE_TEST_REDIS_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  export ASSETGATE_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
fi
if [ -n "${ASSETGATE_TEST_NO_CHROMIUM_INSTALL:-}" ]; then
  echo "test: ASSETGATE_TEST_NO_CHROMIUM_INSTALL is set: chromium is not installed; browser tests skip without it"
elif [ -x scripts/install-chromium.sh ]; then
  scripts/install-chromium.sh || echo "warning: chromium could not be installed; browser tests will skip (or fail in CI)"
fi
if [ -n "${ASSETGATE_TEST_NO_PROMTOOL_INSTALL:-}" ]; then
  echo "test: ASSETGATE_TEST_NO_PROMTOOL_INSTALL is set: promtool is not installed; the metrics lint skips without it"
elif [ -x scripts/install-promtool.sh ]; then
  scripts/install-promtool.sh || echo "warning: promtool could not be installed; the metrics lint will skip (or fail in CI)"
fi
if [ -n "${ASSETGATE_TEST_NO_MOSQUITTO_INSTALL:-}" ]; then
  echo "test: ASSETGATE_TEST_NO_MOSQUITTO_INSTALL is set: mosquitto-clients is not installed; the MQTT end-to-end test skips without it"
elif [ -x scripts/install-mosquitto-clients.sh ]; then
  scripts/install-mosquitto-clients.sh || echo "warning: mosquitto-clients could not be installed; the MQTT end-to-end test will skip (or fail in CI)"
fi
echo "test: database=${ASSETGATE_TEST_DATABASE_URL:-<none>} redis=${ASSETGATE_TEST_REDIS_URL:-<none>} jsonapi-schemas=${ASSETGATE_JSONAPI_SCHEMA_DIR:-../shared/spec}"

bin="$(mktemp -d)"
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/testsummary" ./scripts/testsummary

summaryflags=()
for arg in "$@"; do
  case "$arg" in
    -v | -v=true | -test.v | -test.v=true) summaryflags=(-v) ;;
  esac
done

set +e
go test -json "$@" | "$bin/testsummary" "${summaryflags[@]}"
status=("${PIPESTATUS[@]}")
set -e
if [ "${status[0]}" -ne 0 ]; then
  exit "${status[0]}"
fi
# go test passed; a summary that found a failure (or could not read the
# events) still fails the run.
exit "${status[1]}"
