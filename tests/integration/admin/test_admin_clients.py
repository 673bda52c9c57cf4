"""Admin APIs against a kafkapy broker subprocess, driven by admin clients we did not write:
confluent-kafka's AdminClient (librdkafka) and kafka-python's KafkaAdminClient."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Callable

import pytest

from kafkapy.testing.broker import BrokerProcess

pytestmark = pytest.mark.integration

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import (  # noqa: E402
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
)


@pytest.fixture(scope="module")
def chroot(zookeeper) -> str:
    return f"{zookeeper.connect_string}/kafkapy-admin-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def broker(chroot, tmp_path_factory):
    b = BrokerProcess(tmp_path_factory.mktemp("broker-admin"), chroot, broker_id=0,
                      overrides={"log.retention.check.interval.ms": 200})
    b.start()
    yield b
    assert b.stop() == 0, b.log_tail()


@pytest.fixture(scope="module")
def admin(broker) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def run_zk(chroot: str, fn: Callable[[Any], Any]) -> Any:
    """Run `await fn(KafkaZkClient)` against the broker's chroot."""
    from kafkapy.zk.kafka_zk import KafkaZkClient

    async def main() -> Any:
        zk = await KafkaZkClient.connect(chroot)
        try:
            return await fn(zk)
        finally:
            await zk.close()
    return asyncio.run(main())


def wait_until(predicate: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)

def _waiting(kw: dict) -> dict:
    # Kafka answers REQUEST_TIMED_OUT at once for operation_timeout=0 (librdkafka's default), which
    # librdkafka reports as success before the metadata shows the change: these tests wait instead.
    kw.setdefault("operation_timeout", 30)
    return kw


def create_topics(admin: AdminClient, topics: list, **kw: Any) -> dict:
    return admin.create_topics(topics, **_waiting(kw))


def delete_topics(admin: AdminClient, topics: list, **kw: Any) -> dict:
    return admin.delete_topics(topics, **_waiting(kw))


def create_partitions(admin: AdminClient, partitions: list, **kw: Any) -> dict:
    return admin.create_partitions(partitions, **_waiting(kw))



def result(futures: dict, key: Any, timeout: float = 30.0) -> Any:
    return futures[key].result(timeout=timeout)


def new_name(prefix: str = "adm") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ================================================================ CreateTopics
def test_create_topic_writes_what_kafka_topics_writes(admin, broker, chroot):
    topic = new_name()
    fs = create_topics(admin, [NewTopic(topic, num_partitions=3, replication_factor=1,
                                       config={"retention.ms": "3600000", "cleanup.policy": "compact"})],
                             operation_timeout=30)
    assert result(fs, topic) is None
    # The request returned only once the leaders were known: metadata shows them right away.
    md = admin.list_topics(topic, timeout=10).topics[topic]
    assert md.error is None and sorted(md.partitions) == [0, 1, 2]
    assert all(p.leader == 0 for p in md.partitions.values())

    from kafkapy.zk.znodes import ConfigEntityZNode, ConfigType, TopicZNode

    async def read(zk):
        assignment, _ = await zk.get_data_and_version(TopicZNode.path(topic))
        config, _ = await zk.get_data_and_version(ConfigEntityZNode.path(ConfigType.TOPIC, topic))
        changes = await zk.get_config_change_notifications()
        return assignment, config, changes
    assignment_bytes, config_bytes, _changes = run_zk(chroot, read)
    import json
    assignment = json.loads(assignment_bytes)
    assert assignment["version"] == 3
    assert assignment["partitions"] == {"0": [0], "1": [0], "2": [0]}
    # Byte-for-byte what AdminZkClient (kafka-topics.sh --zookeeper) writes for the same assignment.
    from kafkapy.zk.znodes import TopicZNode as TZ
    expected = TZ.encode({0: [0], 1: [0], 2: [0]}, topic_id=assignment.get("topic_id"))
    assert assignment_bytes == expected
    assert json.loads(config_bytes) == {"version": 1, "config": {"retention.ms": "3600000",
                                                                 "cleanup.policy": "compact"}}
    assert config_bytes == ConfigEntityZNode.encode({"retention.ms": "3600000", "cleanup.policy": "compact"})


