"""`LocalCluster`: a real ZooKeeper ensemble and kafkapy brokers as OS processes, with faults.

    with LocalCluster(brokers=3, zookeepers=3) as cluster:
        cluster.create_topic("orders", partitions=6, replication_factor=3)
        producer = confluent_kafka.Producer({"bootstrap.servers": cluster.bootstrap_servers})
        leader = cluster.leader("orders", 0)
        cluster.kill(leader)                                   # SIGKILL
        cluster.wait_for(lambda: cluster.leader("orders", 0) not in (leader, -1), what="a new leader")
        cluster.restart(leader)

Every ZooKeeper server and broker is a separate process (JVM / ``python -m
kafkapy.tools.server_start``) with its own temporary directory, free ports and kept logs
(`log_sections()` returns their tails; the pytest plugin attaches them to failed tests).
Brokers have ids 1..n. Startup returns once every broker is registered in ZooKeeper, a
controller is elected and (when confluent-kafka is installed) every broker's metadata lists
all brokers.

Networks:
  * ``network="loopback"`` (default): everything on 127.0.0.1; `isolate` is unsupported.
  * ``network="netns"``: each broker runs in its own network namespace with its own address
    (see `kafkapy.testing.netns`); ZooKeeper and the test process stay in the root namespace.
    `isolate(b)` is a real partition: broker b loses ZooKeeper, its peers and every client.
    Needs Linux, root and iproute2; otherwise `NetnsUnavailableError` says why.

Faults: `kill` (SIGKILL by default), `stop` (SIGTERM: controlled shutdown), `pause`/`resume`
(SIGSTOP/SIGCONT), `restart`, `expire_zk_session`, `kill_zookeeper`/`restart_zookeeper`,
`isolate`/`heal`.

`expire_zk_session(b)` pauses the broker (SIGSTOP) until ZooKeeper has expired its session,
seen as its ephemeral ``/brokers/ids/<b>`` znode disappearing, then resumes it: the broker
finds its session expired and must re-register. ZooKeeper does not reveal a session's
password, so the "second client on the same session" trick is not available from outside.
"""
from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import signal as signals
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.testing.broker import BrokerProcess, BrokerStartError
from kafkapy.testing.netns import ClusterNetwork, NetnsUnavailableError, netns_unavailable_reason
from kafkapy.testing.zookeeper import DEFAULT_JVM_OPTIONS, ZooKeeperEnsemble, ZooKeeperServer
from kafkapy.zk.admin_zk import AdminZkClient
from kafkapy.zk.kafka_zk import KafkaZkClient

log = logging.getLogger(__name__)

T = TypeVar("T")

NETWORK_MODES = ("loopback", "netns")
NETNS_BROKER_PORT = 9092
NO_LEADER = -1


class ClusterError(RuntimeError):
    """The cluster did not reach the expected state."""


class UnsupportedFaultError(RuntimeError):
    """The fault needs a network mode this cluster does not use."""


