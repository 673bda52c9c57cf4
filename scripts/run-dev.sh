#!/usr/bin/env bash
# `make run`: ZooKeeper in the background, one broker in the foreground; Ctrl-C stops both cleanly.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p .run
bin/zookeeper-server-start.sh config/zookeeper.properties > .run/zookeeper.out 2>&1 &
zk_pid=$!
stop_zk() { kill -TERM "$zk_pid" 2>/dev/null; wait "$zk_pid" 2>/dev/null; }
trap 'stop_zk' EXIT
# Wait for ZooKeeper to serve requests (srvr answers "Mode:" only once it does).
for _ in $(seq 1 100); do
  if python3 - <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", 2181), timeout=1); s.sendall(b"srvr")
sys.exit(0 if b"Mode:" in s.recv(4096) else 1)
PY
  then break; fi
  if ! kill -0 "$zk_pid" 2>/dev/null; then echo "ZooKeeper failed to start:"; tail -20 .run/zookeeper.out; exit 1; fi
  sleep 0.2
done
echo "ZooKeeper is up on 127.0.0.1:2181 (log: .run/zookeeper.out). Starting the broker; Ctrl-C stops both."
bin/kafka-server-start.sh config/server.properties "$@" &
broker_pid=$!
trap 'kill -TERM "$broker_pid" 2>/dev/null' INT TERM
wait "$broker_pid"; rc=$?
# A signal interrupts the first wait; wait again for the broker's clean shutdown.
kill -0 "$broker_pid" 2>/dev/null && wait "$broker_pid"
exit $rc