def test_create_topic_errors(admin, broker):
    existing = new_name("exists")
    assert result(create_topics(admin, [NewTopic(existing, 1, 1)]), existing) is None
    fs = create_topics(admin, [
        NewTopic(existing, 1, 1),
        NewTopic("bad/name", 1, 1),
        NewTopic(new_name("rf"), 1, 3),
        NewTopic(new_name("cfg"), 1, 1, config={"no.such.config": "1"}),
        NewTopic(new_name("val"), 1, 1, config={"retention.ms": "abc"}),
    ], operation_timeout=30)
    codes = {}
    for name, f in fs.items():
        with pytest.raises(KafkaException) as info:
            f.result(timeout=30)
        codes[name.split("-")[0] if "-" in name else name] = info.value.args[0].code()
    assert codes["exists"] == KafkaError.TOPIC_ALREADY_EXISTS
    assert codes["bad/name"] == KafkaError.TOPIC_EXCEPTION
    assert codes["rf"] == KafkaError.INVALID_REPLICATION_FACTOR
    assert codes["cfg"] == KafkaError.INVALID_CONFIG
    assert codes["val"] == KafkaError.INVALID_CONFIG


def test_zero_operation_timeout_does_not_wait(admin, broker, chroot):
    """operation_timeout=0 (librdkafka's default): the broker writes the znodes and answers at once with
    REQUEST_TIMED_OUT, which librdkafka reports as success; the topic appears shortly after."""
    topic = new_name("nowait")
    assert result(admin.create_topics([NewTopic(topic, 1, 1)]), topic) is None
    assert run_zk(chroot, lambda zk: zk.topic_exists(topic))
    wait_until(lambda: topic in admin.list_topics(timeout=10).topics, "the topic in the metadata")


def test_create_topic_validate_only_writes_nothing(admin, broker, chroot):
    topic = new_name()
    assert result(create_topics(admin, [NewTopic(topic, 2, 1)], validate_only=True), topic) is None
    assert not run_zk(chroot, lambda zk: zk.topic_exists(topic))
    assert topic not in admin.list_topics(timeout=10).topics


def test_create_topic_with_explicit_assignment(broker, chroot):
    # confluent-kafka 2.16 refuses replica_assignment locally (its own check misfires): kafka-python sends it.
    kafka = pytest.importorskip("kafka")
    from kafka.admin import KafkaAdminClient
    from kafka.admin import NewTopic as KNewTopic
    topic = new_name()
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        client.create_topics([KNewTopic(topic, -1, -1, replica_assignments={0: [0], 1: [0]})], timeout_ms=30000)
        with pytest.raises(kafka.errors.InvalidReplicationAssignmentError):
            client.create_topics([KNewTopic(new_name(), -1, -1, replica_assignments={0: [0], 2: [0]})],
                                 timeout_ms=30000)
    finally:
        client.close()
    assignment = run_zk(chroot, lambda zk: zk.get_topic_assignment(topic))
    assert {p: list(a.replicas) for p, a in assignment.partitions.items()} == {0: [0], 1: [0]}


# ================================================================ CreatePartitions / DeleteTopics
def test_create_partitions(admin, broker, chroot):
    topic = new_name()
    assert result(create_topics(admin, [NewTopic(topic, 2, 1)]), topic) is None
    assert result(create_partitions(admin, [NewPartitions(topic, 5)], operation_timeout=30), topic) is None
    md = admin.list_topics(topic, timeout=10).topics[topic]
    assert sorted(md.partitions) == [0, 1, 2, 3, 4]
    assert all(p.leader == 0 for p in md.partitions.values())
    with pytest.raises(KafkaException) as info:
        result(create_partitions(admin, [NewPartitions(topic, 3)]), topic)
    assert info.value.args[0].code() == KafkaError.INVALID_PARTITIONS
    missing = new_name("missing")
    with pytest.raises(KafkaException) as info:
        result(create_partitions(admin, [NewPartitions(missing, 3)]), missing)
    assert info.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_delete_topic(admin, broker, chroot):
    topic = new_name()
    assert result(create_topics(admin, [NewTopic(topic, 2, 1)]), topic) is None
    assert result(delete_topics(admin, [topic], operation_timeout=30), topic) is None
    # Returned once the metadata no longer has it; the controller removed the znodes.
    assert topic not in admin.list_topics(timeout=10).topics
    wait_until(lambda: not run_zk(chroot, lambda zk: zk.topic_exists(topic)), "the topic znode to go")
    with pytest.raises(KafkaException) as info:
        result(delete_topics(admin, [topic]), topic)
    assert info.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


