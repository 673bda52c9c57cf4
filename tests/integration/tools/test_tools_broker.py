"""The bin/ client tools as subprocesses against a kafkapy broker; expected text is Kafka 2.8's."""
from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from kafkapy.testing.broker import BrokerProcess, wait_for_leaders

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[3]
BIN = REPO / "bin"


def tool(name: str, *args: str, stdin: bytes | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / name), *args], input=stdin, capture_output=True, timeout=timeout)


def _zk_get(connect: str, path: str) -> tuple[dict | None, list[str]]:
    """(JSON of `path`, children of /config/changes) read with kazoo directly."""
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoNodeError
    zk = KazooClient(hosts=connect)
    zk.start(timeout=15)
    try:
        try:
            data, _ = zk.get(path)
            doc = json.loads(data) if data else None
        except NoNodeError:
            doc = None
        try:
            changes = zk.get_children("/config/changes")
        except NoNodeError:
            changes = []
        return doc, changes
    finally:
        zk.stop()
        zk.close()


def _topic_id(connect: str, topic: str, timeout_s: float = 30) -> str | None:
    deadline = time.monotonic() + timeout_s
    doc = None
    while time.monotonic() < deadline:
        doc, _ = _zk_get(connect, f"/brokers/topics/{topic}")
        if doc and doc.get("topic_id"):
            return doc["topic_id"]
        time.sleep(0.1)
    return None


def test_topic_created_with_zookeeper_before_broker_start_is_served(zk_chroot: str, tmp_path: Path) -> None:
    r = tool("kafka-topics.sh", "--zookeeper", zk_chroot, "--create", "--topic", "early", "--partitions", "2",
             "--replication-factor", "1", "--config", "retention.ms=86400000")
    # No broker registered yet: the assignment needs live brokers, as in Kafka.
    assert r.returncode == 1
    assert r.stdout.decode() == ("Error while executing topic command : Replication factor: 1 larger than "
                                 "available brokers: 0.\n")
    r = tool("kafka-topics.sh", "--zookeeper", zk_chroot, "--create", "--topic", "early",
             "--replica-assignment", "0,0", "--config", "retention.ms=86400000")
    assert (r.returncode, r.stdout.decode(), r.stderr.decode()) == (0, "Created topic early.\n", "")
    doc, _ = _zk_get(zk_chroot, "/brokers/topics/early")
    assert doc["partitions"] == {"0": [0], "1": [0]}
    cfg, changes = _zk_get(zk_chroot, "/config/topics/early")
    assert cfg == {"version": 1, "config": {"retention.ms": "86400000"}}
    assert changes == []                                 # create writes no change notification
    broker = BrokerProcess(tmp_path / "b", zk_chroot, broker_id=0).start()
    try:
        wait_for_leaders(broker.bootstrap, "early", 2)
        out = tool("kafka-console-producer.sh", "--bootstrap-server", broker.bootstrap, "--topic", "early",
                   "--property", "parse.key=true", "--property", "key.separator=:",
                   stdin=b"a:1\nb:2\nc:3\n")
        assert out.returncode == 0, out.stderr
        got = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--topic", "early",
                   "--from-beginning", "--max-messages", "3", "--timeout-ms", "20000",
                   "--property", "print.key=true")
        assert sorted(got.stdout.decode().splitlines()) == ["a\t1", "b\t2", "c\t3"]
        assert got.stderr.decode() == "Processed a total of 3 messages\n"
        topic_id = _topic_id(zk_chroot, "early")
        r = tool("kafka-topics.sh", "--zookeeper", zk_chroot, "--describe", "--topic", "early")
        tid = f"\tTopicId: {topic_id}" if topic_id else ""
        assert r.stdout.decode() == (
            f"Topic: early{tid}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=86400000\n"
            "\tTopic: early\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\n"
            "\tTopic: early\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0\n")
    finally:
        broker.stop()
    # Broker gone: its leaders stay in ZooKeeper, but --unavailable-partitions sees it is not live.
    r = tool("kafka-topics.sh", "--zookeeper", zk_chroot, "--describe", "--unavailable-partitions")
    # The console consumer's group (Kafka 2.8 always uses one) created __consumer_offsets on that broker too.
    all_lines = r.stdout.decode().splitlines()
    lines = [line for line in all_lines if line.startswith("\tTopic: early\t")]
    assert len(lines) == 2
    for p, line in enumerate(lines):
        assert re.fullmatch(rf"\tTopic: early\tPartition: {p}\tLeader: (0|none)\tReplicas: 0\tIsr: 0", line), line
    assert all(line.startswith("\tTopic: __consumer_offsets\t") for line in all_lines if line not in lines)


