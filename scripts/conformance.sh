#!/usr/bin/env bash
# Runs the compose-go merge conformance vectors (../shared/conformance) against the built CLI.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
vectors="${DOCKYARD_CONFORMANCE_DIR:-$here/../shared/conformance}"
if [ ! -x "$vectors/run-merge-vectors.sh" ] && [ ! -f "$vectors/run-merge-vectors.sh" ]; then
  if [ -n "${CI:-}" ]; then echo "conformance: no vectors at $vectors (CI must have them)" >&2; exit 1; fi
  echo "conformance: no vectors at $vectors; skipped (set DOCKYARD_CONFORMANCE_DIR)" >&2
  exit 0
fi
echo "conformance: $vectors"
bash "$vectors/run-merge-vectors.sh" node "$here/bin/dockyard.cjs"
