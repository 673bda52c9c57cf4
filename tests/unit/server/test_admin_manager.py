"""AdminManager (validation, ZooKeeper writes, delayed topic operations, config descriptions) and
DynamicConfigManager, over the in-memory ZooKeeper double and a manual clock."""
from __future__ import annotations

import asyncio
import json
import random
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.common.clock import ManualClock
from kafkapy.common.errors import ErrorCode
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.server.admin_manager import (
    AdminManager,
    AlterConfigOp,
    ConfigSource,
    NewPartitions,
    NewTopic,
    ResourceType,
    validate_topic_configs,
)
from kafkapy.server.dynamic_config import DynamicBrokerConfig, DynamicConfigManager
from kafkapy.server.metadata_cache import BrokerEndPointInfo, CachedBroker, MetadataSnapshot, PartitionInfo
from kafkapy.server.config import KafkaConfig
from kafkapy.testing.zookeeper import InMemoryZooKeeper
from kafkapy.zk.admin_zk import AdminZkClient, assign_replicas_to_brokers, new_partitions_assignment
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import ConfigEntityZNode, ConfigType, TopicZNode

pytestmark = pytest.mark.timeout(60)


class FakeLog:
    def __init__(self, config: LogConfig) -> None:
        self.config = config

    def update_config(self, config: LogConfig) -> None:
        self.config = config


class FakeLogManager:
    def __init__(self) -> None:
        self.logs: dict[TopicPartition, FakeLog] = {}

    def update_topic_config(self, topic: str, config: LogConfig) -> None:
        for tp, lg in self.logs.items():
            if tp.topic == topic:
                lg.config = config


class FakeBroker:
    """What the admin code uses of KafkaServer."""

    def __init__(self, server: InMemoryZooKeeper, clock: ManualClock, props: dict[str, Any] | None = None,
                 brokers: tuple[int, ...] = (0,)) -> None:
        self.config = KafkaConfig({"broker.id": 0, "zookeeper.connect": "fake:2181", "log.dirs": "/nonexistent",
                                   **(props or {})}, log_unknown=False)
        self.broker_id = 0
        self.clock = clock
        self.server = server
        self.zk_client = KafkaZkClient(server.client("fake:2181/kafka"), time_ms=clock.now_ms)
        self.admin_zk = AdminZkClient(self.zk_client, rng=random.Random(7))
        self.tasks = TaskSupervisor("test", clock)
        self.metadata_listeners: list[Any] = []
        self.controller = SimpleNamespace(is_active=True)
        self.topic_configs: dict[str, dict[str, str]] = {}
        self.log_manager = FakeLogManager()
        self._broker_defaults = {k: str(v) for k, v in self.config.originals().items()}
        self.brokers = brokers
        self.metadata_cache = SimpleNamespace(snapshot=MetadataSnapshot(brokers=self._cached_brokers()))

    def _cached_brokers(self) -> dict[int, CachedBroker]:
        return {b: CachedBroker(b, {"PLAINTEXT": BrokerEndPointInfo("h", 9092 + b, "PLAINTEXT")}) for b in self.brokers}

    async def start(self) -> None:
        await self.zk_client.zk.start()
        await self.zk_client.create_top_level_paths()

    def log_config_for(self, topic: str | None) -> LogConfig:
        return LogConfig.from_props(self.topic_configs.get(topic, {}) if topic else {}, self._broker_defaults)

    def publish(self, topics: dict[str, int], leader: int = 0) -> None:
        """An UpdateMetadata: `topics` with `n` partitions led by `leader` (-1 = no leader)."""
        parts = {t: {p: PartitionInfo(t, p, 1, leader, 0, (0,), 0, (0,)) for p in range(n)} for t, n in topics.items()}
        self.metadata_cache.snapshot = MetadataSnapshot(parts, self._cached_brokers(), 0)
        for listener in self.metadata_listeners:
            listener([])


def run(coro_fn) -> Any:
    return asyncio.run(asyncio.wait_for(coro_fn(), 20))


