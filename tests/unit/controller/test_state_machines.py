"""State machine tables (reference §5.6) and the state machines' ZooKeeper effects on a fake."""
from __future__ import annotations

import asyncio

import pytest

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.channel_manager import ControllerBrokerRequestBatch, StopReplicaRequestData
from kafkapy.controller.context import (
    VALID_PREVIOUS_PARTITION_STATES, VALID_PREVIOUS_REPLICA_STATES, ControllerContext, PartitionReplica,
    PartitionState, ReplicaAssignment, ReplicaState,
)
from kafkapy.controller.partition_state_machine import PartitionStateMachine, topic_unclean_enabled
from kafkapy.controller.replica_state_machine import ReplicaStateMachine, remove_replica_from_isr_state

from .fakes import FakeChannel, FakeZk, broker

P = PartitionState
R = ReplicaState
TP = TopicPartition("t", 0)

# (target, allowed previous states) exactly as §5.6 lists them.
PARTITION_TABLE = {
    P.NEW: {P.NON_EXISTENT},
    P.ONLINE: {P.NEW, P.ONLINE, P.OFFLINE},
    P.OFFLINE: {P.NEW, P.ONLINE, P.OFFLINE},
    P.NON_EXISTENT: {P.OFFLINE},
}
REPLICA_TABLE = {
    R.NEW: {R.NON_EXISTENT},
    R.ONLINE: {R.NEW, R.ONLINE, R.OFFLINE, R.DELETION_INELIGIBLE},
    R.OFFLINE: {R.NEW, R.ONLINE, R.OFFLINE, R.DELETION_INELIGIBLE},
    R.DELETION_STARTED: {R.OFFLINE},
    R.DELETION_SUCCESSFUL: {R.DELETION_STARTED},
    R.DELETION_INELIGIBLE: {R.OFFLINE, R.DELETION_STARTED},
    R.NON_EXISTENT: {R.DELETION_SUCCESSFUL},
}


def test_valid_previous_states_match_the_reference():
    assert VALID_PREVIOUS_PARTITION_STATES == PARTITION_TABLE
    assert VALID_PREVIOUS_REPLICA_STATES == REPLICA_TABLE
    assert [s.kafka_name for s in P] == ["NewPartition", "OnlinePartition", "OfflinePartition",
                                         "NonExistentPartition"]


@pytest.mark.parametrize("leader,isr,replica,new_leader,new_isr", [
    (1, (1, 2, 3), 2, 1, (1, 3)),
    (1, (1, 2, 3), 1, -1, (2, 3)),
    (1, (1,), 1, -1, (1,)),          # the last ISR member is kept
    (-1, (2,), 2, -1, (2,)),
    (1, (1, 3), 2, 1, (1, 3)),       # not in the ISR: only the epoch moves
])
def test_remove_replica_from_isr(leader, isr, replica, new_leader, new_isr):
    out = remove_replica_from_isr_state(LeaderAndIsr(leader, 7, isr, 2, 11), replica)
    assert (out.leader, out.isr, out.leader_epoch, out.zk_version) == (new_leader, new_isr, 8, 11)


@pytest.mark.parametrize("config,default,expected", [
    ({}, False, False), ({}, True, True), ({"unclean.leader.election.enable": "true"}, False, True),
    ({"unclean.leader.election.enable": "false"}, True, False), ({"unclean.leader.election.enable": "TRUE"}, False, True),
])
def test_topic_unclean_override(config, default, expected):
    assert topic_unclean_enabled(config, default) is expected


def machines(zk: FakeZk, *live: int):
    ctx = ControllerContext(epoch=1, epoch_zk_version=zk.epoch_zk_version)
    ctx.add_live_brokers(broker(b) for b in live)
    channel = FakeChannel()
    for b in live:
        channel.add_broker(broker(b))
    batch = ControllerBrokerRequestBatch(1, ctx, channel)
    return ctx, channel, ReplicaStateMachine(1, ctx, zk, batch), PartitionStateMachine(1, ctx, zk, batch, lambda: False)


@pytest.mark.parametrize("current", list(R))
def test_replica_transition_to_deletion_started_only_from_offline(current):
    async def scenario():
        zk = FakeZk()
        ctx, channel, rsm, _ = machines(zk, 1, 2)
        ctx.update_partition_full_replica_assignment(TP, ReplicaAssignment((1, 2)))
        pr = PartitionReplica(TP, 2)
        if current is not R.NON_EXISTENT:
            ctx.replica_states[pr] = current
        await rsm.handle_state_changes([pr], R.DELETION_STARTED)
        moved = current is R.OFFLINE
        assert (ctx.replica_states.get(pr) is R.DELETION_STARTED) == (current in (R.OFFLINE, R.DELETION_STARTED))
        stops = [s for s in channel.sent if isinstance(s.request, StopReplicaRequestData)]
        assert bool(stops) == moved and all(ps.delete_partition for s in stops for ps in s.request.partition_states)
    asyncio.run(scenario())


@pytest.mark.parametrize("current", list(P))
def test_partition_transition_to_non_existent_only_from_offline(current):
    async def scenario():
        zk = FakeZk()
        ctx, _, _, psm = machines(zk, 1)
        ctx.update_partition_full_replica_assignment(TP, ReplicaAssignment((1,)))
        if current is not P.NON_EXISTENT:
            ctx.partition_states[TP] = current
        results = await psm.handle_state_changes([TP], P.NON_EXISTENT)
        assert (ctx.partition_states[TP] is P.NON_EXISTENT) == (current in (P.OFFLINE, P.NON_EXISTENT))
        assert (TP in results) == (current not in (P.OFFLINE,))
    asyncio.run(scenario())


def test_offline_election_retries_lost_version_race():
    async def scenario():
        zk = FakeZk()
        ctx, _, _, psm = machines(zk, 2, 3)
        ctx.update_partition_full_replica_assignment(TP, ReplicaAssignment((1, 2, 3)))
        zk.states[TP] = LeaderAndIsr(1, 3, (1, 2, 3), 1, 5)
        ctx.partition_states[TP] = P.OFFLINE
        real_update = zk.update_leader_and_isr
        calls = []

        async def racing_update(states, version):
            calls.append(dict(states))
            if len(calls) == 1:      # a leader shrinks the ISR concurrently: our version is stale now
                zk.states[TP] = LeaderAndIsr(1, 3, (1, 3), 1, 6)
            return await real_update(states, version)
        zk.update_leader_and_isr = racing_update
        results = await psm.handle_state_changes([TP], P.ONLINE)
        assert len(calls) == 2
        assert results[TP].leader == 3 and results[TP].isr == (3,) and results[TP].zk_version == 7
        assert ctx.partition_states[TP] is P.ONLINE
    asyncio.run(scenario())


def test_election_aborts_when_a_newer_controller_wrote_the_state():
    async def scenario():
        zk = FakeZk()
        ctx, _, _, psm = machines(zk, 2)
        ctx.update_partition_full_replica_assignment(TP, ReplicaAssignment((1, 2)))
        zk.states[TP] = LeaderAndIsr(1, 3, (1, 2), 5, 5)       # controller epoch 5 > ours (1)
        ctx.partition_states[TP] = P.OFFLINE
        results = await psm.handle_state_changes([TP], P.ONLINE)
        assert isinstance(results[TP], Exception) and "another controller" in str(results[TP])
        assert zk.states[TP].leader == 1
    asyncio.run(scenario())
