#!/usr/bin/env bash
# Usage: kafka-server-stop.sh   (SIGTERM to every running kafkapy broker)
root="$(cd "$(dirname "$0")/.." && pwd)"
PY="$root/.venv/bin/python"; [ -x "$PY" ] || PY=python3
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m kafkapy.tools.server_stop "$@"
