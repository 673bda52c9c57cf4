"""Cluster metadata for kafkapy's clients and the connections they share.

``ClusterMetadata`` is an immutable snapshot of one Metadata response. ``KafkaClient`` owns
the connections of one client (one per broker, opened on demand, replaced when closed),
bootstraps from ``bootstrap.servers`` and refreshes the snapshot::

    client = KafkaClient(["127.0.0.1:9092"], client_id="me")
    md = await client.refresh_metadata(["orders"])
    conn = await client.connection(md.leader_for(TopicPartition("orders", 0)))
    await client.close()
"""
from __future__ import annotations

import asyncio
import base64
import logging
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kafkapy.clients.net import BrokerConnection, BrokerConnectError, DEFAULT_REQUEST_TIMEOUT_MS
from kafkapy.clients.errors import KafkaTimeoutError
from kafkapy.common.errors import ErrorCode, NetworkError, raise_for_code
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.messages import get_api

__all__ = ["Node", "PartitionMetadata", "TopicMetadata", "ClusterMetadata", "KafkaClient",
           "parse_bootstrap_servers", "NoBrokersAvailableError"]

log = logging.getLogger(__name__)

NO_LEADER = -1


class NoBrokersAvailableError(NetworkError):
    """None of the bootstrap servers (or known brokers) could be reached."""


@dataclass(frozen=True, slots=True)
class Node:
    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass(frozen=True, slots=True)
class PartitionMetadata:
    topic: str
    partition: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    offline_replicas: tuple[int, ...] = ()
    error_code: int = 0


@dataclass(frozen=True, slots=True)
class TopicMetadata:
    name: str
    error_code: int
    is_internal: bool
    partitions: dict[int, PartitionMetadata] = field(default_factory=dict)
    topic_id: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterMetadata:
    brokers: dict[int, Node]
    topics: dict[str, TopicMetadata]
    controller_id: int = -1
    cluster_id: str | None = None

    def partition(self, tp: TopicPartition) -> PartitionMetadata | None:
        t = self.topics.get(tp.topic)
        return t.partitions.get(tp.partition) if t is not None else None

    def leader_for(self, tp: TopicPartition) -> int:
        p = self.partition(tp)
        return p.leader if p is not None else NO_LEADER

    def partition_count(self, topic: str) -> int | None:
        t = self.topics.get(topic)
        if t is None or t.error_code != ErrorCode.NONE or not t.partitions:
            return None
        return len(t.partitions)

    def available_partitions(self, topic: str) -> list[int]:
        t = self.topics.get(topic)
        if t is None:
            return []
        return sorted(p for p, m in t.partitions.items() if m.leader >= 0 and m.leader in self.brokers)


def parse_bootstrap_servers(servers: str | Sequence[str]) -> list[tuple[str, int]]:
    """``"h1:9092,h2:9093"`` (or a list of ``host:port``) → [(host, port), ...]."""
    items = servers.split(",") if isinstance(servers, str) else list(servers)
    result: list[tuple[str, int]] = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"Invalid url in bootstrap.servers: {item}")
        result.append((host.strip("[]"), int(port)))
    if not result:
        raise ValueError("No resolvable bootstrap urls given in bootstrap.servers")
    return result


def kafka_uuid_string(u: uuid.UUID) -> str:
    """Kafka's text form of a Uuid: URL-safe base64 of the 16 bytes, no padding."""
    return base64.urlsafe_b64encode(u.bytes).rstrip(b"=").decode()


def metadata_from_response(resp: object) -> ClusterMetadata:
    brokers = {b.node_id: Node(b.node_id, b.host, b.port, getattr(b, "rack", None))
               for b in resp.brokers}                                           # type: ignore[attr-defined]
    topics: dict[str, TopicMetadata] = {}
    for t in resp.topics:                                                       # type: ignore[attr-defined]
        parts = {p.partition_index: PartitionMetadata(t.name, p.partition_index, p.leader_id,
                                                      getattr(p, "leader_epoch", -1),
                                                      tuple(p.replica_nodes), tuple(p.isr_nodes),
                                                      tuple(getattr(p, "offline_replicas", ()) or ()),
                                                      p.error_code)
                 for p in t.partitions}
        tid = getattr(t, "topic_id", None)
        topics[t.name] = TopicMetadata(t.name, t.error_code, bool(getattr(t, "is_internal", False)), parts,
                                       kafka_uuid_string(tid) if tid is not None and tid.int != 0 else None)
    return ClusterMetadata(brokers, topics, getattr(resp, "controller_id", -1),
                           getattr(resp, "cluster_id", None))


