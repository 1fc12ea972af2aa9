#!/usr/bin/env bash
# A single-node Kafka broker (KRaft, broker and controller in one JVM) from Maven Central jars.
#
#   scripts/kafka.sh fetch   resolve deploy/kafka/pom.xml into .tools/kafka/libs (idempotent)
#   scripts/kafka.sh run     run a development broker on 127.0.0.1:$KAFKA_PORT (default 9092; its
#                            controller on $KAFKA_CONTROLLER_PORT, default 9093) in the foreground, data
#                            and logs kept in $KAFKA_DIR (default var/kafka); Ctrl-C stops it
#
# The tests start their own throwaway brokers (quanta.testing.services.kafka_server) from the same jars
# and the same deploy/kafka/server.properties template.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="$root/deploy/kafka/pom.xml"
template="$root/deploy/kafka/server.properties"
log_config="$root/deploy/kafka/log4j2.properties"
libs="$root/.tools/kafka/libs"
stamp="$libs/.fetched"

need() {
  command -v "$1" >/dev/null 2>&1 && return
  echo "kafka.sh: \`$1\` is not on PATH; install it (Debian: apt-get install -y $2)" >&2
  exit 1
}

fetch() {
  local digest
  digest="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; then
    touch "$stamp" # up to date: tell make so
    return
  fi
  need mvn maven
  need java openjdk-17-jre-headless
  echo "Fetching the Kafka broker jars (deploy/kafka/pom.xml) into .tools/kafka/libs"
  rm -rf "$libs"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs"
  echo "$digest" >"$stamp"
}

cluster_id() {
  # A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with "-" (the
  # storage tool would read it as an option).
  local id="-"
  while [[ $id == -* ]]; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  done
  echo "$id"
}

run() {
  fetch
  local port="${KAFKA_PORT:-9092}" controller="${KAFKA_CONTROLLER_PORT:-9093}" dir="${KAFKA_DIR:-$root/var/kafka}"
  mkdir -p "$dir/logs"
  sed -e "s#@BROKER_PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$controller#g" -e "s#@LOG_DIR@#$dir/data#g" \
    "$template" >"$dir/server.properties"
  local java_opts=(-Xmx512m -Xms128m -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$log_config" "-Dkafka.logs.dir=$dir/logs" -cp "$libs/*")
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    java "${java_opts[@]}" kafka.tools.StorageTool format --standalone -t "$(cluster_id)" \
      -c "$dir/server.properties" >"$dir/logs/format.log"
  fi
  echo "Kafka on 127.0.0.1:$port (QUANTA_KAFKA_BOOTSTRAP=127.0.0.1:$port); logs in $dir/logs; Ctrl-C stops it"
  exec java "${java_opts[@]}" kafka.Kafka "$dir/server.properties"
}

case "${1:-}" in
  fetch) fetch ;;
  run) run ;;
  *)
    echo "usage: $0 fetch|run" >&2
    exit 2
    ;;
esac
