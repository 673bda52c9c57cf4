"""The admin API handlers at every advertised version: requests and responses pass through their
wire codecs (encode, decode) as the dispatcher would, over the in-memory ZooKeeper, a manual
clock and, for DeleteRecords / DescribeLogDirs, a real LogManager and ReplicaManager."""
from __future__ import annotations

import asyncio
import random
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from kafkapy.common.clock import ManualClock
from kafkapy.common.errors import ErrorCode
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.manager import LogManager
from kafkapy.protocol.api_keys import BROKER_SUPPORTED, ApiKey
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.records import SimpleRecord, build_batch
from kafkapy.server.apis import (
    alter_configs,
    create_partitions,
    create_topics,
    delete_records,
    delete_topics,
    describe_cluster,
    describe_configs,
    describe_log_dirs,
    incremental_alter_configs,
    leader_and_isr,
)
from kafkapy.server.config import KafkaConfig
from kafkapy.server.metadata_cache import BrokerEndPointInfo, CachedBroker, MetadataSnapshot, PartitionInfo
from kafkapy.server.replica_manager import ReplicaManager
from kafkapy.server.request import RequestContext
from kafkapy.testing.zookeeper import InMemoryZooKeeper
from kafkapy.zk.admin_zk import AdminZkClient
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import ConfigType

pytestmark = pytest.mark.timeout(60)
BROKER = 0
ZERO_UUID = uuid.UUID(int=0)


def ctx(api_key: int, version: int, client_id: str = "test") -> RequestContext:
    return RequestContext(api_key, version, 1, client_id, "c1", "PLAINTEXT", "PLAINTEXT", "127.0.0.1", 0)


def wire(api_key: int, version: int, **fields: Any) -> Any:
    api = get_api(api_key)
    codec = api.request_codec(version)
    decoded, _ = codec.decode(memoryview(bytearray(codec.encode(api.request(**fields)))))
    return decoded


def roundtrip(api_key: int, version: int, response: Any) -> Any:
    codec = get_api(api_key).response_codec(version)
    decoded, _ = codec.decode(memoryview(bytearray(codec.encode(response))))
    return decoded


class Broker:
    def __init__(self, tmp_path: Any, props: dict[str, Any] | None = None) -> None:
        self.clock = ManualClock()
        self.config = KafkaConfig({"broker.id": BROKER, "zookeeper.connect": "fake:2181",
                                   "log.dirs": str(tmp_path / "logs"), **(props or {})}, log_unknown=False)
        self.broker_id = BROKER
        self.broker_epoch = -1
        self.cluster_id = "cluster-x"
        self.server = InMemoryZooKeeper(time_ms=self.clock.now_ms)
        self.zk_client = KafkaZkClient(self.server.client("fake:2181/k"), time_ms=self.clock.now_ms)
        self.admin_zk = AdminZkClient(self.zk_client, rng=random.Random(1))
        self.tasks = TaskSupervisor("test", self.clock)
        self.metadata_listeners: list[Any] = []
        self.controller = SimpleNamespace(is_active=True)
        self.topic_configs: dict[str, dict[str, str]] = {}
        self._broker_defaults: dict[str, str] = {}
        self.metadata_cache = SimpleNamespace(snapshot=MetadataSnapshot(brokers=self._brokers()), controller_epoch=-1,
                                              broker_id=BROKER)
        self.log_manager = LogManager([str(tmp_path / "logs")], LogConfig(), broker_id=BROKER, cluster_id="c",
                                      clock_ms=self.clock.now_ms, cleaner_enabled=False, sync_checkpoints=False)
        self.replica_manager = ReplicaManager(BROKER, self.log_manager, self.metadata_cache, self.clock,
                                              log_config_for=self.log_config_for)

    def _brokers(self) -> dict[int, CachedBroker]:
        return {BROKER: CachedBroker(BROKER, {"PLAINTEXT": BrokerEndPointInfo("h0", 9092, "PLAINTEXT")}, "r1")}

    def log_config_for(self, topic: str | None) -> LogConfig:
        return LogConfig.from_props(self.topic_configs.get(topic, {}) if topic else {}, self._broker_defaults)

    async def load_topic_configs(self, topics: Any) -> None:
        for t in topics:
            self.topic_configs[t] = await self.zk_client.get_entity_config(ConfigType.TOPIC, t)

    def on_metadata_updated(self, deleted: Any) -> None:
        for listener in self.metadata_listeners:
            listener(deleted)

    def publish(self, topics: dict[str, int], topic_ids: dict[str, uuid.UUID] | None = None) -> None:
        parts = {t: {p: PartitionInfo(t, p, 1, BROKER, 0, (BROKER,), 0, (BROKER,)) for p in range(n)}
                 for t, n in topics.items()}
        self.metadata_cache.snapshot = MetadataSnapshot(parts, self._brokers(), BROKER, topic_ids or {})
        for listener in self.metadata_listeners:
            listener([])

    async def make_leader(self, topic: str) -> None:
        api = get_api(4)
        ps = api.request.struct("topic_states", "partition_states")
        ts = api.request.struct("topic_states")
        states = [ps(topic_name=topic, partition_index=0, controller_epoch=1, leader=BROKER, leader_epoch=0,
                     isr=[BROKER], zk_version=0, replicas=[BROKER], is_new=True)]
        req = wire(4, 5, controller_id=BROKER, controller_epoch=1, broker_epoch=-1, type=0,
                   ungrouped_partition_states=states,
                   topic_states=[ts(topic_name=topic, topic_id=uuid.uuid4(), partition_states=states)],
                   live_leaders=[])
        resp = await leader_and_isr.handle_leader_and_isr(ctx(4, 5), req, self)
        assert resp.error_code == 0
        self.publish({topic: 1})


