"""Topic deletion (Kafka's ``TopicDeletionManager``), §5.5 of the ZooKeeper reference.

Topics queued in `/admin/delete_topics` are deleted in rounds: partitions go
Offline → NonExistent, brokers learn that the leader is -2 (being deleted), live
replicas go Offline → ReplicaDeletionStarted (StopReplica with delete=true),
replicas on dead brokers are ReplicaDeletionIneligible. When every replica is
ReplicaDeletionSuccessful the topic's znodes are removed.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from kafkapy.controller.context import ControllerContext, PartitionReplica, PartitionState, ReplicaState
from kafkapy.controller.partition_state_machine import PartitionStateMachine
from kafkapy.controller.replica_state_machine import ReplicaStateMachine
from kafkapy.controller.zk_verbs import ControllerZk

__all__ = ["TopicDeletionManager"]


class TopicDeletionManager:
    def __init__(self, controller_id: int, context: ControllerContext, zk: ControllerZk,
                 replica_state_machine: ReplicaStateMachine, partition_state_machine: PartitionStateMachine,
                 delete_topic_enable: bool,
                 send_update_metadata: Callable[[Iterable[int], Iterable], Awaitable[None] | None],
                 logger: logging.LoggerAdapter):
        self.controller_id = controller_id
        self.context = context
        self.zk = zk
        self.rsm = replica_state_machine
        self.psm = partition_state_machine
        self.delete_topic_enable = delete_topic_enable
        self._send_update_metadata = send_update_metadata
        self.log = logger

    async def init(self, initial_to_delete: set[str], initial_ineligible: set[str]) -> None:
        ctx = self.context
        if self.delete_topic_enable:
            ctx.topics_to_be_deleted |= initial_to_delete
            ctx.topics_ineligible_for_deletion |= initial_ineligible & initial_to_delete
        elif initial_to_delete:
            await self.zk.delete_topic_deletions(initial_to_delete, ctx.epoch_zk_version)

    async def try_topic_deletion(self) -> None:
        if self.delete_topic_enable:
            await self.resume_deletions()

    async def enqueue_topics_for_deletion(self, topics: set[str]) -> None:
        if self.delete_topic_enable:
            self.context.topics_to_be_deleted |= topics
            await self.resume_deletions()

    async def resume_deletion_for_topics(self, topics: set[str]) -> None:
        ctx = self.context
        queued = topics & ctx.topics_to_be_deleted
        if queued:
            ctx.topics_ineligible_for_deletion -= queued
            await self.resume_deletions()

    async def fail_replica_deletion(self, replicas: set[PartitionReplica]) -> None:
        if not self.delete_topic_enable:
            return
        ctx = self.context
        to_fail = {pr for pr in replicas if ctx.is_topic_queued_up_for_deletion(pr.partition.topic)}
        topics = {pr.partition.topic for pr in to_fail}
        self.log.debug("Deletion failed for replicas %s. Halting deletion for topics %s",
                       ",".join(map(str, sorted(to_fail))), sorted(topics))
        await self.rsm.handle_state_changes(to_fail, ReplicaState.DELETION_INELIGIBLE)
        self.mark_topic_ineligible_for_deletion(topics, "failure to delete replica")
        await self.resume_deletions()

    def mark_topic_ineligible_for_deletion(self, topics: set[str], reason: str) -> None:
        if not self.delete_topic_enable:
            return
        newly = topics & self.context.topics_to_be_deleted
        self.context.topics_ineligible_for_deletion |= newly
        if newly:
            self.log.info("Halted deletion of topics %s due to %s", ",".join(sorted(newly)), reason)

    async def complete_replica_deletion(self, replicas: set[PartitionReplica]) -> None:
        successful = {pr for pr in replicas
                      if self.context.replica_states.get(pr) is ReplicaState.DELETION_STARTED}
        self.log.debug("Deletion successfully completed for replicas %s", ",".join(map(str, sorted(successful))))
        await self.rsm.handle_state_changes(successful, ReplicaState.DELETION_SUCCESSFUL)
        await self.resume_deletions()

    def reset(self) -> None:
        self.context.topics_to_be_deleted.clear()
        self.context.topics_with_deletion_started.clear()
        self.context.topics_ineligible_for_deletion.clear()

    async def resume_deletions(self) -> None:
        ctx = self.context
        eligible: set[str] = set()
        if ctx.topics_to_be_deleted:
            self.log.info("Handling deletion for topics %s", ",".join(sorted(ctx.topics_to_be_deleted)))
        for topic in sorted(ctx.topics_to_be_deleted):
            if ctx.are_all_replicas_in_state(topic, ReplicaState.DELETION_SUCCESSFUL):
                await self._complete_delete_topic(topic)
                self.log.info("Deletion of topic %s successfully completed", topic)
                continue
            if ctx.is_any_replica_in_state(topic, ReplicaState.DELETION_STARTED):
                in_progress = ctx.replicas_in_state(topic, ReplicaState.DELETION_STARTED)
                self.log.info("Deletion for replicas %s for topic %s in progress",
                              ",".join(map(str, sorted(in_progress))), topic)
            elif ctx.is_any_replica_in_state(topic, ReplicaState.DELETION_INELIGIBLE):
                await self._retry_deletion_for_ineligible_replicas(topic)
            if ctx.is_topic_eligible_for_deletion(topic):
                self.log.info("Deletion of topic %s (re)started", topic)
                eligible.add(topic)
        if eligible:
            await self._on_topic_deletion(eligible)

    async def _retry_deletion_for_ineligible_replicas(self, topic: str) -> None:
        failed = self.context.replicas_in_state(topic, ReplicaState.DELETION_INELIGIBLE)
        self.log.debug("Retrying deletion of topic %s since replicas %s were not successfully deleted", topic,
                       ",".join(map(str, sorted(failed))))
        await self.rsm.handle_state_changes(failed, ReplicaState.OFFLINE)

    async def _complete_delete_topic(self, topic: str) -> None:
        ctx = self.context
        deleted = ctx.replicas_in_state(topic, ReplicaState.DELETION_SUCCESSFUL)
        await self.rsm.handle_state_changes(deleted, ReplicaState.NON_EXISTENT)
        ctx.topics_to_be_deleted.discard(topic)
        ctx.topics_with_deletion_started.discard(topic)
        ctx.topics_ineligible_for_deletion.discard(topic)
        await self.zk.delete_topic(topic, ctx.epoch_zk_version)
        await self.zk.delete_topic_deletions([topic], ctx.epoch_zk_version)
        ctx.remove_topic(topic)

    async def _on_topic_deletion(self, topics: set[str]) -> None:
        ctx = self.context
        self.log.info("Topic deletion callback for %s", ",".join(sorted(topics)))
        unseen = topics - ctx.topics_with_deletion_started
        if unseen:
            unseen_partitions = [tp for t in sorted(unseen) for tp in ctx.partitions_for_topic(t)]
            await self.psm.handle_state_changes(unseen_partitions, PartitionState.OFFLINE)
            await self.psm.handle_state_changes(unseen_partitions, PartitionState.NON_EXISTENT)
            ctx.topics_with_deletion_started |= unseen
        all_partitions = [tp for t in sorted(topics) for tp in ctx.partitions_for_topic(t)]
        result = self._send_update_metadata(ctx.live_or_shutting_down_broker_ids, all_partitions)
        if result is not None:
            await result
        for topic in sorted(topics):
            await self._start_replica_deletion(topic)

    async def _start_replica_deletion(self, topic: str) -> None:
        ctx = self.context
        replicas = ctx.replicas_for_topic(topic)
        alive = {pr for pr in replicas if ctx.is_replica_online(pr.replica, pr.partition)}
        dead = replicas - alive
        successfully_deleted = ctx.replicas_in_state(topic, ReplicaState.DELETION_SUCCESSFUL)
        retry = alive - successfully_deleted
        if dead:
            self.log.info("Dead Replicas (%s) found for topic %s", ",".join(map(str, sorted(dead))), topic)
        await self.rsm.handle_state_changes(dead, ReplicaState.DELETION_INELIGIBLE)
        await self.rsm.handle_state_changes(retry, ReplicaState.OFFLINE)
        await self.rsm.handle_state_changes(retry, ReplicaState.DELETION_STARTED)
        if dead:
            self.mark_topic_ineligible_for_deletion({topic}, "offline replicas")
