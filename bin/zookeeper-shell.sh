#!/usr/bin/env bash
# Usage: zookeeper-shell.sh server[:port][/chroot] [command [args...]]
root="$(cd "$(dirname "$0")/.." && pwd)"
PY="$root/.venv/bin/python"; [ -x "$PY" ] || PY=python3
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m kafkapy.tools.zookeeper_shell "$@"
