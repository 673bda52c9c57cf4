from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kafkapy.common.config import (
    CLUSTER_WIDE, PER_BROKER, READ_ONLY, REQUIRED, ConfigError, Password, Type, dump_properties, load_properties,
)
from kafkapy.server.config import (
    API_VERSIONS, BROKER_CONFIG, EndPoint, KafkaConfig, parse_api_version, parse_listeners,
    parse_overrides, parse_security_protocol_map,
)
from kafkapy.tools import gen_config_docs

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "config" / "server.properties"
ZK = {"zookeeper.connect": "localhost:2181"}


def cfg(**props) -> KafkaConfig:
    merged = dict(ZK)
    merged.update({k.replace("__", "."): v for k, v in props.items()})
    return KafkaConfig.from_props(merged)


def make(props: dict) -> KafkaConfig:
    return KafkaConfig.from_props({**ZK, **props})


# ------------------------------------------------------------------ the table

@pytest.mark.parametrize("name,default", [
    ("broker.id", -1), ("broker.id.generation.enable", True), ("reserved.broker.max.id", 1000),
    ("zookeeper.session.timeout.ms", 18000), ("zookeeper.connection.timeout.ms", None),
    ("zookeeper.set.acl", False), ("listeners", None), ("advertised.listeners", None),
    ("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"),
    ("security.inter.broker.protocol", "PLAINTEXT"), ("inter.broker.listener.name", None),
    ("port", 9092), ("host.name", ""), ("num.network.threads", 3), ("num.io.threads", 8),
    ("socket.send.buffer.bytes", 102400), ("socket.receive.buffer.bytes", 102400),
    ("socket.request.max.bytes", 104857600), ("connections.max.idle.ms", 600000),
    ("log.dir", "/tmp/kafka-logs"), ("log.dirs", None), ("num.partitions", 1),
    ("default.replication.factor", 1), ("auto.create.topics.enable", True), ("delete.topic.enable", True),
    ("min.insync.replicas", 1), ("unclean.leader.election.enable", False),
    ("auto.leader.rebalance.enable", True), ("leader.imbalance.check.interval.seconds", 300),
    ("leader.imbalance.per.broker.percentage", 10), ("controlled.shutdown.enable", True),
    ("controlled.shutdown.max.retries", 3), ("controlled.shutdown.retry.backoff.ms", 5000),
    ("controller.socket.timeout.ms", 30000), ("replica.lag.time.max.ms", 30000),
    ("replica.fetch.max.bytes", 1048576), ("replica.fetch.wait.max.ms", 500), ("replica.fetch.min.bytes", 1),
    ("replica.fetch.response.max.bytes", 10485760), ("replica.high.watermark.checkpoint.interval.ms", 5000),
    ("replica.socket.timeout.ms", 30000), ("replica.fetch.backoff.ms", 1000), ("num.replica.fetchers", 1),
    ("log.segment.bytes", 1073741824), ("log.roll.ms", None), ("log.roll.hours", 168),
    ("log.roll.jitter.hours", 0), ("log.retention.ms", None), ("log.retention.minutes", None),
    ("log.retention.hours", 168), ("log.retention.bytes", -1), ("log.retention.check.interval.ms", 300000),
    ("log.cleanup.policy", ("delete",)), ("log.cleaner.enable", True), ("log.cleaner.threads", 1),
    ("log.cleaner.dedupe.buffer.size", 134217728), ("log.cleaner.delete.retention.ms", 86400000),
    ("log.cleaner.min.cleanable.ratio", 0.5), ("log.cleaner.min.compaction.lag.ms", 0),
    ("log.cleaner.backoff.ms", 15000), ("log.index.size.max.bytes", 10485760), ("log.index.interval.bytes", 4096),
    ("log.flush.interval.messages", 2 ** 63 - 1), ("log.flush.interval.ms", None),
    ("log.flush.scheduler.interval.ms", 2 ** 63 - 1), ("log.flush.offset.checkpoint.interval.ms", 60000),
    ("log.flush.start.offset.checkpoint.interval.ms", 60000), ("log.preallocate", False),
    ("log.message.format.version", "2.8-IV1"), ("log.message.timestamp.type", "CreateTime"),
    ("log.message.timestamp.difference.max.ms", 2 ** 63 - 1), ("message.max.bytes", 1048588),
    ("num.recovery.threads.per.data.dir", 1), ("inter.broker.protocol.version", "2.8-IV1"),
    ("compression.type", "producer"), ("offsets.topic.num.partitions", 50),
    ("offsets.topic.replication.factor", 3), ("offsets.topic.segment.bytes", 104857600),
    ("offsets.retention.minutes", 10080), ("offsets.retention.check.interval.ms", 600000),
    ("offsets.commit.timeout.ms", 5000), ("offsets.load.buffer.size", 5242880),
    ("offsets.commit.required.acks", -1), ("offset.metadata.max.bytes", 4096),
    ("group.initial.rebalance.delay.ms", 3000), ("group.min.session.timeout.ms", 6000),
    ("group.max.session.timeout.ms", 1800000), ("group.max.size", 2 ** 31 - 1),
    ("transaction.state.log.replication.factor", 3), ("transaction.state.log.min.isr", 2),
    ("transaction.state.log.num.partitions", 50), ("transaction.state.log.segment.bytes", 104857600),
    ("transaction.max.timeout.ms", 900000), ("transactional.id.expiration.ms", 604800000),
    ("request.timeout.ms", 30000), ("queued.max.requests", 500), ("broker.rack", None),
    ("metric.reporters", ()), ("fetch.max.bytes", 57671680), ("max.incremental.fetch.session.cache.slots", 1000),
    ("max.connections.per.ip", 2 ** 31 - 1),
])
def test_kafka_defaults(name, default):
    config = KafkaConfig.from_props(ZK)
    assert config.get(name) == default
    assert BROKER_CONFIG[name].default == default