# ================================================================ configs
def describe(admin: AdminClient, rtype: Any, name: str) -> dict[str, Any]:
    res = ConfigResource(rtype, name)
    return result(admin.describe_configs([res], request_timeout=30), res)


def test_describe_topic_configs(admin, broker):
    topic = new_name()
    assert result(create_topics(admin, [NewTopic(topic, 1, 1, config={"retention.ms": "123456"})]), topic) is None
    configs = describe(admin, ConfigResource.Type.TOPIC, topic)
    assert configs["retention.ms"].value == "123456"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert not configs["retention.ms"].is_default
    assert configs["cleanup.policy"].value == "delete"
    assert configs["cleanup.policy"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["cleanup.policy"].is_default
    assert configs["max.message.bytes"].value == "1048588"
    assert "segment.bytes" in configs and "min.insync.replicas" in configs
    with pytest.raises(KafkaException) as info:
        describe(admin, ConfigResource.Type.TOPIC, "zz-no-such-topic")
    assert info.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_broker_configs(admin, broker):
    configs = describe(admin, ConfigResource.Type.BROKER, "0")
    assert configs["broker.id"].value == "0"
    assert configs["broker.id"].is_read_only
    assert configs["broker.id"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert configs["log.retention.check.interval.ms"].value == "200"
    assert not configs["message.max.bytes"].is_read_only
    assert configs["message.max.bytes"].source == ConfigSource.DEFAULT_CONFIG.value


def test_alter_topic_config_applied_without_restart(admin, broker, chroot):
    """max.message.bytes lowered through AlterConfigs: the running broker rejects larger batches."""
    topic = new_name()
    assert result(create_topics(admin, [NewTopic(topic, 1, 1)]), topic) is None
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0,
                         "compression.type": "none", "message.max.bytes": 100000})
    errors: list = []

    def send(size: int) -> None:
        producer.produce(topic, b"x" * size, on_delivery=lambda err, msg: errors.append(err))
        producer.flush(30)

    send(5000)
    assert errors == [None]
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"max.message.bytes": "1000"})
    assert result(admin.alter_configs([res]), res) is None
    # The znodes: the override and a version-2 change notification.
    import json

    from kafkapy.zk.znodes import ConfigEntityChangeNotificationZNode as Changes

    async def read(zk):
        cfg = await zk.get_entity_config("topics", topic)
        names = await zk.get_config_change_notifications()
        payloads = [(await zk.get_data_and_version(f"{Changes.path()}/{n}"))[0] for n in names]
        return cfg, payloads
    cfg, payloads = run_zk(chroot, read)
    assert cfg == {"max.message.bytes": "1000"}
    assert json.dumps({"version": 2, "entity_path": f"topics/{topic}"}, separators=(",", ":")).encode() in payloads

    def rejected() -> bool:
        errors.clear()
        send(5000)
        return errors and errors[0] is not None and errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE
    wait_until(rejected, "the broker to apply max.message.bytes=1000")
    assert describe(admin, ConfigResource.Type.TOPIC, topic)["max.message.bytes"].value == "1000"


def test_incremental_alter_topic_configs(admin, broker, chroot):
    topic = new_name()
    assert result(create_topics(admin, [NewTopic(topic, 1, 1, config={"retention.ms": "100000"})]), topic) is None
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND),
        ConfigEntry("segment.bytes", "1048576", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
    ])
    assert result(admin.incremental_alter_configs([res]), res) is None
    cfg = run_zk(chroot, lambda zk: zk.get_entity_config("topics", topic))
    assert cfg == {"cleanup.policy": "delete,compact", "segment.bytes": "1048576"}
    configs = describe(admin, ConfigResource.Type.TOPIC, topic)
    assert configs["cleanup.policy"].value == "delete,compact"
    assert configs["retention.ms"].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    bad = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.APPEND)])
    with pytest.raises(KafkaException) as info:
        result(admin.incremental_alter_configs([bad]), bad)
    assert info.value.args[0].code() == KafkaError.INVALID_REQUEST