def test_topics_tool_zookeeper_actions(broker) -> None:
    zk = broker.zookeeper_connect
    name = f"a.b_{uuid.uuid4().hex[:6]}"
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--create", "--topic", name, "--partitions", "3",
             "--replication-factor", "1", "--config", "retention.ms=1000", "--config", "cleanup.policy=compact",
             "--config", "segment.bytes=100000", "--config", "min.insync.replicas=1",
             "--config", "compression.type=lz4", "--config", "max.message.bytes=2000")
    warning = ("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could "
               "collide. To avoid issues it is best to use either, but not both.\n")
    assert r.stdout.decode() == warning + f"Created topic {name}.\n"
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--create", "--topic", name, "--partitions", "3",
             "--replication-factor", "1")
    assert r.returncode == 1
    assert r.stdout.decode() == warning + f"Error while executing topic command : Topic '{name}' already exists.\n"
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--create", "--topic", name, "--partitions", "3",
             "--replication-factor", "1", "--if-not-exists")
    assert (r.returncode, r.stdout.decode()) == (0, warning)
    wait_for_leaders(broker.bootstrap, name, 3)
    topic_id = _topic_id(zk, name)
    tid = f"\tTopicId: {topic_id}" if topic_id else ""
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--describe", "--topic", name.replace(".", "\\."))
    assert r.stdout.decode() == (
        f"Topic: {name}{tid}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: compression.type=lz4,"
        "cleanup.policy=compact,max.message.bytes=2000,min.insync.replicas=1,retention.ms=1000,segment.bytes=100000\n"
        + "".join(f"\tTopic: {name}\tPartition: {p}\tLeader: 0\tReplicas: 0\tIsr: 0\n" for p in range(3)))
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--describe", "--topics-with-overrides", "--topic", name)
    assert r.stdout.decode().count("\n") == 1 and r.stdout.decode().startswith(f"Topic: {name}")
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--describe", "--under-replicated-partitions")
    assert r.stdout.decode() == ""
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--alter", "--topic", name, "--partitions", "4")
    assert r.stdout.decode() == ("WARNING: If partitions are increased for a topic that has a key, the partition "
                                 "logic or ordering of the messages will be affected\nAdding partitions succeeded!\n")
    doc, _ = _zk_get(zk, f"/brokers/topics/{name}")
    assert sorted(doc["partitions"]) == ["0", "1", "2", "3"]
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--alter", "--topic", name, "--config", "retention.ms=5")
    assert r.stdout.decode() == (
        "WARNING: Altering topic configuration from this script has been deprecated and may be removed in future "
        "releases.\n         Going forward, please use kafka-configs.sh for this functionality\n"
        f"Updated config for topic {name}.\n")
    cfg, changes = _zk_get(zk, f"/config/topics/{name}")
    assert cfg["config"]["retention.ms"] == "5" and changes
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--list")
    assert name in r.stdout.decode().splitlines()
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--describe", "--topic", "does-not-exist")
    assert (r.returncode, r.stdout.decode()) == (
        1, "Error while executing topic command : Topic 'does-not-exist' does not exist as expected\n")
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--describe", "--topic", "does-not-exist", "--if-exists")
    assert (r.returncode, r.stdout.decode()) == (0, "")
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--delete", "--topic", name)
    assert r.stdout.decode() == (f"Topic {name} is marked for deletion.\n"
                                 "Note: This will have no impact if delete.topic.enable is not set to true.\n")
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--create", "--topic", "bad", "--partitions", "1",
             "--replication-factor", "1", "--config", "foo=bar")
    assert r.stdout.decode() == "Error while executing topic command : Unknown topic config name: foo\n"
    r = tool("kafka-topics.sh", "--zookeeper", zk, "--create", "--topic", "bad", "--partitions", "1",
             "--replication-factor", "5")
    assert r.stdout.decode() == ("Error while executing topic command : Replication factor: 5 larger than "
                                 "available brokers: 1.\n")


def test_topics_tool_bootstrap_list_and_usage(broker) -> None:
    r = tool("kafka-topics.sh")
    assert r.returncode == 1 and r.stdout == b""
    err = r.stderr.decode().splitlines()
    assert err[0] == "Create, delete, describe, or change a topic." and "Traceback" not in r.stderr.decode()
    assert all(len(line) == 80 for line in err[1:])
    tool("kafka-topics.sh", "--zookeeper", broker.zookeeper_connect, "--create", "--topic", "listed",
         "--partitions", "1", "--replication-factor", "1")
    wait_for_leaders(broker.bootstrap, "listed", 1)
    r = tool("kafka-topics.sh", "--bootstrap-server", broker.bootstrap, "--list")
    assert r.returncode == 0 and "listed" in r.stdout.decode().splitlines()
    assert r.stdout.decode().splitlines() == sorted(r.stdout.decode().splitlines())


