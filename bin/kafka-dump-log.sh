#!/usr/bin/env bash
# Usage: kafka-dump-log.sh --files <a.log,b.index,...> [--deep-iteration] [--print-data-log] ...
root="$(cd "$(dirname "$0")/.." && pwd)"
PY="$root/.venv/bin/python"; [ -x "$PY" ] || PY=python3
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m kafkapy.tools.dump_log "$@"
