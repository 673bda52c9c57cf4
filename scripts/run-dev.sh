#!/usr/bin/env bash
# `make run`: ZooKeeper in the background, one broker in the foreground; Ctrl-C stops both cleanly
# (the broker first, with its controlled shutdown and clean-shutdown marker, then ZooKeeper).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p .run
# Another ZooKeeper on 2181 would pass the readiness check below and get this broker's data.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
busy=(2181)
[ $# -eq 0 ] && busy+=(9092)      # with --override arguments the listener may be elsewhere
for port in "${busy[@]}"; do
  if port_busy "$port"; then
    echo "Port $port on 127.0.0.1 is already in use (another ZooKeeper or broker?); stop it first:" >&2
    ss -ltnp 2>/dev/null | grep -E "[:.]$port\b" >&2
    exit 1
  fi
done
# ZooKeeper gets its own session so that Ctrl-C on the terminal reaches only the broker.
setsid bin/zookeeper-server-start.sh config/zookeeper.properties > .run/zookeeper.out 2>&1 < /dev/null &
zk_pid=$!
stop_zk() {
  kill -TERM "$zk_pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$zk_pid" 2>/dev/null || { echo "ZooKeeper stopped."; return 0; }
    sleep 0.1
  done
  echo "ZooKeeper did not stop within 5 s of SIGTERM; killing it."
  kill -KILL "$zk_pid" 2>/dev/null
}
trap stop_zk EXIT
zk_ready() {
  python3 - <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", 2181), timeout=1); s.sendall(b"srvr")
sys.exit(0 if b"Mode:" in s.recv(4096) else 1)
PY
}
for _ in $(seq 1 150); do
  zk_ready && break
  if ! kill -0 "$zk_pid" 2>/dev/null; then echo "ZooKeeper failed to start:"; tail -20 .run/zookeeper.out; exit 1; fi
  sleep 0.2
done
zk_ready || { echo "ZooKeeper did not become ready on 127.0.0.1:2181 (log: .run/zookeeper.out)"; exit 1; }
echo "ZooKeeper is up on 127.0.0.1:2181 (log: .run/zookeeper.out). Starting the broker; Ctrl-C stops both."
bin/kafka-server-start.sh config/server.properties "$@" &
broker_pid=$!
trap 'kill -TERM "$broker_pid" 2>/dev/null' INT TERM
rc=0
# `wait` returns early when a trapped signal arrives: keep waiting until the broker has really exited.
while kill -0 "$broker_pid" 2>/dev/null; do
  wait "$broker_pid"; rc=$?
done
exit $rc
