"""A real Apache Kafka 2.8.2 broker (ZooKeeper mode) as a subprocess, for side-by-side benchmarks.

The jars come from ``kafkapy.testing.kafka_dist.kafka_classpath()`` (Maven, cached under
``~/.cache/kafkapy``). The broker runs as ``kafka-server-start.sh`` would start it: a 1 GiB
heap (``-Xms1g -Xmx1g``) and the G1 settings of Kafka's launch scripts, with its own
``server.properties`` (listener on a free loopback port, ``log.dirs`` under the work
directory, default flush policy) on the chroot it is given. Kafka's log4j output goes to
``<work>/logs/server.log`` through the log4j 1.2 jars of Debian's ``liblog4j1.2-java`` /
``libslf4j-java`` when they are installed (the Maven resolution has no logging binding).

    broker = KafkaBroker(tmp / "kafka", "127.0.0.1:2181/kafka", overrides={"num.partitions": 1})
    broker.start()            # blocks until the log says "started" and the port answers
    broker.bootstrap          # "127.0.0.1:<port>"
    broker.pid                # the JVM: VmHWM and CPU ticks are read from /proc/<pid>
    broker.stop()
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafkapy.testing.kafka_dist import (KAFKA_VERSION, KafkaDistUnavailable,  # noqa: E402
                                        java_executable, kafka_classpath)

# Logging jars for the JVM (Kafka 2.8 logs through slf4j -> log4j 1.2).
_LOG_JARS = ("/usr/share/java/log4j-1.2.jar", "/usr/share/java/slf4j-log4j12.jar")

# Heap of kafka-server-start.sh and the GC options of kafka-run-class.sh.
JVM_OPTIONS = ("-Xmx1g", "-Xms1g", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
               "-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
               "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true", "-Djava.net.preferIPv4Stack=true")

_LOG4J = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={path}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.zookeeper=WARN
"""

_LIVE: "weakref.WeakSet[KafkaBroker]" = weakref.WeakSet()


def _kill_leftovers() -> None:
    for broker in list(_LIVE):
        broker.kill()


atexit.register(_kill_leftovers)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class KafkaBrokerStartError(RuntimeError):
    """The Kafka JVM exited or did not start in time."""


def kafka_available() -> str:
    """The classpath for a Kafka broker, or KafkaDistUnavailable saying why there is none."""
    java_executable()
    cp = kafka_classpath()
    extra = [j for j in _LOG_JARS if os.path.exists(j)]
    return os.pathsep.join([cp, *extra])


class KafkaBroker:
    """One Apache Kafka 2.8.2 broker JVM with its config, data and logs under ``work_dir``."""

    def __init__(self, work_dir: str | os.PathLike[str], zookeeper_connect: str, *, broker_id: int = 0,
                 port: int | None = None, overrides: dict[str, Any] | None = None,
                 host: str = "127.0.0.1", classpath: str | None = None,
                 jvm_options: tuple[str, ...] = JVM_OPTIONS) -> None:
        self.work_dir = Path(work_dir)
        self.zookeeper_connect = zookeeper_connect
        self.broker_id = broker_id
        self.host = host
        self.port = port or free_port(host)
        self.overrides = dict(overrides or {})
        self.classpath = classpath
        self.jvm_options = tuple(jvm_options)
        self.proc: subprocess.Popen[bytes] | None = None
        self._console: Any = None
        self._console_offset = 0

    version = KAFKA_VERSION

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    @property
    def config_path(self) -> Path:
        return self.work_dir / "server.properties"

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
            "zookeeper.session.timeout.ms": 18000,
            "num.partitions": 1,
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
        }
        props.update(self.overrides)
        return props

    def write_config(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))
        (self.work_dir / "log4j.properties").write_text(_LOG4J.format(path=self.log_dir / "server.log"))

    def launch(self) -> None:
        if self.is_running():
            raise RuntimeError(f"Kafka broker {self.broker_id} is already running (pid {self.pid})")
        cp = self.classpath or kafka_available()
        self.write_config()
        self._console = open(self.log_dir / "console.out", "ab")
        cmd = [java_executable(), *self.jvm_options,
               f"-Dlog4j.configuration=file:{self.work_dir / 'log4j.properties'}",
               f"-Dkafka.logs.dir={self.log_dir}", "-cp", cp, "kafka.Kafka", str(self.config_path)]
        server_log = self.log_dir / "server.log"
        self._console_offset = server_log.stat().st_size if server_log.exists() else 0
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._console,
                                     stderr=subprocess.STDOUT, cwd=str(self.work_dir),
                                     preexec_fn=_die_with_parent)
        _LIVE.add(self)

    def wait_started(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        marker = f"[KafkaServer id={self.broker_id}] started".encode()
        server_log = self.log_dir / "server.log"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise KafkaBrokerStartError(f"Kafka exited with {self.proc.returncode} during startup:\n"
                                            f"{self.log_tail()}")
            try:
                with open(server_log, "rb") as f:
                    f.seek(self._console_offset)
                    if marker in f.read() and self._port_open():
                        return
            except FileNotFoundError:
                pass
            time.sleep(0.1)
        raise KafkaBrokerStartError(f"Kafka did not log 'started' within {timeout_s} s:\n{self.log_tail()}")

    def _port_open(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def start(self, timeout_s: float = 90.0) -> "KafkaBroker":
        self.launch()
        self.wait_started(timeout_s)
        return self

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM (controlled shutdown) and wait; SIGKILL after ``timeout_s``."""
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
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._close_console()

    def _close_console(self) -> None:
        if self._console is not None:
            self._console.close()
            self._console = None

    def log_tail(self, lines: int = 60) -> str:
        out = []
        for name in ("console.out", "server.log"):
            try:
                text = (self.log_dir / name).read_text(errors="replace")
            except FileNotFoundError:
                continue
            out.append(f"--- {name}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(out)

    def __enter__(self) -> "KafkaBroker":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"KafkaBroker(id={self.broker_id}, port={self.port}, pid={self.pid})"


__all__ = ["KafkaBroker", "KafkaBrokerStartError", "KafkaDistUnavailable", "kafka_available", "JVM_OPTIONS"]
