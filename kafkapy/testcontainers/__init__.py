"""kafkapy clusters in Docker through testcontainers: ZooKeeper, brokers, several of each, and faults.

    from kafkapy.testcontainers import KafkapyCluster

    with KafkapyCluster(brokers=3) as cluster:
        producer = confluent_kafka.Producer({"bootstrap.servers": cluster.get_bootstrap_server()})
        cluster.create_topic("orders", partitions=3, replication_factor=3)
        cluster.kill(cluster.leader("orders", 0))

Every container runs the kafkapy image (``KAFKAPY_IMAGE``, default ``kafkapy:test``, built by
``scripts/ci-docker.sh``; ZooKeeper needs an image built FROM ``kafkapy-base:bookworm``, which has
Java and ZooKeeper). All containers share a private Docker network. Each broker has two listeners:

* ``INTERNAL://broker<id>:9092`` for the other brokers (the inter-broker listener);
* ``EXTERNAL`` on container port 9093, published on ``127.0.0.1:<port>`` of the host and advertised
  as exactly that. The host port is chosen (free) *before* the container starts, so the broker
  advertises the right address from its first second: the usual problem of a single-listener
  Kafka container, whose mapped port is only known after start, does not arise.

ZooKeeper's client port is published on ``127.0.0.1`` too, so the cluster reads controller, leaders
and ISRs from ZooKeeper (`controller()`, `leader()`, `isr()`) and creates topics with AdminZkClient.

Faults by broker id: `kill` (SIGKILL), `stop` (SIGTERM: controlled shutdown), `pause`/`resume`
(cgroup freezer), `restart`, `isolate`/`heal` (``docker network disconnect``/``connect``: the broker
loses ZooKeeper, its peers and the published port), plus `kill_zookeeper`/`restart_zookeeper`.

Ryuk (the reaper container) cannot be pulled on offline machines, so this module sets
``TESTCONTAINERS_RYUK_DISABLED=true`` and ``TESTCONTAINERS_CONNECTION_MODE=docker_host`` unless they
are set already; containers and networks are removed by `stop()` / the ``with`` block, and at exit.
"""
from __future__ import annotations

import os

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

import atexit  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import weakref  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

from testcontainers.core.config import ConnectionMode  # noqa: E402
from testcontainers.core.config import testcontainers_config as _tc_config  # noqa: E402
from testcontainers.core.container import DockerContainer  # noqa: E402
from testcontainers.core.network import Network  # noqa: E402

from kafkapy.testing.broker import free_port  # noqa: E402
from kafkapy.testing.cluster import ClusterError, ClusterReads, _ZkSession  # noqa: E402

log = logging.getLogger(__name__)

# testcontainers reads its configuration when first imported: honour our defaults if it was
# imported before this module set them.
if os.environ.get("TESTCONTAINERS_CONNECTION_MODE") == "docker_host" and _tc_config.connection_mode_override is None:
    _tc_config.connection_mode_override = ConnectionMode.docker_host
if os.environ.get("TESTCONTAINERS_RYUK_DISABLED", "").lower() in ("true", "1", "yes"):
    _tc_config.ryuk_disabled = True

DEFAULT_IMAGE = os.environ.get("KAFKAPY_IMAGE", "kafkapy:test")
INTERNAL_PORT = 9092
EXTERNAL_PORT = 9093
ZOOKEEPER_PORT = 2181
HOST = "127.0.0.1"


