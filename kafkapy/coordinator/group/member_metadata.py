"""MemberMetadata: one member of a group as the coordinator tracks it.

Mutable on purpose: the coordinator updates protocols, assignment, the pending join and sync
answers and the heartbeat timer in place, always on the event loop.
"""
from __future__ import annotations

from typing import Any, Callable

#: A member that joined for the first time gets this long to complete the join (Kafka's
#: NewMemberJoinTimeoutMs) before the coordinator forgets it.
NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000


class MemberMetadata:
    """One member: identity, timeouts, offered protocols, assignment and pending answers."""

    __slots__ = ("member_id", "group_id", "group_instance_id", "client_id", "client_host",
                 "rebalance_timeout_ms", "session_timeout_ms", "protocol_type", "supported_protocols",
                 "assignment", "awaiting_join", "awaiting_sync", "is_new", "is_leaving",
                 "heartbeat_timer", "heartbeat_deadline_ms")

    def __init__(self, member_id: str, group_id: str, group_instance_id: str | None, client_id: str,
                 client_host: str, rebalance_timeout_ms: int, session_timeout_ms: int, protocol_type: str,
                 supported_protocols: list[tuple[str, bytes]]) -> None:
        self.member_id = member_id
        self.group_id = group_id
        self.group_instance_id = group_instance_id
        self.client_id = client_id
        self.client_host = client_host
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.session_timeout_ms = session_timeout_ms
        self.protocol_type = protocol_type
        self.supported_protocols = supported_protocols
        self.assignment = b""
        # Callables that deliver the JoinGroup / SyncGroup answer; None when nothing waits.
        self.awaiting_join: Callable[[Any], None] | None = None
        self.awaiting_sync: Callable[[Any], None] | None = None
        self.is_new = False
        self.is_leaving = False
        self.heartbeat_timer: Any = None
        self.heartbeat_deadline_ms = 0

    @property
    def is_awaiting_join(self) -> bool:
        return self.awaiting_join is not None

    @property
    def is_awaiting_sync(self) -> bool:
        return self.awaiting_sync is not None

    @property
    def is_static(self) -> bool:
        return self.group_instance_id is not None

    def protocols(self) -> list[str]:
        return [name for name, _ in self.supported_protocols]

    def metadata(self, protocol: str) -> bytes:
        for name, meta in self.supported_protocols:
            if name == protocol:
                return meta
        raise KeyError(f"member {self.member_id} does not support protocol {protocol}")

    def matches(self, protocols: list[tuple[str, bytes]]) -> bool:
        """Whether a rejoin offers exactly the protocols (and metadata) already known."""
        if len(protocols) != len(self.supported_protocols):
            return False
        return all(a[0] == b[0] and bytes(a[1]) == bytes(b[1]) for a, b in zip(protocols, self.supported_protocols))

    def vote(self, candidates: set[str]) -> str:
        """The first of this member's protocols (in its preference order) among `candidates`."""
        for name, _ in self.supported_protocols:
            if name in candidates:
                return name
        raise ValueError(f"member {self.member_id} supports none of {sorted(candidates)}")

    def cancel_heartbeat(self) -> None:
        if self.heartbeat_timer is not None:
            self.heartbeat_timer.cancel()
            self.heartbeat_timer = None

    def __repr__(self) -> str:
        return (f"MemberMetadata(memberId={self.member_id}, groupInstanceId={self.group_instance_id}, "
                f"clientId={self.client_id}, clientHost={self.client_host}, "
                f"sessionTimeoutMs={self.session_timeout_ms}, rebalanceTimeoutMs={self.rebalance_timeout_ms}, "
                f"supportedProtocols={self.protocols()})")


__all__ = ["MemberMetadata", "NEW_MEMBER_JOIN_TIMEOUT_MS"]
