"""Partition assignors the group leader runs: range, roundrobin and sticky.

``range`` and ``roundrobin`` follow the Java client's algorithms exactly, so a kafkapy
leader hands out the same assignment a Java leader would:

* members are ordered by group instance id when both have one (static members first), else
  by member id;
* range: per topic, the subscribed members in that order; member i gets the partitions from
  ``per*i + min(i, extra)``, ``per + (1 if i < extra else 0)`` of them;
* roundrobin: every partition of every subscribed topic, topics sorted by name, dealt in turn
  to the members (in order, circularly), skipping members not subscribed to the topic.

``sticky`` keeps each member's owned partitions when they are still valid and the result stays
balanced, then gives every other partition to the least-loaded subscribed member (a simpler
algorithm than the Java client's, with the same goals: balance first, then stickiness).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol, Sequence

from kafkapy.common.types import TopicPartition


@dataclass(frozen=True, slots=True)
class Subscription:
    topics: tuple[str, ...]
    user_data: bytes | None = None
    owned_partitions: tuple[TopicPartition, ...] = ()
    group_instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    partitions: tuple[TopicPartition, ...] = field(default_factory=tuple)
    user_data: bytes | None = None


class PartitionAssignor(Protocol):
    name: str

    def assign(self, partitions_per_topic: Mapping[str, int],
               subscriptions: Mapping[str, Subscription]) -> dict[str, Assignment]: ...


def member_order(subscriptions: Mapping[str, Subscription]) -> list[str]:
    """Members in the Java client's MemberInfo order."""
    def key(mid: str) -> tuple[int, str, str]:
        iid = subscriptions[mid].group_instance_id
        return (0, iid, mid) if iid is not None else (1, "", mid)
    return sorted(subscriptions, key=key)


class RangeAssignor:
    name = "range"

    def assign(self, partitions_per_topic: Mapping[str, int],
               subscriptions: Mapping[str, Subscription]) -> dict[str, Assignment]:
        ordered = member_order(subscriptions)
        out: dict[str, list[TopicPartition]] = {m: [] for m in ordered}
        topics = sorted({t for s in subscriptions.values() for t in s.topics})
        for topic in topics:
            n = partitions_per_topic.get(topic)
            if n is None:
                continue
            members = [m for m in ordered if topic in subscriptions[m].topics]
            if not members:
                continue
            per, extra = divmod(n, len(members))
            for i, m in enumerate(members):
                start = per * i + min(i, extra)
                length = per + (1 if i < extra else 0)
                out[m].extend(TopicPartition(topic, p) for p in range(start, start + length))
        return {m: Assignment(tuple(ps)) for m, ps in out.items()}


class RoundRobinAssignor:
    name = "roundrobin"

    def assign(self, partitions_per_topic: Mapping[str, int],
               subscriptions: Mapping[str, Subscription]) -> dict[str, Assignment]:
        ordered = member_order(subscriptions)
        out: dict[str, list[TopicPartition]] = {m: [] for m in ordered}
        if not ordered:
            return {}
        topics = sorted({t for s in subscriptions.values() for t in s.topics if t in partitions_per_topic})
        i = 0
        for topic in topics:
            for p in range(partitions_per_topic[topic]):
                while topic not in subscriptions[ordered[i % len(ordered)]].topics:
                    i += 1
                out[ordered[i % len(ordered)]].append(TopicPartition(topic, p))
                i += 1
        return {m: Assignment(tuple(ps)) for m, ps in out.items()}


class StickyAssignor:
    name = "sticky"

    def assign(self, partitions_per_topic: Mapping[str, int],
               subscriptions: Mapping[str, Subscription]) -> dict[str, Assignment]:
        ordered = member_order(subscriptions)
        all_parts = [TopicPartition(t, p) for t in sorted(partitions_per_topic)
                     for p in range(partitions_per_topic[t])
                     if any(t in s.topics for s in subscriptions.values())]
        valid = set(all_parts)
        owned: dict[str, list[TopicPartition]] = {m: [] for m in ordered}
        taken: set[TopicPartition] = set()
        if ordered:
            cap = -(-len(all_parts) // len(ordered))
            for m in ordered:
                s = subscriptions[m]
                for tp in s.owned_partitions:
                    if tp in valid and tp not in taken and tp.topic in s.topics and len(owned[m]) < cap:
                        owned[m].append(tp)
                        taken.add(tp)
        for tp in all_parts:
            if tp in taken:
                continue
            candidates = [m for m in ordered if tp.topic in subscriptions[m].topics]
            if not candidates:
                continue
            best = min(candidates, key=lambda m: (len(owned[m]), ordered.index(m)))
            owned[best].append(tp)
            taken.add(tp)
        # Even out: move partitions from the most to the least loaded member while it helps.
        changed = True
        while changed:
            changed = False
            for hi in sorted(ordered, key=lambda m: -len(owned[m])):
                for lo in sorted(ordered, key=lambda m: len(owned[m])):
                    if len(owned[hi]) - len(owned[lo]) <= 1:
                        continue
                    movable = [tp for tp in owned[hi] if tp.topic in subscriptions[lo].topics]
                    if movable:
                        tp = movable[-1]
                        owned[hi].remove(tp)
                        owned[lo].append(tp)
                        changed = True
                        break
                if changed:
                    break
        return {m: Assignment(tuple(sorted(ps, key=lambda tp: (tp.topic, tp.partition)))) for m, ps in owned.items()}


ASSIGNORS: dict[str, type] = {"range": RangeAssignor, "roundrobin": RoundRobinAssignor, "sticky": StickyAssignor}


def assignors_for(names: Sequence[str] | str) -> list[PartitionAssignor]:
    """Assignor instances for ``partition.assignment.strategy`` (names or Java class names)."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    out = []
    for n in names:
        short = n.rsplit(".", 1)[-1].lower().replace("assignor", "")
        short = {"roundrobin": "roundrobin", "range": "range", "sticky": "sticky", "cooperativesticky": "sticky"}.get(
            short, n)
        cls = ASSIGNORS.get(short)
        if cls is None:
            raise ValueError(f"Unknown partition assignment strategy: {n}")
        out.append(cls())
    return out


__all__ = ["Subscription", "Assignment", "PartitionAssignor", "RangeAssignor", "RoundRobinAssignor",
           "StickyAssignor", "ASSIGNORS", "assignors_for", "member_order"]
