#!/usr/bin/env bash
# Usage: zookeeper-server-start.sh [-daemon] zookeeper.properties
# Runs the real ZooKeeper (QuorumPeerMain) in the foreground, or in the background
# with -daemon (output to $LOG_DIR/zookeeper.out, LOG_DIR defaults to <repo>/logs).
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] zookeeper.properties"
  exit 1
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
PY="$root/.venv/bin/python"; [ -x "$PY" ] || PY=python3
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m kafkapy.tools.zookeeper_server_start "$@"