def test_console_tools_round_trip_with_properties(broker) -> None:
    tool("kafka-topics.sh", "--zookeeper", broker.zookeeper_connect, "--create", "--topic", "console",
         "--partitions", "1", "--replication-factor", "1")
    wait_for_leaders(broker.bootstrap, "console", 1)
    lines = b"".join(b"k%d\tvalue %d\n" % (i, i) for i in range(20))
    r = tool("kafka-console-producer.sh", "--broker-list", broker.bootstrap, "--topic", "console",
             "--property", "parse.key=true", "--compression-codec", "--request-required-acks", "all",
             "--producer-property", "linger.ms=5", stdin=lines)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--topic", "console",
             "--partition", "0", "--offset", "15", "--max-messages", "3", "--property", "print.key=true",
             "--property", "print.offset=true", "--property", "print.partition=true",
             "--property", "print.timestamp=true", "--property", "print.headers=true")
    out = r.stdout.decode().splitlines()
    assert len(out) == 3
    for line, i in zip(out, (15, 16, 17)):
        assert re.fullmatch(rf"CreateTime:\d{{13}}\tPartition:0\tOffset:{i}\tNO_HEADERS\tk{i}\tvalue {i}", line)
    assert r.stderr.decode() == "Processed a total of 3 messages\n"
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--topic", "console",
             "--from-beginning", "--timeout-ms", "3000")
    assert r.stdout.decode().splitlines() == [f"value {i}" for i in range(20)]
    assert r.stderr.decode() == "Processed a total of 20 messages\n" and r.returncode == 0
    r = tool("kafka-console-producer.sh", "--bootstrap-server", broker.bootstrap, "--topic", "console",
             "--property", "parse.key=true", stdin=b"nokey\n")
    assert r.returncode == 1
    assert r.stderr.decode() == "org.apache.kafka.common.KafkaException: No key found on line 1: nokey\n"
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--topic", "console",
             "--offset", "1")
    assert r.returncode == 1 and r.stderr.decode().startswith("The partition is required when offset is "
                                                              "specified.\nOption")


def test_configs_tool_zookeeper(broker) -> None:
    zk = broker.zookeeper_connect
    tool("kafka-topics.sh", "--zookeeper", zk, "--create", "--topic", "cfg", "--partitions", "1",
         "--replication-factor", "1")
    warn = ("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\n"
            "Use --bootstrap-server instead to specify a broker to connect to.\n")
    _, before = _zk_get(zk, "/config/changes")
    r = tool("kafka-configs.sh", "--zookeeper", zk, "--entity-type", "topics", "--entity-name", "cfg", "--alter",
             "--add-config", "retention.ms=1000,cleanup.policy=[compact,delete]")
    assert (r.returncode, r.stdout.decode()) == (0, warn + "Completed updating config for entity: topic 'cfg'.\n")
    doc, after = _zk_get(zk, "/config/topics/cfg")
    assert doc == {"version": 1, "config": {"retention.ms": "1000", "cleanup.policy": "compact,delete"}}
    new = sorted(set(after) - set(before))
    assert len(new) == 1
    note, _ = _zk_get(zk, f"/config/changes/{new[0]}")
    assert note == {"version": 2, "entity_path": "topics/cfg"}
    r = tool("kafka-configs.sh", "--zookeeper", zk, "--entity-type", "topics", "--entity-name", "cfg", "--describe")
    assert r.stdout.decode() == warn + "Configs for topic 'cfg' are cleanup.policy=compact,delete,retention.ms=1000\n"
    r = tool("kafka-configs.sh", "--zookeeper", zk, "--entity-type", "topics", "--entity-name", "cfg", "--alter",
             "--delete-config", "retention.ms")
    assert r.returncode == 0
    doc, _ = _zk_get(zk, "/config/topics/cfg")
    assert doc["config"] == {"cleanup.policy": "compact,delete"}
    r = tool("kafka-configs.sh", "--zookeeper", zk, "--entity-type", "clients", "--entity-name", "c1", "--alter",
             "--add-config", "producer_byte_rate=1024")
    assert r.stdout.decode() == warn + "Completed updating config for entity: client-id 'c1'.\n"
    r = tool("kafka-configs.sh", "--zookeeper", zk, "--entity-type", "users", "--entity-name", "u1", "--alter",
             "--add-config", "consumer_byte_rate=2048")
    assert r.stdout.decode() == warn + "Completed updating config for entity: user-principal 'u1'.\n"
    doc, _ = _zk_get(zk, "/config/users/u1")
    assert doc == {"version": 1, "config": {"consumer_byte_rate": "2048"}}
    r = tool("kafka-configs.sh", "--zookeeper", zk, "--entity-type", "topics", "--entity-name", "cfg", "--alter",
             "--delete-config", "nonexist")
    assert (r.returncode, r.stderr.decode()) == (1, "Invalid config(s): nonexist\n")
    r = tool("kafka-configs.sh", "--zookeeper", zk, "--entity-type", "brokers", "--entity-name", "0", "--alter",
             "--add-config", "log.cleaner.threads=3")
    assert r.returncode == 1 and r.stderr.decode().startswith(
        "requirement failed: --bootstrap-server option must be specified to update broker configs "
        "Set(log.cleaner.threads). when broker 0 is running.")
    r = tool("kafka-configs.sh", "--zookeeper", zk, "--entity-type", "topics", "--entity-name", "nope", "--alter",
             "--add-config", "retention.ms=1")
    assert r.returncode == 1
    assert r.stderr.decode().splitlines()[1] == ("org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "
                                                 "Topic 'nope' does not exist.")


