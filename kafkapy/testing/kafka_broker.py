"""A real Apache Kafka 2.8.2 broker (ZooKeeper mode) as a subprocess: the oracle of the tests that compare
kafkapy with Kafka, and the other side of the side-by-side benchmarks.

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

import os
import time
from pathlib import Path
from typing import Any

from kafkapy.testing.kafka_dist import KAFKA_VERSION, KafkaDistUnavailable, java_executable, kafka_classpath
from kafkapy.testing.process import ServerProcess

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

class KafkaBrokerStartError(RuntimeError):
    """The Kafka JVM exited or did not start in time."""


def kafka_available() -> str:
    """The classpath for a Kafka broker, or KafkaDistUnavailable saying why there is none."""
    java_executable()
    cp = kafka_classpath()
    extra = [j for j in _LOG_JARS if os.path.exists(j)]
    return os.pathsep.join([cp, *extra])


class KafkaBroker(ServerProcess):
    """One Apache Kafka 2.8.2 broker JVM with its config, data and logs under ``work_dir``."""

    label = "Kafka broker"
    start_error = KafkaBrokerStartError
    version = KAFKA_VERSION
    DEFAULT_PROPERTIES = {"zookeeper.session.timeout.ms": 18000}

    def __init__(self, work_dir: str | os.PathLike[str], zookeeper_connect: str, *, broker_id: int = 0,
                 port: int | None = None, overrides: dict[str, Any] | None = None,
                 host: str = "127.0.0.1", classpath: str | None = None,
                 jvm_options: tuple[str, ...] = JVM_OPTIONS) -> None:
        super().__init__(work_dir, zookeeper_connect, broker_id=broker_id, host=host, port=port, overrides=overrides)
        self.classpath = classpath
        self.jvm_options = tuple(jvm_options)

    @property
    def marker_path(self) -> Path:
        return self.log_dir / "server.log"     # log4j's file; the console gets only the JVM's own output

    def wait_started(self, timeout_s: float = 90.0) -> None:
        if all(os.path.exists(j) for j in _LOG_JARS):
            super().wait_started(timeout_s)
            return
        # No log4j binding on this machine: Kafka logs nothing, so wait until it answers Metadata with a
        # controller (its last startup step that clients can see).
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise self.start_error(f"Kafka exited with {self.proc.returncode} during startup:\n{self.log_tail()}")
            if self._port_open() and self._has_controller():
                return
            time.sleep(0.2)
        raise self.start_error(f"Kafka did not answer Metadata with a controller within {timeout_s} s")

    def _has_controller(self) -> bool:
        from kafkapy.clients.sync import SyncAdminClient     # only on this fallback path
        from kafkapy.common.errors import ApiError
        try:
            with SyncAdminClient({"bootstrap.servers": self.bootstrap, "request.timeout.ms": 5000}) as admin:
                return admin.describe_cluster().controller_id >= 0
        except (ApiError, OSError, TimeoutError):
            return False                  # still starting

    def write_config(self) -> None:
        super().write_config()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "log4j.properties").write_text(_LOG4J.format(path=self.log_dir / "server.log"))

    def command(self) -> list[str]:
        cp = kafka_available() if self.classpath is None else os.pathsep.join(
            [self.classpath, *(j for j in _LOG_JARS if os.path.exists(j) and j not in self.classpath)])
        return [java_executable(), *self.jvm_options,
                f"-Dlog4j.configuration=file:{self.work_dir / 'log4j.properties'}",
                f"-Dkafka.logs.dir={self.log_dir}", "-cp", cp, "kafka.Kafka", str(self.config_path)]

    def start(self, timeout_s: float = 90.0) -> "KafkaBroker":
        return super().start(timeout_s)

    def log_tail(self, lines: int = 60, name: str = "") -> str:
        names = (name,) if name else ("console.out", "server.log")
        return "\n".join(f"--- {n}\n" + "\n".join(self.read_log(n).splitlines()[-lines:]) for n in names)


__all__ = ["KafkaBroker", "KafkaBrokerStartError", "KafkaDistUnavailable", "kafka_available", "JVM_OPTIONS"]
