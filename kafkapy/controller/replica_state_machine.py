"""Replica state machine (Kafka's ``ZkReplicaStateMachine``), §5.6 of the ZooKeeper reference.

States: NewReplica, OnlineReplica, OfflineReplica, ReplicaDeletionStarted,
ReplicaDeletionSuccessful, ReplicaDeletionIneligible, NonExistentReplica. A
transition queues LeaderAndIsr / StopReplica / UpdateMetadata work in the
controller's request batch; taking a replica offline also removes it from the ISR
of its partitions in ZooKeeper (the last ISR member is kept, the leader becomes -1).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

from kafkapy.common.types import NO_LEADER, LeaderAndIsr, TopicPartition
from kafkapy.controller.channel_manager import ControllerBrokerRequestBatch
from kafkapy.controller.context import (
    VALID_PREVIOUS_REPLICA_STATES, ControllerContext, PartitionReplica, ReplicaState,
)
from kafkapy.controller.election import new_leader_and_isr
from kafkapy.controller.zk_verbs import ControllerZk, read_partition_states

__all__ = ["ReplicaStateMachine", "remove_replica_from_isr_state"]

state_change_log = logging.getLogger("state.change.logger")


def remove_replica_from_isr_state(current: LeaderAndIsr, replica: int) -> LeaderAndIsr:
    """The state after `replica` leaves: no leader if it led; the ISR loses it unless it is the last member."""
    leader = NO_LEADER if current.leader == replica else current.leader
    if len(current.isr) == 1:
        isr = current.isr
    else:
        isr = tuple(r for r in current.isr if r != replica)
    return new_leader_and_isr(current, leader, isr)


class ReplicaStateMachine:
    def __init__(self, controller_id: int, context: ControllerContext, zk: ControllerZk,
                 batch: ControllerBrokerRequestBatch):
        self.controller_id = controller_id
        self.context = context
        self.zk = zk
        self.batch = batch

    def _log_prefix(self) -> str:
        return f"[Controller id={self.controller_id} epoch={self.context.epoch}] "

    # ---- lifecycle -----------------------------------------------------------------------
    def initialize_replica_state(self) -> None:
        ctx = self.context
        for tp in list(ctx.all_partitions()):
            for r in ctx.partition_replica_assignment(tp):
                ctx.replica_states[PartitionReplica(tp, r)] = (
                    ReplicaState.ONLINE if ctx.is_replica_online(r, tp) else ReplicaState.DELETION_INELIGIBLE)

    async def startup(self) -> None:
        self.initialize_replica_state()
        online, offline = self.context.online_and_offline_replicas()
        await self.handle_state_changes(online, ReplicaState.ONLINE)
        await self.handle_state_changes(offline, ReplicaState.OFFLINE)

    def shutdown(self) -> None:
        self.context.replica_states.clear()

    # ---- transitions ------------------------------------------------------------------------
    async def handle_state_changes(self, replicas: Iterable[PartitionReplica], target: ReplicaState) -> None:
        """Move `replicas` to `target` and send the resulting requests (one batch)."""
        replicas = list(replicas)
        if not replicas:
            return
        self.batch.new_batch()
        try:
            by_broker: dict[int, list[PartitionReplica]] = {}
            for pr in replicas:
                by_broker.setdefault(pr.replica, []).append(pr)
            for replica_id in sorted(by_broker):
                prs = by_broker[replica_id]
                await self._do_handle_state_changes(replica_id, prs, target)
            self.batch.send_requests_to_brokers(self.context.epoch)
        except BaseException:
            self.batch.clear()
            raise

    def _state(self, pr: PartitionReplica) -> ReplicaState:
        return self.context.replica_states.get(pr, ReplicaState.NON_EXISTENT)

    def _log_transition(self, pr: PartitionReplica, current: ReplicaState, target: ReplicaState) -> None:
        if not state_change_log.isEnabledFor(logging.DEBUG):      # Kafka logs these at TRACE
            return
        state_change_log.debug("%sChanged state of replica %d for partition %s from %s to %s",
                              self._log_prefix(), pr.replica, pr.partition, current.kafka_name, target.kafka_name)

    async def _do_handle_state_changes(self, replica_id: int, replicas: list[PartitionReplica],
                                       target: ReplicaState) -> None:
        ctx = self.context
        # One lookup per replica (10,000s in a failover): its state now, NON_EXISTENT if unknown.
        states = ctx.replica_states
        allowed = VALID_PREVIOUS_REPLICA_STATES[target]
        valid: list[PartitionReplica] = []
        for pr in replicas:
            current = states.setdefault(pr, ReplicaState.NON_EXISTENT)
            if current in allowed:
                valid.append(pr)
            else:
                state_change_log.error(
                    "%sController %d epoch %d initiated state change of replica %d for partition %s from %s to %s "
                    "failed", self._log_prefix(), self.controller_id, ctx.epoch, pr.replica, pr.partition,
                    current.kafka_name, target.kafka_name)

        if target is ReplicaState.NEW:
            for pr in valid:
                tp, current = pr.partition, self._state(pr)
                li = ctx.partition_leadership_info.get(tp)
                if li is not None:
                    if li.leader == replica_id:
                        state_change_log.error("%sReplica %d for partition %s cannot be moved to NewReplica state "
                                               "as it is being requested to become leader",
                                               self._log_prefix(), replica_id, tp)
                        continue
                    self.batch.add_leader_and_isr_request_for_brokers(
                        [replica_id], tp, li, ctx.partition_full_replica_assignment(tp), is_new=True)
                self._log_transition(pr, current, target)
                ctx.replica_states[pr] = target

        elif target is ReplicaState.ONLINE:
            for pr in valid:
                tp, current = pr.partition, self._state(pr)
                if current is ReplicaState.NEW:
                    assignment = ctx.partition_full_replica_assignment(tp)
                    if replica_id not in assignment.replicas:
                        ctx.update_partition_full_replica_assignment(
                            tp, type(assignment)(assignment.replicas + (replica_id,),
                                                 assignment.adding_replicas, assignment.removing_replicas))
                else:
                    li = ctx.partition_leadership_info.get(tp)
                    if li is not None:
                        self.batch.add_leader_and_isr_request_for_brokers(
                            [replica_id], tp, li, ctx.partition_full_replica_assignment(tp), is_new=False)
                self._log_transition(pr, current, target)
                ctx.replica_states[pr] = target

        elif target is ReplicaState.OFFLINE:
            for pr in valid:
                self.batch.add_stop_replica_request_for_brokers([replica_id], pr.partition, delete_partition=False)
            with_leadership = [pr for pr in valid if pr.partition in ctx.partition_leadership_info]
            without_leadership = [pr for pr in valid if pr.partition not in ctx.partition_leadership_info]
            updated = await self.remove_replicas_from_isr(replica_id, [pr.partition for pr in with_leadership])
            for pr in with_leadership:
                tp = pr.partition
                li = updated.get(tp)
                if li is None:
                    continue
                if not ctx.is_topic_queued_up_for_deletion(tp.topic):
                    recipients = [r for r in ctx.partition_replica_assignment(tp) if r != replica_id]
                    self.batch.add_leader_and_isr_request_for_brokers(
                        recipients, tp, li, ctx.partition_full_replica_assignment(tp), is_new=False)
                self._log_transition(pr, self._state(pr), target)
                ctx.replica_states[pr] = target
            for pr in without_leadership:
                self.batch.add_update_metadata_request_for_brokers(ctx.live_or_shutting_down_broker_ids,
                                                                   [pr.partition])
                self._log_transition(pr, self._state(pr), target)
                ctx.replica_states[pr] = target

        elif target is ReplicaState.DELETION_STARTED:
            for pr in valid:
                self.batch.add_stop_replica_request_for_brokers([replica_id], pr.partition, delete_partition=True)
                self._log_transition(pr, self._state(pr), target)
                ctx.replica_states[pr] = target

        elif target in (ReplicaState.DELETION_INELIGIBLE, ReplicaState.DELETION_SUCCESSFUL):
            for pr in valid:
                self._log_transition(pr, self._state(pr), target)
                ctx.replica_states[pr] = target

        elif target is ReplicaState.NON_EXISTENT:
            for pr in valid:
                tp = pr.partition
                assignment = ctx.partition_full_replica_assignment(tp)
                ctx.update_partition_full_replica_assignment(tp, assignment.remove_replica(replica_id))
                self._log_transition(pr, self._state(pr), target)
                ctx.replica_states.pop(pr, None)

    # ---- ISR removal -----------------------------------------------------------------------------------
    async def remove_replicas_from_isr(self, replica_id: int, partitions: list[TopicPartition]
                                       ) -> dict[TopicPartition, LeaderAndIsr]:
        """Remove `replica_id` from the ISR of `partitions` in ZooKeeper, retrying lost version races."""
        results: dict[TopicPartition, LeaderAndIsr] = {}
        remaining = list(partitions)
        fresh = False           # first from the cache: the writes are conditional (see read_partition_states)
        while remaining:
            finished, remaining = await self._do_remove_replicas_from_isr(replica_id, remaining, fresh)
            results.update(finished)
            fresh = True
        return results

    async def _do_remove_replicas_from_isr(self, replica_id: int, partitions: list[TopicPartition],
                                           fresh: bool = True
                                           ) -> tuple[dict[TopicPartition, LeaderAndIsr], list[TopicPartition]]:
        ctx = self.context
        states = await read_partition_states(self.zk, ctx, partitions, fresh)
        with_replica: dict[TopicPartition, LeaderAndIsr] = {}
        without_replica: dict[TopicPartition, LeaderAndIsr] = {}
        # A cached state only stands when it leads to a (version-checked) write; any other
        # verdict is reached again from a fresh read.
        recheck: list[TopicPartition] = []
        for tp in partitions:
            li = states.get(tp)
            if not fresh and (li is None or li.controller_epoch > ctx.epoch or replica_id not in li.isr):
                recheck.append(tp)
            elif li is None:
                state_change_log.warning("%sFailed to update ISR of partition %s: its state znode is missing",
                                         self._log_prefix(), tp)
                continue
            if li.controller_epoch > ctx.epoch:
                state_change_log.error(
                    "%sLeader and ISR of partition %s was written by a controller with epoch %d > %d: aborting "
                    "the removal of replica %d from the ISR", self._log_prefix(), tp, li.controller_epoch,
                    ctx.epoch, replica_id)
                continue
            if replica_id in li.isr:
                with_replica[tp] = remove_replica_from_isr_state(li, replica_id)
            else:
                without_replica[tp] = li
        finished: dict[TopicPartition, LeaderAndIsr] = dict(without_replica)
        retry: list[TopicPartition] = []
        if with_replica:
            stamped = {tp: _with_controller_epoch(li, ctx.epoch) for tp, li in with_replica.items()}
            result = await self.zk.update_leader_and_isr(stamped, ctx.epoch_zk_version)
            for tp, outcome in result.finished.items():
                if isinstance(outcome, Exception):
                    state_change_log.error("%sFailed to remove replica %d from the ISR of partition %s: %s",
                                           self._log_prefix(), replica_id, tp, outcome)
                else:
                    finished[tp] = outcome
            retry = sorted(result.to_retry)
        for tp, li in finished.items():
            ctx.partition_leadership_info[tp] = li
        return finished, sorted(set(retry) | set(recheck), key=lambda tp: (tp.topic, tp.partition))


def _with_controller_epoch(li: LeaderAndIsr, epoch: int) -> LeaderAndIsr:
    return LeaderAndIsr(li.leader, li.leader_epoch, li.isr, epoch, li.zk_version)
