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

import os
import sys
import time
from pathlib import Path
from typing import Any

from kafkapy.testing.process import ServerProcess, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


class BrokerStartError(RuntimeError):
    """The broker exited or did not start in time."""


class BrokerProcess(ServerProcess):
    """One broker subprocess with its own log dirs and logs under `work_dir`."""

    label = "broker"
    start_error = BrokerStartError

    DEFAULT_PROPERTIES = {"zookeeper.session.timeout.ms": 6000, "controlled.shutdown.retry.backoff.ms": 500}

    def __init__(self, work_dir: str | os.PathLike[str], zookeeper_connect: str, *, broker_id: int = 0,
                 port: int | None = None, overrides: dict[str, Any] | None = None, host: str = "127.0.0.1",
                 env: dict[str, str] | None = None) -> None:
        super().__init__(work_dir, zookeeper_connect, broker_id=broker_id, host=host, port=port, overrides=overrides)
        self.env = dict(env or {})

    def command(self) -> list[str]:
        return [sys.executable, "-m", "kafkapy.tools.server_start", str(self.config_path)]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["LOG_DIR"] = str(self.log_dir)
        env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.update(self.env)
        return env


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
