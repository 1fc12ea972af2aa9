#!/usr/bin/env bash
# Installs the Debian packages Quanta needs when they are missing. Idempotent: a second run only checks.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

[ -x /usr/bin/chromium ] || need+=(chromium fonts-liberation fonts-dejavu-core)
[ -n "$(pg_bin)" ] || need+=(postgresql)
have redis-server || need+=(redis-server)
have java || need+=(openjdk-17-jre-headless)  # Kafka broker and Flink mini cluster
have mvn || need+=(maven)  # fetches the Kafka and Flink connector jars from Maven Central

if ((${#need[@]} == 0)); then
  exit 0
fi

echo "Installing Debian packages: ${need[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if have sudo; then sudo_cmd=(sudo); else
    echo "Please install as root: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian package starts cluster and server daemons; Quanta starts its own throwaway servers.
"${sudo_cmd[@]}" service postgresql stop >/dev/null 2>&1 || true
"${sudo_cmd[@]}" service redis-server stop >/dev/null 2>&1 || true
