#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser test (test/e2e/dashboard.test.ts) when it is missing.
# Idempotent: does nothing when /usr/bin/chromium exists. Never downloads a browser from outside apt
# (no `npx playwright install`): playwright-core drives this binary through `executablePath`.
# Skip while developing: MB_SKIP_CHROMIUM=1 (the browser test then skips and says why).
set -euo pipefail

log() { printf '[setup-chromium] %s\n' "$*" >&2; }

if [ "${MB_SKIP_CHROMIUM:-}" = "1" ]; then
  log "MB_SKIP_CHROMIUM=1: not installing chromium"
  exit 0
fi
if [ -x /usr/bin/chromium ]; then
  log "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    log "not root and no sudo: install the Debian package 'chromium' by hand"; exit 1
  fi
fi

log "installing the Debian package chromium"
$SUDO apt-get -o DPkg::Lock::Timeout=600 update >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y chromium >&2
if [ ! -x /usr/bin/chromium ]; then
  log "apt-get finished but /usr/bin/chromium is missing"
  exit 1
fi
log "installed: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
