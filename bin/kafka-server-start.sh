#!/usr/bin/env bash
# Usage: kafka-server-start.sh [-daemon] server.properties [--override property=value]*
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*"
  exit 1
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
PY="$root/.venv/bin/python"; [ -x "$PY" ] || PY=python3
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m kafkapy.tools.server_start "$@"
