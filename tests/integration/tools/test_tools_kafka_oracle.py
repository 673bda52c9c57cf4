"""Kafka 2.8.2's own jars as the oracle (skipped with the reason when Maven/Java cannot provide them).

* Kafka's TopicCommand and ours, on the same ZooKeeper, print identical ``--describe``/``--list``
  output for a topic Kafka's tool created and a kafkapy broker serves.
* A real Kafka 2.8.2 broker on our ZooKeeper: kafkapy's AdminClient, Producer and Consumer work
  against it, a topic created with ``kafka-topics.sh --bootstrap-server`` lands in ZooKeeper as
  the ``--zookeeper`` path writes it, and our tools print what Kafka's tools print against it.
"""
from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafkapy.testing.broker import BrokerProcess, wait_for_leaders
from kafkapy.testing.kafka_broker import KafkaBroker
from kafkapy.testing.kafka_dist import KafkaDistUnavailable, kafka_classpath, run_kafka_class

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parents[3]
BIN = REPO / "bin"


@pytest.fixture(scope="module")
def classpath() -> str:
    try:
        return kafka_classpath()
    except KafkaDistUnavailable as exc:
        pytest.skip(f"Kafka 2.8.2 jars unavailable: {exc}")


def ours(name: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / name), *args], input=stdin, capture_output=True, timeout=120)


def kafkas(classpath: str, main: str, *args: str) -> subprocess.CompletedProcess:
    return run_kafka_class(main, list(args), classpath=classpath, timeout_s=180)


def _zk(connect: str):
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=connect)
    zk.start(timeout=15)
    return zk


def _json(zk, path: str) -> dict:
    return json.loads(zk.get(path)[0])


# ------------------------------------------------------------------ TopicCommand vs ours
def test_topic_command_and_ours_describe_identically(classpath: str, zk_chroot: str, tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "b", zk_chroot, broker_id=0).start()
    try:
        topic = "orders.v1"
        made = kafkas(classpath, "kafka.admin.TopicCommand", "--zookeeper", zk_chroot, "--create", "--topic", topic,
                      "--partitions", "3", "--replication-factor", "1", "--config", "retention.ms=86400000",
                      "--config", "cleanup.policy=compact", "--config", "segment.bytes=100000",
                      "--config", "min.insync.replicas=1", "--config", "compression.type=lz4",
                      "--config", "max.message.bytes=2000")
        assert made.returncode == 0, made.stderr
        ours_made = ours("kafka-topics.sh", "--zookeeper", zk_chroot, "--create", "--topic", "plain",
                         "--partitions", "2", "--replication-factor", "1")
        assert ours_made.returncode == 0
        wait_for_leaders(broker.bootstrap, topic, 3)
        wait_for_leaders(broker.bootstrap, "plain", 2)
        # Our broker serves the topic Kafka's tool created.
        p = ours("kafka-console-producer.sh", "--bootstrap-server", broker.bootstrap, "--topic", topic,
                 "--property", "parse.key=true", stdin=b"1\tone\n2\ttwo\n")        # compacted: keys needed
        assert (p.returncode, p.stderr) == (0, b"")
        c = ours("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--topic", topic,
                 "--from-beginning", "--max-messages", "2", "--timeout-ms", "20000")
        assert sorted(c.stdout.decode().split()) == ["one", "two"]
        for args in (["--describe", "--topic", topic], ["--describe"], ["--list"], ["--describe", "--topic", "nope"],
                     ["--describe", "--topics-with-overrides"], ["--describe", "--under-replicated-partitions"],
                     ["--create", "--topic", topic, "--partitions", "1", "--replication-factor", "1"],
                     ["--create", "--topic", "x", "--partitions", "1", "--replication-factor", "1",
                      "--config", "foo=1"]):
            theirs = kafkas(classpath, "kafka.admin.TopicCommand", "--zookeeper", zk_chroot, *args)
            mine = ours("kafka-topics.sh", "--zookeeper", zk_chroot, *args)
            assert mine.stdout.decode() == theirs.stdout, args
            assert mine.returncode == theirs.returncode, args
        theirs = kafkas(classpath, "kafka.admin.TopicCommand", "--zookeeper", zk_chroot, "--describe", "--topic", topic)
        assert theirs.stdout.startswith(f"Topic: {topic}\tTopicId: ")
        assert "Configs: compression.type=lz4,cleanup.policy=compact,max.message.bytes=2000,min.insync.replicas=1," \
               "retention.ms=86400000,segment.bytes=100000\n" in theirs.stdout
    finally:
        broker.stop()