def alter_configs_raw(broker: BrokerProcess, resources: list[tuple[int, str, dict[str, str]]]) -> list[Any]:
    """AlterConfigs v1 over kafkapy's own connection: neither librdkafka nor kafka-python accept
    the empty broker name that addresses the cluster-wide default (kafka-configs.sh --entity-default)."""
    from kafkapy.clients.net import BrokerConnection
    from kafkapy.protocol.api_keys import ApiKey
    from kafkapy.protocol.messages.alter_configs import API
    Resource = API.request.struct("resources")
    Config = API.request.struct("resources", "configs")

    async def main() -> list[Any]:
        conn = await BrokerConnection.connect(broker.host, broker.port, client_id="admin-test", timeout_ms=10000)
        try:
            resp = await conn.send(ApiKey.ALTER_CONFIGS, API.request(resources=[
                Resource(resource_type=t, resource_name=n, configs=[Config(name=k, value=v) for k, v in c.items()])
                for t, n, c in resources], validate_only=False), timeout_ms=30000)
        finally:
            await conn.close()
        return [(r.error_code, r.error_message) for r in resp.responses]
    return asyncio.run(main())


def test_dynamic_broker_default_config(admin, broker, chroot):
    """A cluster-default broker config (log.retention.ms) reaches topics without an override."""
    assert alter_configs_raw(broker, [(4, "", {"log.retention.ms": "7777777"})]) == [(0, None)]
    try:
        assert run_zk(chroot, lambda zk: zk.get_entity_config("brokers", "<default>")) == {
            "log.retention.ms": "7777777"}
        topic = new_name()
        assert result(create_topics(admin, [NewTopic(topic, 1, 1)]), topic) is None

        def seen() -> bool:
            c = describe(admin, ConfigResource.Type.TOPIC, topic)["retention.ms"]
            return c.value == "7777777" and c.source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
        wait_until(seen, "the dynamic default to show in the topic's retention.ms")
        b = describe(admin, ConfigResource.Type.BROKER, "0")["log.retention.ms"]
        assert b.value == "7777777"
        assert b.source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
        # Per-broker only configs cannot be set at the default level; static ones not at all.
        [(code, message)] = alter_configs_raw(broker, [(4, "", {"listeners": "PLAINTEXT://:1"})])
        assert code == 42 and "broker id must be specified" in message
        bad = ConfigResource(ConfigResource.Type.BROKER, "0", incremental_configs=[
            ConfigEntry("broker.id", "5", incremental_operation=AlterConfigOpType.SET)])
        with pytest.raises(KafkaException) as info:
            result(admin.incremental_alter_configs([bad]), bad)
        assert info.value.args[0].code() == KafkaError.INVALID_REQUEST
        assert "Cannot update these configs dynamically" in info.value.args[0].str()
    finally:
        assert alter_configs_raw(broker, [(4, "", {})]) == [(0, None)]
    assert run_zk(chroot, lambda zk: zk.get_entity_config("brokers", "<default>")) == {}


def test_dynamic_per_broker_config_written_by_zookeeper_tool(admin, broker, chroot):
    """kafka-configs.sh --zookeeper --entity-type brokers --entity-name 0: the running broker applies
    message.max.bytes to topics without an override (a larger produce fails), and reverts on delete."""
    from kafkapy.zk.admin_zk import AdminZkClient
    topic = new_name()
    assert result(create_topics(admin, [NewTopic(topic, 1, 1)]), topic) is None
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "compression.type": "none"})
    errors: list = []

    def send_fails() -> bool:
        errors.clear()
        producer.produce(topic, b"y" * 4000, on_delivery=lambda err, msg: errors.append(err))
        producer.flush(30)
        return errors[0] is not None and errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE

    assert not send_fails()
    run_zk(chroot, lambda zk: AdminZkClient(zk).change_entity_config("brokers", "0", {"message.max.bytes": "2000"}))
    try:
        wait_until(send_fails, "message.max.bytes=2000 to apply")
        c = describe(admin, ConfigResource.Type.TOPIC, topic)["max.message.bytes"]
        assert (c.value, c.source) == ("2000", ConfigSource.DYNAMIC_BROKER_CONFIG.value)
    finally:
        run_zk(chroot, lambda zk: AdminZkClient(zk).change_entity_config("brokers", "0", {}))
    wait_until(lambda: not send_fails(), "message.max.bytes to revert")


