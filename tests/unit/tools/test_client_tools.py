"""Pure parts of the client tools: Kafka 2.8's line formats, orderings and argument parsing."""
from __future__ import annotations

import asyncio
import io

import pytest

from kafkapy.clients.consumer import ConsumerRecord
from kafkapy.tools import broker_api_versions, configs, console_consumer, console_producer, topics
from kafkapy.tools._common import CommandError, Opt, ToolParser, UsageError, parse_properties_list
from kafkapy.tools.producer_perf_test import Stats, ThroughputThrottler


# ---------------------------------------------------------------- Java ordering
def test_java_string_hash_matches_java() -> None:
    # Values of String.hashCode() (as unsigned 32-bit) computed by the definition s[0]*31^(n-1)+...
    assert topics.java_string_hash("") == 0
    assert topics.java_string_hash("a") == 97
    assert topics.java_string_hash("ab") == 97 * 31 + 98
    # String.hashCode() as printed by Java 17 for these strings.
    assert topics.java_string_hash("retention.ms") == -1339220362 & 0xFFFFFFFF
    assert topics.java_string_hash("cleanup.policy") == -537988164 & 0xFFFFFFFF
    assert topics.java_string_hash("\U0001F600") == 1772899       # two UTF-16 units in Java


def test_configs_order_is_javas_hashmap_order() -> None:
    # zookeeper-layout.md §8.5 and Kafka 2.8.2's TopicCommand output (see the integration oracle test).
    names = ["retention.ms", "cleanup.policy", "segment.bytes", "min.insync.replicas", "compression.type",
             "max.message.bytes"]
    assert topics.java_hashmap_order(names) == ["compression.type", "cleanup.policy", "max.message.bytes",
                                                "min.insync.replicas", "retention.ms", "segment.bytes"]
    assert topics.format_configs({"retention.ms": "1000", "cleanup.policy": "compact,delete"}) == \
        "cleanup.policy=compact,delete,retention.ms=1000"
    assert topics.format_configs({}) == ""


def test_hashmap_order_grows_table() -> None:
    keys = [f"k{i}" for i in range(40)]
    order = topics.java_hashmap_order(keys)
    assert sorted(order) == sorted(keys)
    cap = 64
    buckets = [(lambda h: (h ^ (h >> 16)) & (cap - 1))(topics.java_string_hash(k)) for k in order]
    assert buckets == sorted(buckets)


# ---------------------------------------------------------------- kafka-topics lines
def test_describe_lines() -> None:
    assert topics.topic_line("orders", "m5p3eGd0QWy2zSgHkNlTbA", 3, 2, "retention.ms=86400000", False) == \
        "Topic: orders\tTopicId: m5p3eGd0QWy2zSgHkNlTbA\tPartitionCount: 3\tReplicationFactor: 2\t" \
        "Configs: retention.ms=86400000"
    assert topics.topic_line("x", None, 1, 1, "", True) == \
        "Topic: x\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: \tMarkedForDeletion: true"
    assert topics.partition_line("orders", 2, None, [0, 1], [0], False) == \
        "\tTopic: orders\tPartition: 2\tLeader: none\tReplicas: 0,1\tIsr: 0"
    assert topics.partition_line("o", 0, -1, [1], [], True) == \
        "\tTopic: o\tPartition: 0\tLeader: none\tReplicas: 1\tIsr: \tMarkedForDeletion: true"
    assert topics.partition_line("o", 0, 1, [1, 2], [1], False, adding=[2]) == \
        "\tTopic: o\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1\tAdding Replicas: 2"


def test_replica_assignment_and_configs_parsing() -> None:
    assert topics.parse_replica_assignment("1:2,2:3, 3 :1") == {0: [1, 2], 1: [2, 3], 2: [3, 1]}
    with pytest.raises(topics.TopicCommandError, match="different replication factor"):
        topics.parse_replica_assignment("0:1,0")
    with pytest.raises(topics.TopicCommandError, match="duplicate"):
        topics.parse_replica_assignment("1:1")
    assert topics.parse_configs(["a=1", "b = 2"]) == {"a": "1", "b": "2"}
    with pytest.raises(topics.TopicCommandError, match='format "key=val"'):
        topics.parse_configs(["a=1=2"])
    with pytest.raises(topics.TopicCommandError, match="Unknown topic config name: foo"):
        topics.validate_topic_configs({"foo": "1"})
    topics.validate_topic_configs({"retention.ms": "1000", "cleanup.policy": "compact,delete"})


def test_topic_regex_is_kafkas_include_list() -> None:
    rx = topics.topic_regex(' "a.*, b" ')
    assert rx.fullmatch("abc") and rx.fullmatch("b") and not rx.fullmatch("xb")


