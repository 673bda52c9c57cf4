"""Controller event processing against an in-memory ZooKeeper and a recording channel."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from kafkapy.common.clock import ManualClock
from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.controller.channel_manager import (
    LeaderAndIsrRequestData, StopReplicaRequestData, UpdateMetadataRequestData,
)
from kafkapy.controller.context import PartitionState, ReplicaAssignment
from kafkapy.controller.controller import KafkaController
from kafkapy.controller.events import ElectionType

from .fakes import FakeChannel, FakeZk, broker

pytestmark = pytest.mark.timeout(20)

T0 = TopicPartition("t", 0)
T1 = TopicPartition("t", 1)


def config(broker_id: int = 1, **overrides) -> SimpleNamespace:
    base = dict(broker_id=broker_id, unclean_leader_election_enable=False, auto_leader_rebalance_enable=False,
                delete_topic_enable=True, leader_imbalance_check_interval_seconds=300,
                leader_imbalance_per_broker_percentage=10)
    base.update(overrides)
    return SimpleNamespace(**base)


class Harness:
    def __init__(self, zk: FakeZk, broker_id: int = 1, **cfg):
        self.zk = zk
        self.channel = FakeChannel()
        self.clock = ManualClock()
        self.controller = KafkaController(config=config(broker_id, **cfg), zk=None, clock=self.clock, tasks=None,
                                          broker_epoch_provider=lambda: 100, controller_zk=zk,
                                          channel=self.channel, assign_topic_ids=False)

    async def idle(self) -> None:
        await self.controller.event_manager.wait_idle()

    def sent(self, kind: type) -> dict[int, list]:
        out: dict[int, list] = {}
        for s in self.channel.sent:
            if isinstance(s.request, kind):
                out.setdefault(s.broker_id, []).append(s.request)
        return out


def cluster(*ids: int) -> FakeZk:
    zk = FakeZk()
    for b in ids:
        zk.brokers[b] = broker(b)
    return zk


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 15))


def test_failover_creates_partition_states_and_informs_all_brokers():
    async def scenario():
        zk = cluster(1, 2, 3)
        zk.create_topic("t", {0: [1, 2, 3], 1: [2, 3, 1]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        assert h.controller.is_active and h.controller.epoch == 1
        assert zk.controller == 1
        assert zk.states[T0].leader == 1 and zk.states[T0].isr == (1, 2, 3)
        assert zk.states[T1].leader == 2 and zk.states[T1].isr == (2, 3, 1)
        assert zk.states[T0].leader_epoch == 0 and zk.states[T0].controller_epoch == 1
        um = h.sent(UpdateMetadataRequestData)
        assert set(um) == {1, 2, 3}
        # The very first UpdateMetadata carries the broker list and no partitions.
        assert um[1][0].partition_states == () and [b.broker_id for b in um[1][0].live_brokers] == [1, 2, 3]
        lai = h.sent(LeaderAndIsrRequestData)
        assert set(lai) == {1, 2, 3}
        for b, reqs in lai.items():
            parts = {ps.topic_partition for r in reqs for ps in r.partition_states}
            assert parts == {T0, T1}
            assert all(r.controller_epoch == 1 and r.controller_id == 1 and r.broker_epoch == 100 for r in reqs)
        await h.controller.shutdown()
    run(scenario())


def test_second_controller_defers_to_the_first():
    async def scenario():
        zk = cluster(1, 2)
        a, b = Harness(zk, 1), Harness(zk, 2)
        await a.controller.startup()
        await b.controller.startup()
        assert a.controller.is_active and not b.controller.is_active
        assert b.controller.active_controller_id == 1
        # The active controller dies: its znode goes, the other one is elected with the next epoch.
        await a.controller.shutdown()
        zk.kill_broker(1)
        await b.idle()
        assert b.controller.is_active and b.controller.epoch == 2
    run(scenario())


def test_broker_failure_moves_leaders_and_shrinks_isr():
    async def scenario():
        zk = cluster(1, 2, 3)
        zk.create_topic("t", {0: [1, 2, 3], 1: [2, 3, 1]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        h.channel.take()
        zk.kill_broker(2)
        await h.idle()
        s1 = zk.states[T1]
        assert s1.leader == 3 and s1.isr == (3, 1) and s1.leader_epoch == 1 and s1.controller_epoch == 1
        s0 = zk.states[T0]
        assert s0.leader == 1 and s0.isr == (1, 3) and s0.leader_epoch == 1
        lai = h.sent(LeaderAndIsrRequestData)
        assert 2 not in lai and set(lai) == {1, 3}
        last = {ps.topic_partition: ps for r in lai[3] for ps in r.partition_states}
        assert last[T1].leader == 3 and last[T1].isr == (3, 1) and last[T1].zk_version == zk.states[T1].zk_version
        um = h.sent(UpdateMetadataRequestData)
        assert 2 not in um and set(um) == {1, 3}
        assert all(2 not in [b.broker_id for b in r.live_brokers] for reqs in um.values() for r in reqs)
        assert h.controller.context.partition_states[T1] is PartitionState.ONLINE
        await h.controller.shutdown()
    run(scenario())


def test_last_isr_member_dies_unclean_disabled_goes_offline_and_recovers():
    async def scenario():
        zk = cluster(1, 2)
        zk.create_topic("u", {0: [2]})
        u0 = TopicPartition("u", 0)
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        assert zk.states[u0].leader == 2 and zk.states[u0].leader_epoch == 0
        zk.kill_broker(2)
        await h.idle()
        assert zk.states[u0].leader == -1 and zk.states[u0].isr == (2,) and zk.states[u0].leader_epoch == 1
        assert h.controller.context.partition_states[u0] is PartitionState.OFFLINE
        zk.register_broker(broker(2, epoch=200))
        await h.idle()
        assert zk.states[u0].leader == 2 and zk.states[u0].isr == (2,) and zk.states[u0].leader_epoch == 2
        assert h.controller.context.partition_states[u0] is PartitionState.ONLINE
        await h.controller.shutdown()
    run(scenario())


@pytest.mark.parametrize("broker_default,topic_override,expect_leader", [
    (False, None, -1), (True, None, 3), (False, "true", 3), (True, "false", -1),
])
def test_unclean_election_follows_topic_override(broker_default, topic_override, expect_leader):
    async def scenario():
        zk = cluster(1, 2, 3)
        zk.create_topic("u", {0: [2, 3]})
        u0 = TopicPartition("u", 0)
        if topic_override is not None:
            zk.topic_configs["u"] = {"unclean.leader.election.enable": topic_override}
        h = Harness(zk, unclean_leader_election_enable=broker_default)
        await h.controller.startup()
        await h.idle()
        zk.leader_writes_isr(u0, [2])           # 3 fell out of the ISR
        await h.idle()
        assert h.controller.context.partition_leadership_info[u0].isr == (2,)
        zk.kill_broker(2)
        await h.idle()
        assert zk.states[u0].leader == expect_leader
        if expect_leader == 3:
            assert zk.states[u0].isr == (3,)
        await h.controller.shutdown()
    run(scenario())


def test_new_topic_and_partitions_get_leader_first_live_replica():
    async def scenario():
        zk = cluster(1, 2, 3)
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        zk.create_topic("n", {0: [4, 2, 3], 1: [3, 1, 2]})     # broker 4 is not registered
        await h.idle()
        n0, n1, n2 = (TopicPartition("n", p) for p in range(3))
        assert zk.states[n0].leader == 2 and zk.states[n0].isr == (2, 3)
        assert zk.states[n1].leader == 3 and zk.states[n1].isr == (3, 1, 2)
        lai = h.sent(LeaderAndIsrRequestData)
        assert all(ps.is_new for reqs in lai.values() for r in reqs for ps in r.partition_states)
        zk.add_partitions("n", {2: [1, 2]})
        await h.idle()
        assert zk.states[n2].leader == 1 and zk.states[n2].isr == (1, 2)
        await h.controller.shutdown()
    run(scenario())


def test_new_partition_without_live_replica_stays_new():
    async def scenario():
        zk = cluster(1)
        h = Harness(zk)
        await h.controller.startup()
        zk.create_topic("x", {0: [5]})
        await h.idle()
        x0 = TopicPartition("x", 0)
        assert x0 not in zk.states
        assert h.controller.context.partition_states[x0] is PartitionState.NEW
        zk.register_broker(broker(5))
        await h.idle()
        assert zk.states[x0].leader == 5
        await h.controller.shutdown()
    run(scenario())


def test_topic_deletion_stops_replicas_and_removes_znodes():
    async def scenario():
        zk = cluster(1, 2)
        zk.create_topic("t", {0: [1, 2]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        h.channel.take()
        zk.mark_for_deletion("t")
        await h.idle()
        stops = h.sent(StopReplicaRequestData)
        assert set(stops) == {1, 2}
        deletes = [ps for reqs in stops.values() for r in reqs for ps in r.partition_states if ps.delete_partition]
        assert {(ps.topic, ps.partition) for ps in deletes} == {("t", 0)} and len(deletes) == 2
        um = h.sent(UpdateMetadataRequestData)
        assert any(ps.leader == -2 for reqs in um.values() for r in reqs for ps in r.partition_states)
        assert "t" in zk.topics                      # waits for the StopReplica answers
        h.channel.answer_all()
        await h.idle()
        assert "t" not in zk.topics and "t" not in zk.delete_topics and T0 not in zk.states
        assert "t" not in h.controller.context.all_topics
        await h.controller.shutdown()
    run(scenario())


def test_topic_deletion_disabled_only_removes_marker():
    async def scenario():
        zk = cluster(1)
        zk.create_topic("t", {0: [1]})
        h = Harness(zk, delete_topic_enable=False)
        await h.controller.startup()
        zk.mark_for_deletion("t")
        await h.idle()
        assert "t" in zk.topics and not zk.delete_topics
        await h.controller.shutdown()
    run(scenario())


def test_deposed_controller_write_fails_and_it_resigns():
    async def scenario():
        zk = cluster(1, 2)
        zk.create_topic("t", {0: [1, 2]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        # Another controller bumps the epoch, but our /controller watch has not fired yet.
        zk.epoch_zk_version += 1
        zk.controller_epoch += 1
        zk.controller = 3
        zk.watches.pop("/controller", None)
        before = dict(zk.states)
        zk.kill_broker(2)              # needs an ISR write, which is epoch-checked
        await h.idle()
        assert zk.states == before
        assert not h.controller.is_active and h.controller.active_controller_id == 3
        assert h.controller.context.live_brokers == {}
        await h.controller.shutdown()
    run(scenario())


def test_controller_change_watch_resigns():
    async def scenario():
        zk = cluster(1, 2)
        h = Harness(zk)
        await h.controller.startup()
        zk.steal_controller(2)
        await h.idle()
        assert not h.controller.is_active
        await h.controller.shutdown()
    run(scenario())


def test_controlled_shutdown_moves_leadership_away():
    async def scenario():
        zk = cluster(1, 2, 3)
        zk.create_topic("t", {0: [1, 2, 3], 1: [2, 3, 1]})
        zk.create_topic("single", {0: [2]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        h.channel.take()
        with pytest.raises(ApiError) as err:
            await h.controller.controlled_shutdown(2, 50)
        assert err.value.code == ErrorCode.STALE_BROKER_EPOCH
        remaining = await h.controller.controlled_shutdown(2, 100)
        assert remaining == set()
        assert zk.states[T1].leader == 3 and 2 not in zk.states[T1].isr
        assert zk.states[T0].leader == 1 and 2 not in zk.states[T0].isr
        assert zk.states[TopicPartition("single", 0)].leader == 2        # RF 1 is left alone
        stops = h.sent(StopReplicaRequestData)
        assert {ps.topic_partition for r in stops[2] for ps in r.partition_states} == {T0}
        with pytest.raises(ApiError) as err:
            await h.controller.controlled_shutdown(9, -1)
        assert err.value.code == ErrorCode.BROKER_NOT_AVAILABLE
        await h.controller.shutdown()
    run(scenario())


def test_preferred_leader_election_api_and_zk_trigger():
    async def scenario():
        zk = cluster(1, 2, 3)
        zk.create_topic("t", {0: [1, 2, 3], 1: [2, 3, 1]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        zk.kill_broker(2)
        await h.idle()
        zk.register_broker(broker(2, epoch=300))
        await h.idle()
        zk.leader_writes_isr(T1, [3, 1, 2])
        await h.idle()
        assert zk.states[T1].leader == 3
        result = await h.controller.elect_leaders([T0, T1, TopicPartition("nope", 0)], ElectionType.PREFERRED)
        assert result[T1] is None and zk.states[T1].leader == 2
        assert result[T0].code == ErrorCode.ELECTION_NOT_NEEDED
        assert result[TopicPartition("nope", 0)].code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        # ZooKeeper-triggered run deletes the admin znode afterwards.
        zk.preferred = {T0}
        zk.fire("/admin/preferred_replica_election")
        await h.idle()
        assert zk.preferred is None
        await h.controller.shutdown()
    run(scenario())


def test_auto_leader_rebalance_runs_on_the_clock():
    async def scenario():
        zk = cluster(1, 2)
        zk.create_topic("t", {0: [2, 1]})
        h = Harness(zk, auto_leader_rebalance_enable=True)
        await h.controller.startup()
        await h.idle()
        zk.kill_broker(2)
        await h.idle()
        zk.register_broker(broker(2, epoch=400))
        await h.idle()
        zk.leader_writes_isr(T0, [1, 2])
        await h.idle()
        assert zk.states[T0].leader == 1
        h.clock.advance(5000)
        await h.idle()
        assert zk.states[T0].leader == 2
        await h.controller.shutdown()
    run(scenario())


def test_api_reassignment_completes_when_targets_join_isr():
    async def scenario():
        zk = cluster(1, 2, 3, 4)
        zk.create_topic("t", {0: [1, 2, 3]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        h.channel.take()
        result = await h.controller.alter_partition_reassignments({T0: [2, 3, 4]})
        assert result == {T0: None}
        assert zk.topics["t"].partitions[0].replicas == (2, 3, 4, 1)
        assert zk.topics["t"].partitions[0].adding_replicas == (4,)
        listed = await h.controller.list_partition_reassignments()
        assert listed[T0].adding_replicas == (4,) and listed[T0].removing_replicas == (1,)
        lai = h.sent(LeaderAndIsrRequestData)
        assert any(ps.is_new for r in lai[4] for ps in r.partition_states)
        zk.leader_writes_isr(T0, [1, 2, 3, 4])
        await h.idle()
        assert zk.topics["t"].partitions[0].replicas == (2, 3, 4)
        assert not zk.topics["t"].partitions[0].is_being_reassigned
        assert zk.states[T0].leader == 2
        assert await h.controller.list_partition_reassignments() == {}
        stops = h.sent(StopReplicaRequestData)
        assert any(ps.delete_partition for r in stops[1] for ps in r.partition_states)
        bad = await h.controller.alter_partition_reassignments({T0: [2, 9]})
        assert bad[T0].code == ErrorCode.INVALID_REPLICA_ASSIGNMENT
        cancel = await h.controller.alter_partition_reassignments({T0: None})
        assert cancel[T0].code == ErrorCode.NO_REASSIGNMENT_IN_PROGRESS
        await h.controller.shutdown()
    run(scenario())


def test_not_controller_answers():
    async def scenario():
        zk = cluster(1, 2)
        zk.controller = 2
        h = Harness(zk)
        await h.controller.startup()
        assert not h.controller.is_active
        with pytest.raises(ApiError) as err:
            await h.controller.controlled_shutdown(1, 100)
        assert err.value.code == ErrorCode.NOT_CONTROLLER
        await h.controller.shutdown()
    run(scenario())


def test_alter_isr_writes_conditionally_and_broadcasts():
    async def scenario():
        from kafkapy.common.types import LeaderAndIsr
        zk = cluster(1, 2, 3)
        zk.create_topic("t", {0: [1, 2, 3]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        h.channel.take()
        cur = zk.states[T0]
        shrink = LeaderAndIsr(1, cur.leader_epoch, (1, 2), 0, cur.zk_version)
        with pytest.raises(ApiError) as err:
            await h.controller.alter_isr(1, 99, {T0: shrink})
        assert err.value.code == ErrorCode.STALE_BROKER_EPOCH
        got = await h.controller.alter_isr(1, 100, {T0: shrink, TopicPartition("zz", 0): shrink})
        assert got[T0].isr == (1, 2) and got[T0].zk_version == cur.zk_version + 1
        assert got[TopicPartition("zz", 0)].code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        assert zk.states[T0].isr == (1, 2) and zk.states[T0].leader_epoch == cur.leader_epoch
        um = h.sent(UpdateMetadataRequestData)
        assert set(um) == {1, 2, 3} and um[2][0].partition_states[0].isr == (1, 2)
        # Same request again: already in that state, no write.
        again = await h.controller.alter_isr(1, 100, {T0: LeaderAndIsr(1, cur.leader_epoch, (1, 2), 0, 99)})
        assert again[T0] == zk.states[T0]
        stale = await h.controller.alter_isr(1, 100, {T0: LeaderAndIsr(1, cur.leader_epoch, (1,), 0, cur.zk_version)})
        assert stale[T0].code == ErrorCode.INVALID_UPDATE_VERSION
        fenced = await h.controller.alter_isr(1, 100, {T0: LeaderAndIsr(1, cur.leader_epoch - 1, (1,), 0, 0)})
        assert fenced[T0].code == ErrorCode.FENCED_LEADER_EPOCH
        await h.controller.shutdown()
    run(scenario())


def test_log_dir_failure_takes_replicas_in_the_failed_dir_offline():
    async def scenario():
        from kafkapy.controller.channel_manager import ResponseSummary
        zk = cluster(1, 2, 3)
        zk.create_topic("t", {0: [2, 1, 3], 1: [1, 2, 3]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        h.channel.take()
        zk.log_dir_failed(2)
        await h.idle()
        assert not zk.log_dir_events
        sent = h.channel.take()
        lai_to_2 = [s for s in sent if s.broker_id == 2 and isinstance(s.request, LeaderAndIsrRequestData)]
        assert len(lai_to_2) == 1
        assert {ps.topic_partition for ps in lai_to_2[0].request.partition_states} == {T0, T1}
        # Broker 2 answers: t-0 lives in the failed directory.
        lai_to_2[0].callback(ResponseSummary(0, {T0: ErrorCode.KAFKA_STORAGE_ERROR, T1: 0}))
        await h.idle()
        assert zk.states[T0].leader == 1 and zk.states[T0].isr == (1, 3)
        assert 2 in zk.states[T1].isr
        await h.controller.shutdown()
    run(scenario())


def test_zk_triggered_reassignment_completes_and_clears_the_admin_znode():
    async def scenario():
        zk = cluster(1, 2, 3)
        zk.create_topic("t", {0: [1, 2], 1: [2, 1]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        zk.reassign = {T0: (2, 3), TopicPartition("missing", 0): (1,)}
        zk.fire("/admin/reassign_partitions")
        await h.idle()
        assert zk.topics["t"].partitions[0] == ReplicaAssignment((2, 3, 1), (3,), (1,))
        assert zk.reassign == {T0: (2, 3)}          # the invalid entry is dropped from the znode
        epoch_before = zk.states[T0].leader_epoch
        h.channel.take()
        zk.fire("/admin/reassign_partitions")       # our own rewrite fired the exists watch
        await h.idle()
        assert zk.states[T0].leader_epoch == epoch_before and not h.sent(LeaderAndIsrRequestData)
        zk.leader_writes_isr(T0, [1, 2, 3])
        await h.idle()
        assert zk.topics["t"].partitions[0].replicas == (2, 3) and zk.states[T0].leader == 2
        assert zk.reassign is None                  # nothing left: the znode is deleted
        await h.controller.shutdown()
    run(scenario())


def test_topic_deletion_waits_for_dead_replica_and_resumes_when_it_returns():
    async def scenario():
        zk = cluster(1, 2)
        zk.create_topic("t", {0: [1, 2]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        zk.kill_broker(2)
        await h.idle()
        h.channel.take()
        zk.mark_for_deletion("t")
        await h.idle()
        stops = h.sent(StopReplicaRequestData)
        assert set(stops) == {1}
        h.channel.answer_all()
        await h.idle()
        assert "t" in zk.topics and "t" in h.controller.context.topics_ineligible_for_deletion
        zk.register_broker(broker(2, epoch=500))
        await h.idle()
        stops = h.sent(StopReplicaRequestData)
        assert any(ps.delete_partition for r in stops.get(2, []) for ps in r.partition_states)
        h.channel.answer_all()
        await h.idle()
        assert "t" not in zk.topics and not zk.delete_topics
        await h.controller.shutdown()
    run(scenario())


def test_enabling_unclean_election_on_a_topic_elects_out_of_sync_replica():
    async def scenario():
        zk = cluster(1, 2, 3)
        zk.create_topic("u", {0: [2, 3]})
        u0 = TopicPartition("u", 0)
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        zk.leader_writes_isr(u0, [2])
        await h.idle()
        zk.kill_broker(2)
        await h.idle()
        assert zk.states[u0].leader == -1
        assert h.controller.offline_partitions_count == 1 and h.controller.global_partition_count == 1
        zk.topic_configs["u"] = {"unclean.leader.election.enable": "true"}
        h.controller.enable_topic_unclean_leader_election("u")
        await h.idle()
        assert zk.states[u0].leader == 3 and zk.states[u0].isr == (3,)
        assert h.controller.offline_partitions_count == 0
        assert h.controller.preferred_replica_imbalance_count == 1
        await h.controller.shutdown()
    run(scenario())


def test_reassignment_completes_from_the_state_znode_watch():
    async def scenario():
        zk = cluster(1, 2, 3)
        zk.create_topic("t", {0: [1, 2]})
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        assert await h.controller.alter_partition_reassignments({T0: [1, 2, 3]}) == {T0: None}
        zk.leader_writes_isr_quietly(T0, [1, 2])          # unrelated change: still waiting for 3
        await h.idle()
        assert zk.topics["t"].partitions[0].is_being_reassigned
        zk.leader_writes_isr_quietly(T0, [1, 2, 3])
        await h.idle()
        assert zk.topics["t"].partitions[0] == ReplicaAssignment((1, 2, 3))
        assert zk.states[T0].leader == 1
        await h.controller.shutdown()
    run(scenario())