async def make(props: dict[str, Any] | None = None, brokers: tuple[int, ...] = (0,)) -> tuple[FakeBroker, AdminManager]:
    clock = ManualClock()
    server = InMemoryZooKeeper(time_ms=clock.now_ms)
    broker = FakeBroker(server, clock, props, brokers)
    await broker.start()
    return broker, AdminManager(broker)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


# ====================================================================== CreateTopics
def test_create_topic_writes_kafka_topics_znodes_and_waits_for_leaders() -> None:
    async def main() -> None:
        broker, manager = await make(brokers=(0, 1, 2))
        task = asyncio.ensure_future(manager.create_topics(
            [NewTopic("orders", 4, 2, configs={"retention.ms": "1000"})], 30_000, False, True))
        await settle()
        while not await broker.zk_client.topic_exists("orders"):
            await asyncio.sleep(0)
        assert not task.done()                       # no leaders yet
        broker.publish({"orders": 4}, leader=-1)
        await settle()
        assert not task.done()                       # partitions known, still leaderless
        broker.publish({"orders": 4})
        [res] = await task
        assert (res.error_code, res.num_partitions, res.replication_factor) == (0, 4, 2)
        entries = {c.name: c for c in res.configs}
        assert entries["retention.ms"].value == "1000"
        assert entries["retention.ms"].source == ConfigSource.TOPIC_CONFIG
        # Byte-for-byte what AdminZkClient (kafka-topics.sh --zookeeper) writes for the same assignment.
        assignment = await broker.zk_client.get_topic_assignment("orders")
        replicas = {p: list(a.replicas) for p, a in assignment.partitions.items()}
        # Kafka's assignment over the live brokers (same random draws as the manager's generator).
        assert replicas == assign_replicas_to_brokers(4, 2, [0, 1, 2], rng=random.Random(7))
        other = InMemoryZooKeeper()
        zk2 = KafkaZkClient(other.client("fake:2181"))
        await zk2.zk.start()
        await AdminZkClient(zk2).create_topic_with_assignment("orders", {"retention.ms": "1000"}, replicas,
                                                             topic_id=assignment.topic_id)
        for path in (TopicZNode.path("orders"), ConfigEntityZNode.path(ConfigType.TOPIC, "orders")):
            mine, _ = await broker.zk_client.get_data_and_version(path)
            theirs, _ = await zk2.get_data_and_version(path)
            assert mine == theirs, path
        assert res.topic_id is not None and assignment.topic_id is not None
        # Topic creation does not notify config changes.
        assert await broker.zk_client.get_config_change_notifications() == []
    run(main)


def test_create_topic_times_out_without_leaders() -> None:
    async def main() -> None:
        broker, manager = await make()
        task = asyncio.ensure_future(manager.create_topics([NewTopic("t", 1, 1)], 5000, False, False))
        while not await broker.zk_client.topic_exists("t"):
            await asyncio.sleep(0)
        await settle()
        broker.clock.advance(4999)
        await settle()
        assert not task.done()
        broker.clock.advance(1)
        [res] = await task
        assert res.error_code == ErrorCode.REQUEST_TIMED_OUT
    run(main)


@pytest.mark.parametrize("topic, code, fragment", [
    (NewTopic("exists", 1, 1), ErrorCode.TOPIC_ALREADY_EXISTS, "Topic 'exists' already exists."),
    (NewTopic("a/b", 1, 1), ErrorCode.INVALID_TOPIC_EXCEPTION, "illegal"),
    (NewTopic("t", 1, 2), ErrorCode.INVALID_REPLICATION_FACTOR, "larger than available brokers: 1"),
    (NewTopic("t", 0, 1), ErrorCode.INVALID_PARTITIONS, "larger than 0"),
    (NewTopic("t", 1, 1, {0: [0]}), ErrorCode.INVALID_REQUEST, "Both numPartitions"),
    (NewTopic("t", -1, -1, {0: [0], 2: [0]}), ErrorCode.INVALID_REPLICA_ASSIGNMENT, "consecutive"),
    (NewTopic("t", 1, 1, configs={"bogus": "1"}), ErrorCode.INVALID_CONFIG, "Unknown topic config name: bogus"),
    (NewTopic("t", 1, 1, configs={"retention.ms": "x"}), ErrorCode.INVALID_CONFIG, "retention.ms"),
    (NewTopic("t", 1, 1, configs={"retention.ms": None}), ErrorCode.INVALID_REQUEST, "Null value"),
])
def test_create_topic_errors(topic: NewTopic, code: int, fragment: str) -> None:
    async def main() -> None:
        broker, manager = await make()
        broker.publish({"exists": 1})
        [res] = await manager.create_topics([topic], 1000, False, False)
        assert res.error_code == code, res
        assert fragment in (res.error_message or "")
        assert not await broker.zk_client.topic_exists("t")
    run(main)