def test_zookeeper_connect_is_required():
    with pytest.raises(ConfigError) as info:
        KafkaConfig.from_props({})
    assert "zookeeper.connect" in str(info.value)


@pytest.mark.parametrize("name,mode", [
    ("listeners", PER_BROKER), ("advertised.listeners", PER_BROKER), ("listener.security.protocol.map", PER_BROKER),
    ("ssl.keystore.location", PER_BROKER), ("log.retention.ms", CLUSTER_WIDE), ("log.retention.bytes", CLUSTER_WIDE),
    ("log.segment.bytes", CLUSTER_WIDE), ("message.max.bytes", CLUSTER_WIDE), ("num.io.threads", CLUSTER_WIDE),
    ("log.cleaner.threads", CLUSTER_WIDE), ("min.insync.replicas", CLUSTER_WIDE),
    ("unclean.leader.election.enable", CLUSTER_WIDE), ("max.connections", CLUSTER_WIDE),
    ("log.retention.hours", READ_ONLY), ("log.message.format.version", READ_ONLY), ("broker.id", READ_ONLY),
    ("zookeeper.connect", READ_ONLY), ("num.partitions", READ_ONLY), ("log.dirs", READ_ONLY),
])
def test_dynamic_update_modes(name, mode):
    assert BROKER_CONFIG[name].dynamic == mode


def test_every_property_has_a_doc_and_an_attribute():
    config = KafkaConfig.from_props(ZK)
    for key in BROKER_CONFIG:
        assert key.doc, key.name
        assert hasattr(config, key.attr), key.name


# ------------------------------------------------------------------ sample file and docs

def test_sample_server_properties_is_known_and_valid(caplog):
    props = load_properties(SAMPLE)
    unknown = [name for name in props if name not in BROKER_CONFIG]
    assert unknown == []
    with caplog.at_level(logging.WARNING):
        config = KafkaConfig.from_file(SAMPLE)
    assert config.unknown == ()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # the sample's values, as Kafka 2.8 ships them
    expected = {
        "broker.id": 0, "num.network.threads": 3, "num.io.threads": 8, "socket.send.buffer.bytes": 102400,
        "socket.receive.buffer.bytes": 102400, "socket.request.max.bytes": 104857600,
        "log.dirs": "/tmp/kafka-logs", "num.partitions": 1, "num.recovery.threads.per.data.dir": 1,
        "offsets.topic.replication.factor": 1, "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1, "log.retention.hours": 168, "log.segment.bytes": 1073741824,
        "log.retention.check.interval.ms": 300000, "zookeeper.connect": "localhost:2181",
        "zookeeper.connection.timeout.ms": 18000, "group.initial.rebalance.delay.ms": 0,
        # kafkapy's one deliberate difference: the sample binds loopback (Kafka's leaves listeners unset,
        # which listens on every interface).
        "listeners": "PLAINTEXT://localhost:9092",
    }
    assert set(props) == set(expected)
    for name, value in expected.items():
        assert config.get(name) == value, name
    assert config.log_dirs == ("/tmp/kafka-logs",)
    assert config.listener_endpoints == (EndPoint("PLAINTEXT", "localhost", 9092, "PLAINTEXT"),)


def test_sample_commented_properties_are_known():
    # "#name=value" lines in the sample document real properties with valid values
    for line in SAMPLE.read_text().splitlines():
        if line.startswith("#") and "=" in line and " " not in line.split("=")[0]:
            name, value = line[1:].split("=", 1)
            assert name in BROKER_CONFIG, name
            make({name: value})


