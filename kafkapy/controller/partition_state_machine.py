"""Partition state machine (Kafka's ``ZkPartitionStateMachine``), §5.6/§5.8 of the ZooKeeper reference.

States: NewPartition, OnlinePartition, OfflinePartition, NonExistentPartition.
New → Online creates the state znode (leader = first live replica, ISR = live
replicas); Online/Offline → Online elects a leader with one of the strategies of
`election.py`, writes the state znode conditionally on its version (lost races
are re-read and retried) and queues LeaderAndIsr for the recipients.
"""
from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller import election
from kafkapy.controller.channel_manager import ControllerBrokerRequestBatch, tp_key
from kafkapy.controller.context import VALID_PREVIOUS_PARTITION_STATES, ControllerContext, PartitionState
from kafkapy.controller.zk_verbs import ControllerZk, read_partition_states

__all__ = ["ElectionStrategy", "PartitionLeaderElectionStrategy", "PartitionStateMachine",
           "StateChangeFailedError", "topic_unclean_enabled"]

state_change_log = logging.getLogger("state.change.logger")

UNCLEAN_CONFIG = "unclean.leader.election.enable"


class StateChangeFailedError(Exception):
    """A partition could not reach the requested state (no eligible leader, lost race...)."""


class ElectionStrategy(enum.Enum):
    OFFLINE = "OfflinePartitionLeaderElectionStrategy"
    REASSIGN = "ReassignPartitionLeaderElectionStrategy"
    PREFERRED = "PreferredReplicaPartitionLeaderElectionStrategy"
    CONTROLLED_SHUTDOWN = "ControlledShutdownPartitionLeaderElectionStrategy"


@dataclass(frozen=True, slots=True)
class PartitionLeaderElectionStrategy:
    kind: ElectionStrategy
    allow_unclean: bool = False

    def __str__(self) -> str:
        if self.kind is ElectionStrategy.OFFLINE:
            return f"{self.kind.value}({str(self.allow_unclean).lower()})"
        return self.kind.value


OFFLINE = PartitionLeaderElectionStrategy(ElectionStrategy.OFFLINE)
OFFLINE_UNCLEAN = PartitionLeaderElectionStrategy(ElectionStrategy.OFFLINE, allow_unclean=True)
REASSIGN = PartitionLeaderElectionStrategy(ElectionStrategy.REASSIGN)
PREFERRED = PartitionLeaderElectionStrategy(ElectionStrategy.PREFERRED)
CONTROLLED_SHUTDOWN = PartitionLeaderElectionStrategy(ElectionStrategy.CONTROLLED_SHUTDOWN)


def fmt_leader_and_isr(li: LeaderAndIsr) -> str:
    """Kafka's rendering of a partition state in the state-change log."""
    return (f"LeaderAndIsr(leader={li.leader}, leaderEpoch={li.leader_epoch}, isr={','.join(map(str, li.isr))}, "
            f"zkVersion={li.zk_version})")


def topic_unclean_enabled(topic_config: dict[str, str], broker_default: bool) -> bool:
    value = topic_config.get(UNCLEAN_CONFIG)
    if value is None:
        return broker_default
    return value.strip().lower() == "true"


ElectionResults = dict[TopicPartition, "LeaderAndIsr | Exception"]


