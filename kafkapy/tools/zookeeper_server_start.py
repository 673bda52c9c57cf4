"""`bin/zookeeper-server-start.sh [-daemon] zookeeper.properties`: run the real
ZooKeeper server (QuorumPeerMain) on a Kafka-style properties file.

Foreground: this process becomes the JVM (exec), so Ctrl-C and SIGTERM reach
ZooKeeper directly. `-daemon`: the JVM is started in its own session with its output
in `$LOG_DIR/zookeeper.out` (LOG_DIR defaults to `<repo>/logs`), and we return.
Heap: `$KAFKA_HEAP_OPTS` (default `-Xmx512M -Xms512M`, as Kafka's script); extra JVM
options: `$KAFKA_OPTS`. ZooKeeper's jars come from Debian's `zookeeper` package, or
`$ZOOKEEPER_HOME` / `$ZOOKEEPER_CLASSPATH` (see kafkapy.testing.zookeeper).
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from kafkapy.testing.zookeeper import (QUORUM_PEER_MAIN, ZooKeeperNotInstalledError,
                                       java_executable, zookeeper_classpath)

USAGE = "USAGE: zookeeper-server-start.sh [-daemon] zookeeper.properties"
REPO_ROOT = Path(__file__).resolve().parents[2]


def build_command(config_path: str) -> list[str]:
    heap = shlex.split(os.environ.get("KAFKA_HEAP_OPTS", "-Xmx512M -Xms512M"))
    extra = shlex.split(os.environ.get("KAFKA_OPTS", ""))
    tag = os.environ.get("KAFKAPY_ZOOKEEPER_TAG") or "kafkapy"
    return [java_executable(), *heap, "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dkafkapy.zookeeper={tag}",
            "-Dorg.slf4j.simpleLogger.logFile=System.out",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=[yyyy-MM-dd HH:mm:ss,SSS]",
            *extra, "-cp", zookeeper_classpath(), QUORUM_PEER_MAIN, config_path]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    daemon = False
    while args and args[0] in ("-daemon", "-name", "-loggc"):
        flag = args.pop(0)
        if flag == "-daemon":
            daemon = True
        elif flag == "-name" and args:
            args.pop(0)
    if len(args) != 1:
        print(USAGE)
        return 1
    config_path = args[0]
    if not Path(config_path).is_file():
        print(f"Config file {config_path} does not exist", file=sys.stderr)
        return 1
    try:
        cmd = build_command(os.path.abspath(config_path))
    except ZooKeeperNotInstalledError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    if not daemon:
        sys.stdout.flush()
        os.execv(cmd[0], cmd)
    log_dir = Path(os.environ.get("LOG_DIR") or REPO_ROOT / "logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "zookeeper.out", "ab") as out:
        subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