class ClusterBroker(BrokerProcess):
    """A `BrokerProcess` that may run inside a network namespace (`command_prefix`)."""

    def __init__(self, *args: Any, command_prefix: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command_prefix = list(command_prefix)
        self.paused = False

    def command(self) -> list[str]:
        # `ip netns exec` enters the namespace and execs the broker: the pid stays the broker's.
        return [*self.command_prefix, *super().command()]

    def banner(self) -> str:
        if self.command_prefix:
            return f"\n===== start {self.starts + 1} (namespace) =====\n"
        return super().banner()

    def signal(self, signum: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)


class _ZkSession:
    """One `KafkaZkClient` on a private event loop thread, for synchronous callers."""

    def __init__(self, connect_string: str, session_timeout_ms: int = 10000) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kafkapy-cluster-zk", daemon=True)
        self._thread.start()
        self._client: KafkaZkClient | None = None
        try:
            self._client = self._submit(KafkaZkClient.connect(connect_string, session_timeout_ms=session_timeout_ms),
                                        timeout_s=30.0)
        except BaseException:
            self._stop_loop()
            raise

    def _submit(self, coro: Awaitable[T], timeout_s: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise

    def run(self, fn: Callable[[KafkaZkClient], Awaitable[T]], timeout_s: float = 15.0) -> T:
        if self._client is None:
            raise ClusterError("the cluster's ZooKeeper session is closed")
        return self._submit(fn(self._client), timeout_s)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                self._submit(client.close(), timeout_s=10.0)
            except (TimeoutError, OSError) as exc:
                log.warning("closing the cluster's ZooKeeper session failed: %r", exc)
        self._stop_loop()


class ClusterReads:
    """What LocalCluster and the container cluster share: ZooKeeper reads, topic creation, waiting.

    Subclasses set `_zk` (a `_ZkSession`), `n_brokers`, `topic_defaults`, and implement
    `_bootstrap_of(broker_id)`, `_expected_brokers()` and `_metadata_brokers()`."""

    _zk: "_ZkSession | None"
    n_brokers: int
    topic_defaults: dict[str, str]

    def _bootstrap_of(self, broker_id: int) -> str:
        raise NotImplementedError

    def _expected_brokers(self) -> set[int]:
        raise NotImplementedError

    def _metadata_brokers(self) -> list[int]:
        """Brokers whose metadata `create_topic` waits for (running, reachable)."""
        raise NotImplementedError

    # ================================================================== ZooKeeper reads
    def zk(self, fn: Callable[[KafkaZkClient], Awaitable[T]], timeout_s: float = 15.0) -> T:
        """Run `fn(KafkaZkClient)` on the cluster's own ZooKeeper session and return its result."""
        if self._zk is None:
            raise ClusterError("cluster not started")
        return self._zk.run(fn, timeout_s)

    def _registered(self) -> set[int]:
        return set(self.zk(lambda zk: zk.get_sorted_broker_ids()))

    def registered_brokers(self) -> list[int]:
        """Broker ids registered in ZooKeeper now."""
        return sorted(self._registered())

    def controller(self) -> int | None:
        """The active controller's broker id, or None."""
        return self.zk(lambda zk: zk.get_controller_id())

    def partition_state(self, topic: str, partition: int) -> LeaderAndIsr | None:
        return self.zk(lambda zk: zk.get_topic_partition_state(TopicPartition(topic, partition)))

    def leader(self, topic: str, partition: int) -> int | None:
        """Leader from ZooKeeper's partition state: a broker id, -1 (no leader) or None (no state)."""
        state = self.partition_state(topic, partition)
        return state.leader if state is not None else None

    def isr(self, topic: str, partition: int) -> list[int]:
        state = self.partition_state(topic, partition)
        return list(state.isr) if state is not None else []

    def replicas(self, topic: str, partition: int) -> list[int]:
        assignment = self.zk(lambda zk: zk.get_topic_assignment(topic))
        if assignment is None or partition not in assignment.partitions:
            return []
        return list(assignment.partitions[partition].replicas)

    # ================================================================== topics
    def create_topic(self, name: str, partitions: int = 1, replication_factor: int | None = None,
                     config: Mapping[str, str] | None = None, *, wait: bool = True,
                     timeout_s: float = 30.0) -> dict[int, list[int]]:
        """Create a topic through AdminZkClient (as ``kafka-topics.sh --zookeeper``); returns the
        assignment. With `wait`, returns once every partition has a leader in ZooKeeper and every
        live broker's metadata shows it. `replication_factor` defaults to min(3, brokers)."""
        rf = replication_factor if replication_factor is not None else min(3, self.n_brokers)
        configs = {**self.topic_defaults, **{k: str(v) for k, v in (config or {}).items()}}
        assignment = self.zk(lambda zk: AdminZkClient(zk).create_topic(name, partitions, rf, configs))
        if wait:
            self.wait_for(lambda: all((self.leader(name, p) or NO_LEADER) >= 0 for p in range(partitions)),
                          timeout_s, f"every partition of {name} to have a leader")
            self._wait_metadata(self._metadata_brokers(), timeout_s, topic=name, partitions=partitions)
        return assignment

    def _wait_metadata(self, broker_ids: Iterable[int], timeout_s: float, topic: str | None = None,
                       partitions: int = 0) -> None:
        try:
            from confluent_kafka.admin import AdminClient
        except ImportError:
            return
        expected = self._expected_brokers()
        for broker_id in broker_ids:
            admin = AdminClient({"bootstrap.servers": self._bootstrap_of(broker_id), "socket.timeout.ms": 5000})

            def ready(admin: Any = admin) -> bool:
                md = admin.list_topics(topic, timeout=5)
                if {b for b in md.brokers} != expected:
                    return False
                if topic is None:
                    return True
                t = md.topics.get(topic)
                return (t is not None and t.error is None and len(t.partitions) == partitions
                        and all(p.leader >= 0 for p in t.partitions.values()))
            self.wait_for(ready, timeout_s, f"broker {broker_id}'s metadata to show brokers {sorted(expected)}"
                          + (f" and leaders for {topic}" if topic else ""))

    # ================================================================== waiting
    def wait_for(self, predicate: Callable[[], T], timeout_s: float = 30.0, what: str = "the condition",
                 interval_s: float = 0.1) -> T:
        """Poll `predicate` until it returns something truthy (returned) or `timeout_s` passes
        (`ClusterError` naming `what`, the last value and the last exception)."""
        deadline = time.monotonic() + timeout_s
        last: Any = None
        last_error: BaseException | None = None
        while True:
            try:
                last = predicate()
                last_error = None
                if last:
                    return last
            except Exception as exc:  # noqa: BLE001 - kept and reported on timeout
                last_error = exc
            if time.monotonic() >= deadline:
                detail = f"last error: {last_error!r}" if last_error is not None else f"last value: {last!r}"
                raise ClusterError(f"timed out after {timeout_s:.1f} s waiting for {what} ({detail})")
            time.sleep(interval_s)  # polling other processes: there is nothing to await

    def wait_registered(self, broker_id: int, timeout_s: float = 60.0) -> None:
        self.wait_for(lambda: broker_id in self._registered(), timeout_s, f"broker {broker_id} to register")

    def wait_unregistered(self, broker_id: int, timeout_s: float = 60.0) -> None:
        self.wait_for(lambda: broker_id not in self._registered(), timeout_s,
                      f"broker {broker_id}'s registration to disappear")



_LIVE_CLUSTERS: "weakref.WeakSet[LocalCluster]" = weakref.WeakSet()


def _close_leftovers() -> None:
    for cluster in list(_LIVE_CLUSTERS):
        cluster.close(failed=True)


atexit.register(_close_leftovers)


class LocalCluster(ClusterReads):
    """ZooKeeper (1 or 3 servers) and `brokers` kafkapy brokers as local processes.

    Args:
        brokers: number of brokers (ids 1..brokers).
        zookeepers: ensemble size (1 = standalone, 3 = quorum).
        broker_config: server properties for every broker (override the test defaults below).
        topic_defaults: topic configs applied by `create_topic` unless the call overrides them.
        network: ``"loopback"`` or ``"netns"`` (see the module docstring).
        base_dir: where process directories go (default: a temp dir removed on a clean exit).
        zookeeper_tick_ms: ZooKeeper's tick; sessions can be as short as two ticks.
        start_timeout_s: limit for the whole startup.
        keep_dirs: keep the temporary directory (logs, data) even after a clean exit; it is
            always kept when startup or the ``with`` body fails.
    """

    def __init__(self, brokers: int = 3, zookeepers: int = 1, *, broker_config: Mapping[str, Any] | None = None,
                 topic_defaults: Mapping[str, str] | None = None, network: str = "loopback",
                 base_dir: str | os.PathLike[str] | None = None, zookeeper_tick_ms: int = 500,
                 start_timeout_s: float = 90.0, keep_dirs: bool = False) -> None:
        if brokers < 1:
            raise ValueError("a cluster needs at least one broker")
        if zookeepers not in (1, 3, 5):
            raise ValueError("zookeepers must be 1, 3 or 5")
        if network not in NETWORK_MODES:
            raise ValueError(f"network must be one of {NETWORK_MODES}, not {network!r}")
        if network == "netns":
            reason = netns_unavailable_reason()
            if reason is not None:
                raise NetnsUnavailableError(f"LocalCluster(network='netns') is unavailable: {reason}")
        self.n_brokers = brokers
        self.n_zookeepers = zookeepers
        self.broker_config = dict(broker_config or {})
        self.topic_defaults = dict(topic_defaults or {})
        self.network_mode = network
        self.zookeeper_tick_ms = zookeeper_tick_ms
        self.start_timeout_s = start_timeout_s
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir) if base_dir is not None else Path(tempfile.mkdtemp(prefix="kafkapy-cluster-"))
        self.keep_dirs = keep_dirs
        self.network: ClusterNetwork | None = None
        self.ensemble: ZooKeeperEnsemble | None = None
        self.brokers: dict[int, ClusterBroker] = {}
        self._zk: _ZkSession | None = None
        self.startup_s: float | None = None

    # ================================================================== lifecycle
    def start(self) -> "LocalCluster":
        t0 = time.monotonic()
        _LIVE_CLUSTERS.add(self)
        try:
            self._start()
        except BaseException:
            log.error("cluster startup failed; logs kept in %s", self.base_dir)
            self.close(failed=True)
            raise
        self.startup_s = time.monotonic() - t0
        log.info("cluster of %d brokers and %d ZooKeeper servers up in %.2f s (%s)", self.n_brokers,
                 self.n_zookeepers, self.startup_s, self.bootstrap_servers)
        return self

    def _start(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        host = "127.0.0.1"
        if self.network_mode == "netns":
            self.network = ClusterNetwork().create()
            host = self.network.gateway
        # A quorum forms sooner when the election's notification back-off stays short (its
        # default grows to 60 s while peers are still starting).
        jvm_options = DEFAULT_JVM_OPTIONS + (("-Dzookeeper.fastleader.maxNotificationInterval=1000",)
                                             if self.n_zookeepers > 1 else ())
        self.ensemble = ZooKeeperEnsemble(self.n_zookeepers, self.base_dir / "zookeeper",
                                          tick_time_ms=self.zookeeper_tick_ms, host=host, jvm_options=jvm_options)
        # JVMs and Python brokers start side by side (brokers retry ZooKeeper until it serves):
        # the slow parts, JVM start-up and Python imports, overlap.
        for server in self.ensemble.servers:
            server.launch()
        for broker_id in range(1, self.n_brokers + 1):
            self.brokers[broker_id] = self._make_broker(broker_id)
        for broker in self.brokers.values():
            broker.launch()
        self.ensemble.wait_serving(self._left(deadline))
        for broker in self.brokers.values():
            broker.wait_started(self._left(deadline))
        self._zk = _ZkSession(self.zookeeper_connect)
        self.wait_for(lambda: self._registered() == set(self.brokers), self._left(deadline),
                      f"brokers {sorted(self.brokers)} to register in ZooKeeper")
        self.wait_for(lambda: self.controller() is not None, self._left(deadline), "a controller to be elected")
        self._wait_metadata(self.brokers, self._left(deadline))

    @staticmethod
    def _left(deadline: float) -> float:
        return max(1.0, deadline - time.monotonic())

    def _make_broker(self, broker_id: int) -> ClusterBroker:
        overrides: dict[str, Any] = {
            "auto.create.topics.enable": "true",
            "zookeeper.session.timeout.ms": 6000,
            # ZooKeeper starts beside the brokers: give it time to serve.
            "zookeeper.connection.timeout.ms": 60000,
            "controlled.shutdown.retry.backoff.ms": 200,
            "offsets.topic.replication.factor": 1,
            "offsets.topic.num.partitions": 5,
            "default.replication.factor": 1,
        }
        overrides.update(self.broker_config)
        work = self.base_dir / f"broker-{broker_id}"
        if self.network is not None:
            host = self.network.add_host(broker_id)
            return ClusterBroker(work, self.zookeeper_connect, broker_id=broker_id, host=host.address,
                                 port=NETNS_BROKER_PORT, overrides=overrides,
                                 command_prefix=self.network.exec_prefix(broker_id))
        return ClusterBroker(work, self.zookeeper_connect, broker_id=broker_id, overrides=overrides)

    def close(self, failed: bool = False) -> None:
        """Kill every process, remove namespaces; remove the directories unless kept or failed."""
        _LIVE_CLUSTERS.discard(self)
        if self._zk is not None:
            self._zk.close()
            self._zk = None
        for broker in self.brokers.values():
            if broker.paused:
                broker.signal(signals.SIGCONT)
                broker.paused = False
            broker.kill()
        if self.ensemble is not None:
            self.ensemble.kill()
        if self.network is not None:
            self.network.destroy()
        if self._own_dir and not self.keep_dirs and not failed:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> "LocalCluster":
        return self.start()

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            log.info("cluster logs and data kept in %s", self.base_dir)
        self.close(failed=exc_type is not None)

    # ================================================================== addresses
    @property
    def bootstrap_servers(self) -> str:
        return ",".join(b.bootstrap for b in self.brokers.values())

    @property
    def zookeeper_connect(self) -> str:
        if self.ensemble is None:
            raise ClusterError("cluster not started")
        return self.ensemble.connect_string

    @property
    def zookeepers(self) -> list[ZooKeeperServer]:
        return list(self.ensemble.servers) if self.ensemble is not None else []

    def broker(self, broker_id: int) -> ClusterBroker:
        try:
            return self.brokers[broker_id]
        except KeyError:
            raise KeyError(f"no broker {broker_id} (brokers: {sorted(self.brokers)})") from None

    def _bootstrap_of(self, broker_id: int) -> str:
        return self.broker(broker_id).bootstrap

    def _expected_brokers(self) -> set[int]:
        return set(self.brokers)

    def _metadata_brokers(self) -> list[int]:
        return [i for i in self.live_brokers() if not self.broker(i).paused
                and not (self.network is not None and self.network.is_isolated(i))]

    def live_brokers(self) -> list[int]:
        """Ids of brokers whose process runs (paused and isolated ones included)."""
        return [i for i, b in self.brokers.items() if b.is_running()]

    # ================================================================== broker faults
    def kill(self, broker_id: int, signal: int = signals.SIGKILL) -> None:
        """Send `signal` (default SIGKILL) and wait for the process to exit."""
        broker = self.broker(broker_id)
        if broker.paused:
            broker.signal(signals.SIGCONT)
            broker.paused = False
        if signal == signals.SIGKILL:
            broker.kill()
            return
        broker.signal(signal)
        if broker.proc is not None:
            try:
                broker.proc.wait(60)
            except subprocess.TimeoutExpired:
                raise ClusterError(f"broker {broker_id} did not exit after signal {signal}") from None
        broker.kill()   # reap and close the console

    def stop(self, broker_id: int, timeout_s: float = 60.0) -> int | None:
        """SIGTERM: a controlled shutdown. Returns the exit code."""
        broker = self.broker(broker_id)
        if broker.paused:
            self.resume(broker_id)
        return broker.stop(timeout_s)

    def pause(self, broker_id: int) -> None:
        """SIGSTOP: the process freezes (its ZooKeeper session expires after the timeout)."""
        broker = self.broker(broker_id)
        broker.signal(signals.SIGSTOP)
        broker.paused = True

    def resume(self, broker_id: int) -> None:
        """SIGCONT after `pause`."""
        broker = self.broker(broker_id)
        broker.signal(signals.SIGCONT)
        broker.paused = False

    def start_broker(self, broker_id: int, timeout_s: float = 60.0) -> None:
        """Start a stopped or killed broker on the same port and directories; wait until registered."""
        broker = self.broker(broker_id)
        for attempt in range(3):
            broker.launch()
            try:
                broker.wait_started(timeout_s)
                break
            except BrokerStartError:
                # A broker killed a moment ago may still hold its registration: Kafka refuses to
                # start while the old ephemeral znode exists, so wait for it to go and retry.
                if broker.is_running() or attempt == 2:
                    raise
                self.wait_unregistered(broker_id, timeout_s)
        self.wait_registered(broker_id, timeout_s)

    def restart(self, broker_id: int, timeout_s: float = 60.0) -> None:
        """Stop (SIGTERM) if running, start again, wait until registered."""
        broker = self.broker(broker_id)
        if broker.is_running():
            self.stop(broker_id)
        self.start_broker(broker_id, timeout_s)

    def expire_zk_session(self, broker_id: int, timeout_s: float = 60.0) -> None:
        """Expire the broker's ZooKeeper session: SIGSTOP until ZooKeeper deletes its ephemeral
        registration, then SIGCONT; returns once the broker has registered again."""
        broker = self.broker(broker_id)
        if not broker.is_running():
            raise ClusterError(f"broker {broker_id} is not running")
        self.pause(broker_id)
        try:
            self.wait_unregistered(broker_id, timeout_s)
        finally:
            self.resume(broker_id)
        self.wait_registered(broker_id, timeout_s)

    # ================================================================== network faults
    def _require_netns(self, what: str) -> ClusterNetwork:
        if self.network is None:
            reason = netns_unavailable_reason()
            hint = "" if reason is None else f" (and netns mode is unavailable here: {reason})"
            raise UnsupportedFaultError(f"{what} needs LocalCluster(network='netns'); this cluster uses "
                                        f"{self.network_mode!r}{hint}")
        return self.network

    def isolate(self, broker_id: int) -> None:
        """Cut the broker off from ZooKeeper, the other brokers and clients (netns mode)."""
        self.broker(broker_id)
        self._require_netns("isolate").isolate(broker_id)

    def heal(self, broker_id: int) -> None:
        """Reconnect a broker cut off by `isolate`."""
        self.broker(broker_id)
        self._require_netns("heal").heal(broker_id)

    # ================================================================== ZooKeeper faults
    def kill_zookeeper(self, index: int) -> None:
        """SIGKILL ZooKeeper server `index` (0-based)."""
        self.zookeepers[index].kill()

    def stop_zookeeper(self, index: int) -> None:
        self.zookeepers[index].stop()

    def restart_zookeeper(self, index: int, timeout_s: float = 60.0) -> None:
        """Start ZooKeeper server `index` again (same port and data) and wait until it serves."""
        server = self.zookeepers[index]
        if server.is_running():
            server.stop()
        server.launch()
        server.wait_ready(timeout_s)

    # ================================================================== logs
    def log_sections(self, lines: int = 150) -> list[tuple[str, str]]:
        """(title, tail) of every process's log, for failure reports."""
        sections: list[tuple[str, str]] = []
        for broker_id, broker in self.brokers.items():
            state = "running" if broker.is_running() else "stopped"
            sections.append((f"kafkapy broker {broker_id} ({broker.bootstrap}, {state}) console",
                             broker.log_tail(lines)))
        for i, server in enumerate(self.zookeepers):
            sections.append((f"ZooKeeper {i} ({server.host}:{server.client_port}) log", server.log_tail(lines)))
        return sections

    def __repr__(self) -> str:
        return (f"LocalCluster(brokers={self.n_brokers}, zookeepers={self.n_zookeepers}, "
                f"network={self.network_mode!r}, dir={self.base_dir})")


__all__ = ["LocalCluster", "ClusterReads", "ClusterBroker", "ClusterError", "UnsupportedFaultError", "NetnsUnavailableError"]
