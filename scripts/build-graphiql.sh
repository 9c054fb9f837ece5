#!/usr/bin/env bash
# Copies the browser builds of GraphiQL and React, at the versions pinned in
# tools/graphiql/package-lock.json, into graph/graphiql/, which the binary
# embeds: the GraphiQL page then loads nothing from another origin and works
# without internet. The files are committed, so building the server needs
# nothing but Go; TestGraphiQLAssetsFresh fails when they differ from what
# this script writes.
#
#   scripts/build-graphiql.sh [OUTDIR]   (default graph/graphiql)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/graph/graphiql}"
cd "$root/tools/graphiql"
if [ ! -f node_modules/graphiql/graphiql.min.js ] || [ package-lock.json -nt node_modules/graphiql/graphiql.min.js ]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2
  touch node_modules/graphiql/graphiql.min.js
fi
mkdir -p "$out"
cp node_modules/react/umd/react.production.min.js "$out/react.production.min.js"
cp node_modules/react-dom/umd/react-dom.production.min.js "$out/react-dom.production.min.js"
cp node_modules/graphiql/graphiql.min.js "$out/graphiql.min.js"
cp node_modules/graphiql/graphiql.min.css "$out/graphiql.min.css"
# Their licences travel with them.
{
  for pkg in react react-dom graphiql; do
    v="$(node -p "require('./node_modules/$pkg/package.json').version")"
    echo "== $pkg $v =="
    cat "node_modules/$pkg/LICENSE"
    echo
  done
} >"$out/THIRD_PARTY_LICENSES.txt"