def test_docs_are_up_to_date():
    docs = REPO / "docs" / "configuration.md"
    assert docs.read_text(encoding="utf-8") == gen_config_docs.render(), \
        "docs/configuration.md is stale: run python -m kafkapy.tools.gen_config_docs"
    assert gen_config_docs.main(["--check", "--output", str(docs)]) == 0


def test_docs_generator_writes_and_checks(tmp_path, capsys):
    out = tmp_path / "c.md"
    assert gen_config_docs.main(["--check", "--output", str(out)]) == 1
    assert gen_config_docs.main(["--output", str(out)]) == 0
    text = out.read_text()
    assert gen_config_docs.main(["--check", "--output", str(out)]) == 0
    for key in BROKER_CONFIG:
        assert f"| `{key.name}` |" in text


# ------------------------------------------------------------------ derived values

def test_retention_precedence():
    assert make({}).log_retention_time_millis == 168 * 3600 * 1000
    assert make({"log.retention.hours": "1"}).log_retention_time_millis == 3600000
    assert make({"log.retention.hours": "1", "log.retention.minutes": "30"}).log_retention_time_millis == 1800000
    assert make({"log.retention.hours": "1", "log.retention.minutes": "30",
                 "log.retention.ms": "1234"}).log_retention_time_millis == 1234
    assert make({"log.retention.ms": "-1"}).log_retention_time_millis == -1
    assert make({"log.retention.hours": "-5"}).log_retention_time_millis == -1
    with pytest.raises(ConfigError, match="log.retention.ms must be unlimited"):
        make({"log.retention.ms": "0"})


def test_roll_and_jitter_and_flush():
    c = make({})
    assert c.log_roll_time_millis == 168 * 3600 * 1000
    assert c.log_roll_time_jitter_millis == 0
    assert c.log_flush_interval_millis == 2 ** 63 - 1
    c = make({"log.roll.hours": "2", "log.roll.jitter.hours": "1", "log.flush.scheduler.interval.ms": "500"})
    assert c.log_roll_time_millis == 7200000 and c.log_roll_time_jitter_millis == 3600000
    assert c.log_flush_interval_millis == 500
    c = make({"log.roll.hours": "2", "log.roll.ms": "60000", "log.roll.jitter.ms": "10",
              "log.flush.interval.ms": "1000"})
    assert c.log_roll_time_millis == 60000 and c.log_roll_time_jitter_millis == 10
    assert c.log_flush_interval_millis == 1000
    with pytest.raises(ConfigError, match="log.roll.ms must be greater than or equal to 1"):
        make({"log.roll.ms": "0"})
    with pytest.raises(ConfigError, match="at least 1"):
        make({"log.roll.hours": "0"})


def test_log_dirs():
    assert make({}).log_dirs == ("/tmp/kafka-logs",)
    assert make({"log.dir": "/a"}).log_dirs == ("/a",)
    assert make({"log.dir": "/a", "log.dirs": " /b , /c,,/d "}).log_dirs == ("/b", "/c", "/d")
    assert make({"log.dirs": "/b"}).get("log.dirs") == "/b"
    with pytest.raises(ConfigError, match="At least one log directory"):
        make({"log.dirs": " , "})


def test_zk_connection_timeout_falls_back_to_session_timeout():
    assert make({}).zk_connection_timeout_ms == 18000
    assert make({"zookeeper.session.timeout.ms": "6000"}).zk_connection_timeout_ms == 6000
    assert make({"zookeeper.connection.timeout.ms": "1000"}).zk_connection_timeout_ms == 1000


def test_default_listeners_and_legacy_host_port():
    c = make({})
    assert [e.connection_string for e in c.listener_endpoints] == ["PLAINTEXT://:9092"]
    assert c.advertised_listener_endpoints == c.listener_endpoints
    c = make({"host.name": "127.0.0.1", "port": "19092"})
    assert c.listener_endpoints == (EndPoint("PLAINTEXT", "127.0.0.1", 19092, "PLAINTEXT"),)
    c = make({"port": "19092", "advertised.host.name": "kafka.example", })
    assert c.advertised_listener_endpoints == (EndPoint("PLAINTEXT", "kafka.example", 19092, "PLAINTEXT"),)
    c = make({"advertised.port": "29092"})
    assert c.advertised_listener_endpoints == (EndPoint("PLAINTEXT", None, 29092, "PLAINTEXT"),)
    # listeners wins over host.name/port
    c = make({"listeners": "PLAINTEXT://127.0.0.1:9999", "port": "1"})
    assert c.listener_endpoints[0].port == 9999