def test_config_command_and_ours_agree_on_zookeeper(classpath: str, zk_chroot: str, tmp_path: Path) -> None:
    made = ours("kafka-topics.sh", "--zookeeper", zk_chroot, "--create", "--topic", "cfg", "--replica-assignment", "0")
    assert made.returncode == 0
    theirs = kafkas(classpath, "kafka.admin.ConfigCommand", "--zookeeper", zk_chroot, "--entity-type", "topics",
                    "--entity-name", "cfg", "--alter", "--add-config", "retention.ms=1000,cleanup.policy=[compact,delete]")
    assert theirs.returncode == 0, theirs.stderr
    zk = _zk(zk_chroot.split("/", 1)[0])
    try:
        chroot = "/" + zk_chroot.split("/", 1)[1]
        written_by_kafka = _json(zk, f"{chroot}/config/topics/cfg")
        zk.set(f"{chroot}/config/topics/cfg", b'{"version":1,"config":{}}')
        mine = ours("kafka-configs.sh", "--zookeeper", zk_chroot, "--entity-type", "topics", "--entity-name", "cfg",
                    "--alter", "--add-config", "retention.ms=1000,cleanup.policy=[compact,delete]")
        assert mine.stdout.decode() == theirs.stdout
        assert _json(zk, f"{chroot}/config/topics/cfg") == written_by_kafka
        changes = sorted(zk.get_children(f"{chroot}/config/changes"))
        assert [_json(zk, f"{chroot}/config/changes/{c}") for c in changes] == \
            [{"version": 2, "entity_path": "topics/cfg"}] * 2
    finally:
        zk.stop()
        zk.close()
    for args in (["--entity-type", "topics", "--entity-name", "cfg", "--describe"],
                 ["--entity-type", "topics", "--describe"],
                 ["--entity-type", "topics", "--entity-name", "cfg", "--alter", "--delete-config", "nonexist"],
                 ["--entity-type", "clients", "--entity-name", "c", "--alter", "--add-config", "producer_byte_rate=9"],
                 ["--entity-type", "clients", "--describe"]):
        theirs = kafkas(classpath, "kafka.admin.ConfigCommand", "--zookeeper", zk_chroot, *args)
        mine = ours("kafka-configs.sh", "--zookeeper", zk_chroot, *args)
        assert (mine.stdout.decode(), mine.returncode) == (theirs.stdout, theirs.returncode), args
        theirs_err = [line for line in theirs.stderr.splitlines() if not line.startswith("SLF4J")]
        if theirs.returncode:
            assert mine.stderr.decode().splitlines()[0] == theirs_err[0], args