def test_broker_api_versions_tool(broker) -> None:
    r = tool("kafka-broker-api-versions.sh", "--bootstrap-server", broker.bootstrap)
    lines = r.stdout.decode().splitlines()
    assert lines[0] == f"{broker.bootstrap} (id: 0 rack: null) -> ("
    assert lines[1] == "\tProduce(0): 0 to 9 [usable: 9],"
    assert lines[-1] == ")" and lines[-2] == "\tDescribeProducers(61): UNSUPPORTED"
    assert "\tApiVersions(18): 0 to 3 [usable: 3]," in lines


def test_perf_tools(broker) -> None:
    tool("kafka-topics.sh", "--zookeeper", broker.zookeeper_connect, "--create", "--topic", "perf",
         "--partitions", "2", "--replication-factor", "1")
    wait_for_leaders(broker.bootstrap, "perf", 2)
    r = tool("kafka-producer-perf-test.sh", "--topic", "perf", "--num-records", "20000", "--record-size", "100",
             "--throughput", "-1", "--producer-props", f"bootstrap.servers={broker.bootstrap}", "acks=1",
             timeout=180)
    assert r.returncode == 0, r.stderr
    last = r.stdout.decode().splitlines()[-1]
    assert re.fullmatch(r"20000 records sent, \d+\.\d{6} records/sec \(\d+\.\d\d MB/sec\), \d+\.\d\d ms avg latency, "
                        r"\d+\.\d\d ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.", last)
    for line in r.stdout.decode().splitlines()[:-1]:
        assert re.fullmatch(r"\d+ records sent, \d+\.\d records/sec \(\d+\.\d\d MB/sec\), \d+\.\d ms avg latency, "
                            r"\d+\.\d ms max latency\.", line)
    r = tool("kafka-consumer-perf-test.sh", "--bootstrap-server", broker.bootstrap, "--topic", "perf",
             "--messages", "20000", timeout=120)
    lines = r.stdout.decode().splitlines()
    assert lines[0] == ("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
                        "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
    ts = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}"
    assert re.fullmatch(rf"{ts}, {ts}, 1\.9073, \d+\.\d{{4}}, 20000, \d+\.\d{{4}}, \d+, \d+, \d+\.\d{{4}}, "
                        rf"\d+\.\d{{4}}", lines[1]), lines[1]
    r = tool("kafka-producer-perf-test.sh", "--topic", "x")
    assert r.returncode == 1
    assert r.stderr.decode().splitlines()[-1] == ("producer-performance: error: the following arguments are "
                                                  "required: --num-records, --throughput")


def test_console_producer_prompts_on_a_terminal(broker) -> None:
    import os
    import pty
    tool("kafka-topics.sh", "--zookeeper", broker.zookeeper_connect, "--create", "--topic", "prompted",
         "--partitions", "1", "--replication-factor", "1")
    wait_for_leaders(broker.bootstrap, "prompted", 1)
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(BIN / "kafka-console-producer.sh"), "--bootstrap-server", broker.bootstrap,
                             "--topic", "prompted"], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(slave)
    try:
        os.write(master, b"hello\nworld\n\x04")        # two lines, then end of input (^D)
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
    assert proc.returncode == 0, err
    assert out == b">>>"                                # one prompt per read, including the one that saw EOF
    got = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--topic", "prompted",
               "--from-beginning", "--max-messages", "2", "--timeout-ms", "20000")
    assert got.stdout == b"hello\nworld\n"
