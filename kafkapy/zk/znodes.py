"""Kafka's znodes: one class per znode with `path(...)`, `encode(...)`, `decode(...)`.

Pure functions over bytes: no I/O, no kazoo. JSON is written compactly (no spaces)
with the fields Kafka writes, numbers-as-strings where Kafka uses strings
(`timestamp`, `/cluster/id`'s `version`, producer-id block bounds). Decoders parse
order-insensitively, accept every version Kafka ever wrote and ignore unknown keys.
Where a decoded value needs the znode's data version for a later conditional write,
`decode` takes the stat (anything with `.version`) and fills `zk_version`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote_plus, unquote_plus

from kafkapy.common.types import BrokerEndPoint, LeaderAndIsr, TopicPartition

NO_ZK_VERSION = -1   # "never read": unconditional


class _Stat(Protocol):
    version: int
    czxid: int


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _parse_json(data: bytes | bytearray | memoryview | None) -> Any:
    if data is None or len(data) == 0:
        return None
    return json.loads(bytes(data).decode("utf-8"))


def _parse_object(data: bytes | bytearray | memoryview | None, what: str) -> dict[str, Any] | None:
    obj = _parse_json(data)
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise ValueError(f"{what}: expected a JSON object, got {obj!r}")
    return obj


def _version_of(stat: _Stat | None) -> int:
    return stat.version if stat is not None else NO_ZK_VERSION


def sequence_number(name: str, prefix: str) -> int:
    """`config_change_0000000042` with prefix `config_change_` -> 42 (also accepts a full path)."""
    name = name.rsplit("/", 1)[-1]
    if not name.startswith(prefix):
        raise ValueError(f"{name!r} does not start with {prefix!r}")
    return int(name[len(prefix):])


# ======================================================================== top level
class ClusterZNode:
    @staticmethod
    def path() -> str:
        return "/cluster"


class ClusterIdZNode:
    @staticmethod
    def path() -> str:
        return "/cluster/id"

    @staticmethod
    def encode(cluster_id: str) -> bytes:
        return _json_bytes({"version": "1", "id": cluster_id})

    @staticmethod
    def decode(data: bytes) -> str:
        obj = _parse_object(data, "/cluster/id")
        if not obj or not isinstance(obj.get("id"), str):
            raise ValueError(f"invalid cluster id data {bytes(data or b'')!r}")
        return obj["id"]


class ControllerZNode:
    @staticmethod
    def path() -> str:
        return "/controller"

    @staticmethod
    def encode(broker_id: int, timestamp_ms: int) -> bytes:
        return _json_bytes({"version": 1, "brokerid": broker_id, "timestamp": str(timestamp_ms)})

    @staticmethod
    def decode(data: bytes) -> int | None:
        """The controller's broker id (None when the data carries none).
        0.8-era writers also stored a bare integer; accept it."""
        obj = _parse_json(data)
        if obj is None:
            return None
        if isinstance(obj, int) and not isinstance(obj, bool):
            return obj
        if isinstance(obj, dict) and isinstance(obj.get("brokerid"), int):
            return obj["brokerid"]
        return None


@dataclass(frozen=True, slots=True)
class ControllerEpoch:
    epoch: int
    zk_version: int


class ControllerEpochZNode:
    @staticmethod
    def path() -> str:
        return "/controller_epoch"

    @staticmethod
    def encode(epoch: int) -> bytes:
        return str(epoch).encode("ascii")

    @staticmethod
    def decode(data: bytes, stat: _Stat | None = None) -> ControllerEpoch:
        return ControllerEpoch(int(bytes(data).decode("ascii").strip()), _version_of(stat))


# ======================================================================== brokers
class BrokersZNode:
    @staticmethod
    def path() -> str:
        return "/brokers"


class BrokerIdsZNode:
    @staticmethod
    def path() -> str:
        return "/brokers/ids"


@dataclass(frozen=True, slots=True)
class EndPoint:
    """One advertised listener: `LISTENER://host:port` plus its security protocol."""

    host: str
    port: int
    listener_name: str = "PLAINTEXT"
    security_protocol: str = "PLAINTEXT"

    def connection_string(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.listener_name}://{host}:{self.port}"


_ENDPOINT_RE = re.compile(r"^([^:/]+)://\[?([0-9a-zA-Z\-%._:]*?)\]?:(-?[0-9]+)$")


def parse_endpoint(value: str, protocol_map: Mapping[str, str] | None = None) -> EndPoint:
    """`PLAINTEXT://host:9092`, `X://[::1]:9092`, `X://:9092` -> EndPoint."""
    match = _ENDPOINT_RE.match(value.strip())
    if not match:
        raise ValueError(f"Unable to parse {value} to a broker endpoint")
    listener, host, port = match.group(1), match.group(2), int(match.group(3))
    listener = listener.upper()
    protocol = protocol_map.get(listener, listener) if protocol_map else listener
    return EndPoint(host, port, listener, protocol)


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    """A broker registration (`/brokers/ids/<id>`). `epoch` is the znode's czxid
    (Kafka's broker epoch) when decoded with a stat, else -1; it is not encoded."""

    broker_id: int
    endpoints: tuple[EndPoint, ...]
    rack: str | None = None
    jmx_port: int = -1
    timestamp_ms: int | None = None
    features: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    version: int = 5
    epoch: int = -1

    def endpoint(self, listener_name: str) -> EndPoint | None:
        for ep in self.endpoints:
            if ep.listener_name == listener_name:
                return ep
        return None

    def broker_end_point(self, listener_name: str) -> BrokerEndPoint | None:
        """This broker's address on one listener, as the metadata layer uses it."""
        ep = self.endpoint(listener_name)
        return BrokerEndPoint(self.broker_id, ep.host, ep.port, self.rack) if ep else None


class BrokerIdZNode:
    """Ephemeral broker registration, versions 1-5 (see the reference, §2.4)."""

    LATEST_VERSION = 5

    @staticmethod
    def path(broker_id: int) -> str:
        return f"/brokers/ids/{broker_id}"

    @staticmethod
    def encode(info: BrokerInfo, version: int | None = None) -> bytes:
        version = info.version if version is None else version
        if not 1 <= version <= 5:
            raise ValueError(f"unsupported broker registration version {version}")
        plaintext = next((ep for ep in info.endpoints if ep.security_protocol == "PLAINTEXT"), None)
        obj: dict[str, Any] = {}
        if version >= 5:
            obj["features"] = {name: {"min_version": lo, "max_version": hi}
                               for name, (lo, hi) in info.features.items()}
        if version >= 4:
            obj["listener_security_protocol_map"] = {ep.listener_name: ep.security_protocol
                                                     for ep in info.endpoints}
        if version >= 2:
            obj["endpoints"] = [ep.connection_string() for ep in info.endpoints]
        if version >= 3 and info.rack is not None:
            obj["rack"] = info.rack
        obj["jmx_port"] = info.jmx_port
        obj["port"] = plaintext.port if plaintext else -1
        obj["host"] = plaintext.host if plaintext else None
        obj["version"] = version
        obj["timestamp"] = str(info.timestamp_ms if info.timestamp_ms is not None else 0)
        return _json_bytes(obj)

    @staticmethod
    def decode(broker_id: int, data: bytes, stat: _Stat | None = None) -> BrokerInfo:
        obj = _parse_object(data, f"/brokers/ids/{broker_id}")
        if obj is None:
            raise ValueError(f"empty broker registration for broker {broker_id}")
        version = int(obj.get("version", 0))
        if version < 1:
            raise ValueError(f"Unsupported version of broker registration: {version}")
        if version == 1 or "endpoints" not in obj:
            host, port = obj.get("host"), obj.get("port", -1)
            endpoints: tuple[EndPoint, ...] = ((EndPoint(host or "", int(port)),)
                                               if host is not None or port != -1 else ())
        else:
            protocol_map = obj.get("listener_security_protocol_map")
            endpoints = tuple(parse_endpoint(s, protocol_map) for s in obj["endpoints"])
        features_raw = obj.get("features") or {}
        features = {name: (int(r.get("min_version", 0)), int(r.get("max_version", 0)))
                    for name, r in features_raw.items() if isinstance(r, dict)}
        timestamp = obj.get("timestamp")
        return BrokerInfo(
            broker_id=broker_id,
            endpoints=endpoints,
            rack=obj.get("rack") if version >= 3 else None,
            jmx_port=int(obj.get("jmx_port", -1)),
            timestamp_ms=int(timestamp) if timestamp not in (None, "") else None,
            features=features,
            version=version,
            epoch=stat.czxid if stat is not None else -1,
        )


class BrokerSequenceIdZNode:
    """Its data version is the broker-id counter (`reserved.broker.max.id` + version)."""

    @staticmethod
    def path() -> str:
        return "/brokers/seqid"

    @staticmethod
    def encode() -> bytes:
        return b""


# ======================================================================== topics
class TopicsZNode:
    @staticmethod
    def path() -> str:
        return "/brokers/topics"


@dataclass(frozen=True, slots=True)
class ReplicaAssignment:
    """A partition's full replica set plus the replicas being added/removed by a
    reassignment in flight (both empty otherwise). The first replica is preferred."""

    replicas: tuple[int, ...]
    adding_replicas: tuple[int, ...] = ()
    removing_replicas: tuple[int, ...] = ()

    @property
    def is_being_reassigned(self) -> bool:
        return bool(self.adding_replicas or self.removing_replicas)

    @property
    def origin_replicas(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.adding_replicas)

    @property
    def target_replicas(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.removing_replicas)


@dataclass(frozen=True, slots=True)
class TopicAssignment:
    """Decoded `/brokers/topics/<topic>`: partition -> ReplicaAssignment."""

    topic: str
    partitions: Mapping[int, ReplicaAssignment]
    topic_id: str | None = None
    zk_version: int = NO_ZK_VERSION

    def replicas(self, partition: int) -> tuple[int, ...]:
        return self.partitions[partition].replicas

    def replica_lists(self) -> dict[int, tuple[int, ...]]:
        return {p: a.replicas for p, a in sorted(self.partitions.items())}


def _int_list(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


class TopicZNode:
    """Replica assignment: v1 (0.8-2.3), v2 adding/removing (2.4-2.7), v3 topic_id (2.8)."""

    LATEST_VERSION = 3

    @staticmethod
    def path(topic: str) -> str:
        return f"/brokers/topics/{topic}"

    @staticmethod
    def encode(assignment: Mapping[int, ReplicaAssignment | Sequence[int]],
               topic_id: str | None = None, version: int = 3) -> bytes:
        full = {p: a if isinstance(a, ReplicaAssignment) else ReplicaAssignment(tuple(a))
                for p, a in assignment.items()}
        ordered = sorted(full.items())
        obj: dict[str, Any] = {"partitions": {str(p): list(a.replicas) for p, a in ordered}}
        if version >= 2:
            obj["adding_replicas"] = {str(p): list(a.adding_replicas)
                                      for p, a in ordered if a.adding_replicas}
            obj["removing_replicas"] = {str(p): list(a.removing_replicas)
                                        for p, a in ordered if a.removing_replicas}
        if version >= 3 and topic_id is not None:
            obj["topic_id"] = topic_id
        obj["version"] = version
        return _json_bytes(obj)

    @staticmethod
    def decode(topic: str, data: bytes | None, stat: _Stat | None = None) -> TopicAssignment:
        obj = _parse_object(data, f"/brokers/topics/{topic}") or {}
        partitions = obj.get("partitions") or {}
        adding = obj.get("adding_replicas") or {}
        removing = obj.get("removing_replicas") or {}
        result = {
            int(p): ReplicaAssignment(_int_list(replicas), _int_list(adding.get(p, ())),
                                      _int_list(removing.get(p, ())))
            for p, replicas in partitions.items()
        }
        return TopicAssignment(topic, dict(sorted(result.items())), obj.get("topic_id"),
                               _version_of(stat))


class TopicPartitionsZNode:
    @staticmethod
    def path(topic: str) -> str:
        return f"/brokers/topics/{topic}/partitions"


class TopicPartitionZNode:
    @staticmethod
    def path(topic: str, partition: int) -> str:
        return f"/brokers/topics/{topic}/partitions/{partition}"


class TopicPartitionStateZNode:
    """Leader and ISR, version 1 since 0.8. `zk_version` comes from the stat."""

    @staticmethod
    def path(topic: str, partition: int) -> str:
        return f"/brokers/topics/{topic}/partitions/{partition}/state"

    @staticmethod
    def encode(state: LeaderAndIsr) -> bytes:
        return _json_bytes({"controller_epoch": state.controller_epoch, "leader": state.leader,
                            "version": 1, "leader_epoch": state.leader_epoch,
                            "isr": list(state.isr)})

    @staticmethod
    def decode(data: bytes, stat: _Stat | None = None) -> LeaderAndIsr:
        obj = _parse_object(data, "partition state")
        if obj is None:
            raise ValueError("empty partition state")
        return LeaderAndIsr(leader=int(obj["leader"]), leader_epoch=int(obj["leader_epoch"]),
                            isr=_int_list(obj["isr"]), controller_epoch=int(obj["controller_epoch"]),
                            zk_version=_version_of(stat))


# ======================================================================== configs
class ConfigType:
    TOPIC = "topics"
    CLIENT = "clients"
    USER = "users"
    BROKER = "brokers"
    IP = "ips"
    ALL = ("topics", "clients", "users", "brokers", "ips")


DEFAULT_ENTITY = "<default>"


def sanitize(name: str) -> str:
    """Kafka's config entity name sanitizer: Java URLEncoder (UTF-8), then `*`->%2A, `+`->%20."""
    return quote_plus(name, safe="-_.*", encoding="utf-8").replace("*", "%2A").replace("+", "%20")


def desanitize(name: str) -> str:
    """Inverse of `sanitize` (Java URLDecoder: `+` also means a space)."""
    return unquote_plus(name, encoding="utf-8")


class ConfigZNode:
    @staticmethod
    def path() -> str:
        return "/config"


class ConfigEntityTypeZNode:
    @staticmethod
    def path(entity_type: str) -> str:
        return f"/config/{entity_type}"


class ConfigEntityZNode:
    """`/config/<type>/<name>` = {"version":1,"config":{...}} (all values strings)."""

    @staticmethod
    def path(entity_type: str, entity_name: str) -> str:
        return f"/config/{entity_type}/{entity_name}"

    @staticmethod
    def encode(config: Mapping[str, str]) -> bytes:
        return _json_bytes({"version": 1, "config": {k: str(v) for k, v in config.items()}})

    @staticmethod
    def decode(data: bytes | None) -> dict[str, str]:
        obj = _parse_object(data, "entity config")
        if not obj:
            return {}
        config = obj.get("config") or {}
        # Values are strings (a java.util.Properties); tolerate hand-written numbers/bools.
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


class ConfigEntityChangeNotificationZNode:
    @staticmethod
    def path() -> str:
        return "/config/changes"


class ConfigEntityChangeNotificationSequenceZNode:
    SEQUENCE_PREFIX = "config_change_"

    @staticmethod
    def path(sequence: str = "") -> str:
        return f"/config/changes/config_change_{sequence}"

    @staticmethod
    def encode(entity_path: str) -> bytes:
        return _json_bytes({"version": 2, "entity_path": entity_path})

    @staticmethod
    def decode(data: bytes) -> str:
        """The changed entity as `<type>/<name>` for every notification format
        (0.8 bare topic-name string, v1 type+name, v2 entity_path)."""
        obj = _parse_json(data)
        if isinstance(obj, str):
            return f"{ConfigType.TOPIC}/{obj}"
        if not isinstance(obj, dict):
            raise ValueError(f"Config change notification has an unexpected value {obj!r}")
        version = obj.get("version")
        if version == 1:
            entity_type, entity_name = obj.get("entity_type"), obj.get("entity_name")
            if entity_type not in (ConfigType.TOPIC, ConfigType.CLIENT) or entity_name is None:
                raise ValueError(f"invalid v1 config change notification {obj!r}")
            return f"{entity_type}/{entity_name}"
        if version == 2:
            entity_path = obj.get("entity_path")
            if not isinstance(entity_path, str):
                raise ValueError(f"invalid v2 config change notification {obj!r}")
            return entity_path
        raise ValueError(f"Version {version} of config change notification is not supported")


# ======================================================================== admin
class AdminZNode:
    @staticmethod
    def path() -> str:
        return "/admin"


class DeleteTopicsZNode:
    @staticmethod
    def path() -> str:
        return "/admin/delete_topics"


class DeleteTopicsTopicZNode:
    @staticmethod
    def path(topic: str) -> str:
        return f"/admin/delete_topics/{topic}"

    @staticmethod
    def encode() -> bytes:
        return b""


def _partition_list(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not obj:
        return []
    parts = obj.get("partitions") or []
    if not isinstance(parts, list):
        raise ValueError("partitions is not a list")
    return parts


class ReassignPartitionsZNode:
    """Legacy reassignment request: {"version":1,"partitions":[{topic,partition,replicas}]}."""

    @staticmethod
    def path() -> str:
        return "/admin/reassign_partitions"

    @staticmethod
    def encode(reassignment: Mapping[TopicPartition, Sequence[int]]) -> bytes:
        return _json_bytes({"version": 1, "partitions": [
            {"topic": tp.topic, "partition": tp.partition, "replicas": list(replicas)}
            for tp, replicas in sorted(reassignment.items())]})

    @staticmethod
    def decode(data: bytes) -> dict[TopicPartition, tuple[int, ...]]:
        return {TopicPartition(p["topic"], int(p["partition"])): _int_list(p["replicas"])
                for p in _partition_list(_parse_object(data, "reassignment"))}


class PreferredReplicaElectionZNode:
    @staticmethod
    def path() -> str:
        return "/admin/preferred_replica_election"

    @staticmethod
    def encode(partitions: Iterable[TopicPartition]) -> bytes:
        return _json_bytes({"version": 1, "partitions": [
            {"topic": tp.topic, "partition": tp.partition} for tp in sorted(set(partitions))]})

    @staticmethod
    def decode(data: bytes) -> frozenset[TopicPartition]:
        listed = [TopicPartition(p["topic"], int(p["partition"]))
                  for p in _partition_list(_parse_object(data, "preferred replica election"))]
        result = frozenset(listed)
        if len(result) != len(listed):
            raise ValueError("Preferred replica election data contains duplicate partitions")
        return result


# ======================================================================== notifications
class IsrChangeNotificationZNode:
    @staticmethod
    def path() -> str:
        return "/isr_change_notification"


class IsrChangeNotificationSequenceZNode:
    SEQUENCE_PREFIX = "isr_change_"

    @staticmethod
    def path(sequence: str = "") -> str:
        return f"/isr_change_notification/isr_change_{sequence}"

    @staticmethod
    def encode(partitions: Iterable[TopicPartition]) -> bytes:
        return _json_bytes({"version": 1, "partitions": [
            {"topic": tp.topic, "partition": tp.partition} for tp in sorted(set(partitions))]})

    @staticmethod
    def decode(data: bytes) -> frozenset[TopicPartition]:
        return frozenset(TopicPartition(p["topic"], int(p["partition"]))
                         for p in _partition_list(_parse_object(data, "ISR change notification")))


class LogDirEventNotificationZNode:
    @staticmethod
    def path() -> str:
        return "/log_dir_event_notification"


LOG_DIR_FAILURE_EVENT = 1


class LogDirEventNotificationSequenceZNode:
    SEQUENCE_PREFIX = "log_dir_event_"

    @staticmethod
    def path(sequence: str = "") -> str:
        return f"/log_dir_event_notification/log_dir_event_{sequence}"

    @staticmethod
    def encode(broker_id: int) -> bytes:
        return _json_bytes({"version": 1, "broker": broker_id, "event": LOG_DIR_FAILURE_EVENT})

    @staticmethod
    def decode(data: bytes) -> int | None:
        obj = _parse_object(data, "log dir event")
        if not obj or "broker" not in obj:
            return None
        return int(obj["broker"])


# ======================================================================== producer ids, features
@dataclass(frozen=True, slots=True)
class ProducerIdBlock:
    broker_id: int
    block_start: int
    block_end: int   # inclusive


class LatestProducerIdBlockZNode:
    BLOCK_SIZE = 1000

    @staticmethod
    def path() -> str:
        return "/latest_producer_id_block"

    @staticmethod
    def encode(block: ProducerIdBlock) -> bytes:
        return _json_bytes({"version": 1, "broker": block.broker_id,
                            "block_start": str(block.block_start), "block_end": str(block.block_end)})

    @staticmethod
    def decode(data: bytes | None) -> ProducerIdBlock | None:
        obj = _parse_object(data, "producer id block")
        if not obj:
            return None
        return ProducerIdBlock(int(obj["broker"]), int(obj["block_start"]), int(obj["block_end"]))


FEATURE_STATUS_DISABLED = 0
FEATURE_STATUS_ENABLED = 1


@dataclass(frozen=True, slots=True)
class FeatureZNodeData:
    status: int
    features: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # name -> (min, max level)
    zk_version: int = NO_ZK_VERSION


class FeatureZNode:
    @staticmethod
    def path() -> str:
        return "/feature"

    @staticmethod
    def encode(value: FeatureZNodeData) -> bytes:
        return _json_bytes({"features": {name: {"min_version_level": lo, "max_version_level": hi}
                                         for name, (lo, hi) in value.features.items()},
                            "version": 1, "status": value.status})

    @staticmethod
    def decode(data: bytes, stat: _Stat | None = None) -> FeatureZNodeData:
        obj = _parse_object(data, "/feature")
        if not obj:
            raise ValueError("empty /feature znode")
        version = obj.get("version")
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"Unsupported /feature version {version!r}")
        features = obj.get("features")
        if not isinstance(features, dict):
            raise ValueError("/feature has no features map")
        status = obj.get("status")
        if status not in (FEATURE_STATUS_DISABLED, FEATURE_STATUS_ENABLED):
            raise ValueError(f"/feature has an invalid status {status!r}")
        parsed = {name: (int(r["min_version_level"]), int(r["max_version_level"]))
                  for name, r in features.items()}
        return FeatureZNodeData(status, parsed, _version_of(stat))


# ======================================================================== legacy consumers
class ConsumersZNode:
    @staticmethod
    def path() -> str:
        return "/consumers"


class ConsumerGroupZNode:
    @staticmethod
    def path(group: str) -> str:
        return f"/consumers/{group}"


class ConsumerIdsZNode:
    @staticmethod
    def path(group: str) -> str:
        return f"/consumers/{group}/ids"


@dataclass(frozen=True, slots=True)
class ConsumerRegistration:
    """Legacy consumer registration: topic (or one regex) -> stream count."""

    subscription: Mapping[str, int]
    pattern: str = "static"          # static | white_list | black_list
    timestamp_ms: int = 0


class ConsumerIdZNode:
    @staticmethod
    def path(group: str, consumer_id: str) -> str:
        return f"/consumers/{group}/ids/{consumer_id}"

    @staticmethod
    def encode(reg: ConsumerRegistration) -> bytes:
        return _json_bytes({"version": 1, "subscription": dict(reg.subscription),
                            "pattern": reg.pattern, "timestamp": str(reg.timestamp_ms)})

    @staticmethod
    def decode(data: bytes) -> ConsumerRegistration:
        obj = _parse_object(data, "consumer registration") or {}
        ts = obj.get("timestamp")
        return ConsumerRegistration({str(k): int(v) for k, v in (obj.get("subscription") or {}).items()},
                                    str(obj.get("pattern", "static")),
                                    int(ts) if ts not in (None, "") else 0)


class ConsumerOwnersTopicZNode:
    @staticmethod
    def path(group: str, topic: str) -> str:
        return f"/consumers/{group}/owners/{topic}"


class ConsumerOwnerZNode:
    """Ephemeral owner of a partition: data is the owning thread id as text."""

    @staticmethod
    def path(group: str, topic: str, partition: int) -> str:
        return f"/consumers/{group}/owners/{topic}/{partition}"

    @staticmethod
    def encode(thread_id: str) -> bytes:
        return thread_id.encode("utf-8")

    @staticmethod
    def decode(data: bytes) -> str:
        return bytes(data).decode("utf-8")


class ConsumerOffsetsTopicZNode:
    @staticmethod
    def path(group: str, topic: str) -> str:
        return f"/consumers/{group}/offsets/{topic}"


class ConsumerOffsetZNode:
    """`/consumers/<group>/offsets/<topic>/<partition>` = decimal offset text."""

    @staticmethod
    def path(group: str, topic: str, partition: int) -> str:
        return f"/consumers/{group}/offsets/{topic}/{partition}"

    @staticmethod
    def encode(offset: int) -> bytes:
        return str(offset).encode("ascii")

    @staticmethod
    def decode(data: bytes | None) -> int | None:
        if data is None or len(data) == 0:
            return None
        return int(bytes(data).decode("ascii").strip())


# ======================================================================== startup paths
PERSISTENT_ZK_PATHS: tuple[str, ...] = (
    ConsumersZNode.path(),
    BrokerIdsZNode.path(),
    TopicsZNode.path(),
    ConfigEntityChangeNotificationZNode.path(),
    DeleteTopicsZNode.path(),
    BrokerSequenceIdZNode.path(),
    IsrChangeNotificationZNode.path(),
    LatestProducerIdBlockZNode.path(),
    LogDirEventNotificationZNode.path(),
) + tuple(ConfigEntityTypeZNode.path(t) for t in ConfigType.ALL)
"""Paths every broker ensures at startup (empty data; existing ones untouched)."""
