"""bin/zookeeper-server-start.sh, bin/zookeeper-server-stop.sh and bin/zookeeper-shell.sh."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from kafkapy.testing.zookeeper import free_port, server_mode

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / "bin"


def wait_for(predicate, what: str, timeout_s: float = 45.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)   # polling another process


def port_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def write_properties(tmp_path: Path, port: int) -> Path:
    props = tmp_path / "zookeeper.properties"
    props.write_text(f"dataDir={tmp_path / 'zkdata'}\nclientPort={port}\nclientPortAddress=127.0.0.1\n"
                     "maxClientCnxns=0\nadmin.enableServer=false\n")
    return props


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ, KAFKA_HEAP_OPTS="-Xmx128M -Xms16M")
    e.update(extra)
    return e


def test_scripts_are_executable() -> None:
    for name in ("zookeeper-server-start.sh", "zookeeper-server-stop.sh", "zookeeper-shell.sh"):
        assert os.access(BIN / name, os.X_OK), name
    text = (ROOT / "config" / "zookeeper.properties").read_text()
    for line in ("dataDir=/tmp/zookeeper", "clientPort=2181", "maxClientCnxns=0", "admin.enableServer=false"):
        assert line in text.splitlines()


def test_start_usage() -> None:
    done = subprocess.run([str(BIN / "zookeeper-server-start.sh")], capture_output=True, text=True)
    assert done.returncode == 1 and "USAGE:" in done.stdout


def test_foreground_start_and_sigterm(tmp_path: Path) -> None:
    port = free_port()
    props = write_properties(tmp_path, port)
    proc = subprocess.Popen([str(BIN / "zookeeper-server-start.sh"), str(props)], env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: proc.poll() is not None or server_mode("127.0.0.1", port) == "standalone",
                 "ZooKeeper in the foreground")
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)          # reaches the JVM itself (exec)
        proc.wait(30)
        out = proc.stdout.read().decode()
        assert "QuorumPeerMain" in out or "ZooKeeperServer" in out
        assert (tmp_path / "zkdata").is_dir()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_daemon_start_then_stop_script(tmp_path: Path) -> None:
    port = free_port()
    props = write_properties(tmp_path, port)
    tag = f"test-{uuid.uuid4().hex[:8]}"
    e = env(LOG_DIR=str(tmp_path / "logs"), KAFKAPY_ZOOKEEPER_TAG=tag)
    done = subprocess.run([str(BIN / "zookeeper-server-start.sh"), "-daemon", str(props)], env=e,
                          capture_output=True, text=True, timeout=30)
    try:
        assert done.returncode == 0, done.stderr
        wait_for(lambda: server_mode("127.0.0.1", port) == "standalone", "daemon ZooKeeper")
        assert (tmp_path / "logs" / "zookeeper.out").stat().st_size > 0
    finally:
        stop = subprocess.run([str(BIN / "zookeeper-server-stop.sh")], env=e, capture_output=True,
                              text=True, timeout=30)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    wait_for(lambda: port_closed(port), "ZooKeeper to stop")
    wait_for(lambda: subprocess.run([str(BIN / "zookeeper-server-stop.sh")], env=e, capture_output=True,
                                    text=True).returncode == 1, "no server left")
    again = subprocess.run([str(BIN / "zookeeper-server-stop.sh")], env=e, capture_output=True, text=True)
    assert again.returncode == 1 and again.stdout.strip() == "No zookeeper server to stop"


def shell(connect: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "zookeeper-shell.sh"), connect, *args], capture_output=True,
                          text=True, timeout=60)


def test_zookeeper_shell_commands(zookeeper) -> None:
    base = f"/kafkapy-shell-{uuid.uuid4().hex[:8]}"
    connect = zookeeper.connect_string
    created = shell(connect, "create", base, "")
    assert created.returncode == 0 and created.stdout.splitlines()[0] == f"Connecting to {connect}"
    assert created.stdout.strip().endswith(f"Created {base}")
    rooted = connect + base
    assert shell(rooted, "create", "/b", "hello").returncode == 0
    assert shell(rooted, "create", "/a", "").returncode == 0
    listed = shell(rooted, "ls", "/")
    assert listed.stdout.strip().splitlines()[-1] == "[a, b]"
    got = shell(rooted, "get", "-s", "/b")
    lines = got.stdout.strip().splitlines()
    i = lines.index("hello")
    assert lines[i + 1].startswith("cZxid = 0x") and "dataVersion = 0" in lines
    assert shell(rooted, "set", "/b", "bye").returncode == 0
    assert "bye" in shell(rooted, "get", "/b").stdout.splitlines()
    assert "dataVersion = 1" in shell(rooted, "stat", "/b").stdout.splitlines()
    missing = shell(rooted, "get", "/nope")
    assert missing.returncode == 1 and "Node does not exist: /nope" in missing.stderr
    assert "Node already exists: /a" in shell(rooted, "create", "/a").stderr
    assert shell(rooted, "create", "/a/c").returncode == 0
    assert "Node not empty: /a" in shell(rooted, "delete", "/a").stderr
    assert shell(rooted, "deleteall", "/a").returncode == 0
    assert shell(rooted, "ls", "/").stdout.strip().splitlines()[-1] == "[b]"


def test_zookeeper_shell_interactive(zookeeper) -> None:
    base = f"/kafkapy-shell-{uuid.uuid4().hex[:8]}"
    proc = subprocess.run([str(BIN / "zookeeper-shell.sh"), zookeeper.connect_string],
                          input=f"create {base} x\nget {base}\nquit\n", capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    assert f"Created {base}" in proc.stdout and "[zk: " in proc.stdout
    assert "x" in proc.stdout.split(f"Created {base}")[1]