class PartitionStateMachine:
    def __init__(self, controller_id: int, context: ControllerContext, zk: ControllerZk,
                 batch: ControllerBrokerRequestBatch, unclean_leader_election_enable: Callable[[], bool]):
        self.controller_id = controller_id
        self.context = context
        self.zk = zk
        self.batch = batch
        self._broker_unclean_default = unclean_leader_election_enable

    def _prefix(self) -> str:
        return f"[Controller id={self.controller_id} epoch={self.context.epoch}] "

    # ---- lifecycle ---------------------------------------------------------------------------
    def initialize_partition_state(self) -> None:
        ctx = self.context
        for tp in list(ctx.all_partitions()):
            li = ctx.partition_leadership_info.get(tp)
            if li is None:
                ctx.partition_states[tp] = PartitionState.NEW
            elif ctx.is_replica_online(li.leader, tp):
                ctx.partition_states[tp] = PartitionState.ONLINE
            else:
                ctx.partition_states[tp] = PartitionState.OFFLINE

    async def startup(self) -> None:
        self.initialize_partition_state()
        await self.trigger_online_partition_state_change()

    def shutdown(self) -> None:
        self.context.partition_states.clear()

    async def trigger_online_partition_state_change(self, topic: str | None = None) -> ElectionResults:
        ctx = self.context
        candidates = ctx.partitions_in_states({PartitionState.NEW, PartitionState.OFFLINE})
        partitions = [tp for tp in sorted(candidates, key=tp_key)
                      if not ctx.is_topic_queued_up_for_deletion(tp.topic) and (topic is None or tp.topic == topic)]
        return await self.handle_state_changes(partitions, PartitionState.ONLINE, OFFLINE)

    # ---- transitions ------------------------------------------------------------------------------
    async def handle_state_changes(self, partitions: Iterable[TopicPartition], target: PartitionState,
                                   strategy: PartitionLeaderElectionStrategy | None = None) -> ElectionResults:
        partitions = list(partitions)
        if not partitions:
            return {}
        self.batch.new_batch()
        try:
            results = await self._do_handle_state_changes(partitions, target, strategy)
            self.batch.send_requests_to_brokers(self.context.epoch)
        except BaseException:
            self.batch.clear()
            raise
        return results

    def _state(self, tp: TopicPartition) -> PartitionState:
        return self.context.partition_states.get(tp, PartitionState.NON_EXISTENT)

    def _change(self, tp: TopicPartition, target: PartitionState) -> None:
        self.context.partition_states[tp] = target

    async def _do_handle_state_changes(self, partitions: list[TopicPartition], target: PartitionState,
                                       strategy: PartitionLeaderElectionStrategy | None) -> ElectionResults:
        ctx = self.context
        for tp in partitions:
            ctx.partition_states.setdefault(tp, PartitionState.NON_EXISTENT)
        valid: list[TopicPartition] = []
        results: ElectionResults = {}
        for tp in partitions:
            current = self._state(tp)
            if current in VALID_PREVIOUS_PARTITION_STATES[target]:
                valid.append(tp)
            else:
                msg = (f"Partition {tp} should be in one of "
                       f"{sorted(s.kafka_name for s in VALID_PREVIOUS_PARTITION_STATES[target])} states before "
                       f"moving to {target.kafka_name} state. Instead it is in {current.kafka_name} state")
                state_change_log.error("%sController %d epoch %d failed to change state for partition %s from %s "
                                       "to %s: %s", self._prefix(), self.controller_id, ctx.epoch, tp,
                                       current.kafka_name, target.kafka_name, msg)
                results[tp] = StateChangeFailedError(msg)

        if target is PartitionState.NEW:
            for tp in valid:
                state_change_log.info("%sChanged partition %s state from %s to %s with assigned replicas %s",
                                      self._prefix(), tp, self._state(tp).kafka_name, target.kafka_name,
                                      ",".join(map(str, ctx.partition_replica_assignment(tp))))
                self._change(tp, target)
        elif target is PartitionState.ONLINE:
            uninitialized = [tp for tp in valid if self._state(tp) is PartitionState.NEW]
            to_elect = [tp for tp in valid if self._state(tp) in (PartitionState.ONLINE, PartitionState.OFFLINE)]
            if uninitialized:
                for tp in await self._initialize_leader_and_isr(uninitialized):
                    state_change_log.info("%sChanged partition %s from %s to %s with state %s", self._prefix(),
                                          tp, self._state(tp).kafka_name, target.kafka_name,
                                          fmt_leader_and_isr(ctx.partition_leadership_info[tp]))
                    self._change(tp, target)
                    results[tp] = ctx.partition_leadership_info[tp]
            if to_elect:
                elected = await self.elect_leader_for_partitions(to_elect, strategy or OFFLINE)
                for tp, outcome in elected.items():
                    if not isinstance(outcome, Exception):
                        state_change_log.info("%sChanged partition %s from %s to %s with state %s",
                                              self._prefix(), tp, self._state(tp).kafka_name,
                                              target.kafka_name, fmt_leader_and_isr(outcome))
                        self._change(tp, target)
                    results[tp] = outcome
        else:                  # OFFLINE, NON_EXISTENT
            for tp in valid:
                state_change_log.info("%sChanged partition %s state from %s to %s", self._prefix(), tp,
                                      self._state(tp).kafka_name, target.kafka_name)
                self._change(tp, target)
        return results

    async def _initialize_leader_and_isr(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        ctx = self.context
        to_create: dict[TopicPartition, LeaderAndIsr] = {}
        for tp in partitions:
            replicas = ctx.partition_replica_assignment(tp)
            live = [r for r in replicas if ctx.is_replica_online(r, tp)]
            if not live:
                state_change_log.error(
                    "%sController %d epoch %d encountered error during state change of partition %s from New to "
                    "Online, assigned replicas are [%s], live brokers are [%s]. No assigned replica is alive.",
                    self._prefix(), self.controller_id, ctx.epoch, tp, ",".join(map(str, replicas)),
                    ",".join(map(str, sorted(ctx.live_broker_ids))))
                continue
            to_create[tp] = LeaderAndIsr(leader=live[0], leader_epoch=0, isr=tuple(live),
                                         controller_epoch=ctx.epoch, zk_version=0)
        if not to_create:
            return []
        created = await self.zk.create_partition_states(to_create, ctx.epoch_zk_version)
        done: list[TopicPartition] = []
        for tp, outcome in created.items():
            if isinstance(outcome, Exception):
                state_change_log.error("%sError while moving partition %s from New to Online: %s (%s)",
                                       self._prefix(), tp, outcome, type(outcome).__name__)
                continue
            ctx.partition_leadership_info[tp] = outcome
            self.batch.add_leader_and_isr_request_for_brokers(
                outcome.isr, tp, outcome, ctx.partition_full_replica_assignment(tp), is_new=True)
            done.append(tp)
        return done

    # ---- elections -----------------------------------------------------------------------------
    async def elect_leader_for_partitions(self, partitions: list[TopicPartition],
                                          strategy: PartitionLeaderElectionStrategy) -> ElectionResults:
        results: ElectionResults = {}
        remaining = list(partitions)
        fresh = False
        while remaining:
            finished, remaining = await self._do_elect_leader_for_partitions(remaining, strategy, fresh)
            fresh = True
            for tp, outcome in finished.items():
                if isinstance(outcome, Exception):
                    state_change_log.error("%sController %d epoch %d failed to change state for partition %s "
                                           "from %s to OnlinePartition: %s", self._prefix(), self.controller_id,
                                           self.context.epoch, tp, self._state(tp).kafka_name, outcome)
            results.update(finished)
        return results

    async def _do_elect_leader_for_partitions(self, partitions: list[TopicPartition],
                                              strategy: PartitionLeaderElectionStrategy, fresh: bool = True
                                              ) -> tuple[ElectionResults, list[TopicPartition]]:
        ctx = self.context
        states = await read_partition_states(self.zk, ctx, partitions, fresh)
        results: ElectionResults = {}
        valid: dict[TopicPartition, LeaderAndIsr] = {}
        # A cached state only stands when it leads to a (version-checked) write; any other
        # verdict is reached again from a fresh read.
        recheck: list[TopicPartition] = []
        for tp in partitions:
            li = states.get(tp)
            if not fresh and (li is None or li.controller_epoch > ctx.epoch):
                recheck.append(tp)
            elif li is None:
                results[tp] = StateChangeFailedError(f"Failed to retrieve leader and ISR of partition {tp}: "
                                                    "its state znode does not exist")
            elif li.controller_epoch > ctx.epoch:
                results[tp] = StateChangeFailedError(
                    f"Aborted leader election for partition {tp} since the LeaderAndIsr path was already "
                    f"written by another controller. This probably means that the current controller "
                    f"{self.controller_id} went through a soft failure and another controller was elected "
                    f"with epoch {li.controller_epoch}.")
            else:
                valid[tp] = li
        if not valid:
            return results, recheck

        elections = await self._elect(valid, strategy)
        to_write: dict[TopicPartition, LeaderAndIsr] = {}
        recipients: dict[TopicPartition, tuple[int, ...]] = {}
        for tp, res in elections.items():
            if res.leader_and_isr is None and not fresh:
                recheck.append(tp)
            elif res.leader_and_isr is None:
                results[tp] = StateChangeFailedError(f"Failed to elect leader for partition {tp} under "
                                                    f"strategy {strategy}")
            else:
                li = res.leader_and_isr
                to_write[tp] = LeaderAndIsr(li.leader, li.leader_epoch, li.isr, ctx.epoch, li.zk_version)
                recipients[tp] = res.live_replicas
        if not to_write:
            return results, recheck
        result = await self.zk.update_leader_and_isr(to_write, ctx.epoch_zk_version)
        for tp, outcome in result.finished.items():
            if isinstance(outcome, Exception):
                results[tp] = outcome
                continue
            ctx.partition_leadership_info[tp] = outcome
            self.batch.add_leader_and_isr_request_for_brokers(
                recipients[tp], tp, outcome, ctx.partition_full_replica_assignment(tp), is_new=False)
            results[tp] = outcome
        return results, sorted(set(result.to_retry) | set(recheck), key=tp_key)

    async def _elect(self, states: dict[TopicPartition, LeaderAndIsr],
                     strategy: PartitionLeaderElectionStrategy) -> dict[TopicPartition, election.ElectionResult]:
        ctx = self.context
        out: dict[TopicPartition, election.ElectionResult] = {}
        kind = strategy.kind
        unclean_by_topic: dict[str, bool] = {}
        for tp, li in states.items():
            assignment = ctx.partition_replica_assignment(tp)
            # Liveness per replica: a live broker's replica in a failed log dir does not count.
            candidates = set(assignment) | set(li.isr) | set(ctx.partition_full_replica_assignment(tp).target_replicas)
            live = {r for r in candidates if ctx.is_replica_online(r, tp)}
            if kind is ElectionStrategy.OFFLINE:
                unclean = strategy.allow_unclean
                if not unclean and not any(r in live for r in li.isr):
                    if tp.topic not in unclean_by_topic:
                        unclean_by_topic[tp.topic] = topic_unclean_enabled(
                            await self.zk.get_topic_config(tp.topic), self._broker_unclean_default())
                    unclean = unclean_by_topic[tp.topic]
                res = election.offline_election(tp, assignment, li, live, unclean)
                if res.elected and res.leader_and_isr.leader not in li.isr:
                    state_change_log.info("%sUnclean leader election. Partition %s has been elected a leader "
                                          "out of the ISR: %s", self._prefix(), tp,
                                          fmt_leader_and_isr(res.leader_and_isr))
            elif kind is ElectionStrategy.REASSIGN:
                target = ctx.partition_full_replica_assignment(tp).target_replicas
                res = election.reassign_election(tp, target, li, live)
            elif kind is ElectionStrategy.PREFERRED:
                res = election.preferred_election(tp, assignment, li, live)
            else:
                live_or_shutting_down = {r for r in candidates
                                         if ctx.is_replica_online(r, tp, include_shutting_down=True)}
                res = election.controlled_shutdown_election(
                    tp, assignment, li, live_or_shutting_down, ctx.shutting_down_broker_ids)
            out[tp] = res
        return out

