"""Pure leader-election rules of the controller (Kafka's ``Election`` object).

Every function takes the partition's assignment, its current leader/ISR and the
set of brokers that count as live, and returns an :class:`ElectionResult`: the
chosen leader (or ``None`` when no replica qualifies), the new leader/ISR to
write, and the brokers that must receive the resulting LeaderAndIsr. None of
them touch ZooKeeper or the controller context.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from kafkapy.common.types import LeaderAndIsr, TopicPartition

__all__ = [
    "ElectionResult",
    "new_leader_and_isr",
    "leader_for_offline",
    "leader_for_reassign",
    "leader_for_preferred",
    "leader_for_controlled_shutdown",
    "offline_election",
    "reassign_election",
    "preferred_election",
    "controlled_shutdown_election",
]


@dataclass(frozen=True, slots=True)
class ElectionResult:
    partition: TopicPartition
    leader_and_isr: LeaderAndIsr | None     # None: no replica qualified
    live_replicas: tuple[int, ...]          # recipients of the LeaderAndIsr

    @property
    def elected(self) -> bool:
        return self.leader_and_isr is not None


def new_leader_and_isr(current: LeaderAndIsr, leader: int, isr: Sequence[int]) -> LeaderAndIsr:
    """The state that follows `current` with a new leader and ISR: leader epoch + 1."""
    return replace(current, leader=leader, isr=tuple(isr), leader_epoch=current.leader_epoch + 1)


def leader_for_offline(assignment: Sequence[int], isr: Collection[int], live: Collection[int],
                       unclean_enabled: bool) -> int | None:
    """First live in-sync replica in assignment order; failing that, with unclean
    election enabled, the first live replica even if it is out of the ISR."""
    for replica in assignment:
        if replica in live and replica in isr:
            return replica
    if unclean_enabled:
        for replica in assignment:
            if replica in live:
                return replica
    return None


def leader_for_reassign(target: Sequence[int], isr: Collection[int], live: Collection[int]) -> int | None:
    """First replica of the reassignment target that is live and in the ISR."""
    for replica in target:
        if replica in live and replica in isr:
            return replica
    return None


def leader_for_preferred(assignment: Sequence[int], isr: Collection[int], live: Collection[int]) -> int | None:
    """The preferred (first assigned) replica, only if it is live and in the ISR."""
    if assignment and assignment[0] in live and assignment[0] in isr:
        return assignment[0]
    return None


def leader_for_controlled_shutdown(assignment: Sequence[int], isr: Collection[int],
                                   live_or_shutting_down: Collection[int],
                                   shutting_down: Collection[int]) -> int | None:
    """First assigned replica that is in the ISR and alive but not shutting down."""
    for replica in assignment:
        if replica in live_or_shutting_down and replica in isr and replica not in shutting_down:
            return replica
    return None


def offline_election(partition: TopicPartition, assignment: Sequence[int], current: LeaderAndIsr,
                     live: Collection[int], unclean_enabled: bool) -> ElectionResult:
    live_replicas = tuple(r for r in assignment if r in live)
    leader = leader_for_offline(assignment, current.isr, live, unclean_enabled)
    if leader is None:
        return ElectionResult(partition, None, live_replicas)
    if leader in current.isr:
        isr = [r for r in current.isr if r in live]
    else:                                      # unclean: the new leader alone
        isr = [leader]
    return ElectionResult(partition, new_leader_and_isr(current, leader, isr), live_replicas)


def reassign_election(partition: TopicPartition, target: Sequence[int], current: LeaderAndIsr,
                      live: Collection[int]) -> ElectionResult:
    leader = leader_for_reassign(target, current.isr, live)
    if leader is None:
        return ElectionResult(partition, None, tuple(target))
    return ElectionResult(partition, new_leader_and_isr(current, leader, current.isr), tuple(target))


def preferred_election(partition: TopicPartition, assignment: Sequence[int], current: LeaderAndIsr,
                       live: Collection[int]) -> ElectionResult:
    leader = leader_for_preferred(assignment, current.isr, live)
    if leader is None:
        return ElectionResult(partition, None, tuple(assignment))
    return ElectionResult(partition, new_leader_and_isr(current, leader, current.isr), tuple(assignment))


def controlled_shutdown_election(partition: TopicPartition, assignment: Sequence[int], current: LeaderAndIsr,
                                 live_or_shutting_down: Collection[int],
                                 shutting_down: Collection[int]) -> ElectionResult:
    live_replicas = tuple(r for r in assignment if r in live_or_shutting_down)
    leader = leader_for_controlled_shutdown(assignment, current.isr, live_or_shutting_down, shutting_down)
    if leader is None:
        return ElectionResult(partition, None, live_replicas)
    isr = [r for r in current.isr if r not in shutting_down]
    return ElectionResult(partition, new_leader_and_isr(current, leader, isr), live_replicas)