@pytest.mark.parametrize("argv,message", [
    ([], "Create, delete, describe, or change a topic."),
    (["--help"], "This tool helps to create, delete, describe, or change a topic."),
    (["--list"], "Only one of --bootstrap-server or --zookeeper must be specified"),
    (["--zookeeper", "z"], "Command must include exactly one action: --list, --describe, --create, --alter or "
                           "--delete"),
    (["--zookeeper", "z", "--create", "--topic", "x"], 'Missing required argument "[partitions]"'),
    (["--zookeeper", "z", "--describe", "--under-min-isr-partitions"],
     'Option "[under-min-isr-partitions]" can\'t be used with option "[zookeeper]"'),
    (["--zookeeper", "z", "--frob"], "frob is not a recognized option"),
])
def test_topics_usage_errors(argv: list[str], message: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert asyncio.run(topics.run(argv, out, err)) == 1
    lines = err.getvalue().splitlines()
    assert lines[0] == message
    assert lines[1].startswith("Option") and lines[2].startswith("------")
    assert out.getvalue() == ""


def test_usage_layout_is_joptsimple_like() -> None:
    parser = ToolParser("x", [Opt("--bootstrap-server", "<String: server to connect to>",
                                  "REQUIRED: The Kafka server to connect to. In case of providing this, a direct "
                                  "Zookeeper connection won't be required."),
                              Opt("--create", None, "Create a new topic.")], "d")
    lines = parser.usage().splitlines()
    assert lines[0] == "Option".ljust(41) + "Description".ljust(39)
    # Kafka 2.8.2 prints exactly these two lines for an option of this shape.
    assert lines[2] == "--bootstrap-server <String: server to    REQUIRED: The Kafka server to connect  "
    assert lines[3] == "  connect to>                              to. In case of providing this, a     "
    assert all(len(line) == 80 for line in lines)
    assert lines[-1] == "--create".ljust(41) + "Create a new topic.".ljust(39)


def test_parse_properties_list() -> None:
    assert parse_properties_list(["a=b=c", " k = v "]) == {"a": "b=c", "k": "v"}
    with pytest.raises(UsageError):
        parse_properties_list(["novalue"])


# ---------------------------------------------------------------- kafka-configs
def test_config_list_parsing() -> None:
    assert configs.parse_config_list("retention.ms=1000,cleanup.policy=[compact,delete],x=y=z") == \
        {"retention.ms": "1000", "cleanup.policy": "compact,delete", "x": "y=z"}
    with pytest.raises(configs.IllegalArgument, match='format "key=val"'):
        configs.parse_config_list("retention.ms")


def test_entity_descriptions() -> None:
    assert configs.entity_description("topics", "t1") == "topic 't1'"
    assert configs.entity_description("clients", "c") == "client-id 'c'"
    assert configs.entity_description("users", "u") == "user-principal 'u'"
    assert configs.entity_description("brokers", "0") == "brokers '0'"
    assert configs.entity_description("brokers", configs.DEFAULT) == "default brokers"


def test_configs_invalid_entity_type() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert asyncio.run(configs.run(["--zookeeper", "z", "--entity-type", "foo", "--describe"], out, err)) == 1
    assert err.getvalue() == ("Invalid entity type foo, the entity type must be one of topics,clients,users,brokers,"
                              "ips with the --zookeeper argument\n")


# ---------------------------------------------------------------- console tools
def _rec(**kw) -> ConsumerRecord:
    base = dict(topic="t", partition=0, offset=0, timestamp=1795319781242, timestamp_type=0, key=b"k2",
                value=b"v2", headers=())
    base.update(kw)
    return ConsumerRecord(**base)


def test_default_message_formatter() -> None:
    everything = console_consumer.DefaultMessageFormatter({
        "print.key": "true", "print.timestamp": "true", "print.partition": "true", "print.offset": "true",
        "print.headers": "true"})
    # Kafka 2.8.2's ConsoleConsumer printed exactly this line for the same record.
    assert everything.format(_rec()) == b"CreateTime:1795319781242\tPartition:0\tOffset:0\tNO_HEADERS\tk2\tv2\n"
    assert everything.format(_rec(headers=(("a", b"1"), ("b", None)), timestamp_type=1, key=None)) == \
        b"LogAppendTime:1795319781242\tPartition:0\tOffset:0\ta:1,b:null\tnull\tv2\n"
    assert everything.format(_rec(timestamp=-1)).startswith(b"NO_TIMESTAMP\t")
    keyed = console_consumer.DefaultMessageFormatter({"print.key": "true", "key.separator": ":"})
    assert keyed.format(_rec()) == b"k2:v2\n"
    plain = console_consumer.DefaultMessageFormatter({})
    assert plain.format(_rec(value=None)) == b"null\n"
    assert console_consumer.DefaultMessageFormatter({"line.separator": "\\r\\n"}).format(_rec()) == b"v2\r\n"


def test_line_message_reader() -> None:
    plain = console_producer.LineMessageReader({})
    assert plain.parse(b"a\tb") == (None, b"a\tb")
    keyed = console_producer.LineMessageReader({"parse.key": "true", "key.separator": ":"})
    assert keyed.parse(b"k:v:w") == (b"k", b"v:w")
    with pytest.raises(CommandError, match="No key found on line 2: nokey"):
        keyed.parse(b"nokey")
    assert console_producer.LineMessageReader({"parse.key": "true", "ignore.error": "true"}).parse(b"x") == \
        (None, b"x")


@pytest.mark.parametrize("argv,first", [
    ([], "Missing required option(s) [bootstrap-server]"),
    (["--topic", "t"], "Missing required option(s) [bootstrap-server]"),
    (["--bootstrap-server", "h:1"], 'Missing required argument "[topic]"'),
])
def test_console_producer_usage_errors(argv: list[str], first: str) -> None:
    err = io.StringIO()
    assert asyncio.run(console_producer.run(argv, io.BytesIO(), io.StringIO(), err)) == 1
    assert err.getvalue().splitlines()[0] == first


@pytest.mark.parametrize("argv,first", [
    ([], "This tool helps to read data from Kafka topics and outputs it to standard output."),
    (["--topic", "t"], 'Missing required argument "[bootstrap-server]"'),
    (["--bootstrap-server", "h:1", "--topic", "t", "--offset", "1"],
     "The partition is required when offset is specified."),
])
def test_console_consumer_usage_errors(argv: list[str], first: str) -> None:
    err = io.StringIO()
    assert asyncio.run(console_consumer.run(argv, io.BytesIO(), err)) == 1
    assert err.getvalue().splitlines()[0] == first


def test_producer_props_mapping() -> None:
    args = console_producer.PARSER.parse(console_producer._normalize_argv(
        ["--broker-list", "h:1", "--topic", "t", "--compression-codec", "--producer-property", "linger.ms=7",
         "--request-required-acks", "all"]))
    props = console_producer.producer_props(args)
    assert props["bootstrap.servers"] == "h:1" and props["compression.type"] == "gzip"
    assert props["linger.ms"] == "7" and props["acks"] == "all" and props["batch.size"] == "16384"


# ---------------------------------------------------------------- perf test lines
def test_perf_stats_lines() -> None:
    out = io.StringIO()
    stats = Stats(1000, 5000, out)
    for i in range(1000):
        stats.record(i, i % 100, 100, stats.start + 0.001)
    stats.print_total()
    line = out.getvalue().strip()
    assert line.startswith("1000 records sent, ") and " records/sec (" in line
    assert line.endswith("49.50 ms avg latency, 99.00 ms max latency, 50 ms 50th, 95 ms 95th, 99 ms 99th, "
                         "99 ms 99.9th.")
    out2 = io.StringIO()
    s2 = Stats(10, 5000, out2)
    s2.record(0, 3, 100, s2.start + 5.0)
    assert out2.getvalue() == "1 records sent, 0.2 records/sec (0.00 MB/sec), 3.0 ms avg latency, 3.0 ms max latency.\n"


def test_throttler() -> None:
    t = ThroughputThrottler(100.0, 0.0)
    assert t.sleep_needed(50, 0.1) == pytest.approx(0.4)
    assert ThroughputThrottler(-1, 0.0).sleep_needed(10**6, 0.0) == 0.0


# ---------------------------------------------------------------- broker api versions
def test_api_versions_lines() -> None:
    lines = broker_api_versions.format_versions({0: (0, 9), 1: (0, 12), 18: (0, 3), 45: (0, 0)})
    # As Kafka 2.8.2's BrokerApiVersionsCommand prints them (captured against a kafkapy broker).
    assert lines[0] == "\tProduce(0): 0 to 9 [usable: 9]"
    assert lines[1] == "\tFetch(1): 0 to 12 [usable: 12]"
    assert "\tOffsetCommit(8): UNSUPPORTED" in lines
    assert "\tAlterPartitionReassignments(45): 0 [usable: 0]" in lines
    assert lines[-1] == "\tDescribeProducers(61): UNSUPPORTED"
    assert len(lines) == 56
