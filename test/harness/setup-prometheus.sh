#!/usr/bin/env bash
# Installs Debian's Prometheus for the prometheus receiver's integration test (test/prometheus/) when it is
# missing. Idempotent: does nothing when /usr/bin/prometheus exists. Never downloads a binary from outside apt.
# Skip while developing: MB_PROMETHEUS=0 (the integration test then skips and says why).
set -euo pipefail

log() { printf '[setup-prometheus] %s\n' "$*" >&2; }

if [ "${MB_PROMETHEUS:-}" = "0" ]; then
  log "MB_PROMETHEUS=0: not installing prometheus"
  exit 0
fi
if [ -x /usr/bin/prometheus ]; then
  log "prometheus present: $(/usr/bin/prometheus --version 2>&1 | head -1)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    log "not root and no sudo: install the Debian package 'prometheus' by hand"; exit 1
  fi
fi

log "installing the Debian package prometheus (the binary only; the service is not started)"
$SUDO apt-get -o DPkg::Lock::Timeout=600 update >&2
# policy-rc.d keeps the package's init script from starting a system Prometheus on :9090.
if [ ! -e /usr/sbin/policy-rc.d ] && [ -z "$SUDO" ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends prometheus >&2
if [ ! -x /usr/bin/prometheus ]; then
  log "apt-get finished but /usr/bin/prometheus is missing"
  exit 1
fi
log "installed: $(/usr/bin/prometheus --version 2>&1 | head -1)"
