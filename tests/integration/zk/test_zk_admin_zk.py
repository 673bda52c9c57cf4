"""AdminZkClient against a real ZooKeeper and the InMemoryZooKeeper double."""
from __future__ import annotations

import json
import random

import pytest

from kafkapy.zk import errors
from kafkapy.zk.admin_zk import AdminZkClient, RackAwareMode
from kafkapy.zk.znodes import BrokerInfo, EndPoint

pytestmark = [pytest.mark.timeout(90)]


async def setup(backend, broker_ids=(0, 1, 2, 3, 4), racks=None):
    zkc = await backend.connect()
    await zkc.create_top_level_paths()
    for b in broker_ids:
        rack = racks.get(b) if racks else None
        await zkc.register_broker(BrokerInfo(b, (EndPoint("127.0.0.1", 9092 + b),), rack=rack, timestamp_ms=1))
    return zkc, AdminZkClient(zkc, rng=random.Random(1))


def test_create_topic_writes_config_then_assignment(backend, arun) -> None:
    async def main() -> None:
        zkc, admin = await setup(backend)
        try:
            assignment = await admin.create_topic("orders", 10, 3, {"retention.ms": "1000"})
            assert sorted(assignment) == list(range(10))
            stored = await zkc.get_topic_assignment("orders")
            assert stored.replica_lists() == {p: tuple(r) for p, r in assignment.items()}
            raw, _ = await zkc.get_data_and_version("/config/topics/orders")
            assert json.loads(raw) == {"version": 1, "config": {"retention.ms": "1000"}}
            assert await zkc.get_config_change_notifications() == []     # none at creation
            with pytest.raises(errors.TopicExistsError, match="Topic 'orders' already exists."):
                await admin.create_topic("orders", 1, 1)
            await admin.create_topic_with_assignment("a.b", {}, {0: [1, 2], 1: [2, 3]})
            with pytest.raises(errors.InvalidTopicError, match="collides with existing topics: a.b"):
                await admin.create_topic("a_b", 1, 1)
            with pytest.raises(errors.InvalidTopicError):
                await admin.create_topic("bad name", 1, 1)
            with pytest.raises(errors.InvalidReplicationFactorError):
                await admin.create_topic("big", 1, 6)
            assert await zkc.get_all_topics() == ["a.b", "orders"]
            from kafkapy.common.types import TopicPartition
            assert await admin.get_replica_assignment_for_topics(["a.b", "missing"]) == {
                TopicPartition("a.b", 0): (1, 2), TopicPartition("a.b", 1): (2, 3)}
        finally:
            await zkc.close()
    arun(main)


def test_add_partitions_keeps_existing(backend, arun) -> None:
    async def main() -> None:
        zkc, admin = await setup(backend)
        try:
            await admin.create_topic_with_assignment("t", {}, {p: r for p, r in enumerate(
                [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1], [0, 2, 3]])},
                validate=True, topic_id="m5p3eGd0QWy2zSgHkNlTbA")
            added = await admin.add_partitions("t", 9)
            assert added == {6: [1, 2, 3], 7: [2, 3, 4], 8: [3, 4, 0]}
            stored = await zkc.get_topic_assignment("t")
            assert len(stored.partitions) == 9 and stored.replicas(0) == (0, 1, 2)
            assert stored.topic_id == "m5p3eGd0QWy2zSgHkNlTbA"
            with pytest.raises(errors.InvalidPartitionsError):
                await admin.add_partitions("t", 9)
            with pytest.raises(errors.UnknownTopicOrPartitionError):
                await admin.add_partitions("nope", 3)
            preview = await admin.add_partitions("t", 10, validate_only=True)
            assert list(preview) == [9] and len((await zkc.get_topic_assignment("t")).partitions) == 9
        finally:
            await zkc.close()
    arun(main)


def test_rack_mode_from_live_brokers(backend, arun) -> None:
    async def main() -> None:
        zkc, admin = await setup(backend, (0, 1, 2), racks={0: "a", 1: "b"})
        try:
            with pytest.raises(errors.AdminOperationError, match="--disable-rack-aware"):
                await admin.create_topic("t", 1, 1)
            await admin.create_topic("t", 3, 2, rack_aware_mode=RackAwareMode.DISABLED)
        finally:
            await zkc.close()
    arun(main)


def test_change_config_and_delete(backend, arun) -> None:
    async def main() -> None:
        zkc, admin = await setup(backend, (0,))
        try:
            await admin.create_topic("t", 1, 1)
            await admin.change_topic_config("t", {"cleanup.policy": "compact"})
            assert await admin.fetch_entity_config("topics", "t") == {"cleanup.policy": "compact"}
            notes = await zkc.get_config_change_notifications()
            assert len(notes) == 1
            raw, _ = await zkc.get_data_and_version("/config/changes/" + notes[0])
            assert json.loads(raw) == {"version": 2, "entity_path": "topics/t"}
            with pytest.raises(errors.UnknownTopicOrPartitionError):
                await admin.change_topic_config("missing", {})

            def reject(config):
                raise ValueError("Unknown topic config name: bogus")
            with pytest.raises(errors.InvalidConfigError, match="bogus"):
                await admin.change_topic_config("t", {"bogus": "1"}, config_validator=reject)
            assert await admin.fetch_all_topic_configs() == {"t": {"cleanup.policy": "compact"}}

            await admin.delete_topic("t")
            assert await zkc.is_topic_marked_for_deletion("t")
            with pytest.raises(errors.TopicAlreadyMarkedForDeletionError):
                await admin.delete_topic("t")
            with pytest.raises(errors.UnknownTopicOrPartitionError, match="to delete does not exist"):
                await admin.delete_topic("missing")
        finally:
            await zkc.close()
    arun(main)