# ================================================================ records and log dirs
def test_delete_records(admin, broker):
    if not hasattr(admin, "delete_records"):
        pytest.skip("this confluent-kafka has no AdminClient.delete_records")
    topic = new_name()
    assert result(create_topics(admin, [NewTopic(topic, 1, 1)]), topic) is None
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(10):
        producer.produce(topic, str(i).encode())
    producer.flush(30)
    fs = admin.delete_records([TopicPartition(topic, 0, 4)], operation_timeout=30)
    deleted = list(fs.values())[0].result(timeout=30)
    assert deleted.low_watermark == 4
    fs = admin.delete_records([TopicPartition(topic, 0, 50)], operation_timeout=30)
    with pytest.raises(KafkaException) as info:
        list(fs.values())[0].result(timeout=30)
    assert info.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE
    fs = admin.delete_records([TopicPartition(topic, 0, -1)], operation_timeout=30)
    assert list(fs.values())[0].result(timeout=30).low_watermark == 10


# ================================================================ kafka-python
def test_kafka_python_admin(broker, chroot):
    kafka = pytest.importorskip("kafka")
    from kafka.admin import ConfigResource as KConfigResource
    from kafka.admin import ConfigResourceType, KafkaAdminClient
    from kafka.admin import NewPartitions as KNewPartitions
    from kafka.admin import NewTopic as KNewTopic
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        topic = new_name("kp")
        client.create_topics([KNewTopic(topic, 2, 1, topic_configs={"retention.ms": "555555"})], timeout_ms=30000)
        assert run_zk(chroot, lambda zk: zk.get_entity_config("topics", topic)) == {"retention.ms": "555555"}
        client.create_partitions({topic: KNewPartitions(4)}, timeout_ms=30000)
        assert run_zk(chroot, lambda zk: zk.get_topic_partition_count(topic)) == 4
        described = client.describe_configs([KConfigResource(ConfigResourceType.TOPIC, topic)],
                                            config_filter="all")
        entries = described["topic"][topic]
        assert entries["retention.ms"]["value"] == "555555"
        client.alter_configs([KConfigResource(ConfigResourceType.TOPIC, topic,
                                              configs={"retention.ms": "666666"})])
        assert run_zk(chroot, lambda zk: zk.get_entity_config("topics", topic)) == {"retention.ms": "666666"}
        with pytest.raises(kafka.errors.TopicAlreadyExistsError):
            client.create_topics([KNewTopic(topic, 1, 1)], timeout_ms=30000)
        client.delete_topics([topic], timeout_ms=30000)
        wait_until(lambda: not run_zk(chroot, lambda zk: zk.topic_exists(topic)), "deletion to complete")
    finally:
        client.close()


@pytest.mark.slow
def test_segment_bytes_and_retention_changed_on_a_live_topic(admin, broker):
    """Last in this module (the broker's retention job first runs 30 s after startup): segment.bytes
    lowered on a live topic makes the log roll small segments; retention.ms=1 then deletes the old
    ones, which moves the log start offset."""
    topic = new_name("ret")
    assert result(create_topics(admin, [NewTopic(topic, 1, 1)]), topic) is None
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "compression.type": "none"})
    log_dir = broker.data_dir / f"{topic}-0"

    def produce(n: int) -> None:
        for _ in range(n):
            producer.produce(topic, b"v" * 300)
            producer.flush(30)

    produce(5)
    assert len(list(log_dir.glob("*.log"))) == 1
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("segment.bytes", "1024", incremental_operation=AlterConfigOpType.SET)])
    assert result(admin.incremental_alter_configs([res]), res) is None

    def rolled() -> bool:
        produce(1)
        return len(list(log_dir.glob("*.log"))) > 2
    wait_until(rolled, "the live log to roll at segment.bytes=1024")
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": new_name("g")})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        assert low == 0 and high >= 8
        res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
            ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.SET)])
        assert result(admin.incremental_alter_configs([res]), res) is None
        wait_until(lambda: consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[0] > 0,
                   "retention to delete old segments", timeout_s=60)
    finally:
        consumer.close()


