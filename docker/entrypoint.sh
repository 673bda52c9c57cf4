#!/bin/sh
# kafkapy image entry point.
#   broker (default)   server.properties from KAFKA_* variables (docker/env_config.py), then the broker
#   zookeeper          a ZooKeeper node (needs an image with Java and ZooKeeper: kafkapy-base:bookworm);
#                      configured by the official zookeeper image's ZOO_* variables
#   anything else      run as a command (e.g. bin/kafka-dump-log.sh ..., sh)
# Extra broker arguments are passed on: `broker --override num.partitions=3`.
set -eu
KAFKAPY_HOME="${KAFKAPY_HOME:-/opt/kafkapy}"
KAFKAPY_CONFIG="${KAFKAPY_CONFIG:-/var/lib/kafkapy/server.properties}"
export LOG_DIR="${LOG_DIR:-/var/lib/kafkapy/logs}"

role="${1:-broker}"
[ $# -gt 0 ] && shift
case "$role" in
  broker)
    mkdir -p "$(dirname "$KAFKAPY_CONFIG")" "$LOG_DIR"
    python3 "$KAFKAPY_HOME/docker/env_config.py" "$KAFKAPY_CONFIG"
    echo "[kafkapy-entrypoint] broker with $KAFKAPY_CONFIG:"
    sed 's/^/  /' "$KAFKAPY_CONFIG"
    # exec: the broker is PID 1 and receives docker stop's SIGTERM (controlled shutdown).
    exec python3 -m kafkapy.tools.server_start "$KAFKAPY_CONFIG" "$@"
    ;;
  zookeeper)
    if ! command -v zk-start-foreground >/dev/null 2>&1; then
      echo "[kafkapy-entrypoint] this image has no ZooKeeper (zk-start-foreground); build it FROM kafkapy-base:bookworm" >&2
      exit 1
    fi
    exec zk-start-foreground "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
