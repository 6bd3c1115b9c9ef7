#!/bin/sh
# npm's `prepare`: builds the web UI once, when `npm install` (or `npm ci`) runs in this folder.
#
# npm runs `prepare` on other occasions too. `npx lance-image-search` inside this folder is `npm
# exec`, which installs this folder into npx's cache to link the command, running `prepare` first:
# that rebuilt the UI (15-20 s) before the first command ran, for a command that never serves it.
# The service says how to build a missing UI (`npm run build:web`) on the page it would be.
set -eu
if [ "${npm_command:-}" = exec ]; then
  echo 'web UI: not built for npm exec / npx (the command does not serve it)' >&2
elif [ -x node_modules/.bin/vite ]; then
  exec npm run build:web
else
  echo 'web UI not built: the dev dependencies are missing (npm install, then npm run build:web)' >&2
fi
