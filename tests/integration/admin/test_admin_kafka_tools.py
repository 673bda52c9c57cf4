"""Admin APIs on a two-broker kafkapy cluster, driven by Kafka 2.8.2's own tools (Java AdminClient:
kafka-topics.sh and kafka-configs.sh with --bootstrap-server) and compared with what Kafka's own
``kafka-topics.sh --zookeeper`` writes."""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Callable

import pytest

from kafkapy.testing.broker import BrokerProcess
from kafkapy.testing.kafka_dist import KafkaDistUnavailable, kafka_classpath, run_kafka_class

pytestmark = [pytest.mark.integration, pytest.mark.slow]

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic  # noqa: E402


@pytest.fixture(scope="module")
def classpath() -> str:
    try:
        return kafka_classpath()
    except KafkaDistUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def cluster(zookeeper, tmp_path_factory):
    connect = f"{zookeeper.connect_string}/kafkapy-admin2-{uuid.uuid4().hex[:10]}"
    base = tmp_path_factory.mktemp("admin-two")
    brokers = [BrokerProcess(base / f"b{i}", connect, broker_id=i) for i in range(2)]
    for b in brokers:
        b.launch()
    for b in brokers:
        b.wait_started()
    yield connect, brokers
    # The controller goes last: a broker stopping after the controller would first wait out its
    # controlled-shutdown retries against a controller that is gone.
    controller = run_zk(connect, lambda zk: zk.get_controller_id())
    for b in sorted(brokers, key=lambda b: b.broker_id == controller):
        if b.is_running():
            assert b.stop() == 0, b.log_tail()


def bootstrap(brokers: list[BrokerProcess]) -> str:
    return ",".join(b.bootstrap for b in brokers)


def tool(classpath: str, main: str, *args: str) -> Any:
    done = run_kafka_class(main, list(args), classpath=classpath, timeout_s=120)
    return done


def run_zk(connect: str, fn: Callable[[Any], Any]) -> Any:
    from kafkapy.zk.kafka_zk import KafkaZkClient

    async def main() -> Any:
        zk = await KafkaZkClient.connect(connect)
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
        time.sleep(0.1)

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



def test_topic_command_over_the_admin_apis(cluster, classpath):
    """kafka-topics.sh --bootstrap-server: create (routed to the controller), describe, add partitions,
    delete; then the znodes equal those Kafka's own kafka-topics.sh --zookeeper writes."""
    connect, brokers = cluster
    servers = bootstrap(brokers)
    topic = f"jt-{uuid.uuid4().hex[:6]}"
    out = tool(classpath, "kafka.admin.TopicCommand", "--bootstrap-server", servers, "--create", "--topic", topic,
               "--replica-assignment", "0:1,1:0,0:1", "--config", "retention.ms=86400000",
               "--config", "cleanup.policy=compact")
    assert out.returncode == 0 and f"Created topic {topic}." in out.stdout, out.stdout + out.stderr
    out = tool(classpath, "kafka.admin.TopicCommand", "--bootstrap-server", servers, "--describe", "--topic", topic)
    assert out.returncode == 0, out.stderr
    assert "PartitionCount: 3" in out.stdout and "ReplicationFactor: 2" in out.stdout
    assert "Configs: cleanup.policy=compact,retention.ms=86400000" in out.stdout.replace("\t", " ") or \
        "retention.ms=86400000" in out.stdout
    # The same topic through Kafka's own ZooKeeper path, for comparison.
    twin = f"jz-{uuid.uuid4().hex[:6]}"
    out = tool(classpath, "kafka.admin.TopicCommand", "--zookeeper", connect, "--create", "--topic", twin,
               "--replica-assignment", "0:1,1:0,0:1", "--config", "retention.ms=86400000",
               "--config", "cleanup.policy=compact")
    assert out.returncode == 0, out.stdout + out.stderr

    async def read(zk: Any) -> Any:
        return {t: ((await zk.get_data_and_version(f"/brokers/topics/{t}"))[0],
                    (await zk.get_data_and_version(f"/config/topics/{t}"))[0]) for t in (topic, twin)}
    nodes = run_zk(connect, read)
    ours, kafkas = json.loads(nodes[topic][0]), json.loads(nodes[twin][0])
    assert ours.pop("topic_id", None) is not None      # IBP 2.8: the broker writes the topic id at creation
    kafkas.pop("topic_id", None)                       # (Kafka's controller adds one to the twin later)
    assert ours == kafkas
    assert json.loads(nodes[topic][1]) == json.loads(nodes[twin][1]) == {
        "version": 1, "config": {"retention.ms": "86400000", "cleanup.policy": "compact"}}
    out = tool(classpath, "kafka.admin.TopicCommand", "--bootstrap-server", servers, "--alter", "--topic", topic,
               "--partitions", "5")
    assert out.returncode == 0, out.stdout + out.stderr
    assignment = run_zk(connect, lambda zk: zk.get_topic_assignment(topic))
    assert sorted(assignment.partitions) == [0, 1, 2, 3, 4]
    assert all(len(a.replicas) == 2 for a in assignment.partitions.values())
    out = tool(classpath, "kafka.admin.TopicCommand", "--bootstrap-server", servers, "--alter", "--topic", topic,
               "--partitions", "2")
    assert out.returncode == 1
    assert ("Error while executing topic command : Topic currently has 5 partitions, which is higher than the "
            "requested 2.") in out.stdout
    out = tool(classpath, "kafka.admin.TopicCommand", "--bootstrap-server", servers, "--delete", "--topic", topic)
    assert out.returncode == 0, out.stdout + out.stderr
    wait_until(lambda: not run_zk(connect, lambda zk: zk.topic_exists(topic)), "the topic to be deleted")