# ------------------------------------------------------------------ a real Kafka 2.8.2 broker
@pytest.fixture(scope="module")
def kafka_broker(classpath: str, zookeeper, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    chroot = f"{zookeeper.connect_string}/kafka282-{uuid.uuid4().hex[:10]}"
    kb = KafkaBroker(tmp_path_factory.mktemp("kafka282"), chroot, classpath=classpath, jvm_options=("-Xmx512m",),
                     overrides={"zookeeper.session.timeout.ms": 6000})
    try:
        kb.start(180)
        yield kb
    finally:
        kb.stop()


def test_bootstrap_create_lands_in_zookeeper_like_zookeeper_create(kafka_broker: KafkaBroker) -> None:
    zk_connect = kafka_broker.zookeeper_connect
    a = ours("kafka-topics.sh", "--zookeeper", zk_connect, "--create", "--topic", "via-zk",
             "--replica-assignment", "0,0,0", "--config", "retention.ms=1000", "--config", "cleanup.policy=compact")
    b = ours("kafka-topics.sh", "--bootstrap-server", kafka_broker.bootstrap, "--create", "--topic", "via-bs",
             "--replica-assignment", "0,0,0", "--config", "retention.ms=1000", "--config", "cleanup.policy=compact")
    assert (a.returncode, b.returncode) == (0, 0), (a.stdout, b.stdout)
    assert b.stdout.decode() == "Created topic via-bs.\n"
    wait_for_leaders(kafka_broker.bootstrap, "via-zk", 3)
    wait_for_leaders(kafka_broker.bootstrap, "via-bs", 3)
    host, chroot = zk_connect.split("/", 1)
    zk = _zk(host)
    try:
        def strip(doc: dict) -> dict:
            return {k: v for k, v in doc.items() if k != "topic_id"}
        za = _json(zk, f"/{chroot}/brokers/topics/via-zk")
        zb = _json(zk, f"/{chroot}/brokers/topics/via-bs")
        assert strip(za) == strip(zb)
        assert _json(zk, f"/{chroot}/config/topics/via-zk") == _json(zk, f"/{chroot}/config/topics/via-bs")
        for p in range(3):
            assert _json(zk, f"/{chroot}/brokers/topics/via-zk/partitions/{p}/state")["leader"] == 0
    finally:
        zk.stop()
        zk.close()


def test_our_tools_print_what_kafkas_tools_print_against_kafka(kafka_broker: KafkaBroker, classpath: str) -> None:
    bs = kafka_broker.bootstrap
    r = ours("kafka-topics.sh", "--bootstrap-server", bs, "--create", "--topic", "same", "--partitions", "2",
             "--replication-factor", "1", "--config", "retention.ms=5000")
    assert r.stdout.decode() == "Created topic same.\n"
    wait_for_leaders(bs, "same", 2)
    ours("kafka-console-producer.sh", "--bootstrap-server", bs, "--topic", "same",
         stdin=b"".join(b"m%d\n" % i for i in range(10)))
    cases = [
        ("kafka.admin.TopicCommand", "kafka-topics.sh", ["--describe", "--topic", "same"]),
        ("kafka.admin.TopicCommand", "kafka-topics.sh", ["--describe", "--topic", "same", "--topics-with-overrides"]),
        ("kafka.admin.TopicCommand", "kafka-topics.sh", ["--list", "--exclude-internal"]),
        ("kafka.admin.TopicCommand", "kafka-topics.sh", ["--alter", "--topic", "same", "--partitions", "3"]),
        ("kafka.admin.ConfigCommand", "kafka-configs.sh", ["--entity-type", "topics", "--entity-name", "same",
                                                           "--describe"]),
        ("kafka.admin.ConfigCommand", "kafka-configs.sh", ["--entity-type", "topics", "--entity-name", "same",
                                                           "--alter", "--add-config", "segment.bytes=1000000"]),
        ("kafka.admin.BrokerApiVersionsCommand", "kafka-broker-api-versions.sh", []),
    ]
    for main, script, args in cases:
        theirs = kafkas(classpath, main, "--bootstrap-server", bs, *args)
        if args[:1] == ["--alter"] and main.endswith("TopicCommand"):
            mine_args = ["--alter", "--topic", "same", "--partitions", "4"]
        else:
            mine_args = args
        mine = ours(script, "--bootstrap-server", bs, *mine_args)
        assert mine.returncode == theirs.returncode, (args, mine.stderr)
        assert mine.stdout.decode() == theirs.stdout, args
    # The partitions added above exist on the broker before anything compares log dirs (a loaded
    # machine could otherwise show the fourth partition to one tool and not to the other).
    wait_for_leaders(bs, "same", 4)
    # Delete records: same output shape and the same low watermarks.
    spec = kafka_broker.work_dir / "dr.json"
    spec.write_text(json.dumps({"partitions": [{"topic": "same", "partition": 0, "offset": 0}], "version": 1}))
    theirs = kafkas(classpath, "kafka.admin.DeleteRecordsCommand", "--bootstrap-server", bs,
                    "--offset-json-file", str(spec))
    mine = ours("kafka-delete-records.sh", "--bootstrap-server", bs, "--offset-json-file", str(spec))
    assert mine.stdout.decode() == theirs.stdout
    theirs = kafkas(classpath, "kafka.admin.LogDirsCommand", "--bootstrap-server", bs, "--describe",
                    "--topic-list", "same")
    mine = ours("kafka-log-dirs.sh", "--bootstrap-server", bs, "--describe", "--topic-list", "same")
    t_lines, m_lines = theirs.stdout.splitlines(), mine.stdout.decode().splitlines()
    assert m_lines[:2] == t_lines[:2]
    assert json.loads(m_lines[2]) == json.loads(t_lines[2])


def test_our_clients_against_kafka(kafka_broker: KafkaBroker) -> None:
    from kafkapy.clients.admin import (AdminClient, AlterConfigOp, ConfigResource, ConfigResourceType,
                                       NewPartitions, NewTopic)
    from kafkapy.clients.consumer import Consumer
    from kafkapy.clients.producer import Producer, partition_for_key
    from kafkapy.common.errors import InvalidPartitionsError, TopicExistsError
    from kafkapy.common.types import TopicPartition

    bs = kafka_broker.bootstrap

    async def go() -> None:
        async with AdminClient({"bootstrap.servers": bs}) as admin:
            res = await admin.create_topics([NewTopic("k1", 3, 1, configs={"retention.ms": "60000"}),
                                             NewTopic("k2", replica_assignment={0: [0], 1: [0]})])
            assert res == {"k1": None, "k2": None}
            again = await admin.create_topics([NewTopic("k1", 3, 1)])
            assert isinstance(again["k1"], TopicExistsError)
            await admin.wait_for_topic("k1")
            res_cfg = ConfigResource(ConfigResourceType.TOPIC, "k1")
            described = (await admin.describe_configs([res_cfg], include_synonyms=True))[res_cfg]
            by_name = {e.name: e for e in described}
            assert by_name["retention.ms"].value == "60000" and by_name["retention.ms"].source == 1
            assert by_name["segment.bytes"].is_default
            assert (await admin.incremental_alter_configs(
                {res_cfg: [("cleanup.policy", "compact", AlterConfigOp.SET),
                           ("retention.ms", None, AlterConfigOp.DELETE)]}))[res_cfg] is None
            described = (await admin.describe_configs([res_cfg]))[res_cfg]
            assert {e.name: e.value for e in described if not e.is_default} == {"cleanup.policy": "compact"}
            assert (await admin.create_partitions({"k1": NewPartitions(5)}))["k1"] is None
            bad = await admin.create_partitions({"k1": NewPartitions(2)})
            assert isinstance(bad["k1"], InvalidPartitionsError)
            broker_res = ConfigResource(ConfigResourceType.BROKER, "0")
            assert any(e.name == "log.retention.hours" for e in (await admin.describe_configs([broker_res]))[broker_res])
        async with Producer({"bootstrap.servers": bs, "compression.type": "zstd", "acks": "all", "linger.ms": 5}) as p:
            await p.client.refresh_metadata(["k2"])
            futs = [await p.send("k2", b"v%d" % i, key=b"key%d" % i) for i in range(300)]
            mds = [await f for f in futs]
        assert all(md.partition == partition_for_key(b"key%d" % i, 2) for i, md in enumerate(mds))
        tps = [TopicPartition("k2", 0), TopicPartition("k2", 1)]
        async with Consumer({"bootstrap.servers": bs, "auto.offset.reset": "earliest"}) as c:
            c.assign(tps)
            got = []
            while len(got) < 300:
                got.extend(await c.poll(2000))
            assert sorted(r.value for r in got) == sorted(b"v%d" % i for i in range(300))
        async with AdminClient({"bootstrap.servers": bs}) as admin:
            low = await admin.delete_records({TopicPartition("k2", 0): 5})
            assert low == {TopicPartition("k2", 0): 5}
            earliest = await admin.list_offsets({TopicPartition("k2", 0): -2})
            assert earliest[TopicPartition("k2", 0)][0] == 5
            dirs = await admin.describe_log_dirs()
            assert str(kafka_broker.data_dir) in dirs[0]
            assert TopicPartition("k2", 0) in dirs[0][str(kafka_broker.data_dir)].replicas
            assert (await admin.delete_topics(["k2"])) == {"k2": None}
    asyncio.run(asyncio.wait_for(go(), 240))
