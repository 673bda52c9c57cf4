"""GroupMetadata: a group's state machine, members and committed offsets.

States and their allowed predecessors are Kafka's:

==================== =============================================================
state                reachable from
==================== =============================================================
PreparingRebalance   Stable, CompletingRebalance, Empty
CompletingRebalance  PreparingRebalance
Stable               CompletingRebalance
Empty                PreparingRebalance
Dead                 Stable, PreparingRebalance, CompletingRebalance, Empty, Dead
==================== =============================================================

Everything here is plain, synchronous and free of I/O; the coordinator drives it.
"""
from __future__ import annotations

import enum
from typing import Iterable

from kafkapy.common.types import OffsetAndMetadata, TopicPartition
from kafkapy.coordinator.group.member_metadata import MemberMetadata
from kafkapy.protocol.errors import ProtocolDecodeError
from kafkapy.protocol.messages.internal import CONSUMER_PROTOCOL_SUBSCRIPTION, decode_versioned

CONSUMER_PROTOCOL_TYPE = "consumer"


class GroupState(enum.Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"

    @property
    def display(self) -> str:
        return self.value


VALID_PREVIOUS_STATES: dict[GroupState, frozenset[GroupState]] = {
    GroupState.PREPARING_REBALANCE: frozenset({GroupState.STABLE, GroupState.COMPLETING_REBALANCE,
                                               GroupState.EMPTY}),
    GroupState.COMPLETING_REBALANCE: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.STABLE: frozenset({GroupState.COMPLETING_REBALANCE}),
    GroupState.EMPTY: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.DEAD: frozenset(GroupState),
}


class IllegalStateTransition(RuntimeError):
    """A transition the state table forbids: a coordinator bug."""


class GroupMetadata:
    """One group: state, generation, members, the chosen protocol and the offset cache."""

    def __init__(self, group_id: str, initial_state: GroupState, now_ms: int) -> None:
        self.group_id = group_id
        self.state = initial_state
        self.current_state_timestamp_ms: int | None = now_ms
        self.protocol_type: str | None = None
        self.protocol_name: str | None = None
        self.generation_id = 0
        self.leader_id: str | None = None
        self.members: dict[str, MemberMetadata] = {}
        self.pending_members: set[str] = set()
        self.static_members: dict[str, str] = {}          # group.instance.id -> member id
        self.offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        self.new_member_added = False
        self.delayed_join: object | None = None            # the rebalance in flight (coordinator's)
        self.num_members_awaiting_join = 0
        self._supported_protocols: dict[str, int] = {}     # protocol -> number of members offering it

    # ------------------------------------------------------------------ state
    def is_state(self, state: GroupState) -> bool:
        return self.state is state

    def can_rebalance(self) -> bool:
        return self.state in VALID_PREVIOUS_STATES[GroupState.PREPARING_REBALANCE]

    def transition_to(self, target: GroupState, now_ms: int) -> None:
        if self.state not in VALID_PREVIOUS_STATES[target]:
            raise IllegalStateTransition(
                f"Group {self.group_id} should be in the {sorted(s.value for s in VALID_PREVIOUS_STATES[target])} "
                f"states before moving to {target.value} state. Instead it is in {self.state.value} state")
        self.state = target
        self.current_state_timestamp_ms = now_ms

    # ------------------------------------------------------------------ members
    def has(self, member_id: str) -> bool:
        return member_id in self.members

    def get(self, member_id: str) -> MemberMetadata:
        return self.members[member_id]

    @property
    def size(self) -> int:
        return len(self.members)

    def is_leader(self, member_id: str) -> bool:
        return self.leader_id == member_id

    def add(self, member: MemberMetadata) -> None:
        if not self.members:
            self.protocol_type = member.protocol_type
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.members[member.member_id] = member
        if member.group_instance_id is not None:
            self.static_members[member.group_instance_id] = member.member_id
        for name in member.protocols():
            self._supported_protocols[name] = self._supported_protocols.get(name, 0) + 1
        if member.is_awaiting_join:
            self.num_members_awaiting_join += 1
        self.pending_members.discard(member.member_id)

    def remove(self, member_id: str) -> MemberMetadata | None:
        member = self.members.pop(member_id, None)
        if member is None:
            return None
        for name in member.protocols():
            left = self._supported_protocols.get(name, 0) - 1
            if left > 0:
                self._supported_protocols[name] = left
            else:
                self._supported_protocols.pop(name, None)
        if member.is_awaiting_join:
            self.num_members_awaiting_join -= 1
        if member.group_instance_id is not None and self.static_members.get(member.group_instance_id) == member_id:
            del self.static_members[member.group_instance_id]
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)
        member.cancel_heartbeat()
        return member

    def update_member_protocols(self, member: MemberMetadata, protocols: list[tuple[str, bytes]]) -> None:
        for name in member.protocols():
            left = self._supported_protocols.get(name, 0) - 1
            if left > 0:
                self._supported_protocols[name] = left
            else:
                self._supported_protocols.pop(name, None)
        member.supported_protocols = protocols
        for name in member.protocols():
            self._supported_protocols[name] = self._supported_protocols.get(name, 0) + 1

    def set_awaiting_join(self, member: MemberMetadata, callback: object | None) -> None:
        was = member.is_awaiting_join
        member.awaiting_join = callback  # type: ignore[assignment]
        now = member.is_awaiting_join
        if now and not was:
            self.num_members_awaiting_join += 1
        elif was and not now:
            self.num_members_awaiting_join -= 1

    def is_pending_member(self, member_id: str) -> bool:
        return member_id in self.pending_members

    def has_static_member(self, instance_id: str | None) -> bool:
        return instance_id is not None and instance_id in self.static_members

    def static_member_id(self, instance_id: str) -> str | None:
        return self.static_members.get(instance_id)

    def is_static_member_fenced(self, member_id: str, instance_id: str | None) -> bool:
        if instance_id is None:
            return False
        known = self.static_members.get(instance_id)
        return known is not None and known != member_id

    def replace_static_member(self, instance_id: str, old_member_id: str, new_member_id: str) -> MemberMetadata:
        member = self.members.pop(old_member_id)
        member.member_id = new_member_id
        self.members[new_member_id] = member
        if self.leader_id == old_member_id:
            self.leader_id = new_member_id
        self.static_members[instance_id] = new_member_id
        return member

    def has_all_members_joined(self) -> bool:
        return len(self.members) == self.num_members_awaiting_join and not self.pending_members

    def not_yet_rejoined_members(self) -> list[MemberMetadata]:
        return [m for m in self.members.values() if not m.is_awaiting_join]

    def rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    # ------------------------------------------------------------------ protocols
    def supports_protocols(self, protocol_type: str, protocols: Iterable[str]) -> bool:
        """Whether a member offering `protocols` of `protocol_type` may join."""
        names = set(protocols)
        if self.state is GroupState.EMPTY or not self.members:
            return bool(protocol_type) and bool(names)
        if self.protocol_type != protocol_type:
            return False
        return any(self._supported_protocols.get(n, 0) == len(self.members) for n in names)

    def candidate_protocols(self) -> set[str]:
        n = len(self.members)
        return {name for name, count in self._supported_protocols.items() if count == n}

    def select_protocol(self) -> str:
        """Each member votes for its most preferred candidate; the most votes wins (ties: first seen)."""
        candidates = self.candidate_protocols()
        if not candidates:
            raise IllegalStateTransition(f"no protocol is supported by every member of group {self.group_id}")
        votes: dict[str, int] = {}
        for m in self.members.values():
            choice = m.vote(candidates)
            votes[choice] = votes.get(choice, 0) + 1
        return max(votes, key=lambda k: votes[k])

    def init_next_generation(self, now_ms: int) -> None:
        if self.members:
            self.generation_id += 1
            self.protocol_name = self.select_protocol()
            self.transition_to(GroupState.COMPLETING_REBALANCE, now_ms)
        else:
            self.generation_id += 1
            self.protocol_name = None
            self.transition_to(GroupState.EMPTY, now_ms)

    def current_member_metadata(self) -> list[tuple[str, str | None, bytes]]:
        """(member id, group instance id, metadata for the chosen protocol) of every member."""
        if self.protocol_name is None:
            return []
        return [(m.member_id, m.group_instance_id, m.metadata(self.protocol_name)) for m in self.members.values()]

    def subscribed_topics(self) -> set[str] | None:
        """Topics the members subscribe to (consumer protocol), or None when unknown."""
        if self.protocol_type != CONSUMER_PROTOCOL_TYPE or self.protocol_name is None:
            return None if self.members else set()
        topics: set[str] = set()
        for m in self.members.values():
            try:
                _v, sub = decode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, m.metadata(self.protocol_name),
                                           accept_newer=True)
            except (ProtocolDecodeError, KeyError, ValueError):
                return None
            topics.update(sub.topics)
        return topics

    # ------------------------------------------------------------------ offsets
    def has_offsets(self) -> bool:
        return bool(self.offsets)

    def all_offsets(self) -> dict[TopicPartition, OffsetAndMetadata]:
        return dict(self.offsets)

    def __repr__(self) -> str:
        return (f"GroupMetadata(groupId={self.group_id}, generation={self.generation_id}, "
                f"protocolType={self.protocol_type}, currentState={self.state.value}, "
                f"members={list(self.members.values())})")


__all__ = ["GroupState", "GroupMetadata", "OffsetAndMetadata", "VALID_PREVIOUS_STATES",
           "IllegalStateTransition", "CONSUMER_PROTOCOL_TYPE"]
