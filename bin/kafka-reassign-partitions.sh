#!/usr/bin/env bash
root="$(cd "$(dirname "$0")/.." && pwd)"; PY="$root/.venv/bin/python"; [ -x "$PY" ] || PY=python3
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$PY" -m kafkapy.tools.reassign_partitions "$@"