def test_kafka_python_log_dirs_records_cluster(broker, admin):
    kafka = pytest.importorskip("kafka")
    from kafka import TopicPartition as KTopicPartition
    from kafka.admin import KafkaAdminClient
    topic = new_name("ld")
    assert result(create_topics(admin, [NewTopic(topic, 2, 1)]), topic) is None
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(6):
        producer.produce(topic, b"r%d" % i, partition=0)
    producer.flush(30)
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
    try:
        [per_broker] = client.describe_log_dirs()
        [log_dir] = per_broker["log_dirs"]
        assert log_dir["log_dir"] == str(broker.data_dir) and log_dir["error_code"] == 0
        parts = {(t["name"], p["partition_index"]): p for t in log_dir["topics"] for p in t["partitions"]}
        assert parts[(topic, 0)]["partition_size"] > 0 and parts[(topic, 1)]["partition_size"] == 0
        assert parts[(topic, 0)]["offset_lag"] == 0 and not parts[(topic, 0)]["is_future_key"]
        deleted = client.delete_records({KTopicPartition(topic, 0): 4}, timeout_ms=30000)
        [meta] = deleted.values()
        assert (meta["low_watermark"] if isinstance(meta, dict) else meta.low_watermark) == 4
        # (kafka-python's describe_cluster reads DescribeCluster v1 fields that a 2.8 broker's v0 lacks.)
    finally:
        client.close()
    described = admin.describe_cluster(request_timeout=30).result(timeout=30)
    assert described.controller.id == 0 and [n.id for n in described.nodes] == [0]


def test_aiokafka_admin(broker, admin, chroot):
    pytest.importorskip("aiokafka")
    from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
    from aiokafka.admin import NewPartitions as ANewPartitions
    from aiokafka.admin import NewTopic as ANewTopic
    from aiokafka.admin.config_resource import ConfigResource as AConfigResource
    from aiokafka.admin.config_resource import ConfigResourceType as AConfigResourceType
    from aiokafka.structs import TopicPartition as ATopicPartition
    topic = new_name("aio")

    async def main() -> Any:
        client = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=30000)
        await client.start()
        try:
            await client.create_topics([ANewTopic(topic, 2, 1, topic_configs={"retention.ms": "424242"})],
                                       timeout_ms=30000)
            await client.create_partitions({topic: ANewPartitions(3)}, timeout_ms=30000)
            described = await client.describe_configs([AConfigResource(AConfigResourceType.TOPIC, topic)])
            await client.alter_configs([AConfigResource(AConfigResourceType.TOPIC, topic,
                                                        configs={"retention.ms": "434343"})])
            producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
            for i in range(5):
                producer.produce(topic, b"a%d" % i, partition=0)
            producer.flush(30)
            deleted = await client.delete_records({ATopicPartition(topic, 0): RecordsToDelete(3)}, timeout_ms=30000)
            stored = await asyncio.get_running_loop().run_in_executor(
                None, run_zk, chroot, lambda zk: zk.get_entity_config("topics", topic))
            await client.delete_topics([topic], timeout_ms=30000)
            return described, deleted, stored
        finally:
            await client.close()
    described, deleted, stored = asyncio.run(main())
    [response] = described
    [resource] = response.resources
    assert resource[0] == 0
    entries = {e[0]: e[1] for e in resource[4]}
    assert entries["retention.ms"] == "424242"
    assert stored == {"retention.ms": "434343"}
    assert deleted == {ATopicPartition(topic, 0): 3}
    assert run_zk(chroot, lambda zk: zk.get_topic_partition_count(topic)) in (None, 3)
    wait_until(lambda: not run_zk(chroot, lambda zk: zk.topic_exists(topic)), "deletion to complete")
