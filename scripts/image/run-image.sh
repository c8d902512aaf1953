#!/usr/bin/env bash
# Runs an image's entrypoint the way a container runtime with the chart's restricted settings would, without
# one. The OCI image (<layout dir>:<tag>) is unpacked with umoci; its process (Entrypoint + Cmd, or Entrypoint +
# the arguments given here; its Env, WorkingDir and User) runs chrooted in new mount and PID namespaces on a
# READ-ONLY root file system. Writable, like the chart's volumes: /tmp (tmpfs) and the state directory
# /var/lib/meterbridge, a fresh copy of the image's own (owner, mode and contents unchanged).
#
#   scripts/image/run-image.sh [--env NAME=VALUE]... [--secret NAME=CONTENT]... <oci-dir>:<tag> [args...]
#
# --secret puts a read-only file /etc/meterbridge/secrets/NAME (NAME may hold slashes) holding CONTENT, like a
# mounted Secret.
# Needs root (mount, chroot) and umoci. The unpacked bundle is cached per manifest digest under $MB_IMAGE_CACHE.
set -euo pipefail

log() { printf '[image:run] %s\n' "$*" >&2; }

extra_env=()
secrets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --env) extra_env+=("$2"); shift 2 ;;
    --secret) secrets+=("$2"); shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { log "usage: $0 [--env N=V]... [--secret N=C]... <oci-dir>:<tag> [args...]"; exit 2; }
image="$1"; shift
layout="${image%:*}"
tag="${image##*:}"
CACHE="${MB_IMAGE_CACHE:-${MB_CACHE_DIR:-$HOME/.cache/meterbridge}/image}"
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/meterbridge-image-run.XXXXXX")
trap 'rm -rf "$run_dir"' EXIT

# The image's process from its config blob, NUL-separated: user, working dir, env count, env..., argv...
node -e '
  const fs = require("fs");
  const [layout, tag, ...args] = process.argv.slice(1);
  const blob = (d) => JSON.parse(fs.readFileSync(`${layout}/blobs/${d.replace(":", "/")}`, "utf8"));
  const index = JSON.parse(fs.readFileSync(`${layout}/index.json`, "utf8"));
  const ref = index.manifests.find((d) => (d.annotations ?? {})["org.opencontainers.image.ref.name"] === tag);
  if (!ref) throw new Error(`no tag ${tag} in ${layout}`);
  const c = blob(blob(ref.digest).config.digest).config;
  const argv = [...(c.Entrypoint ?? []), ...(args.length > 0 ? args : (c.Cmd ?? []))];
  const env = c.Env ?? [];
  const out = [ref.digest.replace(":", "-"), c.User || "0:0", c.WorkingDir || "/", String(env.length), ...env, ...argv];
  process.stdout.write(out.join("\0") + "\0");' "$layout" "$tag" "$@" > "$run_dir/process"
mapfile -d '' -t p < "$run_dir/process"
digest="${p[0]}"; user="${p[1]}"; cwd="${p[2]}"; n="${p[3]}"
env=("${p[@]:4:$n}" "${extra_env[@]}")
argv=("${p[@]:$((4 + n))}")

bundle="$CACHE/bundles/$digest"
if [ ! -d "$bundle/rootfs" ]; then
  log "umoci unpack $image → $bundle"
  mkdir -p "$CACHE/bundles"
  # One unpacked image at a time (~400 MB each): drop those of earlier builds.
  find "$CACHE/bundles" -mindepth 1 -maxdepth 1 ! -name "$digest" -exec rm -rf {} +
  umoci unpack --image "$image" "$bundle.tmp" >/dev/null
  # Mount points a runtime would create: the secrets directory.
  mkdir -p "$bundle.tmp/rootfs/etc/meterbridge/secrets"
  mv "$bundle.tmp" "$bundle"
fi

printf '%s\0' "${env[@]}" > "$run_dir/env"
printf '%s\0' "${argv[@]}" > "$run_dir/argv"
printf '%s\0' "${secrets[@]}" > "$run_dir/secrets"
mkdir "$run_dir/rootfs"
log "as $user in $cwd on a read-only root: ${argv[*]}"
export bundle run_dir user cwd
# shellcheck disable=SC2016
exec unshare --mount --pid --fork --propagation private bash -euo pipefail -c '
  root="$run_dir/rootfs"
  mount --bind "$bundle/rootfs" "$root"
  if [ -d "$bundle/rootfs/var/lib/meterbridge" ]; then
    cp -a "$bundle/rootfs/var/lib/meterbridge" "$run_dir/state"
  else
    # What Docker does with a VOLUME the image does not hold: an empty directory owned by root, mode 0755.
    echo "[image:run] the image has no /var/lib/meterbridge: mounting an empty one owned by root" >&2
    mkdir -p "$root/var/lib/meterbridge" "$run_dir/state"
    chown 0:0 "$run_dir/state"; chmod 0755 "$run_dir/state"
  fi
  mount --bind "$run_dir/state" "$root/var/lib/meterbridge"
  mount -t tmpfs -o size=64m,mode=1777 tmpfs "$root/tmp"
  mount -t proc proc "$root/proc"
  for dev in null zero random urandom; do mount --bind "/dev/$dev" "$root/dev/$dev"; done
  mount -t tmpfs -o size=1m,mode=0755 tmpfs "$root/etc/meterbridge/secrets"
  while IFS= read -r -d "" spec; do
    [ -n "$spec" ] || continue
    mkdir -p "$(dirname "$root/etc/meterbridge/secrets/${spec%%=*}")"
    printf "%s" "${spec#*=}" > "$root/etc/meterbridge/secrets/${spec%%=*}"
    chmod 0444 "$root/etc/meterbridge/secrets/${spec%%=*}"
  done < "$run_dir/secrets"
  mount -o remount,bind,ro,nosuid,nodev "$root"
  mapfile -d "" -t env < "$run_dir/env"
  mapfile -d "" -t argv < "$run_dir/argv"
  chroot --userspec="$user" --groups="${user#*:}" "$root" /usr/bin/env -i -C "$cwd" "${env[@]}" "${argv[@]}"
'
