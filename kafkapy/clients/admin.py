"""kafkapy's AdminClient: topics, partitions, configs, offsets, log dirs and record deletion.

Requests go where Kafka's admin client sends them: CreateTopics/DeleteTopics/CreatePartitions
to the controller, DescribeConfigs/AlterConfigs to any broker (to the broker itself for a
broker resource), ListOffsets/DeleteRecords to each partition's leader, DescribeLogDirs to
every broker. Results are per entity: a dict mapping the name to None (success) or the
exception, as the Java client's per-entity futures::

    async with AdminClient({"bootstrap.servers": bs}) as admin:
        errors = await admin.create_topics([NewTopic("orders", 3, 1)])
"""
from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafkapy.clients.errors import KafkaTimeoutError
from kafkapy.clients.metadata import ClusterMetadata, KafkaClient, TopicMetadata
from kafkapy.common.errors import ApiError, ErrorCode, UnsupportedVersionError, error_for_code
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.messages import get_api

__all__ = ["AdminClient", "NewTopic", "NewPartitions", "ConfigResource", "ConfigResourceType", "ConfigEntry",
           "AlterConfigOp", "ReplicaInfo", "LogDirInfo", "error_from"]

log = logging.getLogger(__name__)


class ConfigResourceType(enum.IntEnum):
    UNKNOWN = 0
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8


@dataclass(frozen=True, slots=True)
class ConfigResource:
    type: ConfigResourceType
    name: str


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    name: str
    value: str | None
    source: int = -1          # DescribeConfigs config_source (1 dynamic topic, 5 static broker, 5/4/..., 5 default)
    is_read_only: bool = False
    is_sensitive: bool = False
    is_default: bool = False
    synonyms: tuple[tuple[str, str | None, int], ...] = ()


class AlterConfigOp(enum.IntEnum):
    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


@dataclass(frozen=True, slots=True)
class NewTopic:
    name: str
    num_partitions: int = -1
    replication_factor: int = -1
    replica_assignment: Mapping[int, Sequence[int]] | None = None
    configs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewPartitions:
    total_count: int
    new_assignments: Sequence[Sequence[int]] | None = None


@dataclass(frozen=True, slots=True)
class ReplicaInfo:
    size: int
    offset_lag: int
    is_future: bool


@dataclass(frozen=True, slots=True)
class LogDirInfo:
    error_code: int
    replicas: dict[TopicPartition, ReplicaInfo]


def error_from(code: int, message: str | None = None) -> ApiError | None:
    cls = error_for_code(code)
    if cls is None:
        return None
    if cls is ApiError:
        return ApiError(code, message)
    return cls(message) if message else cls()