@pytest.fixture
def tmp_broker(tmp_path):
    b = Broker(tmp_path)
    yield b
    b.log_manager.shutdown()


def run(broker: Broker, coro_fn) -> Any:
    async def main() -> Any:
        await broker.zk_client.zk.start()
        await broker.zk_client.create_top_level_paths()
        try:
            return await coro_fn()
        finally:
            broker.tasks.cancel_all()
            await broker.tasks.close()
    return asyncio.run(asyncio.wait_for(main(), 30))


async def until(predicate) -> None:
    while not await predicate():
        await asyncio.sleep(0)


# ====================================================================== registration
def test_register_advertises_every_schema_version(tmp_broker) -> None:
    registered: dict[int, Any] = {}
    fake_dispatcher = SimpleNamespace(register=lambda key, fn: registered.__setitem__(int(key), fn))

    async def main() -> None:
        for module in (create_topics, delete_topics, create_partitions, describe_configs, alter_configs,
                       incremental_alter_configs, delete_records, describe_log_dirs, describe_cluster):
            module.register(fake_dispatcher, tmp_broker)
    run(tmp_broker, main)
    for key in (ApiKey.CREATE_TOPICS, ApiKey.DELETE_TOPICS, ApiKey.CREATE_PARTITIONS, ApiKey.DESCRIBE_CONFIGS,
                ApiKey.ALTER_CONFIGS, ApiKey.INCREMENTAL_ALTER_CONFIGS, ApiKey.DELETE_RECORDS,
                ApiKey.DESCRIBE_LOG_DIRS, ApiKey.DESCRIBE_CLUSTER):
        spec = get_api(key)
        assert int(key) in registered
        assert BROKER_SUPPORTED[key] == (spec.min_version, spec.max_version), key


# ====================================================================== CreateTopics
@pytest.mark.parametrize("version", range(0, 8))
def test_create_topics_every_version(tmp_broker, version: int) -> None:
    api = get_api(19)
    T = api.request.struct("topics")
    C = api.request.struct("topics", "configs")

    async def main() -> Any:
        req = wire(19, version, topics=[
            T(name="t1", num_partitions=2, replication_factor=1, assignments=[],
              configs=[C(name="retention.ms", value="99")]),
            T(name="dup", num_partitions=1, replication_factor=1, assignments=[], configs=[]),
            T(name="dup", num_partitions=1, replication_factor=1, assignments=[], configs=[]),
        ], timeout_ms=10_000, validate_only=False)
        task = asyncio.ensure_future(create_topics.handle_create_topics(ctx(19, version), req, tmp_broker))
        await until(lambda: tmp_broker.zk_client.topic_exists("t1"))
        tmp_broker.publish({"t1": 2})
        return roundtrip(19, version, await task)
    resp = run(tmp_broker, main)
    by_name = {t.name: t for t in resp.topics}
    assert by_name["t1"].error_code == 0
    assert by_name["dup"].error_code == ErrorCode.INVALID_REQUEST
    assert len(resp.topics) == 2
    if version >= 1:
        assert "multiple entries" in by_name["dup"].error_message
    if version >= 5:
        assert by_name["t1"].num_partitions == 2 and by_name["t1"].replication_factor == 1
        configs = {c.name: c for c in by_name["t1"].configs}
        assert configs["retention.ms"].value == "99" and configs["retention.ms"].config_source == 1
    if version >= 7:
        assert by_name["t1"].topic_id != ZERO_UUID