def test_config_command_cluster_default_reaches_both_brokers(cluster, classpath):
    """kafka-configs.sh --bootstrap-server --entity-default (AlterConfigs/IncrementalAlterConfigs with the
    empty broker name): every broker applies the new default and reports it in DescribeConfigs."""
    connect, brokers = cluster
    servers = bootstrap(brokers)
    out = tool(classpath, "kafka.admin.ConfigCommand", "--bootstrap-server", servers, "--entity-type", "brokers",
               "--entity-default", "--alter", "--add-config", "log.retention.ms=4444444")
    assert out.returncode == 0, out.stdout + out.stderr
    try:
        assert run_zk(connect, lambda zk: zk.get_entity_config("brokers", "<default>")) == {
            "log.retention.ms": "4444444"}
        for b in brokers:
            admin = AdminClient({"bootstrap.servers": b.bootstrap})
            res = ConfigResource(ConfigResource.Type.BROKER, str(b.broker_id))

            def applied() -> bool:
                entry = admin.describe_configs([res])[res].result(timeout=30)["log.retention.ms"]
                return entry.value == "4444444" and entry.source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
            wait_until(applied, f"broker {b.broker_id} to apply the dynamic default")
        out = tool(classpath, "kafka.admin.ConfigCommand", "--bootstrap-server", servers, "--entity-type",
                   "brokers", "--entity-default", "--describe")
        assert out.returncode == 0 and "log.retention.ms=4444444" in out.stdout, out.stdout + out.stderr
        out = tool(classpath, "kafka.admin.ConfigCommand", "--bootstrap-server", servers, "--entity-type",
                   "brokers", "--entity-name", "1", "--describe", "--all")
        assert out.returncode == 0, out.stdout + out.stderr
        assert "log.retention.ms=4444444 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:" \
               "log.retention.ms=4444444" in out.stdout
        # Kafka lists every synonym layer: the static value, then the definition's default (-1).
        assert "broker.id=1 sensitive=false synonyms={STATIC_BROKER_CONFIG:broker.id=1, DEFAULT_CONFIG:broker.id=-1}" \
            in out.stdout
        assert "ssl.key.password=null sensitive=true synonyms={}" in out.stdout
    finally:
        out = tool(classpath, "kafka.admin.ConfigCommand", "--bootstrap-server", servers, "--entity-type",
                   "brokers", "--entity-default", "--alter", "--delete-config", "log.retention.ms")
        assert out.returncode == 0, out.stdout + out.stderr


def test_topic_config_command_and_delete_records_with_a_follower(cluster, classpath):
    connect, brokers = cluster
    servers = bootstrap(brokers)
    admin = AdminClient({"bootstrap.servers": servers})
    topic = f"jc-{uuid.uuid4().hex[:6]}"
    assert create_topics(admin, [NewTopic(topic, 1, 2)])[topic].result(timeout=30) is None
    out = tool(classpath, "kafka.admin.ConfigCommand", "--bootstrap-server", servers, "--entity-type", "topics",
               "--entity-name", topic, "--alter", "--add-config", "max.message.bytes=20000,retention.ms=999999")
    assert out.returncode == 0, out.stdout + out.stderr
    out = tool(classpath, "kafka.admin.ConfigCommand", "--bootstrap-server", servers, "--entity-type", "topics",
               "--entity-name", topic, "--describe")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "max.message.bytes=20000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:max.message.bytes=20000, " \
           "DEFAULT_CONFIG:message.max.bytes=1048588}" in out.stdout
    producer = Producer({"bootstrap.servers": servers, "linger.ms": 0, "acks": "1"})
    for i in range(8):
        producer.produce(topic, b"m%d" % i)
    assert producer.flush(30) == 0
    from confluent_kafka import Consumer
    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"g-{uuid.uuid4().hex[:6]}"})
    try:
        deadline = time.monotonic() + 30
        while consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1] < 8:
            if time.monotonic() > deadline:
                pytest.skip("the follower never caught up (no follower replication in this tree yet)")
            time.sleep(0.1)
    finally:
        consumer.close()
    # DeleteRecords waits for the follower's log start offset (the low watermark) to reach the offset.
    fs = admin.delete_records([TopicPartition(topic, 0, 5)], operation_timeout=30)
    assert list(fs.values())[0].result(timeout=60).low_watermark == 5
