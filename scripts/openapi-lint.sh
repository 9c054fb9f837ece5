#!/usr/bin/env bash
# Lints jsonapi/openapi.json with the Redocly CLI pinned in
# tools/redocly/package-lock.json (installed from the npm registry on first
# use, into tools/redocly/node_modules), with the rules of
# tools/redocly/redocly.yaml (recommended-strict: a warning fails) and the
# accepted problems of tools/redocly/.redocly.lint-ignore.yaml.
set -euo pipefail
cd "$(dirname "$0")/../tools/redocly"
if [ ! -x node_modules/.bin/redocly ] || [ package-lock.json -nt node_modules/.bin/redocly ]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
fi
exec node_modules/.bin/redocly lint --config redocly.yaml ../../jsonapi/openapi.json