def test_named_listeners():
    c = make({
        "listeners": "internal://127.0.0.1:9092, EXTERNAL://[::1]:9093,ctrl://:0",
        "advertised.listeners": "INTERNAL://broker1:9092,EXTERNAL://[2001:db8::1]:9093",
        "listener.security.protocol.map": "INTERNAL:PLAINTEXT, EXTERNAL:ssl,CTRL:PLAINTEXT",
        "inter.broker.listener.name": "internal",
    })
    assert c.listener_endpoints == (
        EndPoint("INTERNAL", "127.0.0.1", 9092, "PLAINTEXT"),
        EndPoint("EXTERNAL", "::1", 9093, "SSL"),
        EndPoint("CTRL", None, 0, "PLAINTEXT"),
    )
    assert c.advertised_listener_endpoints[1].connection_string == "EXTERNAL://[2001:db8::1]:9093"
    assert c.inter_broker_listener_name == "INTERNAL"
    assert c.inter_broker_security_protocol == "PLAINTEXT"
    assert c.listener_security_protocol_map == {"INTERNAL": "PLAINTEXT", "EXTERNAL": "SSL", "CTRL": "PLAINTEXT"}
    assert c.get("inter.broker.listener.name") == "internal"


def test_security_inter_broker_protocol_picks_the_listener():
    c = make({"listeners": "PLAINTEXT://:9092,SSL://:9093", "security.inter.broker.protocol": "ssl"})
    assert c.inter_broker_listener_name == "SSL" and c.inter_broker_security_protocol == "SSL"


@pytest.mark.parametrize("props,message", [
    ({"listeners": "FOO://:9092"}, "No security protocol defined for listener FOO"),
    ({"listeners": "PLAINTEXT://:9092,PLAINTEXT://:9093"}, "Each listener must have a different name"),
    ({"listeners": "PLAINTEXT://:9092,SSL://:9092"}, "Each listener must have a different port"),
    ({"listeners": "garbage"}, "Unable to parse garbage"),
    ({"listener.security.protocol.map": "PLAINTEXT:BOGUS"}, "Invalid security protocol `BOGUS`"),
    ({"security.inter.broker.protocol": "bogus"}, "Invalid security protocol `bogus`"),
    ({"advertised.listeners": "PLAINTEXT://0.0.0.0:9092"}, "nonroutable meta-address 0.0.0.0"),
    ({"inter.broker.listener.name": "PLAINTEXT", "security.inter.broker.protocol": "PLAINTEXT"},
     "Only one of inter.broker.listener.name and security.inter.broker.protocol should be set."),
    ({"listeners": "PLAINTEXT://:9092,SSL://:9093", "advertised.listeners": "SSL://h:9093"},
     "inter.broker.listener.name must be a listener name defined in advertised.listeners"),
    ({"advertised.listeners": "PLAINTEXT://h:1,SSL://h:2"}, "must be equal to or a subset"),
    ({"inter.broker.listener.name": "NOPE"}, "Listener with name NOPE defined in inter.broker.listener.name"),
])
def test_listener_errors(props, message):
    with pytest.raises(ConfigError) as info:
        make(props)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_control_plane_listener():
    c = make({"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093",
              "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
              "control.plane.listener.name": "CONTROLLER"})
    assert c.control_plane_listener == EndPoint("CONTROLLER", None, 9093, "PLAINTEXT")
    assert [e.listener_name for e in c.data_plane_listeners] == ["PLAINTEXT"]
    with pytest.raises(ConfigError, match="different value from the inter broker listener"):
        make({"control.plane.listener.name": "PLAINTEXT"})


