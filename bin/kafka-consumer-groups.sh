#!/usr/bin/env bash
# Usage: kafka-consumer-groups.sh --bootstrap-server <host:port> (--list | --describe | --delete | --reset-offsets | --delete-offsets) ...
root="$(cd "$(dirname "$0")/.." && pwd)"
PY="$root/.venv/bin/python"; [ -x "$PY" ] || PY=python3
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m kafkapy.tools.consumer_groups "$@"
