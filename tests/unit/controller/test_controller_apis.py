"""The controller's request handlers (ControlledShutdown, ElectLeaders, Alter/ListPartitionReassignments)."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.messages.alter_partition_reassignments import API as ALTER
from kafkapy.protocol.messages.controlled_shutdown import API as SHUTDOWN
from kafkapy.protocol.messages.elect_leaders import API as ELECT
from kafkapy.protocol.messages.list_partition_reassignments import API as LIST
from kafkapy.server.apis.alter_partition_reassignments import handle_alter_partition_reassignments
from kafkapy.server.apis.controlled_shutdown import handle_controlled_shutdown
from kafkapy.server.apis.elect_leaders import handle_elect_leaders
from kafkapy.server.apis.list_partition_reassignments import handle_list_partition_reassignments

from .test_controller import Harness, cluster

pytestmark = pytest.mark.timeout(20)


def ctx(version: int) -> SimpleNamespace:
    return SimpleNamespace(api_version=version, correlation_id=1, client_id="t")


async def started(*brokers: int, controller_id: int = 1, **topics) -> Harness:
    zk = cluster(*brokers)
    for name, assignment in topics.items():
        zk.create_topic(name, assignment)
    h = Harness(zk, controller_id)
    await h.controller.startup()
    await h.idle()
    return h


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 15))


def test_handlers_answer_not_controller_when_inactive():
    async def scenario():
        zk = cluster(1, 2)
        zk.controller = 2
        h = Harness(zk, 1)
        await h.controller.startup()
        c = h.controller
        r = await handle_controlled_shutdown(ctx(3), SHUTDOWN.request(broker_id=1, broker_epoch=100), c)
        assert r.error_code == ErrorCode.NOT_CONTROLLER and r.remaining_partitions == []
        tps = ELECT.request.struct("topic_partitions")
        r = await handle_elect_leaders(ctx(2), ELECT.request(election_type=0, topic_partitions=[
            tps(topic="t", partition_id=[0])]), c)
        assert r.error_code == ErrorCode.NOT_CONTROLLER
        assert r.replica_election_results[0].partition_result[0].error_code == ErrorCode.NOT_CONTROLLER
        r = await handle_alter_partition_reassignments(ctx(0), ALTER.request(topics=[]), c)
        assert r.error_code == ErrorCode.NOT_CONTROLLER
        r = await handle_list_partition_reassignments(ctx(0), LIST.request(topics=None), c)
        assert r.error_code == ErrorCode.NOT_CONTROLLER
        await c.shutdown()
    run(scenario())


def test_controlled_shutdown_handler_reports_remaining_partitions():
    async def scenario():
        h = await started(1, 2, t={0: [2, 1]}, single={0: [2]})
        # v1 carries no broker epoch: -1 is accepted.
        r = await handle_controlled_shutdown(ctx(1), SHUTDOWN.request(broker_id=2), h.controller)
        assert r.error_code == ErrorCode.NONE and r.remaining_partitions == []
        assert h.zk.states[TopicPartition("t", 0)].leader == 1
        r = await handle_controlled_shutdown(ctx(3), SHUTDOWN.request(broker_id=2, broker_epoch=1), h.controller)
        assert r.error_code == ErrorCode.STALE_BROKER_EPOCH
        await h.controller.shutdown()
    run(scenario())


def test_elect_leaders_handler():
    async def scenario():
        h = await started(1, 2, t={0: [2, 1], 1: [1, 2]})
        tps = ELECT.request.struct("topic_partitions")
        r = await handle_elect_leaders(ctx(1), ELECT.request(election_type=0, topic_partitions=[
            tps(topic="t", partition_id=[0, 1, 7])]), h.controller)
        got = {p.partition_id: p.error_code for p in r.replica_election_results[0].partition_result}
        assert got == {0: ErrorCode.ELECTION_NOT_NEEDED, 1: ErrorCode.ELECTION_NOT_NEEDED,
                       7: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        await h.controller.shutdown()
    run(scenario())


def test_reassignment_handlers():
    async def scenario():
        h = await started(1, 2, 3, t={0: [1, 2]})
        topic = ALTER.request.struct("topics")
        part = ALTER.request.struct("topics", "partitions")
        r = await handle_alter_partition_reassignments(ctx(0), ALTER.request(topics=[
            topic(name="t", partitions=[part(partition_index=0, replicas=[2, 3]),
                                        part(partition_index=5, replicas=[1])])]), h.controller)
        codes = {p.partition_index: p.error_code for p in r.responses[0].partitions}
        assert codes == {0: ErrorCode.NONE, 5: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION}
        r = await handle_list_partition_reassignments(ctx(0), LIST.request(topics=None), h.controller)
        (ongoing,) = r.topics[0].partitions
        assert (ongoing.partition_index, ongoing.replicas, ongoing.adding_replicas, ongoing.removing_replicas) == \
            (0, [2, 3, 1], [3], [1])
        # Cancel: back to the original replica set. As in Kafka, the origin is "full set minus adding",
        # so it keeps the order of the reassignment's full set.
        r = await handle_alter_partition_reassignments(ctx(0), ALTER.request(topics=[
            topic(name="t", partitions=[part(partition_index=0, replicas=None)])]), h.controller)
        assert r.responses[0].partitions[0].error_code == ErrorCode.NONE
        assert h.zk.topics["t"].partitions[0].replicas == (2, 1)
        assert not h.zk.topics["t"].partitions[0].is_being_reassigned
        r = await handle_list_partition_reassignments(ctx(0), LIST.request(topics=None), h.controller)
        assert r.topics == []
        await h.controller.shutdown()
    run(scenario())
