#!/usr/bin/env bash
# Builds the real Kubernetes test servers with the machine's Go, once, from the Go module proxy:
#   kube-apiserver + kubectl  from k8s.io/kubernetes (out-of-tree: every staging module pinned by `replace`)
#   etcd                      from go.etcd.io/etcd/server/v3
#   helm                      from helm.sh/helm/v3 (cmd/helm)
# Cached outside the clone, keyed by version, in ~/.cache/meterbridge/harness/<component>-<version>/
# (MB_HARNESS_CACHE overrides the root), so a fresh clone on the same machine reuses the binaries.
# Idempotent: a component whose binaries are present is skipped. Never downloads a prebuilt binary:
# GOTOOLCHAIN=local keeps Go from fetching a toolchain.
# Skip while developing: MB_K8S=0 (the k8s tests then skip and say why).
# Usage: test/harness/setup-k8s.sh [--print-dir]   (--print-dir prints the bin dirs and builds nothing)
set -euo pipefail

K8S_VERSION="${MB_K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${MB_ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${MB_HELM_VERSION:-v3.22.0}"
ROOT="${MB_HARNESS_CACHE:-$HOME/.cache/meterbridge/harness}"
K8S_DIR="$ROOT/kubernetes-$K8S_VERSION"
ETCD_DIR="$ROOT/etcd-$ETCD_VERSION"
HELM_DIR="$ROOT/helm-$HELM_VERSION"

log() { printf '[setup-k8s] %s\n' "$*" >&2; }

if [ "${1:-}" = "--print-dir" ]; then
  printf '%s\n%s\n%s\n' "$K8S_DIR" "$ETCD_DIR" "$HELM_DIR"
  exit 0
fi
if [ "${MB_K8S:-}" = "0" ]; then
  log "MB_K8S=0: not building the kubernetes harness"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  log "go is not on PATH: install Go >= 1.26 (Debian: apt-get install golang-go, or the Go module proxy's toolchain)"
  exit 1
fi

export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off
LDFLAGS="-s -w"
GO_DIRECTIVE="$(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/').0"

# new_module <dir> <module name>: an empty module to build from (the build dirs live beside the binaries).
new_module() {
  rm -rf "$1" "$(dirname "$1")/bin.tmp" && mkdir -p "$1"
  printf 'module %s\n\ngo %s\n' "$2" "$GO_DIRECTIVE" >"$1/go.mod"
}

# elapsed <start seconds>: prints "Ns".
elapsed() { echo "$(($(date +%s) - $1))s"; }

build_etcd() {
  if [ -x "$ETCD_DIR/bin/etcd" ]; then log "etcd $ETCD_VERSION present: $ETCD_DIR/bin/etcd"; return; fi
  local t0 src
  t0=$(date +%s)
  src="$ETCD_DIR/src"
  log "building etcd $ETCD_VERSION (go.etcd.io/etcd/server/v3) in $src"
  new_module "$src" meterbridge.local/harness/etcd
  (cd "$src" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 &&
    go build -trimpath -ldflags="$LDFLAGS" -o "$ETCD_DIR/bin.tmp/etcd" go.etcd.io/etcd/server/v3 >&2)
  mv "$ETCD_DIR/bin.tmp" "$ETCD_DIR/bin"
  log "etcd built in $(elapsed "$t0"): $("$ETCD_DIR/bin/etcd" --version | head -1)"
}

build_helm() {
  if [ -x "$HELM_DIR/bin/helm" ]; then log "helm $HELM_VERSION present: $HELM_DIR/bin/helm"; return; fi
  local t0 src
  t0=$(date +%s)
  src="$HELM_DIR/src"
  log "building helm $HELM_VERSION (helm.sh/helm/v3/cmd/helm) in $src"
  new_module "$src" meterbridge.local/harness/helm
  (cd "$src" && go get "helm.sh/helm/v3@$HELM_VERSION" >&2 &&
    go build -trimpath \
      -ldflags="$LDFLAGS -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
      -o "$HELM_DIR/bin.tmp/helm" helm.sh/helm/v3/cmd/helm >&2)
  mv "$HELM_DIR/bin.tmp" "$HELM_DIR/bin"
  log "helm built in $(elapsed "$t0"): $("$HELM_DIR/bin/helm" version --short)"
}

# The out-of-tree way: require k8s.io/kubernetes and pin each staging module (listed in its go.mod as
# `k8s.io/x => ./staging/src/k8s.io/x`) to the published v0.<minor>.<patch> of the same release.
build_kubernetes() {
  if [ -x "$K8S_DIR/bin/kube-apiserver" ] && [ -x "$K8S_DIR/bin/kubectl" ]; then
    log "kubernetes $K8S_VERSION present: $K8S_DIR/bin/{kube-apiserver,kubectl}"
    return
  fi
  local t0 src staging_version mods
  t0=$(date +%s)
  src="$K8S_DIR/src"
  staging_version="v0.${K8S_VERSION#v1.}"
  log "building kube-apiserver and kubectl from k8s.io/kubernetes $K8S_VERSION (staging at $staging_version) in $src"
  new_module "$src" meterbridge.local/harness/kubernetes
  mods=$(cd "$src" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$mods" ] || { log "could not download k8s.io/kubernetes@$K8S_VERSION's go.mod"; exit 1; }
  local staging
  staging=$(sed -n 's|^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*$|\1|p' "$mods" | sort -u)
  [ -n "$staging" ] || { log "no staging replace lines in $mods"; exit 1; }
  {
    printf '\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done
    printf ')\n'
  } >>"$src/go.mod"
  log "pinned $(echo "$staging" | wc -l) staging modules"
  # What hack/lib/version.sh stamps, so /version, `kubectl version` and helm's capabilities say the release.
  local minor ver_flags=""
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ver_flags="$ver_flags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ver_flags="$ver_flags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$src" && go build -trimpath -ldflags="$LDFLAGS$ver_flags" -o "$K8S_DIR/bin.tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl >&2)
  mv "$K8S_DIR/bin.tmp" "$K8S_DIR/bin"
  log "kubernetes built in $(elapsed "$t0"): $("$K8S_DIR/bin/kube-apiserver" --version)"
}

mkdir -p "$ROOT"
# One build at a time per machine: parallel runs (CI and a developer) wait instead of racing.
exec 9>"$ROOT/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
build_helm
build_etcd
build_kubernetes
log "ready: $K8S_DIR/bin $ETCD_DIR/bin $HELM_DIR/bin"