def test_parse_helpers():
    assert parse_security_protocol_map("") == {}
    assert parse_security_protocol_map("a:plaintext") == {"A": "PLAINTEXT"}
    eps = parse_listeners("PLAINTEXT://h:1,SSL://h:1", {"PLAINTEXT": "PLAINTEXT", "SSL": "SSL"},
                          require_distinct_ports=False)
    assert len(eps) == 2
    assert parse_overrides(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(ConfigError, match="Invalid command line properties"):
        parse_overrides(["novalue"])


# ------------------------------------------------------------------ broker id and cross checks

def test_broker_id_rules():
    assert make({"broker.id": "1000"}).broker_id == 1000
    assert make({}).requires_broker_id_generation
    assert not make({"broker.id": "3"}).requires_broker_id_generation
    with pytest.raises(ConfigError, match="not greater than reserved.broker.max.id"):
        make({"broker.id": "1001"})
    assert make({"broker.id": "1001", "reserved.broker.max.id": "2000"}).broker_id == 1001
    with pytest.raises(ConfigError, match="broker.id must be greater than or equal to 0"):
        make({"broker.id.generation.enable": "false"})
    with pytest.raises(ConfigError, match="broker.id must be greater than or equal to -1"):
        make({"broker.id": "-2"})


@pytest.mark.parametrize("props,message", [
    ({"replica.fetch.wait.max.ms": "40000"}, "replica.socket.timeout.ms should always be at least"),
    ({"replica.fetch.wait.max.ms": "20000", "replica.lag.time.max.ms": "10000"},
     "replica.fetch.wait.max.ms should always be less than or equal to replica.lag.time.max.ms"),
    ({"offsets.commit.required.acks": "5"}, "offsets.commit.required.acks must be"),
    ({"log.cleaner.dedupe.buffer.size": "1048576"}, "at least 1MB per cleaner thread"),
    ({"queued.max.request.bytes": "10"}, "queued.max.request.bytes must be larger"),
    ({"max.connections.per.ip": "0"}, "can be set to zero only if"),
    ({"connections.max.idle.ms": "50"}, "should always be less than connections.max.idle.ms=50"),
    ({"compression.type": "brotli"}, "compression.type : brotli is not valid"),
    ({"inter.broker.protocol.version": "0.9.0", "log.message.format.version": "0.10.0"},
     "log.message.format.version 0.10.0 can only be used when inter.broker.protocol.version is set to "
     "version 0.10.0 or higher"),
    ({"inter.broker.protocol.version": "9.9"}, "Version `9.9` is not a valid version"),
    ({"log.cleanup.policy": "delete,bogus"}, "Invalid value bogus for configuration log.cleanup.policy"),
    ({"log.message.timestamp.type": "Now"}, "String must be one of: CreateTime, LogAppendTime"),
])
def test_cross_property_checks(props, message):
    with pytest.raises(ConfigError) as info:
        make(props)
    assert message in str(info.value)


def test_bad_value_is_one_line():
    with pytest.raises(ConfigError) as info:
        make({"num.partitions": "abc"})
    assert str(info.value) == "Invalid value abc for configuration num.partitions: Not a number of type INT"
    with pytest.raises(ConfigError) as info:
        make({"auto.create.topics.enable": "yes"})
    assert str(info.value) == ("Invalid value yes for configuration auto.create.topics.enable: "
                               "Expected value to be either true or false")


def test_unknown_property_warns(caplog):
    with caplog.at_level(logging.WARNING):
        c = make({"foo.bar": "1", "listener.name.plaintext.ssl.keystore.location": "/x"})
    assert c.unknown == ("foo.bar",)
    assert "The configuration 'foo.bar' was supplied but isn't a known config." in caplog.messages
    assert c.originals()["foo.bar"] == "1"


def test_typed_attributes():
    c = make({"num.partitions": " 6 ", "log.cleanup.policy": "compact, delete",
              "log.cleaner.min.cleanable.ratio": "0.25", "ssl.key.password": "pw",
              "auto.create.topics.enable": "FALSE", "offsets.topic.replication.factor": "1"})
    assert c.num_partitions == 6
    assert c.log_cleanup_policy == ("compact", "delete")
    assert c.log_cleaner_min_cleanable_ratio == 0.25
    assert c.ssl_key_password == Password("pw")
    assert c.auto_create_topics_enable is False
    assert c.offsets_topic_replication_factor == 1
    assert c.offsets_retention_ms == 10080 * 60000
    assert c.leader_imbalance_check_interval_ms == 300000


# ------------------------------------------------------------------ versions

@pytest.mark.parametrize("text,expected", [
    ("2.8", "2.8-IV1"), ("2.8-IV0", "2.8-IV0"), ("2.8.1", "2.8-IV1"), ("0.10.0", "0.10.0-IV1"),
    ("0.10.0.1", "0.10.0-IV1"), ("0.10.2-IV0", "0.10.2-IV0"), ("1.0.0", "1.0-IV0"), ("0.8.2", "0.8.2"),
    ("0.8.2.2", "0.8.2"), ("2.1", "2.1-IV2"),
])
def test_api_version_parsing(text, expected):
    assert parse_api_version(text).version == expected


def test_api_versions_order_and_record_versions():
    assert [v.index for v in API_VERSIONS] == list(range(len(API_VERSIONS)))
    assert parse_api_version("0.9.0").record_version == 0
    assert parse_api_version("0.10.2").record_version == 1
    assert parse_api_version("0.11.0").record_version == 2
    assert parse_api_version("0.10.0") < parse_api_version("2.8")
    c = make({"log.message.format.version": "0.10.2"})
    assert c.log_message_format_record_version == 1
    assert c.inter_broker_protocol.version == "2.8-IV1" and c.uses_topic_id
    assert not make({"inter.broker.protocol.version": "2.7"}).uses_topic_id
    with pytest.raises(ValueError):
        parse_api_version("3.0")


# ------------------------------------------------------------------ files, overrides, banner, reconfigure

def test_from_file_with_overrides(tmp_path):
    path = tmp_path / "server.properties"
    path.write_text("broker.id=1\nzookeeper.connect=zk:2181/kafka\nlog.dirs=/data/a, /data/b\n")
    c = KafkaConfig.from_file(path, ["broker.id=7", "num.partitions=3"])
    assert c.broker_id == 7 and c.num_partitions == 3
    assert c.zookeeper_connect == "zk:2181/kafka"
    assert c.log_dirs == ("/data/a", "/data/b")
    with pytest.raises(ConfigError):
        KafkaConfig.from_file(path, ["num.partitions=zero"])


def test_log_values_banner(caplog):
    c = make({"ssl.keystore.password": "s3cret", "broker.id": "5"})
    log = logging.getLogger("kafka.server.KafkaConfig.test")
    with caplog.at_level(logging.INFO, logger=log.name):
        c.log_values(log)
    text = caplog.records[-1].getMessage()
    lines = text.split("\n")
    assert lines[0] == "KafkaConfig values: "
    assert len(lines) == len(BROKER_CONFIG) + 1
    names = [line.split(" = ")[0].lstrip("\t") for line in lines[1:]]
    assert names == sorted(BROKER_CONFIG.names())
    assert all(line.startswith("\t") for line in lines[1:])
    assert "\tbroker.id = 5" in lines
    assert "\tlog.cleanup.policy = [delete]" in lines
    assert "\tzookeeper.connection.timeout.ms = null" in lines
    assert "\tssl.keystore.password = [hidden]" in lines
    assert "\tlog.cleaner.io.max.bytes.per.second = 1.7976931348623157E308" in lines
    assert "s3cret" not in text


def test_reconfigure():
    c = make({"broker.id": "1"})
    d = c.reconfigure({"log.retention.ms": "1000", "listeners": "PLAINTEXT://:9095"})
    assert d.log_retention_time_millis == 1000 and d.listener_endpoints[0].port == 9095
    assert c.log_retention_time_millis == 168 * 3600000  # the original is unchanged
    back = d.reconfigure({"log.retention.ms": None})
    assert back.log_retention_time_millis == 168 * 3600000
    with pytest.raises(ConfigError, match="Cannot update these configs dynamically: num.partitions"):
        c.reconfigure({"num.partitions": "4"})
    # setting a read-only property to its current value is not a change
    assert c.reconfigure({"broker.id": "1"}) == c


def test_log_values_default_logger_is_kafkas(caplog):
    with caplog.at_level(logging.INFO, logger="kafka.server.KafkaConfig"):
        make({}).log_values()
    record = caplog.records[-1]
    assert record.name == "kafka.server.KafkaConfig"
    assert record.getMessage().startswith("KafkaConfig values: \n\t")


def test_config_is_immutable():
    c = make({})
    with pytest.raises(AttributeError):
        c.broker_id = 3  # type: ignore[misc]


# ------------------------------------------------------------------ Kafka 2.8 itself as the oracle
#
# The jars come from KAFKAPY_KAFKA_CLASSPATH when set, else from kafkapy.testing.kafka_dist (Maven, cached);
# the tests skip with the reason when neither works. Needs `java` 11+.


def _kafka_classpath() -> tuple[str | None, str]:
    explicit = os.environ.get("KAFKAPY_KAFKA_CLASSPATH")
    if explicit:
        return explicit, ""
    from kafkapy.testing.kafka_dist import KafkaDistUnavailable, kafka_classpath
    try:
        return kafka_classpath(), ""
    except KafkaDistUnavailable as exc:
        return None, str(exc)


_KAFKA_CP, _KAFKA_CP_PROBLEM = _kafka_classpath() if shutil.which("java") else (None, "java is not installed")
_JAVA = shutil.which("java")
needs_kafka = pytest.mark.skipif(not (_KAFKA_CP and _JAVA),
                                 reason=f"Kafka 2.8.2's jars are unavailable ({_KAFKA_CP_PROBLEM}); set "
                                        "KAFKAPY_KAFKA_CLASSPATH to compare with Kafka's own KafkaConfig")

_TABLE_DUMPER = r"""
import org.apache.kafka.common.config.ConfigDef;
import java.util.*;
public class TableDump {
    public static void main(String[] a) {
        ConfigDef def = kafka.server.KafkaConfig$.MODULE$.configDef();
        Map<String, String> modes = kafka.server.DynamicBrokerConfig$.MODULE$.dynamicConfigUpdateModes();
        for (ConfigDef.ConfigKey k : new TreeMap<>(def.configKeys()).values()) {
            if (k.internalConfig) continue;
            String d = k.hasDefault()
                ? String.valueOf(ConfigDef.convertToString(k.defaultValue, k.type)) : "<required>";
            System.out.println(k.name + "\t" + k.type + "\t" + d + "\t" + k.importance + "\t" + k.validator
                + "\t" + modes.getOrDefault(k.name, "read-only"));
        }
    }
}
"""

_DERIVER = r"""
import kafka.server.KafkaConfig;
import kafka.cluster.EndPoint;
import java.io.*;
import java.util.*;
public class Derive {
    static String eps(scala.collection.Seq<EndPoint> s) {
        List<String> out = new ArrayList<>();
        scala.collection.Iterator<EndPoint> it = s.iterator();
        while (it.hasNext()) { EndPoint e = it.next();
            out.add(e.listenerName().value() + "|" + e.host() + "|" + e.port() + "|" + e.securityProtocol()); }
        return String.join(";", out);
    }
    public static void main(String[] a) throws Exception {
        for (String f : a) {
            Properties p = new Properties();
            try (InputStream in = new FileInputStream(f)) { p.load(in); }
            try {
                KafkaConfig c = new KafkaConfig(p, false);
                List<String> dirs = new ArrayList<>();
                scala.collection.Iterator<String> it = c.logDirs().iterator();
                while (it.hasNext()) dirs.add(it.next());
                System.out.println("OK\t" + c.logRetentionTimeMillis() + "\t" + c.logRollTimeMillis() + "\t"
                    + c.logRollTimeJitterMillis() + "\t" + c.logFlushIntervalMs() + "\t" + String.join(";", dirs)
                    + "\t" + eps(c.listeners()) + "\t" + eps(c.advertisedListeners()) + "\t"
                    + c.interBrokerListenerName().value() + "\t" + c.interBrokerSecurityProtocol() + "\t"
                    + c.zkConnectionTimeoutMs() + "\t" + c.interBrokerProtocolVersion().version() + "\t"
                    + c.logMessageFormatVersion().recordVersion().value + "\t" + c.brokerId());
            } catch (Throwable e) {
                System.out.println("ERROR");
            }
        }
    }
}
"""

_ORACLE_CASES = [
    {}, {"log.retention.hours": "1"}, {"log.retention.hours": "1", "log.retention.minutes": "30"},
    {"log.retention.ms": "1234", "log.retention.minutes": "30"}, {"log.retention.ms": "-1"},
    {"log.retention.hours": "-5"}, {"log.retention.ms": "0"}, {"log.retention.minutes": "0"},
    {"log.roll.hours": "2", "log.roll.jitter.hours": "1", "log.flush.scheduler.interval.ms": "500"},
    {"log.roll.ms": "60000", "log.roll.jitter.ms": "10", "log.flush.interval.ms": "1000"}, {"log.roll.ms": "0"},
    {"log.dir": "/a"}, {"log.dir": "/a", "log.dirs": " /b , /c,,/d "}, {"log.dirs": " , "},
    {"zookeeper.session.timeout.ms": "6000"}, {"zookeeper.connection.timeout.ms": "1000"},
    {"host.name": "127.0.0.1", "port": "19092"}, {"port": "19092", "advertised.host.name": "kafka.example"},
    {"advertised.port": "29092"}, {"listeners": "PLAINTEXT://127.0.0.1:9999", "port": "1"},
    {"listeners": "internal://127.0.0.1:9092, EXTERNAL://[::1]:9093,ctrl://:0",
     "advertised.listeners": "INTERNAL://broker1:9092,EXTERNAL://[2001:db8::1]:9093",
     "listener.security.protocol.map": "INTERNAL:PLAINTEXT, EXTERNAL:ssl,CTRL:PLAINTEXT",
     "inter.broker.listener.name": "internal"},
    {"listeners": "PLAINTEXT://:9092,SSL://:9093", "security.inter.broker.protocol": "ssl"},
    {"listeners": "FOO://:9092"}, {"listeners": "PLAINTEXT://:9092,PLAINTEXT://:9093"},
    {"listeners": "PLAINTEXT://:9092,SSL://:9092"}, {"listeners": "garbage"}, {"listeners": ""},
    {"listener.security.protocol.map": "PLAINTEXT:BOGUS"}, {"listener.security.protocol.map": ""},
    {"security.inter.broker.protocol": "bogus"}, {"advertised.listeners": "PLAINTEXT://0.0.0.0:9092"},
    {"inter.broker.listener.name": "PLAINTEXT", "security.inter.broker.protocol": "PLAINTEXT"},
    {"listeners": "PLAINTEXT://:9092,SSL://:9093", "advertised.listeners": "SSL://h:9093"},
    {"advertised.listeners": "PLAINTEXT://h:1,SSL://h:2"}, {"inter.broker.listener.name": "NOPE"},
    {"advertised.host.name": "h", "advertised.listeners": "PLAINTEXT://x:1"},
    {"listeners": "PLAINTEXT://[fe80::1%eth0]:9092"}, {"listeners": "PLAINTEXT://:-1"},
    {"broker.id": "1000"}, {"broker.id": "1001"}, {"broker.id": "1001", "reserved.broker.max.id": "2000"},
    {"broker.id.generation.enable": "false"}, {"broker.id": "-2"}, {"replica.fetch.wait.max.ms": "40000"},
    {"replica.fetch.wait.max.ms": "20000", "replica.lag.time.max.ms": "10000"},
    {"offsets.commit.required.acks": "5"}, {"log.cleaner.dedupe.buffer.size": "1048576"},
    {"queued.max.request.bytes": "10"}, {"max.connections.per.ip": "0"},
    {"max.connections.per.ip.overrides": "host1:5, 127.0.0.1:6"}, {"connections.max.idle.ms": "50"},
    {"compression.type": "brotli"}, {"compression.type": "zstd"},
    {"inter.broker.protocol.version": "0.9.0", "log.message.format.version": "0.10.0"},
    {"inter.broker.protocol.version": "9.9"}, {"log.message.format.version": "0.10.2"},
    {"inter.broker.protocol.version": "2.7"}, {"inter.broker.protocol.version": "0.10.0.1",
                                               "log.message.format.version": "0.9.0"},
    {"offsets.topic.compression.codec": "4", "inter.broker.protocol.version": "2.0"},
    {"log.cleanup.policy": "delete,bogus"}, {"log.message.timestamp.type": "Now"}, {"num.partitions": "abc"},
    {"auto.create.topics.enable": "yes"}, {"control.plane.listener.name": "PLAINTEXT"},
    {"listeners": "PLAINTEXT://:9092,CONTROLLER://:9093",
     "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
     "control.plane.listener.name": "CONTROLLER"},
]


def _run_java(tmp_path: Path, source: str, class_name: str, *args: str) -> list[str]:
    src = tmp_path / f"{class_name}.java"
    src.write_text(source)
    proc = subprocess.run([_JAVA, "-cp", _KAFKA_CP, str(src), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.splitlines()


@needs_kafka
def test_table_matches_kafka_28(tmp_path):
    rows = _run_java(tmp_path, _TABLE_DUMPER, "TableDump")
    kafka = {r.split("\t")[0]: r.split("\t")[1:] for r in rows}
    assert sorted(kafka) == sorted(BROKER_CONFIG.names())
    for key in BROKER_CONFIG:
        type_, default, importance, validator_text, mode = kafka[key.name]
        ours_default = ("<required>" if key.default is REQUIRED else "null" if key.default is None
                        else key.default.value() if key.type is Type.PASSWORD else key.default_text())
        if key.name == "zookeeper.connect":
            assert default == "null" and ours_default == "<required>"  # required here, checked later by Kafka
        else:
            assert (ours_default if ours_default != '""' else "") == default, key.name
        assert key.type.name == type_, key.name
        assert key.importance.name == importance, key.name
        assert key.dynamic == mode, key.name
        if key.name != "compression.type":  # Kafka checks it after parsing; we describe it in the docs
            assert (key.validator.describe() if key.validator else "null") == validator_text, key.name


@needs_kafka
def test_derived_values_match_kafka_28(tmp_path):
    files = []
    for i, case in enumerate(_ORACLE_CASES):
        path = tmp_path / f"case{i}.properties"
        path.write_text(dump_properties({**ZK, **case}))
        files.append(str(path))
    lines = _run_java(tmp_path, _DERIVER, "Derive", *files)
    assert len(lines) == len(_ORACLE_CASES)

    def eps(endpoints):
        return ";".join(f"{e.listener_name}|{e.host if e.host is not None else 'null'}|{e.port}|"
                        f"{e.security_protocol}" for e in endpoints)

    for case, line in zip(_ORACLE_CASES, lines):
        try:
            c = KafkaConfig.from_props({**ZK, **case}, log_unknown=False)
            ours = "\t".join(["OK", str(c.log_retention_time_millis), str(c.log_roll_time_millis),
                              str(c.log_roll_time_jitter_millis), str(c.log_flush_interval_millis),
                              ";".join(c.log_dirs), eps(c.listener_endpoints), eps(c.advertised_listener_endpoints),
                              c.inter_broker_listener_name, c.inter_broker_security_protocol,
                              str(c.zk_connection_timeout_ms), c.inter_broker_protocol.version,
                              str(c.log_message_format_record_version), str(c.broker_id)])
        except ConfigError:
            ours = "ERROR"
        assert ours == line, case
