#!/usr/bin/env bash
# Builds the repository's Dockerfile without a Docker daemon (`npm run image`), with Debian's buildah (chroot
# isolation; overlay storage, or MB_IMAGE_STORAGE_DRIVER=vfs where overlay mounts fail) into an OCI image
# layout. Then it runs the built image's entrypoint once, as uid 1000 on a read-only root file system
# (scripts/image/smoke.sh → run-image.sh): `validate` on the example config, then `demo --days 1`.
#
#   scripts/build-image.sh [--no-run]
#
# Needs (Debian bookworm): apt-get install buildah mmdebstrap umoci
# Without a registry, the Dockerfile's pinned `node:24-bookworm-slim` cannot be pulled: NODE_IMAGE is then the
# base scripts/image/build-base.sh assembles (Debian bookworm + Node.js and npm from the npm registry). Set
# NODE_IMAGE=node:24-bookworm-slim@sha256:… to build from the pinned image where a registry is reachable.
# Output: the OCI layout $MB_IMAGE_CACHE/oci (tag <package version>), default cache
# ~/.cache/meterbridge/image. Took 5 min 51 s the first time on 2 heavily shared cores (base 2 min, image 3 min,
# run 40 s), less afterwards (buildah --layers reuses the npm ci layer while package-lock.json is unchanged).
set -euo pipefail

log() { printf '[image] %s\n' "$*" >&2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MB_IMAGE_CACHE:-${MB_CACHE_DIR:-$HOME/.cache/meterbridge}/image}"
export MB_IMAGE_CACHE="$CACHE"
DRIVER="${MB_IMAGE_STORAGE_DRIVER:-overlay}"
BUILDAH=(buildah --root "$CACHE/storage-$DRIVER" --runroot "$CACHE/run-$DRIVER" --storage-driver "$DRIVER")
VERSION="$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")"
TAG="localhost/meterbridge:$VERSION"
OCI="$CACHE/oci"
RUN=1
[ "${1:-}" = "--no-run" ] && RUN=0

missing=()
for tool in buildah mmdebstrap umoci unshare; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "missing ${missing[*]}: apt-get install buildah mmdebstrap umoci"
  exit 2
fi

start=$(date +%s)
if [ -z "${NODE_IMAGE:-}" ]; then
  NODE_IMAGE="localhost/meterbridge-node-base:24.21.0-bookworm"
  BASE_IMAGE="$NODE_IMAGE" bash "$ROOT/scripts/image/build-base.sh"
fi

# The CA bundle this machine trusts (a TLS-intercepting proxy's CA included) reaches `npm ci` as a build secret.
secret=()
ca="${NODE_EXTRA_CA_CERTS:-}"
if [ -n "$ca" ] && [ -s "$ca" ]; then secret=(--secret "id=extra_ca,src=$ca"); fi
log "buildah build -f Dockerfile --build-arg NODE_IMAGE=$NODE_IMAGE -t $TAG"
"${BUILDAH[@]}" build --isolation chroot --layers --pull=never "${secret[@]}" \
  --build-arg NODE_IMAGE="$NODE_IMAGE" -f "$ROOT/Dockerfile" -t "$TAG" "$ROOT" >&2

rm -rf "$OCI.tmp"
"${BUILDAH[@]}" push --quiet "$TAG" "oci:$OCI.tmp:$VERSION" >&2
rm -rf "$OCI"
mv "$OCI.tmp" "$OCI"
log "built $TAG into $OCI (tag $VERSION) in $(( $(date +%s) - start ))s"

if [ "$RUN" = 1 ]; then
  bash "$ROOT/scripts/image/smoke.sh" "$OCI:$VERSION"
fi
