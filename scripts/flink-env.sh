#!/usr/bin/env bash
# The PyFlink environment: .venv-flink (Python 3.11, requirements-flink.lock, quanta itself with --no-deps)
# and the Kafka SQL connector jar in .tools/flink (Maven Central, deploy/flink/pom.xml).
# Idempotent: each part is redone only when its input (lock file, pom) changed; a second run only checks.
#
#   scripts/flink-env.sh          set up (what `make flink` runs)
#   scripts/flink-env.sh check    exit 1 unless everything is set up and current
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

PYTHON_SYSTEM="${PYTHON_SYSTEM:-python3.11}"
UV="${UV:-$root/.tools/venv/bin/uv}"
venv="$root/.venv-flink"
jars="$root/.tools/flink"
pom="deploy/flink/pom.xml"

digest() { cat "$@" | sha256sum | cut -d' ' -f1; }
venv_key() { digest requirements-flink.lock pyproject.toml; }
jar_key() { digest "$pom"; }
venv_current() { [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.installed" 2>/dev/null)" = "$(venv_key)" ]; }
jar_current() { [ "$(cat "$jars/.fetched" 2>/dev/null)" = "$(jar_key)" ] && compgen -G "$jars/*.jar" >/dev/null; }

setup_venv() {
  venv_current && return 0
  echo "flink: building .venv-flink from requirements-flink.lock"
  [ -x "$venv/bin/python" ] || "$PYTHON_SYSTEM" -m venv "$venv"
  "$UV" pip sync -q --compile-bytecode --python "$venv/bin/python" requirements-flink.lock
  # quanta's own dependencies are the app's; the jobs import only modules that load with what is here.
  "$UV" pip install -q --python "$venv/bin/python" --no-deps -e .
  venv_key >"$venv/.installed"
}

setup_jar() {
  jar_current && return 0
  for tool in java mvn; do
    command -v "$tool" >/dev/null || { echo "flink: \`$tool\` is not on PATH (Java 17 and Maven)" >&2; exit 1; }
  done
  echo "flink: fetching the Kafka connector jar into .tools/flink"
  rm -rf "$jars" && mkdir -p "$jars"
  mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy -DoutputDirectory="$jars" >"$jars/.mvn.log" 2>&1 \
    || { cat "$jars/.mvn.log" >&2; exit 1; }
  jar_key >"$jars/.fetched"
}

case "${1:-setup}" in
  setup) setup_venv && setup_jar ;;
  check) venv_current && jar_current ;;
  *) echo "usage: $0 [setup|check]" >&2; exit 2 ;;
esac