def docker_unavailable_reason(image: str | None = DEFAULT_IMAGE) -> str | None:
    """None when a Docker engine answers (and `image` exists, if given); else why not."""
    try:
        import docker
        client = docker.from_env(timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable engine"; the reason is returned
        return f"no Docker engine reachable: {exc}"
    try:
        client.ping()
        if image is not None:
            try:
                client.images.get(image)
            except docker.errors.ImageNotFound:
                return f"image {image} not found (build it with scripts/ci-docker.sh)"
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        return f"Docker engine not usable: {exc}"
    finally:
        client.close()
    return None


def _publish(container: DockerContainer, container_port: int, host_port: int) -> None:
    # Bind on the loopback interface only (docker-py accepts (address, port) here).
    container.ports[f"{container_port}/tcp"] = (HOST, host_port)  # type: ignore[assignment]


def _logs(container: DockerContainer) -> str:
    try:
        data = container.get_wrapped_container().logs()
    except Exception as exc:  # noqa: BLE001 - the container may be gone; say so in the report
        return f"<no logs: {exc!r}>"
    return data.decode("utf-8", "replace")


def _poll(predicate: Any, timeout_s: float, what: str, interval_s: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ClusterError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)  # polling a container: nothing to await


class ZooKeeperContainer(DockerContainer):
    """One ZooKeeper node (``<image> zookeeper``), standalone or member `server_id` of `servers`."""

    def __init__(self, image: str = DEFAULT_IMAGE, *, server_id: int = 1, servers: int = 1,
                 alias_prefix: str = "zk", network: Network | None = None, host_port: int | None = None,
                 tick_time_ms: int = 500, **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        self.server_id = server_id
        self.alias = f"{alias_prefix}{server_id}"
        self.host_port = host_port or free_port(HOST)
        self.with_command("zookeeper")
        self.with_env("ZOO_MY_ID", str(server_id))
        self.with_env("ZOO_TICK_TIME", str(tick_time_ms))
        self.with_env("ZOO_INIT_LIMIT", "20")
        self.with_env("ZOO_SYNC_LIMIT", "10")
        self.with_env("ZOO_MAX_CLIENT_CNXNS", "0")
        if servers > 1:
            self.with_env("ZOO_SERVERS", " ".join(f"server.{i}={alias_prefix}{i}:2888:3888;{ZOOKEEPER_PORT}"
                                                  for i in range(1, servers + 1)))
            self.with_env("ZOO_CFG_EXTRA", "quorumListenOnAllIPs=true")
            # Keep the election's notification back-off short while peers are still starting.
            self.with_env("JVMFLAGS", "-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "
                                      "-Dzookeeper.fastleader.maxNotificationInterval=1000")
        if network is not None:
            self.with_network(network)
            self.with_network_aliases(self.alias)
        _publish(self, ZOOKEEPER_PORT, self.host_port)

    def get_connect_string(self) -> str:
        """From the host: ``127.0.0.1:<published port>``."""
        return f"{HOST}:{self.host_port}"

    @property
    def internal_connect_string(self) -> str:
        """From containers on the same network: ``zk<id>:2181``."""
        return f"{self.alias}:{ZOOKEEPER_PORT}"

    def is_ready(self) -> bool:
        try:
            return self.exec(["zk-ready"]).exit_code == 0
        except Exception as exc:  # noqa: BLE001 - not running (yet): keep polling
            log.debug("zk-ready in %s: %r", self.alias, exc)
            return False

    def wait_ready(self, timeout_s: float = 90.0) -> "ZooKeeperContainer":
        _poll(self.is_ready, timeout_s, f"ZooKeeper {self.alias} to serve\n{_logs(self)[-3000:]}")
        return self


class KafkapyBrokerContainer(DockerContainer):
    """One kafkapy broker with an internal listener (for brokers) and a published external one."""

    def __init__(self, image: str = DEFAULT_IMAGE, *, broker_id: int = 1, zookeeper_connect: str = "zk1:2181",
                 network: Network | None = None, alias_prefix: str = "broker", host_port: int | None = None,
                 config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(image, **kwargs)
        self.broker_id = broker_id
        self.alias = f"{alias_prefix}{broker_id}"
        self.host_port = host_port or free_port(HOST)
        self.starts = 0
        props: dict[str, Any] = {
            "broker.id": broker_id,
            "zookeeper.connect": zookeeper_connect,
            "listeners": f"INTERNAL://0.0.0.0:{INTERNAL_PORT},EXTERNAL://0.0.0.0:{EXTERNAL_PORT}",
            "advertised.listeners": f"INTERNAL://{self.alias}:{INTERNAL_PORT},EXTERNAL://{HOST}:{self.host_port}",
            "listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
            "inter.broker.listener.name": "INTERNAL",
            "zookeeper.session.timeout.ms": 6000,
            # ZooKeeper starts beside the brokers: give it time to serve.
            "zookeeper.connection.timeout.ms": 60000,
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
            "controlled.shutdown.retry.backoff.ms": 200,
        }
        props.update(config or {})
        for name, value in props.items():
            self.with_env(env_name(name), str(value))
        self.with_command("broker")
        if network is not None:
            self.with_network(network)
            self.with_network_aliases(self.alias)
        _publish(self, EXTERNAL_PORT, self.host_port)

    def get_bootstrap_server(self) -> str:
        return f"{HOST}:{self.host_port}"

    def _started_count(self) -> int:
        return len(re.findall(rf"\[KafkaServer id={self.broker_id}\] started", _logs(self)))

    def wait_started(self, timeout_s: float = 90.0) -> "KafkapyBrokerContainer":
        """Wait for the broker's "started" line of the current (re)start."""
        want = self.starts

        def started() -> bool:
            self.reload()
            if self.status in ("exited", "dead"):
                raise ClusterError(f"broker {self.broker_id} container exited:\n{_logs(self)[-4000:]}")
            return self._started_count() >= want
        _poll(started, timeout_s, f"broker {self.broker_id} to start")
        return self

    def start(self) -> "KafkapyBrokerContainer":
        super().start()
        self.starts += 1
        return self


def env_name(prop: str) -> str:
    """``zookeeper.connect`` -> ``KAFKA_ZOOKEEPER_CONNECT`` (``_`` -> ``__``, ``-`` -> ``___``)."""
    return "KAFKA_" + prop.replace("-", "\0").replace("_", "__").replace(".", "_").replace("\0", "___").upper()


_LIVE: "weakref.WeakSet[KafkapyCluster]" = weakref.WeakSet()


def _stop_leftovers() -> None:
    for cluster in list(_LIVE):
        cluster.stop_all()


atexit.register(_stop_leftovers)


class KafkapyCluster(ClusterReads):
    """`zookeepers` ZooKeeper containers and `brokers` kafkapy brokers (ids 1..n) on a private network."""

    def __init__(self, brokers: int = 3, zookeepers: int = 1, *, image: str = DEFAULT_IMAGE,
                 broker_config: Mapping[str, Any] | None = None, topic_defaults: Mapping[str, str] | None = None,
                 start_timeout_s: float = 180.0) -> None:
        if brokers < 1 or zookeepers not in (1, 3, 5):
            raise ValueError("need at least one broker and 1, 3 or 5 ZooKeeper nodes")
        self.n_brokers = brokers
        self.n_zookeepers = zookeepers
        self.image = image
        self.broker_config = dict(broker_config or {})
        self.topic_defaults = dict(topic_defaults or {})
        self.start_timeout_s = start_timeout_s
        self.tag = uuid.uuid4().hex[:6]
        self.network: Network | None = None
        self.zookeeper_nodes: list[ZooKeeperContainer] = []
        self.brokers: dict[int, KafkapyBrokerContainer] = {}
        self._isolated: set[int] = set()
        self._paused: set[int] = set()
        self._zk: _ZkSession | None = None
        self.startup_s: float | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "KafkapyCluster":
        t0 = time.monotonic()
        _LIVE.add(self)
        try:
            self._start()
        except BaseException:
            self.stop_all()
            raise
        self.startup_s = time.monotonic() - t0
        log.info("container cluster %s up in %.1f s: %s", self.tag, self.startup_s, self.get_bootstrap_server())
        return self

    def _start(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        self.network = Network(docker_network_kw={"labels": {"kafkapy.cluster": self.tag}}).create()
        self.zookeeper_nodes = [ZooKeeperContainer(self.image, server_id=i, servers=self.n_zookeepers,
                                                   network=self.network)
                                for i in range(1, self.n_zookeepers + 1)]
        connect = ",".join(z.internal_connect_string for z in self.zookeeper_nodes)
        config = {"offsets.topic.replication.factor": 1, **self.broker_config}
        self.brokers = {i: KafkapyBrokerContainer(self.image, broker_id=i, zookeeper_connect=connect,
                                                  network=self.network, config=config)
                        for i in range(1, self.n_brokers + 1)}
        containers: list[DockerContainer] = [*self.zookeeper_nodes, *self.brokers.values()]
        # Creating and starting containers is mostly waiting on dockerd: do it side by side. The
        # brokers retry ZooKeeper until the ensemble serves.
        with ThreadPoolExecutor(max_workers=len(containers)) as pool:
            for future in [pool.submit(c.start) for c in containers]:
                future.result()
        for node in self.zookeeper_nodes:
            node.wait_ready(self._left(deadline))
        for broker in self.brokers.values():
            broker.wait_started(self._left(deadline))
        self._zk = _ZkSession(self.zookeeper_connect)
        self.wait_for(lambda: self._registered() == set(self.brokers), self._left(deadline),
                      f"brokers {sorted(self.brokers)} to register")
        self.wait_for(lambda: self.controller() is not None, self._left(deadline), "a controller")
        self._wait_metadata(list(self.brokers), self._left(deadline))

    @staticmethod
    def _left(deadline: float) -> float:
        return max(1.0, deadline - time.monotonic())

    def stop_all(self) -> None:
        """Remove every container and the network (idempotent)."""
        _LIVE.discard(self)
        if self._zk is not None:
            self._zk.close()
            self._zk = None
        for container in [*self.brokers.values(), *self.zookeeper_nodes]:
            try:
                if container._container is not None:
                    container.stop()
            except Exception as exc:  # noqa: BLE001 - keep removing the others; reported
                log.warning("removing container %s failed: %r", getattr(container, "alias", "?"), exc)
        if self.network is not None:
            try:
                self.network.remove()
            except Exception as exc:  # noqa: BLE001 - reported
                log.warning("removing network %s failed: %r", self.network.name, exc)
            self.network = None

    def __enter__(self) -> "KafkapyCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    # ------------------------------------------------------------------ addresses
    def get_bootstrap_server(self) -> str:
        """Comma-separated host addresses of every broker (``127.0.0.1:<port>,...``)."""
        return ",".join(b.get_bootstrap_server() for b in self.brokers.values())

    @property
    def bootstrap_servers(self) -> str:
        return self.get_bootstrap_server()

    @property
    def zookeeper_connect(self) -> str:
        """ZooKeeper from the host."""
        return ",".join(z.get_connect_string() for z in self.zookeeper_nodes)

    def broker(self, broker_id: int) -> KafkapyBrokerContainer:
        try:
            return self.brokers[broker_id]
        except KeyError:
            raise KeyError(f"no broker {broker_id} (brokers: {sorted(self.brokers)})") from None

    def _bootstrap_of(self, broker_id: int) -> str:
        return self.broker(broker_id).get_bootstrap_server()

    def _expected_brokers(self) -> set[int]:
        return set(self.brokers)

    def _metadata_brokers(self) -> list[int]:
        return [i for i, b in self.brokers.items()
                if i not in self._isolated and i not in self._paused and self._status(i) == "running"]

    def _status(self, broker_id: int) -> str:
        broker = self.broker(broker_id)
        broker.reload()
        return broker.status

    # ------------------------------------------------------------------ faults
    def kill(self, broker_id: int, signal: str = "SIGKILL") -> None:
        """``docker kill`` (SIGKILL by default); waits until the container has exited."""
        broker = self.broker(broker_id)
        if broker_id in self._paused:
            self.resume(broker_id)
        broker.get_wrapped_container().kill(signal=signal)
        _poll(lambda: self._status(broker_id) in ("exited", "dead"), 60, f"broker {broker_id} to exit")

    def stop(self, broker_id: int, timeout_s: int = 60) -> int:
        """``docker stop``: SIGTERM (controlled shutdown), SIGKILL after `timeout_s`. Returns the exit code."""
        broker = self.broker(broker_id)
        if broker_id in self._paused:
            self.resume(broker_id)
        wrapped = broker.get_wrapped_container()
        wrapped.stop(timeout=timeout_s)
        return int(wrapped.wait(timeout=timeout_s + 10)["StatusCode"])

    def pause(self, broker_id: int) -> None:
        self.broker(broker_id).get_wrapped_container().pause()
        self._paused.add(broker_id)

    def resume(self, broker_id: int) -> None:
        self.broker(broker_id).get_wrapped_container().unpause()
        self._paused.discard(broker_id)

    def start_broker(self, broker_id: int, timeout_s: float = 90.0) -> None:
        """Start a stopped or killed broker container again (same ports, data and config)."""
        broker = self.broker(broker_id)
        broker.get_wrapped_container().start()
        broker.starts += 1
        broker.wait_started(timeout_s)
        self.wait_registered(broker_id, timeout_s)

    def restart(self, broker_id: int, timeout_s: float = 90.0) -> None:
        if self._status(broker_id) == "running":
            self.stop(broker_id)
        self.start_broker(broker_id, timeout_s)

    def isolate(self, broker_id: int) -> None:
        """Disconnect the broker from the cluster network: no ZooKeeper, no peers, no clients."""
        broker = self.broker(broker_id)
        assert self.network is not None
        self.network._unwrap_network.disconnect(broker.get_wrapped_container(), force=True)
        self._isolated.add(broker_id)

    def heal(self, broker_id: int) -> None:
        """Reconnect a broker cut off by `isolate` (with its network alias)."""
        broker = self.broker(broker_id)
        assert self.network is not None
        self.network.connect(broker.get_container_id(), network_aliases=[broker.alias])
        self._isolated.discard(broker_id)

    def kill_zookeeper(self, index: int) -> None:
        self.zookeeper_nodes[index].get_wrapped_container().kill()

    def restart_zookeeper(self, index: int, timeout_s: float = 90.0) -> None:
        node = self.zookeeper_nodes[index]
        wrapped = node.get_wrapped_container()
        wrapped.reload()
        if wrapped.status == "running":
            wrapped.stop(timeout=20)
        wrapped.start()
        node.wait_ready(timeout_s)

    # ------------------------------------------------------------------ logs
    def log_sections(self, lines: int = 150) -> list[tuple[str, str]]:
        sections = []
        for broker_id, broker in self.brokers.items():
            tail = "\n".join(_logs(broker).splitlines()[-lines:])
            sections.append((f"kafkapy broker container {broker_id} ({broker.get_bootstrap_server()})", tail))
        for node in self.zookeeper_nodes:
            tail = "\n".join(_logs(node).splitlines()[-lines:])
            sections.append((f"ZooKeeper container {node.alias} ({node.get_connect_string()})", tail))
        return sections

    def __repr__(self) -> str:
        return f"KafkapyCluster(brokers={self.n_brokers}, zookeepers={self.n_zookeepers}, image={self.image})"


__all__ = ["ZooKeeperContainer", "KafkapyBrokerContainer", "KafkapyCluster", "docker_unavailable_reason",
           "env_name", "DEFAULT_IMAGE"]
