from __future__ import annotations

import pytest

from kafkapy.common.config import ConfigError
from kafkapy.log.config import (
    BROKER_DEFAULT_PROPERTY,
    LONG_MAX,
    TOPIC_CONFIG_DEF,
    InvalidConfigError,
    LogConfig,
)


def test_defaults_match_kafka_2_8():
    c = LogConfig.from_props({}, {})
    assert c.segment_bytes == 1073741824 and c.segment_ms == 604800000 and c.retention_ms == 604800000
    assert c.retention_bytes == -1 and c.max_message_bytes == 1048588 and c.index_interval_bytes == 4096
    assert c.segment_index_bytes == 10485760 and c.cleanup_policy == ("delete",)
    assert c.min_cleanable_dirty_ratio == 0.5 and c.delete_retention_ms == 86400000
    assert c.flush_messages == LONG_MAX and c.file_delete_delay_ms == 60000
    assert c.message_timestamp_type == "CreateTime" and c.compression_type == "producer"
    assert c.record_version == 2 and c == LogConfig()


def test_every_declared_config_has_an_attribute():
    fields = set(LogConfig.__dataclass_fields__)
    for key in TOPIC_CONFIG_DEF:
        assert key.attr in fields
        assert getattr(LogConfig(), key.attr) == key.default, key.name
    assert set(BROKER_DEFAULT_PROPERTY) <= set(TOPIC_CONFIG_DEF.names())
    assert InvalidConfigError is ConfigError


def test_broker_defaults_and_topic_overrides():
    broker = {"log.retention.hours": "48", "log.segment.bytes": "1000", "message.max.bytes": "2000",
              "log.cleanup.policy": "compact", "log.roll.hours": "1"}
    c = LogConfig.from_props({"segment.bytes": "5000", "cleanup.policy": "compact,delete"}, broker)
    assert c.retention_ms == 48 * 3600 * 1000
    assert c.segment_bytes == 5000 and c.max_message_bytes == 2000 and c.segment_ms == 3600 * 1000
    assert c.cleanup_policy == ("compact", "delete") and c.compact and c.delete
    assert c.overridden == frozenset({"segment.bytes", "cleanup.policy"})
    assert LogConfig.from_props({}, {"log.retention.ms": "5", "log.retention.hours": "1"}).retention_ms == 5
    assert LogConfig.from_props({}, {"log.retention.minutes": "2"}).retention_ms == 120000
    assert c.to_props()["cleanup.policy"] == "compact,delete"


@pytest.mark.parametrize("props", [{"segment.bytes": "abc"}, {"cleanup.policy": "shred"},
                                   {"min.cleanable.dirty.ratio": "1.5"}, {"message.timestamp.type": "Now"},
                                   {"compression.type": "brotli"}, {"preallocate": "maybe"}])
def test_invalid_values(props):
    with pytest.raises(InvalidConfigError) as exc:
        LogConfig.from_props(props)
    assert next(iter(props)) in str(exc.value)


def test_record_version():
    assert LogConfig(message_format_version="0.8.2").record_version == 0
    assert LogConfig(message_format_version="0.10.2-IV0").record_version == 1
    assert LogConfig(message_format_version="1.0").record_version == 2
