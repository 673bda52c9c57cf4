"""kafkapy brokers as subprocesses, for tests and benchmarks.

`BrokerProcess` writes a ``server.properties`` (listener on a free loopback port, log dirs
under its work directory), runs ``python -m kafkapy.tools.server_start`` with
``LOG_DIR=<work>/logs`` (server.log, controller.log, state-change.log... and the console in
``console.out``), and waits until the broker logged ``started`` and answers on its port.
Logs are kept after the process ends; `log_tail()` shows them when a test fails.

    broker = BrokerProcess(tmp_path / "b0", zk_chroot, broker_id=0).start()
    broker.bootstrap            # "127.0.0.1:<port>"
    broker.kill()               # SIGKILL, then broker.start() again on the same port and dirs
    broker.stop()               # SIGTERM and wait
"""
from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import weakref
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

_LIVE: "weakref.WeakSet[BrokerProcess]" = weakref.WeakSet()


def _kill_leftovers() -> None:
    for broker in list(_LIVE):
        broker.kill()


atexit.register(_kill_leftovers)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class BrokerStartError(RuntimeError):
    """The broker exited or did not start in time."""


class BrokerProcess:
    """One broker subprocess with its own log dirs and logs under `work_dir`."""

    def __init__(self, work_dir: str | os.PathLike[str], zookeeper_connect: str, *, broker_id: int = 0,
                 port: int | None = None, overrides: dict[str, Any] | None = None, host: str = "127.0.0.1",
                 env: dict[str, str] | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.zookeeper_connect = zookeeper_connect
        self.broker_id = broker_id
        self.host = host
        self.port = port or free_port(host)
        self.overrides = dict(overrides or {})
        self.env = dict(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self._console: Any = None
        self.starts = 0

    # -- paths ---------------------------------------------------------------------------
    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    @property
    def config_path(self) -> Path:
        return self.work_dir / "server.properties"

    @property
    def console_path(self) -> Path:
        return self.log_dir / "console.out"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def properties(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "broker.id": self.broker_id,
            "listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "log.dirs": str(self.data_dir),
            "zookeeper.connect": self.zookeeper_connect,
            "zookeeper.session.timeout.ms": 6000,
            "num.partitions": 1,
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
            "controlled.shutdown.retry.backoff.ms": 500,
        }
        props.update(self.overrides)
        return props

    def write_config(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{k}={v}" for k, v in self.properties().items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    # -- lifecycle -------------------------------------------------------------------------
    def launch(self) -> None:
        if self.is_running():
            raise RuntimeError(f"broker {self.broker_id} is already running (pid {self.pid})")
        self.write_config()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["LOG_DIR"] = str(self.log_dir)
        env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.update(self.env)
        self._close_console()
        self._console = open(self.console_path, "ab")
        self._console.write(f"\n===== start {self.starts + 1} =====\n".encode())
        self._console.flush()
        self._console_offset = self._console.tell()
        self.proc = subprocess.Popen([sys.executable, "-m", "kafkapy.tools.server_start", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self._console, stderr=subprocess.STDOUT,
                                     env=env, cwd=str(self.work_dir), preexec_fn=_die_with_parent)
        self.starts += 1
        _LIVE.add(self)

    def wait_started(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        marker = f"[KafkaServer id={self.broker_id}] started".encode()
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise BrokerStartError(f"broker {self.broker_id} exited with {self.proc.returncode} during "
                                       f"startup:\n{self.log_tail()}")
            try:
                with open(self.console_path, "rb") as f:
                    f.seek(self._console_offset)
                    if marker in f.read():
                        if self._port_open():
                            return
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise BrokerStartError(f"broker {self.broker_id} did not log 'started' within {timeout_s} s:\n"
                               f"{self.log_tail()}")

    def _port_open(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def start(self, timeout_s: float = 60.0) -> "BrokerProcess":
        self.launch()
        self.wait_started(timeout_s)
        return self

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM and wait (SIGKILL after `timeout_s`); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close_console()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._close_console()

    def restart(self, timeout_s: float = 60.0) -> "BrokerProcess":
        self.stop()
        return self.start(timeout_s)

    def _close_console(self) -> None:
        if self._console is not None:
            self._console.close()
            self._console = None

    # -- logs ------------------------------------------------------------------------------
    def read_log(self, name: str = "console.out") -> str:
        try:
            return (self.log_dir / name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 80, name: str = "console.out") -> str:
        return "\n".join(self.read_log(name).splitlines()[-lines:])

    def peak_rss_kib(self) -> int | None:
        """VmHWM of the running broker, in KiB."""
        if not self.is_running():
            return None
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def __enter__(self) -> "BrokerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"BrokerProcess(id={self.broker_id}, port={self.port}, pid={self.pid})"


__all__ = ["BrokerProcess", "BrokerStartError", "free_port", "create_topic", "wait_for_leaders"]


def create_topic(zookeeper_connect: str, topic: str, partitions: int = 1, replication_factor: int = 1,
                 config: dict[str, str] | None = None) -> None:
    """Create a topic the way ``kafka-topics.sh --zookeeper`` does (AdminZkClient)."""
    import asyncio

    from kafkapy.zk.admin_zk import AdminZkClient
    from kafkapy.zk.kafka_zk import KafkaZkClient

    async def go() -> None:
        zk = await KafkaZkClient.connect(zookeeper_connect, session_timeout_ms=6000)
        try:
            await AdminZkClient(zk).create_topic(topic, partitions, replication_factor, config or {})
        finally:
            await zk.close()

    asyncio.run(go())


def wait_for_leaders(bootstrap: str, topic: str, partitions: int, timeout_s: float = 30.0) -> None:
    """Poll Metadata (confluent-kafka) until every partition of `topic` has a leader."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        md = admin.list_topics(topic, timeout=5)
        t = md.topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions and \
                all(p.leader >= 0 and p.error is None for p in t.partitions.values()):
            return
        last = t
        time.sleep(0.1)
    raise TimeoutError(f"topic {topic} has no leader for every one of its {partitions} partitions: {last}")
