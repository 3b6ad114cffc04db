#!/usr/bin/env bash
# Builds the SO_ORIGINAL_DST addon (sidecar/native/build/Release/original_dst.node) with node-gyp, offline.
# Uses npm's bundled node-gyp (or NODE_GYP / node-gyp on PATH) and Node's installed headers.
set -euo pipefail
cd "$(dirname "$0")"

gyp="${NODE_GYP:-}"
if [ -z "$gyp" ]; then
  npm_gyp="$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js"
  if [ -f "$npm_gyp" ]; then
    gyp="node $npm_gyp"
  elif command -v node-gyp >/dev/null 2>&1; then
    gyp="node-gyp"
  else
    echo "native: node-gyp not found (neither npm's bundled copy nor node-gyp on PATH); set NODE_GYP" >&2
    exit 1
  fi
fi

# Node's own headers (e.g. /usr/include/node from the distribution) avoid a download.
args=()
for nodedir in "${NODEDIR:-}" "$(node -p 'process.config.variables.node_prefix')" \
               "$(dirname "$(dirname "$(node -p process.execPath)")")"; do
  if [ -n "$nodedir" ] && [ -f "$nodedir/include/node/node_api.h" ]; then
    args+=(--nodedir="$nodedir")
    break
  fi
done

$gyp rebuild --loglevel=warn "${args[@]}" || {
  echo "native: building the SO_ORIGINAL_DST addon failed; it needs a C compiler (gcc), make, python3 and Node's headers" >&2
  exit 1
}
echo "native: built $(pwd)/build/Release/original_dst.node"