class KafkaClient:
    """Connections to the brokers of one cluster plus the latest metadata snapshot."""

    def __init__(self, bootstrap_servers: str | Sequence[str], *, client_id: str = "kafkapy",
                 request_timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS, connect_timeout_ms: int = 10_000,
                 allow_auto_topic_creation: bool = True) -> None:
        self.bootstrap = parse_bootstrap_servers(bootstrap_servers)
        self.client_id = client_id
        self.request_timeout_ms = request_timeout_ms
        self.connect_timeout_ms = connect_timeout_ms
        self.allow_auto_topic_creation = allow_auto_topic_creation
        self.metadata = ClusterMetadata({}, {})
        self._conns: dict[int | tuple[str, int], BrokerConnection] = {}
        self._connecting: dict[int | tuple[str, int], asyncio.Future[BrokerConnection]] = {}
        self._refreshing: asyncio.Future[ClusterMetadata] | None = None
        self._closed = False

    # ---- connections -----------------------------------------------------------------
    async def _connect(self, key: int | tuple[str, int], host: str, port: int) -> BrokerConnection:
        conn = self._conns.get(key)
        if conn is not None and not conn.closed:
            return conn
        pending = self._connecting.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[BrokerConnection] = asyncio.get_running_loop().create_future()
        self._connecting[key] = fut
        try:
            conn = await BrokerConnection.connect(host, port, self.client_id, self.connect_timeout_ms,
                                                  request_timeout_ms=self.request_timeout_ms)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                fut.cancel()
            else:
                fut.set_exception(exc)
                fut.exception()                 # retrieved: waiters re-raise it themselves
            raise
        finally:
            self._connecting.pop(key, None)
        self._conns[key] = conn
        fut.set_result(conn)
        return conn

    async def connection(self, node_id: int) -> BrokerConnection:
        """The connection to broker `node_id` (known from metadata)."""
        node = self.metadata.brokers.get(node_id)
        if node is None:
            raise BrokerConnectError(f"broker {node_id} is not in the cluster metadata")
        return await self._connect(node_id, node.host, node.port)

    async def any_connection(self) -> BrokerConnection:
        """A connection to some live broker: an open one, a known broker, or a bootstrap server."""
        for conn in self._conns.values():
            if not conn.closed:
                return conn
        candidates: list[tuple[int | tuple[str, int], str, int]] = [
            (n.node_id, n.host, n.port) for n in self.metadata.brokers.values()]
        boot = list(self.bootstrap)
        random.shuffle(boot)
        candidates += [((h, p), h, p) for h, p in boot]
        errors: list[str] = []
        for key, host, port in candidates:
            try:
                return await self._connect(key, host, port)
            except BrokerConnectError as exc:
                errors.append(str(exc))
        raise NoBrokersAvailableError("no broker could be reached: " + "; ".join(errors))

    async def send(self, node_id: int | None, api_key: int, request: object, version: int | None = None,
                   timeout_ms: int | None = None) -> object:
        conn = await (self.any_connection() if node_id is None else self.connection(node_id))
        return await conn.send(api_key, request, version, timeout_ms=timeout_ms)

    # ---- metadata --------------------------------------------------------------------
    async def refresh_metadata(self, topics: Iterable[str] | None = None, *,
                               allow_auto_topic_creation: bool | None = None) -> ClusterMetadata:
        """Fetch metadata for `topics` (None: all topics) and merge it into the snapshot."""
        wanted = None if topics is None else sorted(set(topics))
        conn = await self.any_connection()
        version = conn.negotiated_version(ApiKey.METADATA)
        spec = get_api(ApiKey.METADATA)
        topic_cls = spec.request.struct("topics")
        if wanted is None:
            req_topics = [] if version == 0 else None
        else:
            req_topics = [topic_cls(name=t) for t in wanted]
            if version == 0 and not req_topics:
                return self.metadata
        auto = self.allow_auto_topic_creation if allow_auto_topic_creation is None else allow_auto_topic_creation
        request = spec.request(topics=req_topics, allow_auto_topic_creation=auto)
        resp = await conn.send(ApiKey.METADATA, request, version)
        fresh = metadata_from_response(resp)
        if wanted is None:
            merged = fresh
        else:
            topics_map = {k: v for k, v in self.metadata.topics.items() if k not in fresh.topics}
            topics_map.update(fresh.topics)
            merged = ClusterMetadata(fresh.brokers, topics_map, fresh.controller_id, fresh.cluster_id)
        self.metadata = merged
        for key in [k for k in self._conns if isinstance(k, int) and k not in merged.brokers]:
            await self._conns.pop(key).close()          # the broker left the cluster
        return merged

    async def wait_for_topic(self, topic: str, timeout_ms: int, backoff_ms: int = 100) -> TopicMetadata:
        """Refresh until `topic` has metadata with every partition led (or its error is final)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        while True:
            md = await self.refresh_metadata([topic])
            t = md.topics.get(topic)
            if t is not None and t.error_code == ErrorCode.NONE and t.partitions:
                return t
            if t is not None and t.error_code not in (ErrorCode.NONE, ErrorCode.LEADER_NOT_AVAILABLE,
                                                      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION):
                raise_for_code(t.error_code, f"metadata for topic {topic}: error {t.error_code}")
            if loop.time() >= deadline:
                raise KafkaTimeoutError(f"Topic {topic} not present in metadata after {timeout_ms} ms.")
            await asyncio.sleep(backoff_ms / 1000)

    async def close(self) -> None:
        self._closed = True
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            await conn.close()
