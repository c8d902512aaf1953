#!/usr/bin/env bash
# Resolves, once, an Apache Kafka 4.x broker (KRaft mode, no ZooKeeper) from Maven Central for the kafka
# exporter's tests (src/exporters/kafka, bench/kafka.ts): the runtime jars of org.apache.kafka:kafka_2.13 and a
# log4j2 SLF4J binding (without one the broker logs nothing), listed in test/harness/kafka/pom.xml.
# Needs Java >= 17 and Maven. Cached in ~/.cache/meterbridge/kafka/<version>/lib; does nothing when present.
# Skip while developing: MB_KAFKA=0 (the Kafka tests then skip and say why).
set -euo pipefail

log() { printf '[setup-kafka] %s\n' "$*" >&2; }

KAFKA_VERSION="4.4.0"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="${MB_CACHE_DIR:-$HOME/.cache/meterbridge}/kafka/$KAFKA_VERSION"

if [ "${MB_KAFKA:-}" = "0" ]; then
  log "MB_KAFKA=0: not resolving the Kafka broker"
  exit 0
fi
if [ -f "$CACHE_DIR/lib/.complete" ]; then
  log "Kafka broker present: $CACHE_DIR/lib"
  exit 0
fi
if ! command -v java >/dev/null 2>&1; then
  log "no java: install Java >= 17 (Debian package openjdk-17-jre-headless) to run the broker"
  exit 1
fi
if ! command -v mvn >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
      log "not root and no sudo: install the Debian package 'maven' by hand"; exit 1
    fi
  fi
  log "installing the Debian package maven (resolves the broker's jars from Maven Central)"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends maven >&2
fi

mkdir -p "$CACHE_DIR"
log "resolving Kafka $KAFKA_VERSION from Maven Central into $CACHE_DIR/lib"
start=$(date +%s)
tmp="$CACHE_DIR/lib.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -f "$HERE/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$tmp" -DincludeScope=runtime
rm -rf "$CACHE_DIR/lib"
mv "$tmp" "$CACHE_DIR/lib"
touch "$CACHE_DIR/lib/.complete"
log "resolved $(ls "$CACHE_DIR/lib" | wc -l) jars in $(( $(date +%s) - start ))s"
