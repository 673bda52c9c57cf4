"""Topic-level log configuration (Kafka 2.8 names and defaults) and its broker-default mapping.

Each topic config is declared once in ``TOPIC_CONFIG_DEF`` (the shared ConfigDef
machinery: name, type, default, validator, importance, doc, dynamic), and
``BROKER_DEFAULT_PROPERTY`` names the broker property that supplies its default.
``LogConfig`` is the typed, frozen view (attribute = the name in snake_case):
build it with ``LogConfig.from_props(topic_overrides, broker_defaults)``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kafkapy.common.config import (
    BOOLEAN,
    DOUBLE,
    HIGH,
    INT,
    LIST,
    LONG,
    LOW,
    MEDIUM,
    STRING,
    ConfigDef,
    ConfigError,
    at_least,
    attr_name,
    between,
    format_value,
    list_of,
    one_of,
    validator,
)

LONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1

CLEANUP_POLICY_DELETE = "delete"
CLEANUP_POLICY_COMPACT = "compact"
COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
TIMESTAMP_TYPES = ("CreateTime", "LogAppendTime")


InvalidConfigError = ConfigError
"""Raised for a topic (or broker default) value that cannot be used (the shared ``ConfigError``)."""


def _check_format_version(name: str, value: Any) -> None:
    parts = str(value).split("-")[0].split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:3]):
        raise ConfigError.invalid(name, value, "not a Kafka version such as 0.10.2 or 2.8")


# Topic-level configs, each declared once (Kafka 2.8 names, types, defaults and validators).
TOPIC_CONFIG_DEF = ConfigDef()
_t = TOPIC_CONFIG_DEF.define
_t("segment.bytes", INT, 1024 * 1024 * 1024, at_least(14), HIGH,
   "Size of a segment file before the log rolls.", True)
_t("segment.ms", LONG, 7 * 24 * 3600 * 1000, at_least(1), MEDIUM,
   "Time after which the log rolls even if the segment is not full.", True)
_t("segment.jitter.ms", LONG, 0, at_least(0), MEDIUM, "Most random jitter subtracted from segment.ms.", True)
_t("segment.index.bytes", INT, 10 * 1024 * 1024, at_least(8), MEDIUM,
   "Size of the preallocated offset and time indexes.", True)
_t("flush.messages", LONG, LONG_MAX, at_least(1), MEDIUM, "Messages appended before the log is fsynced.", True)
_t("flush.ms", LONG, LONG_MAX, at_least(0), MEDIUM, "Time after which the log is fsynced.", True)
_t("retention.bytes", LONG, -1, None, MEDIUM,
   "Largest size of the log before old segments are deleted; -1 means no limit.", True)
_t("retention.ms", LONG, 7 * 24 * 3600 * 1000, at_least(-1), MEDIUM,
   "Age after which segments are deleted; -1 means no limit.", True)
_t("max.message.bytes", INT, 1024 * 1024 + 12, at_least(0), MEDIUM, "Largest record batch size allowed.", True)
_t("index.interval.bytes", INT, 4096, at_least(0), MEDIUM, "Bytes appended between two offset-index entries.",
   True)
_t("delete.retention.ms", LONG, 24 * 3600 * 1000, at_least(0), MEDIUM,
   "How long tombstones are kept on compacted topics.", True)
_t("min.compaction.lag.ms", LONG, 0, at_least(0), MEDIUM, "Minimum age of a message before it may be compacted.",
   True)
_t("max.compaction.lag.ms", LONG, LONG_MAX, at_least(1), MEDIUM,
   "Longest time a message stays ineligible for compaction.", True)
_t("file.delete.delay.ms", LONG, 60000, at_least(0), MEDIUM, "Delay before a deleted segment's files are removed.",
   True)
_t("min.cleanable.dirty.ratio", DOUBLE, 0.5, between(0, 1), MEDIUM,
   "Dirty ratio above which the log is compacted.", True)
_t("cleanup.policy", LIST, "delete", list_of(CLEANUP_POLICY_DELETE, CLEANUP_POLICY_COMPACT), MEDIUM,
   "delete, compact, or both.", True)
_t("unclean.leader.election.enable", BOOLEAN, False, None, MEDIUM,
   "Whether a replica outside the ISR may become leader.", True)
_t("min.insync.replicas", INT, 1, at_least(1), MEDIUM, "Replicas that must acknowledge an acks=all write.", True)
_t("compression.type", STRING, "producer", one_of(*COMPRESSION_TYPES), MEDIUM,
   "Final compression of the topic's data; producer keeps the producer's codec.", True)
_t("preallocate", BOOLEAN, False, None, MEDIUM, "Preallocate segment files on roll.", True)
_t("message.format.version", STRING, "2.8-IV1", validator(_check_format_version, "a Kafka version"), MEDIUM,
   "Record format version stored on disk.", True)
_t("message.timestamp.type", STRING, "CreateTime", one_of(*TIMESTAMP_TYPES), MEDIUM,
   "CreateTime or LogAppendTime.", True)
_t("message.timestamp.difference.max.ms", LONG, LONG_MAX, at_least(0), MEDIUM,
   "Largest allowed difference between a CreateTime timestamp and the broker's clock.", True)
_t("message.downconversion.enable", BOOLEAN, True, None, LOW,
   "Whether fetches from old clients may be down-converted.", True)
_t("leader.replication.throttled.replicas", LIST, "", None, MEDIUM, "Replicas throttled on the leader side.", True)
_t("follower.replication.throttled.replicas", LIST, "", None, MEDIUM,
   "Replicas throttled on the follower side.", True)
del _t

# Broker property that supplies each topic config's default (Kafka's LogConfig "synonyms").
BROKER_DEFAULT_PROPERTY: dict[str, str] = {
    "segment.bytes": "log.segment.bytes",
    "segment.ms": "log.roll.ms",
    "segment.jitter.ms": "log.roll.jitter.ms",
    "segment.index.bytes": "log.index.size.max.bytes",
    "flush.messages": "log.flush.interval.messages",
    "flush.ms": "log.flush.interval.ms",
    "retention.bytes": "log.retention.bytes",
    "retention.ms": "log.retention.ms",
    "max.message.bytes": "message.max.bytes",
    "index.interval.bytes": "log.index.interval.bytes",
    "delete.retention.ms": "log.cleaner.delete.retention.ms",
    "min.compaction.lag.ms": "log.cleaner.min.compaction.lag.ms",
    "max.compaction.lag.ms": "log.cleaner.max.compaction.lag.ms",
    "file.delete.delay.ms": "log.segment.delete.delay.ms",
    "min.cleanable.dirty.ratio": "log.cleaner.min.cleanable.ratio",
    "cleanup.policy": "log.cleanup.policy",
    "unclean.leader.election.enable": "unclean.leader.election.enable",
    "min.insync.replicas": "min.insync.replicas",
    "compression.type": "compression.type",
    "preallocate": "log.preallocate",
    "message.format.version": "log.message.format.version",
    "message.timestamp.type": "log.message.timestamp.type",
    "message.timestamp.difference.max.ms": "log.message.timestamp.difference.max.ms",
    "message.downconversion.enable": "log.message.downconversion.enable",
}
TOPIC_CONFIG_NAMES = frozenset(TOPIC_CONFIG_DEF.names())


def attribute_name(config_name: str) -> str:
    return attr_name(config_name)


def _broker_value(name: str, broker: Mapping[str, Any]) -> Any:
    """The broker property value that supplies the default of topic config ``name`` (with Kafka's fallbacks)."""
    prop = BROKER_DEFAULT_PROPERTY.get(name)
    if prop is None:
        return None
    value = broker.get(prop)
    if value not in (None, ""):
        return value
    if name == "retention.ms":
        if broker.get("log.retention.minutes") not in (None, ""):
            return int(broker["log.retention.minutes"]) * 60_000
        if broker.get("log.retention.hours") not in (None, ""):
            return int(broker["log.retention.hours"]) * 3_600_000
    elif name == "segment.ms":
        if broker.get("log.roll.hours") not in (None, ""):
            return int(broker["log.roll.hours"]) * 3_600_000
    elif name == "segment.jitter.ms":
        if broker.get("log.roll.jitter.hours") not in (None, ""):
            return int(broker["log.roll.jitter.hours"]) * 3_600_000
    elif name == "flush.ms":
        if broker.get("log.flush.scheduler.interval.ms") not in (None, ""):
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
    leader_replication_throttled_replicas: tuple[str, ...] = ()
    follower_replication_throttled_replicas: tuple[str, ...] = ()
    # The topic configs that were set explicitly (for DescribeConfigs sources).
    overridden: frozenset[str] = frozenset()

    @classmethod
    def from_props(cls, topic_overrides: Mapping[str, Any] | None = None,
                   broker_defaults: Mapping[str, Any] | None = None) -> "LogConfig":
        """Topic overrides win over broker defaults, which win over Kafka's defaults.

        Unknown topic properties are ignored; invalid values raise InvalidConfigError
        (``ConfigError``) naming the property.
        """
        topic_overrides = topic_overrides or {}
        broker = broker_defaults or {}
        values: dict[str, Any] = {}
        for key in TOPIC_CONFIG_DEF:
            raw = topic_overrides.get(key.name)
            source = key.name
            if raw is None:
                raw = _broker_value(key.name, broker)
                source = BROKER_DEFAULT_PROPERTY.get(key.name, key.name)
            if raw is None:
                continue
            try:
                value = TOPIC_CONFIG_DEF.parse_one(key.name, raw)
            except ConfigError as exc:
                raise InvalidConfigError(f"Invalid value {raw} for configuration {source}: {exc}",
                                         name=source, value=raw) from None
            values[key.attr] = value
        overridden = frozenset(n for n in topic_overrides if n in TOPIC_CONFIG_NAMES)
        return cls(**values, overridden=overridden)

    def to_props(self) -> dict[str, str]:
        """Every topic config rendered as Kafka prints it."""
        return {key.name: format_value(getattr(self, key.attr), key.type) for key in TOPIC_CONFIG_DEF}

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