def test_create_topic_defaults_and_validate_only() -> None:
    async def main() -> None:
        broker, manager = await make({"num.partitions": 3})
        [res] = await manager.create_topics([NewTopic("v", -1, -1)], 1000, True, True)
        assert (res.error_code, res.num_partitions, res.replication_factor) == (0, 3, 1)
        assert not await broker.zk_client.topic_exists("v")
        # A zero timeout answers as soon as the znodes are written, with REQUEST_TIMED_OUT as Kafka does.
        [res] = await manager.create_topics([NewTopic("w", -1, -1)], 0, False, False)
        assert res.error_code == ErrorCode.REQUEST_TIMED_OUT and await broker.zk_client.topic_exists("w")
    run(main)


# ====================================================================== DeleteTopics / CreatePartitions
def test_delete_topic_marks_and_waits_until_gone() -> None:
    async def main() -> None:
        broker, manager = await make()
        await broker.admin_zk.create_topic_with_assignment("d", {}, {0: [0]})
        broker.publish({"d": 1})
        task = asyncio.ensure_future(manager.delete_topics(["d", "unknown"], 10_000))
        while not await broker.zk_client.is_topic_marked_for_deletion("d"):
            await asyncio.sleep(0)
        await settle()
        assert not task.done()
        broker.publish({})
        results = {r.name: r.error_code for r in await task}
        assert results == {"d": 0, "unknown": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
    run(main)


def test_create_partitions_uses_kafka_assignment_and_checks() -> None:
    async def main() -> None:
        broker, manager = await make(brokers=(0, 1, 2))
        await broker.admin_zk.create_topic_with_assignment("p", {}, {0: [1, 2], 1: [2, 0]})
        broker.publish({"p": 2})
        task = asyncio.ensure_future(manager.create_partitions([NewPartitions("p", 5)], 10_000, False))
        while (await broker.zk_client.get_topic_partition_count("p")) != 5:
            await asyncio.sleep(0)
        broker.publish({"p": 5})
        [res] = await task
        assert res.error_code == 0
        assignment = await broker.zk_client.get_topic_assignment("p")
        expected = new_partitions_assignment("p", {0: [1, 2], 1: [2, 0]},
                                             [b for b in sorted(manager._live_brokers())], 5)
        assert {p: list(a.replicas) for p, a in assignment.partitions.items() if p >= 2} == expected
        results = await manager.create_partitions([
            NewPartitions("p", 3), NewPartitions("p2", 3)], 0, True)
        assert results[0].error_code == ErrorCode.INVALID_PARTITIONS
        assert results[0].error_message == "Topic currently has 5 partitions, which is higher than the requested 3."
        assert results[1].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        [same] = await manager.create_partitions([NewPartitions("p", 5)], 0, True)
        assert same.error_message == "Topic already has 5 partitions."
        [bad] = await manager.create_partitions([NewPartitions("p", 6, [[7]])], 0, True)
        assert bad.error_code == ErrorCode.INVALID_REPLICA_ASSIGNMENT and "Unknown broker(s)" in bad.error_message
        [count] = await manager.create_partitions([NewPartitions("p", 7, [[0, 1]])], 0, True)
        assert count.error_code == ErrorCode.INVALID_REPLICA_ASSIGNMENT
        [manual] = await manager.create_partitions([NewPartitions("p", 6, [[0, 1]])], 0, False)
        assert manual.error_code == ErrorCode.REQUEST_TIMED_OUT   # written, not waited for
        assignment = await broker.zk_client.get_topic_assignment("p")
        assert list(assignment.partitions[5].replicas) == [0, 1]
    run(main)


# ====================================================================== configs
def test_describe_topic_sources_and_synonyms() -> None:
    async def main() -> None:
        broker, manager = await make({"log.retention.ms": "5000", "log.cleanup.policy": "compact"})
        await broker.admin_zk.create_topic_with_assignment("c", {"retention.ms": "100"}, {0: [0]})
        broker.publish({"c": 1})
        [res] = await manager.describe_configs([(ResourceType.TOPIC, "c", None)], True, True)
        entries = {e.name: e for e in res.configs}
        r = entries["retention.ms"]
        assert (r.value, r.source) == ("100", ConfigSource.TOPIC_CONFIG)
        assert [(s.name, s.value, s.source) for s in r.synonyms] == [
            ("retention.ms", "100", ConfigSource.TOPIC_CONFIG),
            ("log.retention.ms", "5000", ConfigSource.STATIC_BROKER_CONFIG),
            ("log.retention.hours", "168", ConfigSource.DEFAULT_CONFIG)]
        c = entries["cleanup.policy"]
        assert (c.value, c.source, c.is_default) == ("compact", ConfigSource.STATIC_BROKER_CONFIG, False)
        m = entries["max.message.bytes"]
        assert (m.value, m.source, m.is_default) == ("1048588", ConfigSource.DEFAULT_CONFIG, True)
        assert m.config_type == 3 and m.documentation
        assert not any(e.read_only for e in res.configs)
        [only] = await manager.describe_configs([(ResourceType.TOPIC, "c", ["segment.bytes"])], False, False)
        assert [e.name for e in only.configs] == ["segment.bytes"] and only.configs[0].synonyms == ()
        [missing] = await manager.describe_configs([(ResourceType.TOPIC, "nope", None)], False, False)
        assert missing.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    run(main)


def test_describe_broker_configs() -> None:
    async def main() -> None:
        broker, manager = await make({"log.retention.hours": "10"})
        [res] = await manager.describe_configs([(ResourceType.BROKER, "0", None)], True, False)
        entries = {e.name: e for e in res.configs}
        assert entries["broker.id"].read_only and entries["broker.id"].source == ConfigSource.STATIC_BROKER_CONFIG
        assert not entries["log.retention.ms"].read_only
        assert [(s.name, s.source) for s in entries["log.retention.hours"].synonyms] == [
            ("log.retention.hours", ConfigSource.STATIC_BROKER_CONFIG),
            ("log.retention.hours", ConfigSource.DEFAULT_CONFIG)]
        assert entries["log.retention.hours"].value == "10"
        [other] = await manager.describe_configs([(ResourceType.BROKER, "5", None)], False, False)
        assert other.error_code == ErrorCode.INVALID_REQUEST
        [default] = await manager.describe_configs([(ResourceType.BROKER, "", None)], False, False)
        assert default.error_code == 0 and default.configs == ()
        [loggers] = await manager.describe_configs([(ResourceType.BROKER_LOGGER, "0", ["root"])], False, False)
        assert [e.name for e in loggers.configs] == ["root"]
        assert loggers.configs[0].source == ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG
    run(main)


def test_alter_configs_writes_override_and_notification() -> None:
    async def main() -> None:
        broker, manager = await make()
        await broker.admin_zk.create_topic_with_assignment("a", {"retention.ms": "1"}, {0: [0]})
        broker.publish({"a": 1})
        [ok] = await manager.alter_configs([(ResourceType.TOPIC, "a", {"segment.bytes": "2048"})], False)
        assert ok.error_code == 0
        assert await broker.zk_client.get_entity_config(ConfigType.TOPIC, "a") == {"segment.bytes": "2048"}
        [change] = await broker.zk_client.get_config_change_notifications()
        assert change.startswith("config_change_")
        data, _ = await broker.zk_client.get_data_and_version(f"/config/changes/{change}")
        assert json.loads(data) == {"version": 2, "entity_path": "topics/a"}
        results = await manager.alter_configs([
            (ResourceType.TOPIC, "a", {"segment.bytes": "1"}),
            (ResourceType.TOPIC, "a", {"bogus": "1"}),
            (ResourceType.TOPIC, "missing", {}),
            (ResourceType.BROKER, "0", {"broker.id": "3"}),
            (ResourceType.BROKER, "", {"listeners": "PLAINTEXT://:1"}),
            (ResourceType.BROKER, "1", {"log.retention.ms": "1"}),
            (ResourceType.GROUP, "g", {}),
        ], False)
        codes = [r.error_code for r in results]
        assert codes == [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_CONFIG, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                         ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST,
                         ErrorCode.INVALID_REQUEST]
        assert results[0].error_message.startswith(
            "Invalid config value for resource ConfigResource(type=TOPIC, name='a'): ")
        assert "Cannot update these configs dynamically: Set(broker.id)" in results[3].error_message
        assert "broker id must be specified: Set(listeners)" in results[4].error_message
        # Nothing of the failed ones was written; validate_only writes nothing either.
        [vo] = await manager.alter_configs([(ResourceType.BROKER, "", {"log.retention.ms": "9"})], True)
        assert vo.error_code == 0
        assert await broker.zk_client.get_entity_config(ConfigType.BROKER, "<default>") == {}
        assert len(await broker.zk_client.get_config_change_notifications()) == 1
        [b] = await manager.alter_configs([(ResourceType.BROKER, "", {"log.retention.ms": "9"})], False)
        assert b.error_code == 0
        assert await broker.zk_client.get_entity_config(ConfigType.BROKER, "<default>") == {"log.retention.ms": "9"}
    run(main)


def test_incremental_alter_configs() -> None:
    async def main() -> None:
        broker, manager = await make()
        await broker.admin_zk.create_topic_with_assignment("i", {"retention.ms": "1", "segment.bytes": "4096"},
                                                          {0: [0]})
        broker.publish({"i": 1})
        [ok] = await manager.incremental_alter_configs([(ResourceType.TOPIC, "i", [
            ("retention.ms", AlterConfigOp.DELETE, None),
            ("cleanup.policy", AlterConfigOp.APPEND, "compact"),
            ("leader.replication.throttled.replicas", AlterConfigOp.SET, "0:1,1:0"),
        ])], False)
        assert ok.error_code == 0
        assert await broker.zk_client.get_entity_config(ConfigType.TOPIC, "i") == {
            "segment.bytes": "4096", "cleanup.policy": "delete,compact",
            "leader.replication.throttled.replicas": "0:1,1:0"}
        [sub] = await manager.incremental_alter_configs([(ResourceType.TOPIC, "i", [
            ("leader.replication.throttled.replicas", AlterConfigOp.SUBTRACT, "0:1")])], False)
        assert sub.error_code == 0
        assert (await broker.zk_client.get_entity_config(ConfigType.TOPIC, "i"))[
            "leader.replication.throttled.replicas"] == "1:0"
        bad = await manager.incremental_alter_configs([
            (ResourceType.TOPIC, "i", [("retention.ms", AlterConfigOp.APPEND, "1")]),
            (ResourceType.TOPIC, "i", [("retention.ms", AlterConfigOp.SET, "1"), ("retention.ms",
                                                                                 AlterConfigOp.DELETE, None)]),
            (ResourceType.BROKER_LOGGER, "0", [("kafkapy.nothing.here", AlterConfigOp.SET, "DEBUG")]),
            (ResourceType.BROKER_LOGGER, "0", [("root", AlterConfigOp.APPEND, "DEBUG")]),
        ], False)
        assert [r.error_code for r in bad] == [ErrorCode.INVALID_REQUEST] * 4
        assert bad[0].error_message == "Config value append is not allowed for config key: retention.ms"
        assert bad[1].error_message == "Error due to duplicate config keys : retention.ms"
        assert bad[2].error_message.endswith("Logger kafkapy.nothing.here does not exist!")
        assert bad[3].error_message == "APPEND operation is not allowed for the BROKER_LOGGER resource"
        [null] = await manager.incremental_alter_configs([(ResourceType.TOPIC, "i", [
            ("segment.ms", AlterConfigOp.SET, None)])], False)
        assert (null.error_code, null.error_message) == (ErrorCode.INVALID_REQUEST,
                                                         "Null value not supported for : SET:segment.ms")
    run(main)


def test_broker_logger_levels_change() -> None:
    import logging
    name = "kafkapy.test.admin.logger"
    logger = logging.getLogger(name)

    async def main() -> None:
        broker, manager = await make()
        [ok] = await manager.incremental_alter_configs([(ResourceType.BROKER_LOGGER, "0", [
            (name, AlterConfigOp.SET, "TRACE")])], False)
        assert ok.error_code == 0 and logger.level == 5
        [res] = await manager.describe_configs([(ResourceType.BROKER_LOGGER, "0", [name])], False, False)
        assert res.configs[0].value == "TRACE"
        [ok] = await manager.incremental_alter_configs([(ResourceType.BROKER_LOGGER, "0", [
            (name, AlterConfigOp.DELETE, None)])], False)
        assert ok.error_code == 0 and logger.level == logging.NOTSET
    run(main)


@settings(max_examples=60, deadline=None)
@given(current=st.lists(st.sampled_from(["a:1", "b:2", "c:3", "d:4"])),
       given_=st.lists(st.sampled_from(["a:1", "b:2", "c:3", "e:5"]), min_size=1),
       append=st.booleans())
def test_append_is_concatenation_and_subtract_a_multiset_difference(current: list[str], given_: list[str],
                                                                     append: bool) -> None:
    manager = AdminManager.__new__(AdminManager)
    name = "follower.replication.throttled.replicas"
    op = AlterConfigOp.APPEND if append else AlterConfigOp.SUBTRACT
    out = manager._apply_ops(ResourceType.TOPIC, {name: ",".join(current)}, [(name, op, ",".join(given_))])
    got = [s for s in out[name].split(",") if s]
    if append:
        assert got == current + given_
    else:
        expected = list(current)
        for g in given_:
            if g in expected:
                expected.remove(g)
        assert got == expected


def test_append_to_an_unset_list_starts_from_the_definition_default() -> None:
    manager = AdminManager.__new__(AdminManager)
    out = manager._apply_ops(ResourceType.TOPIC, {}, [("cleanup.policy", AlterConfigOp.APPEND, "compact")])
    assert out == {"cleanup.policy": "delete,compact"}
    out = manager._apply_ops(ResourceType.TOPIC, {}, [("cleanup.policy", AlterConfigOp.SUBTRACT, "delete")])
    assert out == {"cleanup.policy": ""}


def test_validate_topic_configs() -> None:
    assert validate_topic_configs({"retention.ms": "5"}, {}).retention_ms == 5
    with pytest.raises(Exception) as info:
        validate_topic_configs({"min.insync.replicas": "0"}, {})
    assert "min.insync.replicas" in str(info.value)


# ====================================================================== DynamicConfigManager
def test_dynamic_config_manager_applies_topic_and_broker_changes() -> None:
    async def main() -> None:
        broker, manager = await make({"log.retention.ms": "1000"})
        dcm = DynamicConfigManager(broker, manager.broker_config)
        await broker.admin_zk.create_topic_with_assignment("x", {}, {0: [0]})
        await broker.admin_zk.create_topic_with_assignment("y", {"retention.ms": "42"}, {0: [0]})
        broker.topic_configs = {"x": {}, "y": {"retention.ms": "42"}}
        broker.log_manager.logs = {TopicPartition("x", 0): FakeLog(broker.log_config_for("x")),
                                   TopicPartition("y", 0): FakeLog(broker.log_config_for("y"))}
        # A change written before startup is replayed at startup.
        await broker.admin_zk.change_entity_config(ConfigType.TOPIC, "x", {"max.message.bytes": "100"})
        await dcm.startup()
        lx = broker.log_manager.logs[TopicPartition("x", 0)]
        assert lx.config.max_message_bytes == 100 and lx.config.retention_ms == 1000
        first = dcm.last_executed_change
        assert first >= 0 and dcm.applied == ["topics/x"]
        # A cluster default reaches x (no override) but not y (overrides retention.ms).
        waiter = asyncio.ensure_future(dcm.wait_processed())
        await asyncio.sleep(0)
        await broker.admin_zk.change_entity_config(ConfigType.BROKER, "<default>", {"log.retention.ms": "7",
                                                                                  "message.max.bytes": "9"})
        await waiter
        assert dcm.last_executed_change > first
        ly = broker.log_manager.logs[TopicPartition("y", 0)]
        assert lx.config.retention_ms == 7 and lx.config.max_message_bytes == 100
        assert ly.config.retention_ms == 42 and ly.config.max_message_bytes == 9
        # Per-broker beats the default; another broker's entity is ignored; deleting reverts.
        for entity, props in (("1", {"log.retention.ms": "1"}), ("0", {"log.retention.ms": "8"})):
            waiter = asyncio.ensure_future(dcm.wait_processed())
            await asyncio.sleep(0)
            await broker.admin_zk.change_entity_config(ConfigType.BROKER, entity, props)
            await waiter
        assert lx.config.retention_ms == 8
        waiter = asyncio.ensure_future(dcm.wait_processed())
        await asyncio.sleep(0)
        await broker.admin_zk.change_entity_config(ConfigType.BROKER, "0", {})
        await waiter
        assert lx.config.retention_ms == 7
        assert dcm.broker_config.effective()["log.retention.ms"] == "7"
        dcm.close()
        broker.tasks.cancel_all()
        await broker.tasks.close()
    run(main)


def test_dynamic_config_manager_skips_bad_notifications_and_purges_old_ones() -> None:
    async def main() -> None:
        broker, manager = await make()
        zk = broker.zk_client
        await zk.zk.create("/config/changes/config_change_", b"[1,2]", sequence=True)
        await broker.admin_zk.create_topic_with_assignment("z", {}, {0: [0]})
        await broker.admin_zk.change_entity_config(ConfigType.TOPIC, "z", {"retention.ms": "5"})
        dcm = DynamicConfigManager(broker, manager.broker_config)
        await dcm.startup()
        assert dcm.applied == ["topics/z"] and broker.topic_configs["z"] == {"retention.ms": "5"}
        assert len(await zk.get_config_change_notifications()) == 2
        broker.clock.advance(15 * 60 * 1000 + 1)
        await dcm.process_notifications()
        assert await zk.get_config_change_notifications() == []
        dcm.close()
        broker.tasks.cancel_all()
        await broker.tasks.close()
    run(main)


def test_dynamic_broker_config_validation_messages() -> None:
    bc = DynamicBrokerConfig({"broker.id": 0, "zookeeper.connect": "z:1"}, 0)
    bc.validate({"log.retention.ms": "5", "leader.replication.throttled.rate": "10"}, per_broker=False)
    with pytest.raises(Exception, match=r"Cannot update these configs dynamically: Set\(log.dirs\)"):
        bc.validate({"log.dirs": "/x"}, per_broker=True)
    with pytest.raises(Exception, match="min.insync.replicas"):
        bc.validate({"min.insync.replicas": "0"}, per_broker=True)
    with pytest.raises(Exception, match="^Password encoder secret not configured$"):
        bc.validate({"listener.name.internal.ssl.key.password": "secret"}, per_broker=True)
    with_secret = DynamicBrokerConfig({"broker.id": 0, "zookeeper.connect": "z:1",
                                       "password.encoder.secret": "s3"}, 0)
    with pytest.raises(Exception, match=r"Set\(ssl.keystore.password\).*SSL and SASL"):
        with_secret.validate({"ssl.keystore.password": "x"}, per_broker=True)
    with_secret.validate({"log.retention.ms": "5"}, per_broker=True)


def test_dynamic_config_manager_rearms_after_session_expiry() -> None:
    """Watches die with the session: after a new session the manager re-reads the notifications
    (catching up on what it missed) and watches again."""
    async def main() -> None:
        broker, manager = await make()
        dcm = DynamicConfigManager(broker, manager.broker_config)
        await broker.admin_zk.create_topic_with_assignment("s", {}, {0: [0]})
        await dcm.startup()
        other = KafkaZkClient(broker.server.client("fake:2181/kafka"))
        await other.zk.start()
        broker.server.expire_session(broker.zk_client.zk.session_id)
        waiter = asyncio.ensure_future(dcm.wait_processed())
        await AdminZkClient(other).change_entity_config(ConfigType.TOPIC, "s", {"retention.ms": "11"})
        await waiter
        assert broker.topic_configs["s"] == {"retention.ms": "11"}
        waiter = asyncio.ensure_future(dcm.wait_processed())
        await asyncio.sleep(0)
        await AdminZkClient(other).change_entity_config(ConfigType.TOPIC, "s", {"retention.ms": "12"})
        await waiter
        assert broker.topic_configs["s"] == {"retention.ms": "12"}
        dcm.close()
        broker.tasks.cancel_all()
        await broker.tasks.close()
        await other.zk.stop()
    run(main)


def test_create_many_topics_in_one_request() -> None:
    """Assignments follow request order (the random draws of one generator); names of one request that
    collide ('.' vs '_') fail after the first, as if written one by one; all are written."""
    async def main() -> None:
        broker, manager = await make(brokers=(0, 1, 2))
        topics = [NewTopic(f"t{i}", 3, 2) for i in range(6)] + [NewTopic("a.b", 1, 1), NewTopic("a_b", 1, 1)]
        results = await manager.create_topics(topics, 0, False, False)
        codes = {r.name: r.error_code for r in results}
        assert codes["a_b"] == ErrorCode.INVALID_TOPIC_EXCEPTION
        assert all(code == ErrorCode.REQUEST_TIMED_OUT for name, code in codes.items() if name != "a_b")
        rng = random.Random(7)
        for i in range(6):
            expected = assign_replicas_to_brokers(3, 2, [0, 1, 2], rng=rng)
            got = await broker.zk_client.get_topic_assignment(f"t{i}")
            assert {p: list(a.replicas) for p, a in got.partitions.items()} == expected
        assert not await broker.zk_client.topic_exists("a_b")
    run(main)


def test_topic_unclean_election_enabled_dynamically_tells_the_controller() -> None:
    async def main() -> None:
        broker, manager = await make()
        elected: list[str] = []
        broker.controller = SimpleNamespace(is_active=True, enable_topic_unclean_leader_election=elected.append)
        await broker.admin_zk.create_topic_with_assignment("u", {}, {0: [0]})
        dcm = DynamicConfigManager(broker, manager.broker_config)
        await dcm.startup()
        for value in ("false", "true", "true"):
            waiter = asyncio.ensure_future(dcm.wait_processed())
            await asyncio.sleep(0)
            await broker.admin_zk.change_entity_config(ConfigType.TOPIC, "u",
                                                       {"unclean.leader.election.enable": value})
            await waiter
        assert elected == ["u"]          # only the change from false to true
        dcm.close()
        broker.tasks.cancel_all()
        await broker.tasks.close()
    run(main)


def test_shutdown_cancels_waiting_topic_operations() -> None:
    async def main() -> None:
        broker, manager = await make()
        task = asyncio.ensure_future(manager.create_topics([NewTopic("w", 1, 1)], 60_000, False, False))
        while not await broker.zk_client.topic_exists("w"):
            await asyncio.sleep(0)
        await settle()
        assert manager.topic_purgatory.delayed == 1
        manager.shutdown()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert broker.clock.pending == 0      # the timeout timer went with it
    run(main)