def test_create_topics_not_controller(tmp_broker) -> None:
    api = get_api(19)
    T = api.request.struct("topics")
    tmp_broker.controller = SimpleNamespace(is_active=False)

    async def main() -> Any:
        req = wire(19, 4, topics=[T(name="x", num_partitions=1, replication_factor=1, assignments=[], configs=[])],
                   timeout_ms=1000, validate_only=False)
        return roundtrip(19, 4, await create_topics.handle_create_topics(ctx(19, 4), req, tmp_broker))
    resp = run(tmp_broker, main)
    assert [t.error_code for t in resp.topics] == [ErrorCode.NOT_CONTROLLER]


# ====================================================================== DeleteTopics
@pytest.mark.parametrize("version", range(0, 7))
def test_delete_topics_every_version(tmp_broker, version: int) -> None:
    api = get_api(20)
    topic_id = uuid.uuid4()

    async def main() -> Any:
        await tmp_broker.admin_zk.create_topic_with_assignment("gone", {}, {0: [0]})
        tmp_broker.publish({"gone": 1}, {"gone": topic_id})
        if version >= 6:
            S = api.request.struct("topics")
            req = wire(20, version, topics=[S(name=None, topic_id=topic_id), S(name="nope", topic_id=ZERO_UUID),
                                            S(name=None, topic_id=uuid.uuid4())], timeout_ms=10_000)
        else:
            req = wire(20, version, topic_names=["gone", "nope"], timeout_ms=10_000)
        task = asyncio.ensure_future(delete_topics.handle_delete_topics(ctx(20, version), req, tmp_broker))
        await until(lambda: tmp_broker.zk_client.is_topic_marked_for_deletion("gone"))
        tmp_broker.publish({})
        return roundtrip(20, version, await task)
    resp = run(tmp_broker, main)
    codes = [(r.name, r.error_code) for r in resp.responses]
    assert ("gone", 0) in codes and ("nope", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) in codes
    if version >= 6:
        assert (None, ErrorCode.UNKNOWN_TOPIC_ID) in codes
        assert [r.topic_id for r in resp.responses if r.name == "gone"] == [topic_id]


@pytest.mark.parametrize("version, code", [(2, ErrorCode.INVALID_REQUEST), (3, ErrorCode.TOPIC_DELETION_DISABLED)])
def test_delete_topics_disabled(tmp_path, version: int, code: int) -> None:
    broker = Broker(tmp_path, {"delete.topic.enable": "false"})

    async def main() -> Any:
        await broker.admin_zk.create_topic_with_assignment("keep", {}, {0: [0]})
        broker.publish({"keep": 1})
        req = wire(20, version, topic_names=["keep"], timeout_ms=1000)
        return roundtrip(20, version, await delete_topics.handle_delete_topics(ctx(20, version), req, broker))
    try:
        resp = run(broker, main)
    finally:
        broker.log_manager.shutdown()
    assert [r.error_code for r in resp.responses] == [code]


