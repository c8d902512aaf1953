#!/usr/bin/env bash
# Builds, once, the minimal OpenTelemetry Collector the OTLP tests send to (test/otel/): the otlp receiver
# the file exporter and the otlp_http exporter, from the Go module in test/harness/otelcol/ (pinned in its go.mod and go.sum).
# Modules come from the Go module proxy only; no prebuilt binary is downloaded.
# Cached in ~/.cache/meterbridge/otelcol/<build>/otelcol-meterbridge; does nothing when present. The build key
# changes whenever the component list changes (0.162.0-otlphttp: the otlp_http exporter was added for the
# Collector → meterbridge test), so an older binary is never taken for a newer one.
# Skip while developing: MB_OTELCOL=0 (the OTLP tests then skip and say why).
#
# Version note: v0.163.0 and v0.164.0 of the otlp receiver import go.opentelemetry.io/collector/internal/statusutil,
# whose module zip the proxy refuses ("403 This module version is not available"), so the build pins v0.162.0
# (core v1.68.0). Raise OTELCOL_VERSION with the versions in go.mod once the proxy serves statusutil.
set -euo pipefail

log() { printf '[setup-otelcol] %s\n' "$*" >&2; }

OTELCOL_VERSION="0.162.0"
OTELCOL_BUILD="$OTELCOL_VERSION-otlphttp"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="${MB_CACHE_DIR:-$HOME/.cache/meterbridge}/otelcol/$OTELCOL_BUILD"
BIN="$CACHE_DIR/otelcol-meterbridge"

if [ "${MB_OTELCOL:-}" = "0" ]; then
  log "MB_OTELCOL=0: not building the Collector"
  exit 0
fi
if [ -x "$BIN" ]; then
  log "Collector present: $BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  for candidate in /usr/local/go/bin /usr/lib/go/bin; do
    if [ -x "$candidate/go" ]; then PATH="$candidate:$PATH"; fi
  done
fi
if ! command -v go >/dev/null 2>&1; then
  log "no Go toolchain: install Go >= 1.26 (Debian package golang-go or /usr/local/go) to build the Collector"
  exit 1
fi

mkdir -p "$CACHE_DIR"
log "building OpenTelemetry Collector v$OTELCOL_VERSION with $(go version) into $BIN (several minutes on 2 cores)"
start=$(date +%s)
tmp="$BIN.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(
  cd "$HERE/otelcol"
  GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp" .
)
mv "$tmp" "$BIN"
log "built in $(( $(date +%s) - start ))s: $("$BIN" --version 2>&1 | head -n1)"
