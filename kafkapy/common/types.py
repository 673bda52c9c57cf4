"""Value objects and sentinels shared by every kafkapy package.

Kept free of internal imports (see STYLE.md import rules).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

# Sentinels, named as Kafka names them.
NO_LEADER = -1
UNKNOWN_OFFSET = -1
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1
NO_TIMESTAMP = -1
LATEST_TIMESTAMP = -1      # ListOffsets: latest
EARLIEST_TIMESTAMP = -2    # ListOffsets: earliest
CONSUMER_REPLICA_ID = -1   # Fetch/ListOffsets from a consumer
DEBUGGING_REPLICA_ID = -2


@dataclass(frozen=True, slots=True, order=True)
class TopicPartition:
    topic: str
    partition: int

    def __str__(self) -> str:  # Kafka prints "topic-partition"
        return f"{self.topic}-{self.partition}"


@dataclass(frozen=True, slots=True)
class BrokerEndPoint:
    broker_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass(frozen=True, slots=True)
class LeaderAndIsr:
    leader: int
    leader_epoch: int
    isr: tuple[int, ...]
    controller_epoch: int
    zk_version: int = -1


@dataclass(frozen=True, slots=True)
class FileRegion:
    """A byte range of an open file, sent to a socket without copying (os.sendfile).

    `fd` is an OS file descriptor that stays open while the region is in flight
    (segments keep their descriptors open; a deleted segment's fd stays valid).
    A protocol encoder treats a FileRegion in a RECORDS field as opaque bytes of
    length `size`, emitting it as its own output chunk.
    """

    fd: int
    position: int
    size: int

    def __len__(self) -> int:
        return self.size

    def read(self) -> bytes:
        """Copy the region into memory (tests, format conversion, fallbacks)."""
        return os.pread(self.fd, self.size, self.position)


@dataclass(frozen=True, slots=True)
class OffsetAndMetadata:
    """One committed offset of a consumer group, as stored in `__consumer_offsets`."""

    offset: int
    leader_epoch: int = -1
    metadata: str = ""
    commit_timestamp_ms: int = -1
    expire_timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class LeaveMember:
    """A member leaving a consumer group (LeaveGroup): its id and, for static members, its instance id."""

    member_id: str
    group_instance_id: str | None = None