# ====================================================================== CreatePartitions
@pytest.mark.parametrize("version", range(0, 4))
def test_create_partitions_every_version(tmp_broker, version: int) -> None:
    api = get_api(37)
    T = api.request.struct("topics")
    A = api.request.struct("topics", "assignments")

    async def main() -> Any:
        await tmp_broker.admin_zk.create_topic_with_assignment("cp", {}, {0: [0]})
        tmp_broker.publish({"cp": 1})
        req = wire(37, version, topics=[T(name="cp", count=3, assignments=[A(broker_ids=[0]), A(broker_ids=[0])]),
                                        T(name="cp2", count=3, assignments=None)],
                   timeout_ms=10_000, validate_only=False)
        task = asyncio.ensure_future(create_partitions.handle_create_partitions(ctx(37, version), req, tmp_broker))
        await until(lambda: _count_is(tmp_broker, "cp", 3))
        tmp_broker.publish({"cp": 3})
        return roundtrip(37, version, await task)
    resp = run(tmp_broker, main)
    assert [(r.name, r.error_code) for r in resp.results] == [
        ("cp", 0), ("cp2", ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]


async def _count_is(broker: Broker, topic: str, n: int) -> bool:
    return await broker.zk_client.get_topic_partition_count(topic) == n


# ====================================================================== configs
@pytest.mark.parametrize("version", range(0, 5))
def test_describe_configs_every_version(tmp_broker, version: int) -> None:
    api = get_api(32)
    R = api.request.struct("resources")

    async def main() -> Any:
        await tmp_broker.admin_zk.create_topic_with_assignment("dc", {"retention.ms": "5"}, {0: [0]})
        tmp_broker.publish({"dc": 1})
        req = wire(32, version, resources=[R(resource_type=2, resource_name="dc", configuration_keys=None),
                                           R(resource_type=4, resource_name="0",
                                             configuration_keys=["log.retention.hours"]),
                                           R(resource_type=2, resource_name="missing", configuration_keys=None)],
                   include_synonyms=True, include_documentation=True)
        return roundtrip(32, version, await describe_configs.handle_describe_configs(ctx(32, version), req,
                                                                                   tmp_broker))
    resp = run(tmp_broker, main)
    topic, brokers, missing = resp.results
    assert topic.error_code == 0 and missing.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    entries = {c.name: c for c in topic.configs}
    r = entries["retention.ms"]
    assert r.value == "5"
    if version == 0:
        # Kafka 2.8 never sets the v0 flag (checked against a real 2.8.2 broker in the integration tests).
        assert r.is_default is False and entries["segment.bytes"].is_default is False
    else:
        assert r.config_source == 1 and entries["segment.bytes"].config_source == 5
        # Kafka drops the synonyms listed before the broker name itself (log.retention.ms is unset here).
        assert [s.name for s in r.synonyms] == ["retention.ms"]
        assert [(s.name, s.source) for s in entries["segment.bytes"].synonyms] == [("log.segment.bytes", 5)]
    if version >= 3:
        assert r.config_type == 5 and r.documentation
    assert [(c.name, c.value) for c in brokers.configs] == [("log.retention.hours", "168")]


@pytest.mark.parametrize("version", range(0, 3))
def test_alter_configs_every_version(tmp_broker, version: int) -> None:
    api = get_api(33)
    R = api.request.struct("resources")
    C = api.request.struct("resources", "configs")

    async def main() -> Any:
        await tmp_broker.admin_zk.create_topic_with_assignment("ac", {}, {0: [0]})
        tmp_broker.publish({"ac": 1})
        req = wire(33, version, resources=[
            R(resource_type=2, resource_name="ac", configs=[C(name="segment.ms", value="1000")]),
            R(resource_type=4, resource_name="0", configs=[C(name="broker.id", value="2")])], validate_only=False)
        resp = await alter_configs.handle_alter_configs(ctx(33, version), req, tmp_broker)
        return roundtrip(33, version, resp), await tmp_broker.zk_client.get_entity_config(ConfigType.TOPIC, "ac")
    resp, stored = run(tmp_broker, main)
    assert [(r.resource_name, r.error_code) for r in resp.responses] == [("ac", 0), ("0", ErrorCode.INVALID_REQUEST)]
    assert stored == {"segment.ms": "1000"}


@pytest.mark.parametrize("version", range(0, 2))
def test_incremental_alter_configs_every_version(tmp_broker, version: int) -> None:
    api = get_api(44)
    R = api.request.struct("resources")
    C = api.request.struct("resources", "configs")

    async def main() -> Any:
        await tmp_broker.admin_zk.create_topic_with_assignment("ia", {"segment.ms": "5"}, {0: [0]})
        tmp_broker.publish({"ia": 1})
        req = wire(44, version, resources=[R(resource_type=2, resource_name="ia", configs=[
            C(name="segment.ms", config_operation=1, value=None),
            C(name="cleanup.policy", config_operation=0, value="compact")])], validate_only=False)
        resp = await incremental_alter_configs.handle_incremental_alter_configs(ctx(44, version), req, tmp_broker)
        return roundtrip(44, version, resp), await tmp_broker.zk_client.get_entity_config(ConfigType.TOPIC, "ia")
    resp, stored = run(tmp_broker, main)
    assert [r.error_code for r in resp.responses] == [0]
    assert stored == {"cleanup.policy": "compact"}


# ====================================================================== records, log dirs, cluster
@pytest.mark.parametrize("version", range(0, 3))
def test_delete_records_every_version(tmp_broker, version: int) -> None:
    api = get_api(21)
    T = api.request.struct("topics")
    P = api.request.struct("topics", "partitions")

    async def main() -> Any:
        await tmp_broker.make_leader("dr")
        partition = tmp_broker.replica_manager.all_partitions[TopicPartition("dr", 0)]
        partition.append_records_to_leader(
            memoryview(build_batch([SimpleRecord(b"k", b"v%d" % i, (), 1000 + i) for i in range(10)])), 1)
        assert partition.high_watermark == 10
        out = []
        for offsets in ([3], [-1], [11], [-5]):
            req = wire(21, version, topics=[T(name="dr", partitions=[P(partition_index=0, offset=o) for o in offsets]),
                                            T(name="nope", partitions=[P(partition_index=0, offset=1)])],
                       timeout_ms=1000)
            resp = roundtrip(21, version, await delete_records.handle_delete_records(ctx(21, version), req,
                                                                                    tmp_broker))
            out.append([(t.name, p.low_watermark, p.error_code) for t in resp.topics for p in t.partitions])
        return out, partition.log_start_offset
    out, start = run(tmp_broker, main)
    unknown = ("nope", -1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    assert out == [[("dr", 3, 0), unknown], [("dr", 10, 0), unknown],
                   [("dr", -1, ErrorCode.OFFSET_OUT_OF_RANGE), unknown],
                   [("dr", -1, ErrorCode.OFFSET_OUT_OF_RANGE), unknown]]
    assert start == 10


@pytest.mark.parametrize("version", range(0, 3))
def test_describe_log_dirs_every_version(tmp_broker, version: int) -> None:
    api = get_api(35)
    T = api.request.struct("topics")

    async def main() -> Any:
        await tmp_broker.make_leader("ld")
        partition = tmp_broker.replica_manager.all_partitions[TopicPartition("ld", 0)]
        partition.append_records_to_leader(memoryview(build_batch([SimpleRecord(b"k", b"v", (), 1)])), 1)
        everything = roundtrip(35, version, describe_log_dirs.handle_describe_log_dirs(
            ctx(35, version), wire(35, version, topics=None), tmp_broker))
        other = roundtrip(35, version, describe_log_dirs.handle_describe_log_dirs(
            ctx(35, version), wire(35, version, topics=[T(topic="zz", partition_index=[0])]), tmp_broker))
        return everything, other, partition.log.size_in_bytes
    everything, other, size = run(tmp_broker, main)
    [d] = everything.results
    assert d.error_code == 0 and d.log_dir == tmp_broker.config.log_dirs[0]
    assert [(t.name, [(p.partition_index, p.partition_size, p.offset_lag, p.is_future_key) for p in t.partitions])
            for t in d.topics] == [("ld", [(0, size, 0, False)])]
    assert size > 0
    assert [r.topics for r in other.results] == [[]]


def test_describe_cluster(tmp_broker) -> None:
    async def main() -> Any:
        tmp_broker.publish({})
        req = wire(60, 0, include_cluster_authorized_operations=False)
        return roundtrip(60, 0, describe_cluster.handle_describe_cluster(ctx(60, 0), req, tmp_broker))
    resp = run(tmp_broker, main)
    assert (resp.error_code, resp.cluster_id, resp.controller_id) == (0, "cluster-x", BROKER)
    assert [(b.broker_id, b.host, b.port, b.rack) for b in resp.brokers] == [(0, "h0", 9092, "r1")]


def _spec_dir():
    from pathlib import Path
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "kafka-spec" / "2.8" / "message"


@pytest.mark.parametrize("key, spec_name", [
    (ApiKey.CREATE_TOPICS, "CreateTopicsRequest"), (ApiKey.DELETE_TOPICS, "DeleteTopicsRequest"),
    (ApiKey.CREATE_PARTITIONS, "CreatePartitionsRequest"), (ApiKey.DESCRIBE_CONFIGS, "DescribeConfigsRequest"),
    (ApiKey.ALTER_CONFIGS, "AlterConfigsRequest"),
    (ApiKey.INCREMENTAL_ALTER_CONFIGS, "IncrementalAlterConfigsRequest"),
    (ApiKey.DELETE_RECORDS, "DeleteRecordsRequest"), (ApiKey.DESCRIBE_LOG_DIRS, "DescribeLogDirsRequest"),
    (ApiKey.DESCRIBE_CLUSTER, "DescribeClusterRequest"),
])
def test_advertised_versions_are_kafka_28s(tmp_broker, key: ApiKey, spec_name: str) -> None:
    """Oracle: the Kafka 2.8 spec's validVersions equal what we advertise."""
    import json
    import re
    path = _spec_dir() / f"{spec_name}.json"
    if not path.exists():
        pytest.skip(f"Kafka 2.8 protocol specs not available at {path}")
    text = "\n".join(line.split("//")[0] for line in path.read_text().splitlines())
    spec = json.loads(text)
    m = re.fullmatch(r"(\d+)(?:-(\d+))?", spec["validVersions"])
    low, high = int(m.group(1)), int(m.group(2) or m.group(1))
    fake_dispatcher = SimpleNamespace(register=lambda k, fn: None)
    module = {ApiKey.CREATE_TOPICS: create_topics, ApiKey.DELETE_TOPICS: delete_topics,
              ApiKey.CREATE_PARTITIONS: create_partitions, ApiKey.DESCRIBE_CONFIGS: describe_configs,
              ApiKey.ALTER_CONFIGS: alter_configs, ApiKey.INCREMENTAL_ALTER_CONFIGS: incremental_alter_configs,
              ApiKey.DELETE_RECORDS: delete_records, ApiKey.DESCRIBE_LOG_DIRS: describe_log_dirs,
              ApiKey.DESCRIBE_CLUSTER: describe_cluster}[key]

    async def main() -> None:
        module.register(fake_dispatcher, tmp_broker)
    run(tmp_broker, main)
    assert BROKER_SUPPORTED[key] == (low, high)


def test_delete_records_waits_for_live_followers_log_start(tmp_broker) -> None:
    """DelayedDeleteRecords: the low watermark is the smallest log start offset over the live replicas."""
    api = get_api(21)
    T = api.request.struct("topics")
    P = api.request.struct("topics", "partitions")

    async def main() -> Any:
        lai = get_api(4)
        ps = lai.request.struct("topic_states", "partition_states")
        ts = lai.request.struct("topic_states")
        states = [ps(topic_name="df", partition_index=0, controller_epoch=1, leader=BROKER, leader_epoch=0,
                     isr=[BROKER], zk_version=0, replicas=[BROKER, 1], is_new=True)]
        req = wire(4, 5, controller_id=BROKER, controller_epoch=1, broker_epoch=-1, type=0,
                   ungrouped_partition_states=states,
                   topic_states=[ts(topic_name="df", topic_id=uuid.uuid4(), partition_states=states)],
                   live_leaders=[])
        assert (await leader_and_isr.handle_leader_and_isr(ctx(4, 5), req, tmp_broker)).error_code == 0
        brokers = dict(tmp_broker._brokers())
        brokers[1] = CachedBroker(1, {"PLAINTEXT": BrokerEndPointInfo("h1", 9093, "PLAINTEXT")})
        parts = {"df": {0: PartitionInfo("df", 0, 1, BROKER, 0, (BROKER,), 0, (BROKER, 1))}}
        tmp_broker.metadata_cache.snapshot = MetadataSnapshot(parts, brokers, BROKER)
        partition = tmp_broker.replica_manager.all_partitions[TopicPartition("df", 0)]
        partition.append_records_to_leader(
            memoryview(build_batch([SimpleRecord(b"k", b"v%d" % i, (), 1000 + i) for i in range(10)])), 1)
        follower = partition.remote_replicas[1]
        follower.log_start_offset = 0

        def request(offset: int, timeout_ms: int) -> Any:
            return wire(21, 2, topics=[T(name="df", partitions=[P(partition_index=0, offset=offset)])],
                        timeout_ms=timeout_ms)

        task = asyncio.ensure_future(delete_records.handle_delete_records(ctx(21, 2), request(6, 5000), tmp_broker))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done() and partition.log_start_offset == 6
        follower.log_start_offset = 6                     # the follower's next fetch reports it
        tmp_broker.clock.advance(delete_records.RECHECK_MS)
        first = await task
        # Another request the follower never catches up with times out.
        task = asyncio.ensure_future(delete_records.handle_delete_records(ctx(21, 2), request(8, 300), tmp_broker))
        for _ in range(5):
            await asyncio.sleep(0)
        tmp_broker.clock.advance(300)
        second = await task
        return first, second
    first, second = run(tmp_broker, main)
    p1 = first.topics[0].partitions[0]
    assert (p1.low_watermark, p1.error_code) == (6, 0)
    p2 = second.topics[0].partitions[0]
    assert p2.error_code == ErrorCode.REQUEST_TIMED_OUT
