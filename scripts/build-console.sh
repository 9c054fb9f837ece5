#!/usr/bin/env bash
# Builds the customer console (tools/console, Vite + TypeScript, the npm
# packages pinned in its package-lock.json) into console/dist/, which the
# binary embeds, and copies its GraphQL operations into
# console/trusted-documents/ (the folder ASSETGATE_GRAPHQL_TRUSTED_DOCUMENTS
# can name). Both are committed, so building the server needs nothing but
# Go; TestConsoleBuildFresh fails when they differ from what this script
# writes.
#
#   scripts/build-console.sh [OUTDIR]   (default console; writes OUTDIR/dist and OUTDIR/trusted-documents)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/console}"
cd "$root/tools/console"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch node_modules/.package-lock.json
fi
npx --no-install tsc --noEmit
npx --no-install vite build --logLevel warn --outDir "$out/dist" --emptyOutDir
mkdir -p "$out/trusted-documents"
rm -f "$out/trusted-documents/"*.graphql
for f in src/graphql/*.graphql; do
  cp "$f" "$out/trusted-documents/console-$(basename "$f")"
done
# The licences of what the bundle holds travel with it.
{
  for pkg in leaflet graphql-ws uplot supercluster kdbush topojson-client world-atlas; do
    v="$(node -p "require('./node_modules/$pkg/package.json').version")"
    echo "== $pkg $v =="
    cat "node_modules/$pkg/LICENSE"* 2>/dev/null || cat "node_modules/$pkg/license"*
    echo
  done
} >"$out/dist/THIRD_PARTY_LICENSES.txt"
