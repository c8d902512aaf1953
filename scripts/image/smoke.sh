#!/usr/bin/env bash
# Runs the built image's entrypoint once (scripts/image/run-image.sh: uid 1000, read-only root file system):
# `validate` on the example production config, then `demo --days 1`. Exits non-zero when either fails.
#
#   scripts/image/smoke.sh <oci-dir>:<tag>
set -euo pipefail

log() { printf '[image:smoke] %s\n' "$*" >&2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
image="$1"

# The example config reads its Lago key from a mounted Secret and its OpenMeter key from the environment.
log "validate -c /app/config/examples/production.yaml"
bash "$HERE/run-image.sh" --secret lago/api-key=smoke-test-key --env OPENMETER_API_KEY=smoke-test-key "$image" \
  validate -c /app/config/examples/production.yaml

log "demo --days 1"
start=$(date +%s)
bash "$HERE/run-image.sh" "$image" demo --days 1 --progress off
log "demo --days 1 finished in $(( $(date +%s) - start ))s"
