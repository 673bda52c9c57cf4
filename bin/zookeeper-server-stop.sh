#!/usr/bin/env bash
# Usage: zookeeper-server-stop.sh
# Sends SIGTERM (or $SIGNAL) to every ZooKeeper started by zookeeper-server-start.sh
# (recognised by the -Dkafkapy.zookeeper marker on its java command line; with
# KAFKAPY_ZOOKEEPER_TAG set, only servers started with the same tag).
SIGNAL=${SIGNAL:-TERM}
if [ -n "${KAFKAPY_ZOOKEEPER_TAG:-}" ]; then
  marker="-Dkafkapy.zookeeper=$KAFKAPY_ZOOKEEPER_TAG "
else
  marker="-Dkafkapy.zookeeper="
fi
PIDS=$(ps ax -o pid= -o args= | grep -F 'QuorumPeerMain' | grep -F -e "$marker" | grep -v grep | awk '{print $1}')
if [ -z "$PIDS" ]; then
  echo "No zookeeper server to stop"
  exit 1
else
  kill -s "$SIGNAL" $PIDS
fi
