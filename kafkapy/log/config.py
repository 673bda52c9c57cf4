"""Topic-level log configuration (Kafka 2.8 names and defaults) and its broker-default mapping.

Each topic config is declared once in ``TOPIC_CONFIGS``: topic name, type, default,
the broker property that supplies the default, and a short doc. ``LogConfig`` is
the typed, frozen view (attribute = the name in snake_case): build it with
``LogConfig.from_props(topic_overrides, broker_defaults)``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1

CLEANUP_POLICY_DELETE = "delete"
CLEANUP_POLICY_COMPACT = "compact"
COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
TIMESTAMP_TYPES = ("CreateTime", "LogAppendTime")


class InvalidConfigError(ValueError):
    """A topic or broker property with a value that cannot be used."""


def _parse_int(value: str) -> int:
    return int(str(value).strip())


def _parse_float(value: str) -> float:
    return float(str(value).strip())


def _parse_bool(value: str) -> bool:
    v = str(value).strip().lower()
    if v in ("true", "false"):
        return v == "true"
    raise ValueError(f"expected true or false, got {value!r}")


def _parse_list(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in str(value).split(",") if p.strip())


def _parse_str(value: str) -> str:
    return str(value).strip()


@dataclass(frozen=True, slots=True)
class TopicConfigDef:
    name: str
    parse: Callable[[str], Any]
    default: Any
    broker_property: str | None
    check: Callable[[Any], bool] | None
    doc: str


def _at_least(n: float) -> Callable[[Any], bool]:
    return lambda v: v >= n


def _in(*choices: str) -> Callable[[Any], bool]:
    return lambda v: v in choices


def _policies(v: tuple[str, ...]) -> bool:
    return bool(v) and all(p in (CLEANUP_POLICY_DELETE, CLEANUP_POLICY_COMPACT) for p in v)


def _format_version(v: str) -> bool:
    parts = v.split("-")[0].split(".")
    return len(parts) >= 2 and all(p.isdigit() for p in parts[:3])


TOPIC_CONFIGS: tuple[TopicConfigDef, ...] = (
    TopicConfigDef("segment.bytes", _parse_int, 1024 * 1024 * 1024, "log.segment.bytes", _at_least(14),
                   "Size of a segment file before the log rolls."),
    TopicConfigDef("segment.ms", _parse_int, 7 * 24 * 3600 * 1000, "log.roll.ms", _at_least(1),
                   "Time after which the log rolls even if the segment is not full."),
    TopicConfigDef("segment.jitter.ms", _parse_int, 0, "log.roll.jitter.ms", _at_least(0),
                   "Maximum random jitter subtracted from segment.ms."),
    TopicConfigDef("segment.index.bytes", _parse_int, 10 * 1024 * 1024, "log.index.size.max.bytes",
                   _at_least(8), "Size of the preallocated offset and time indexes."),
    TopicConfigDef("flush.messages", _parse_int, LONG_MAX, "log.flush.interval.messages", _at_least(1),
                   "Messages appended before the log is fsynced."),
    TopicConfigDef("flush.ms", _parse_int, LONG_MAX, "log.flush.interval.ms", _at_least(0),
                   "Time after which the log is fsynced."),
    TopicConfigDef("retention.bytes", _parse_int, -1, "log.retention.bytes", None,
                   "Maximum size of the log before old segments are deleted; -1 means no limit."),
    TopicConfigDef("retention.ms", _parse_int, 7 * 24 * 3600 * 1000, "log.retention.ms", _at_least(-1),
                   "Age after which segments are deleted; -1 means no limit."),
    TopicConfigDef("max.message.bytes", _parse_int, 1024 * 1024 + 12, "message.max.bytes", _at_least(0),
                   "Largest record batch size allowed."),
    TopicConfigDef("index.interval.bytes", _parse_int, 4096, "log.index.interval.bytes", _at_least(0),
                   "Bytes appended between two offset-index entries."),
    TopicConfigDef("delete.retention.ms", _parse_int, 24 * 3600 * 1000, "log.cleaner.delete.retention.ms",
                   _at_least(0), "How long tombstones are kept on compacted topics."),
    TopicConfigDef("min.compaction.lag.ms", _parse_int, 0, "log.cleaner.min.compaction.lag.ms", _at_least(0),
                   "Minimum age of a message before it may be compacted."),
    TopicConfigDef("max.compaction.lag.ms", _parse_int, LONG_MAX, "log.cleaner.max.compaction.lag.ms",
                   _at_least(1), "Maximum time a message stays ineligible for compaction."),
    TopicConfigDef("file.delete.delay.ms", _parse_int, 60000, "log.segment.delete.delay.ms", _at_least(0),
                   "Delay before a deleted segment's files are removed."),
    TopicConfigDef("min.cleanable.dirty.ratio", _parse_float, 0.5, "log.cleaner.min.cleanable.ratio",
                   lambda v: 0 <= v <= 1, "Dirty ratio above which the log is compacted."),
    TopicConfigDef("cleanup.policy", _parse_list, (CLEANUP_POLICY_DELETE,), "log.cleanup.policy", _policies,
                   "delete, compact, or both."),
    TopicConfigDef("unclean.leader.election.enable", _parse_bool, False, "unclean.leader.election.enable",
                   None, "Whether a replica outside the ISR may become leader."),
    TopicConfigDef("min.insync.replicas", _parse_int, 1, "min.insync.replicas", _at_least(1),
                   "Replicas that must acknowledge an acks=all write."),
    TopicConfigDef("compression.type", _parse_str, "producer", "compression.type", _in(*COMPRESSION_TYPES),
                   "Final compression of the topic's data; producer keeps the producer's codec."),
    TopicConfigDef("preallocate", _parse_bool, False, "log.preallocate", None,
                   "Preallocate segment files on roll."),
    TopicConfigDef("message.format.version", _parse_str, "2.8-IV1", "log.message.format.version",
                   _format_version, "Record format version stored on disk."),
    TopicConfigDef("message.timestamp.type", _parse_str, "CreateTime", "log.message.timestamp.type",
                   _in(*TIMESTAMP_TYPES), "CreateTime or LogAppendTime."),
    TopicConfigDef("message.timestamp.difference.max.ms", _parse_int, LONG_MAX,
                   "log.message.timestamp.difference.max.ms", _at_least(0),
                   "Largest allowed difference between a CreateTime timestamp and the broker's clock."),
    TopicConfigDef("message.downconversion.enable", _parse_bool, True, "log.message.downconversion.enable",
                   None, "Whether fetches from old clients may be down-converted."),
    TopicConfigDef("leader.replication.throttled.replicas", _parse_str, "", None, None,
                   "Replicas throttled on the leader side."),
    TopicConfigDef("follower.replication.throttled.replicas", _parse_str, "", None, None,
                   "Replicas throttled on the follower side."),
)
TOPIC_CONFIG_NAMES = frozenset(d.name for d in TOPIC_CONFIGS)
_DEFS = {d.name: d for d in TOPIC_CONFIGS}


def attribute_name(config_name: str) -> str:
    return config_name.replace(".", "_")


def _broker_value(name: str, broker: dict[str, str]) -> str | None:
    """The broker property that supplies the default of topic config ``name`` (with Kafka's fallbacks)."""
    d = _DEFS[name]
    if d.broker_property is None:
        return None
    if d.broker_property in broker and broker[d.broker_property] not in (None, ""):
        return broker[d.broker_property]
    if name == "retention.ms":
        if broker.get("log.retention.minutes"):
            return str(int(broker["log.retention.minutes"]) * 60_000)
        if broker.get("log.retention.hours"):
            return str(int(broker["log.retention.hours"]) * 3_600_000)
    elif name == "segment.ms":
        if broker.get("log.roll.hours"):
            return str(int(broker["log.roll.hours"]) * 3_600_000)
    elif name == "segment.jitter.ms":
        if broker.get("log.roll.jitter.hours"):
            return str(int(broker["log.roll.jitter.hours"]) * 3_600_000)
    elif name == "flush.ms":
        if broker.get("log.flush.scheduler.interval.ms"):
            return broker["log.flush.scheduler.interval.ms"]
    return None


@dataclass(frozen=True, slots=True)
class LogConfig:
    segment_bytes: int = 1024 * 1024 * 1024
    segment_ms: int = 7 * 24 * 3600 * 1000
    segment_jitter_ms: int = 0
    segment_index_bytes: int = 10 * 1024 * 1024
    flush_messages: int = LONG_MAX
    flush_ms: int = LONG_MAX
    retention_bytes: int = -1
    retention_ms: int = 7 * 24 * 3600 * 1000
    max_message_bytes: int = 1024 * 1024 + 12
    index_interval_bytes: int = 4096
    delete_retention_ms: int = 24 * 3600 * 1000
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = LONG_MAX
    file_delete_delay_ms: int = 60000
    min_cleanable_dirty_ratio: float = 0.5
    cleanup_policy: tuple[str, ...] = (CLEANUP_POLICY_DELETE,)
    unclean_leader_election_enable: bool = False
    min_insync_replicas: int = 1
    compression_type: str = "producer"
    preallocate: bool = False
    message_format_version: str = "2.8-IV1"
    message_timestamp_type: str = "CreateTime"
    message_timestamp_difference_max_ms: int = LONG_MAX
    message_downconversion_enable: bool = True
    leader_replication_throttled_replicas: str = ""
    follower_replication_throttled_replicas: str = ""
    # The topic configs that were set explicitly (for DescribeConfigs sources).
    overridden: frozenset[str] = frozenset()

    @classmethod
    def from_props(cls, topic_overrides: dict[str, str] | None = None,
                   broker_defaults: dict[str, str] | None = None) -> "LogConfig":
        """Topic overrides win over broker defaults, which win over Kafka's defaults.

        Unknown topic properties are ignored; invalid values raise InvalidConfigError.
        """
        topic_overrides = topic_overrides or {}
        broker = broker_defaults or {}
        values: dict[str, Any] = {}
        for d in TOPIC_CONFIGS:
            raw = topic_overrides.get(d.name)
            source = d.name
            if raw is None:
                raw = _broker_value(d.name, broker)
                source = d.broker_property or d.name
            if raw is None:
                continue
            try:
                value = d.parse(raw)
            except ValueError:
                raise InvalidConfigError(f"invalid value {raw!r} for configuration {source}") from None
            if d.check is not None and not d.check(value):
                raise InvalidConfigError(f"invalid value {raw!r} for configuration {source}")
            values[attribute_name(d.name)] = value
        overridden = frozenset(n for n in topic_overrides if n in TOPIC_CONFIG_NAMES)
        return cls(**values, overridden=overridden)

    def to_props(self) -> dict[str, str]:
        """Every topic config rendered as Kafka prints it."""
        out = {}
        for d in TOPIC_CONFIGS:
            v = getattr(self, attribute_name(d.name))
            if isinstance(v, tuple):
                out[d.name] = ",".join(v)
            elif isinstance(v, bool):
                out[d.name] = "true" if v else "false"
            else:
                out[d.name] = str(v)
        return out

    def replace(self, **changes: Any) -> "LogConfig":
        return dataclasses.replace(self, **changes)

    # -- derived views -------------------------------------------------------------------
    @property
    def compact(self) -> bool:
        return CLEANUP_POLICY_COMPACT in self.cleanup_policy

    @property
    def delete(self) -> bool:
        return CLEANUP_POLICY_DELETE in self.cleanup_policy

    @property
    def max_index_size(self) -> int:
        return self.segment_index_bytes

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == "LogAppendTime"

    @property
    def record_version(self) -> int:
        """The magic stored on disk for ``message.format.version`` (0.10 → 1, 0.11+ → 2)."""
        parts = self.message_format_version.split("-")[0].split(".")
        major, minor = int(parts[0]), int(parts[1])
        if major == 0 and minor < 10:
            return 0
        if major == 0 and minor == 10:
            return 1
        return 2

    def random_segment_jitter(self, rng) -> int:
        if self.segment_jitter_ms <= 0:
            return 0
        return rng.randrange(min(self.segment_jitter_ms, self.segment_ms))