class AdminClient:
    def __init__(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        props = dict(config or {})
        props.update({k.replace("_", "."): v for k, v in kwargs.items()})
        if not props.get("bootstrap.servers"):
            raise ValueError('Missing required configuration "bootstrap.servers" which has no default value.')
        self.request_timeout_ms = int(props.get("request.timeout.ms", 30000))
        self.default_api_timeout_ms = int(props.get("default.api.timeout.ms", 60000))
        self.retry_backoff_ms = int(props.get("retry.backoff.ms", 100))
        self.client = KafkaClient(props["bootstrap.servers"], client_id=str(props.get("client.id") or "adminclient-1"),
                                  request_timeout_ms=self.request_timeout_ms, allow_auto_topic_creation=False)

    async def start(self) -> None:
        await self.client.any_connection()

    async def __aenter__(self) -> AdminClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.client.close()

    # ---- helpers ---------------------------------------------------------------------
    async def _send(self, node: int | None, api_key: int, request: Any) -> Any:
        conn = await (self.client.any_connection() if node is None else self.client.connection(node))
        try:
            version = conn.negotiated_version(api_key)
        except UnsupportedVersionError:
            raise UnsupportedVersionError(f"The broker does not support {ApiKey(api_key).name}") from None
        return await conn.send(api_key, request, version)

    async def _metadata(self, topics: Iterable[str] | None = None) -> ClusterMetadata:
        return await self.client.refresh_metadata(topics, allow_auto_topic_creation=False)

    async def _controller(self) -> int:
        md = await self._metadata([])
        if md.controller_id < 0:
            md = await self._metadata(None)
        if md.controller_id < 0:
            raise error_from(ErrorCode.NOT_CONTROLLER, "no controller known") or ApiError(-1)
        return md.controller_id

    async def _to_controller(self, api_key: int, request: Any) -> Any:
        """Send to the controller, retrying once on NOT_CONTROLLER responses is left to callers."""
        node = await self._controller()
        return await self._send(node, api_key, request)

    # ---- topics ------------------------------------------------------------------------
    async def list_topics(self, include_internal: bool = True) -> list[str]:
        md = await self._metadata(None)
        return sorted(t.name for t in md.topics.values()
                      if t.error_code == ErrorCode.NONE and (include_internal or not t.is_internal))

    async def describe_topics(self, topics: Iterable[str] | None = None) -> dict[str, TopicMetadata]:
        md = await self._metadata(None if topics is None else list(topics))
        wanted = md.topics if topics is None else {t: md.topics[t] for t in topics if t in md.topics}
        return dict(sorted(wanted.items()))

    async def describe_cluster(self) -> ClusterMetadata:
        return await self._metadata(None)

    async def create_topics(self, new_topics: Sequence[NewTopic], *, timeout_ms: int | None = None,
                            validate_only: bool = False) -> dict[str, ApiError | None]:
        spec = get_api(ApiKey.CREATE_TOPICS)
        topic_cls = spec.request.struct("topics")
        assign_cls = spec.request.struct("topics", "assignments")
        config_cls = spec.request.struct("topics", "configs")
        topics = []
        for t in new_topics:
            assignments = [assign_cls(partition_index=p, broker_ids=list(r))
                           for p, r in sorted((t.replica_assignment or {}).items())]
            topics.append(topic_cls(name=t.name, num_partitions=t.num_partitions if not assignments else -1,
                                    replication_factor=t.replication_factor if not assignments else -1,
                                    assignments=assignments,
                                    configs=[config_cls(name=k, value=v) for k, v in t.configs.items()]))
        req = spec.request(topics=topics, timeout_ms=timeout_ms or self.request_timeout_ms,
                           validate_only=validate_only)
        resp = await self._retry_controller(ApiKey.CREATE_TOPICS, req, lambda r: [x.error_code for x in r.topics])
        return {r.name: error_from(r.error_code, getattr(r, "error_message", None)) for r in resp.topics}

    async def _retry_controller(self, api_key: int, req: Any, codes_of: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.default_api_timeout_ms / 1000
        while True:
            resp = await self._to_controller(api_key, req)
            if ErrorCode.NOT_CONTROLLER not in codes_of(resp) or loop.time() > deadline:
                return resp
            await asyncio.sleep(self.retry_backoff_ms / 1000)

    async def delete_topics(self, topics: Sequence[str], *, timeout_ms: int | None = None
                            ) -> dict[str, ApiError | None]:
        spec = get_api(ApiKey.DELETE_TOPICS)
        state_cls = spec.request.struct("topics")
        req = spec.request(topic_names=list(topics), topics=[state_cls(name=t) for t in topics],
                           timeout_ms=timeout_ms or self.request_timeout_ms)
        resp = await self._retry_controller(ApiKey.DELETE_TOPICS, req, lambda r: [x.error_code for x in r.responses])
        return {r.name: error_from(r.error_code, getattr(r, "error_message", None)) for r in resp.responses}

    async def create_partitions(self, new_partitions: Mapping[str, NewPartitions], *,
                                timeout_ms: int | None = None, validate_only: bool = False
                                ) -> dict[str, ApiError | None]:
        spec = get_api(ApiKey.CREATE_PARTITIONS)
        topic_cls = spec.request.struct("topics")
        assign_cls = spec.request.struct("topics", "assignments")
        topics = [topic_cls(name=name, count=np.total_count,
                            assignments=None if np.new_assignments is None else
                            [assign_cls(broker_ids=list(r)) for r in np.new_assignments])
                  for name, np in new_partitions.items()]
        req = spec.request(topics=topics, timeout_ms=timeout_ms or self.request_timeout_ms,
                           validate_only=validate_only)
        resp = await self._retry_controller(ApiKey.CREATE_PARTITIONS, req, lambda r: [x.error_code for x in r.results])
        return {r.name: error_from(r.error_code, r.error_message) for r in resp.results}

    # ---- configs -----------------------------------------------------------------------
    def _node_for(self, resource: ConfigResource) -> int | None:
        if resource.type in (ConfigResourceType.BROKER, ConfigResourceType.BROKER_LOGGER) and resource.name:
            return int(resource.name)
        return None

    async def describe_configs(self, resources: Sequence[ConfigResource], *, include_synonyms: bool = False,
                               ) -> dict[ConfigResource, list[ConfigEntry] | ApiError]:
        spec = get_api(ApiKey.DESCRIBE_CONFIGS)
        res_cls = spec.request.struct("resources")
        await self._metadata([])
        groups: dict[int | None, list[ConfigResource]] = {}
        for r in resources:
            groups.setdefault(self._node_for(r), []).append(r)
        out: dict[ConfigResource, list[ConfigEntry] | ApiError] = {}
        for node, rs in groups.items():
            req = spec.request(resources=[res_cls(resource_type=int(r.type), resource_name=r.name,
                                                  configuration_keys=None) for r in rs],
                               include_synonyms=include_synonyms)
            resp = await self._send(node, ApiKey.DESCRIBE_CONFIGS, req)
            for res in resp.results:
                key = ConfigResource(ConfigResourceType(res.resource_type), res.resource_name)
                err = error_from(res.error_code, res.error_message)
                if err is not None:
                    out[key] = err
                    continue
                entries = []
                for c in res.configs:
                    source = getattr(c, "config_source", -1)
                    is_default = bool(getattr(c, "is_default", False)) or source == 5
                    entries.append(ConfigEntry(c.name, c.value, source, c.read_only, c.is_sensitive, is_default,
                                               tuple((s.name, s.value, s.source)
                                                     for s in (getattr(c, "synonyms", None) or ()))))
                out[key] = entries
        return out

    async def alter_configs(self, configs: Mapping[ConfigResource, Mapping[str, str]], *,
                            validate_only: bool = False) -> dict[ConfigResource, ApiError | None]:
        """Legacy AlterConfigs: replaces the whole override set of each resource."""
        spec = get_api(ApiKey.ALTER_CONFIGS)
        res_cls = spec.request.struct("resources")
        cfg_cls = spec.request.struct("resources", "configs")
        await self._metadata([])
        out: dict[ConfigResource, ApiError | None] = {}
        groups: dict[int | None, list[ConfigResource]] = {}
        for r in configs:
            groups.setdefault(self._node_for(r), []).append(r)
        for node, rs in groups.items():
            req = spec.request(resources=[res_cls(resource_type=int(r.type), resource_name=r.name,
                                                  configs=[cfg_cls(name=k, value=v) for k, v in configs[r].items()])
                                          for r in rs], validate_only=validate_only)
            resp = await self._send(node, ApiKey.ALTER_CONFIGS, req)
            for res in resp.responses:
                out[ConfigResource(ConfigResourceType(res.resource_type), res.resource_name)] = \
                    error_from(res.error_code, res.error_message)
        return out

    async def incremental_alter_configs(self, configs: Mapping[ConfigResource,
                                                                Sequence[tuple[str, str | None, AlterConfigOp]]], *,
                                        validate_only: bool = False) -> dict[ConfigResource, ApiError | None]:
        spec = get_api(ApiKey.INCREMENTAL_ALTER_CONFIGS)
        res_cls = spec.request.struct("resources")
        cfg_cls = spec.request.struct("resources", "configs")
        await self._metadata([])
        out: dict[ConfigResource, ApiError | None] = {}
        groups: dict[int | None, list[ConfigResource]] = {}
        for r in configs:
            groups.setdefault(self._node_for(r), []).append(r)
        for node, rs in groups.items():
            req = spec.request(resources=[res_cls(resource_type=int(r.type), resource_name=r.name,
                                                  configs=[cfg_cls(name=k, config_operation=int(op), value=v)
                                                           for k, v, op in configs[r]])
                                          for r in rs], validate_only=validate_only)
            resp = await self._send(node, ApiKey.INCREMENTAL_ALTER_CONFIGS, req)
            for res in resp.responses:
                out[ConfigResource(ConfigResourceType(res.resource_type), res.resource_name)] = \
                    error_from(res.error_code, res.error_message)
        return out

    # ---- offsets and records --------------------------------------------------------------
    async def _by_leader(self, partitions: Iterable[TopicPartition]) -> dict[int, list[TopicPartition]]:
        tps = list(partitions)
        md = await self._metadata(sorted({tp.topic for tp in tps}))
        out: dict[int, list[TopicPartition]] = {}
        for tp in tps:
            out.setdefault(md.leader_for(tp), []).append(tp)
        return out

    async def list_offsets(self, partitions: Mapping[TopicPartition, int], *, isolation_level: int = 0
                           ) -> dict[TopicPartition, tuple[int, int] | ApiError]:
        """tp -> (offset, timestamp); timestamps -1 latest, -2 earliest (as the spec)."""
        spec = get_api(ApiKey.LIST_OFFSETS)
        t_cls = spec.request.struct("topics")
        p_cls = spec.request.struct("topics", "partitions")
        out: dict[TopicPartition, tuple[int, int] | ApiError] = {}
        for node, tps in (await self._by_leader(partitions)).items():
            if node < 0:
                for tp in tps:
                    out[tp] = error_from(ErrorCode.LEADER_NOT_AVAILABLE) or ApiError(-1)
                continue
            by_topic: dict[str, list] = {}
            for tp in tps:
                by_topic.setdefault(tp.topic, []).append(p_cls(partition_index=tp.partition,
                                                               timestamp=partitions[tp], max_num_offsets=1))
            req = spec.request(replica_id=-1, isolation_level=isolation_level,
                               topics=[t_cls(name=t, partitions=ps) for t, ps in by_topic.items()])
            conn = await self.client.connection(node)
            version = max(conn.negotiated_version(ApiKey.LIST_OFFSETS), 1)
            resp = await conn.send(ApiKey.LIST_OFFSETS, req, version)
            for t in resp.topics:
                for p in t.partitions:
                    tp = TopicPartition(t.name, p.partition_index)
                    err = error_from(p.error_code)
                    out[tp] = err if err is not None else (p.offset, p.timestamp)
        return out

    async def delete_records(self, offsets: Mapping[TopicPartition, int], *, timeout_ms: int | None = None
                             ) -> dict[TopicPartition, int | ApiError]:
        """tp -> new low watermark (or the error); offset -1 means the high watermark."""
        spec = get_api(ApiKey.DELETE_RECORDS)
        t_cls = spec.request.struct("topics")
        p_cls = spec.request.struct("topics", "partitions")
        out: dict[TopicPartition, int | ApiError] = {}
        md = await self._metadata(sorted({tp.topic for tp in offsets}))
        for tp in offsets:
            if md.partition(tp) is None:
                out[tp] = error_from(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) or ApiError(-1)
        for node, tps in (await self._by_leader([tp for tp in offsets if tp not in out])).items():
            if node < 0:
                for tp in tps:
                    out[tp] = error_from(ErrorCode.LEADER_NOT_AVAILABLE) or ApiError(-1)
                continue
            by_topic: dict[str, list] = {}
            for tp in tps:
                by_topic.setdefault(tp.topic, []).append(p_cls(partition_index=tp.partition, offset=offsets[tp]))
            req = spec.request(topics=[t_cls(name=t, partitions=ps) for t, ps in by_topic.items()],
                               timeout_ms=timeout_ms or self.request_timeout_ms)
            resp = await self._send(node, ApiKey.DELETE_RECORDS, req)
            for t in resp.topics:
                for p in t.partitions:
                    tp = TopicPartition(t.name, p.partition_index)
                    err = error_from(p.error_code)
                    out[tp] = err if err is not None else p.low_watermark
        return out

    async def describe_log_dirs(self, brokers: Iterable[int] | None = None,
                                topics: Iterable[str] | None = None) -> dict[int, dict[str, LogDirInfo]]:
        spec = get_api(ApiKey.DESCRIBE_LOG_DIRS)
        md = await self._metadata(None if topics is None else list(topics))
        ids = sorted(md.brokers) if brokers is None else list(brokers)
        req_topics = None
        if topics is not None:
            t_cls = spec.request.struct("topics")
            req_topics = [t_cls(topic=t, partition_index=sorted(md.topics[t].partitions))
                          for t in topics if t in md.topics]
        out: dict[int, dict[str, LogDirInfo]] = {}
        for b in ids:
            resp = await self._send(b, ApiKey.DESCRIBE_LOG_DIRS, spec.request(topics=req_topics))
            dirs: dict[str, LogDirInfo] = {}
            for r in resp.results:
                reps = {TopicPartition(t.name, p.partition_index): ReplicaInfo(p.partition_size, p.offset_lag,
                                                                                p.is_future_key)
                        for t in r.topics for p in t.partitions}
                dirs[r.log_dir] = LogDirInfo(r.error_code, reps)
            out[b] = dirs
        return out

    async def api_versions(self) -> dict[int, tuple[Any, dict[int, tuple[int, int]]]]:
        """broker id -> (Node, {api_key: (min, max)}) for every broker."""
        md = await self._metadata([])
        out: dict[int, tuple[Any, dict[int, tuple[int, int]]]] = {}
        for b in sorted(md.brokers):
            conn = await self.client.connection(b)
            out[b] = (md.brokers[b], {k: (v.min_version, v.max_version) for k, v in conn.api_versions.items()})
        return out

    async def wait_for_topic(self, topic: str, timeout_ms: int = 30000) -> TopicMetadata:
        try:
            return await self.client.wait_for_topic(topic, timeout_ms, self.retry_backoff_ms)
        except KafkaTimeoutError:
            raise
