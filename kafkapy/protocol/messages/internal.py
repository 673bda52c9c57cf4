"""Versioned data that lives inside records rather than in API messages.

- ``__consumer_offsets`` keys and values: committed offsets and group metadata.
- ``__transaction_state`` keys and values: the transaction coordinator's log.
- The consumer protocol's JoinGroup metadata (subscription) and SyncGroup assignment bytes.

All of them are stored as an int16 schema version followed by the struct in the classic
(never flexible) encoding. ``encode_versioned`` / ``decode_versioned`` do exactly that;
``decode_offsets_key`` / ``decode_offsets_value`` pick the right schema for a
``__consumer_offsets`` record from the key's version, the way the group coordinator must.
"""
from __future__ import annotations

import struct
from typing import Any

from kafkapy.protocol.errors import ProtocolDecodeError, ProtocolEncodeError
from kafkapy.protocol.schema import (
    BYTES, INT8, INT16, INT32, INT64, STRING, ArrayOf, DataSpec, Field, Schema, Struct,
)

__all__ = [
    "OFFSET_COMMIT_KEY", "OFFSET_COMMIT_VALUE", "GROUP_METADATA_KEY", "GROUP_METADATA_VALUE",
    "TRANSACTION_LOG_KEY", "TRANSACTION_LOG_VALUE",
    "CONSUMER_PROTOCOL_SUBSCRIPTION", "CONSUMER_PROTOCOL_ASSIGNMENT", "DATA_SPECS",
    "OFFSET_COMMIT_KEY_VERSION", "GROUP_METADATA_KEY_VERSION",
    "encode_versioned", "decode_versioned", "read_version", "decode_offsets_key",
    "decode_offsets_value",
]

_VERSION = struct.Struct(">h")

# ----------------------------------------------------------------- __consumer_offsets

OFFSET_COMMIT_KEY = DataSpec(
    name="OffsetCommitKey", min_version=0, max_version=1, flexible_since=None,
    schema=Schema(
        Field("group", STRING, until=1),
        Field("topic", STRING, until=1),
        Field("partition", INT32, until=1),
    ),
)

OFFSET_COMMIT_VALUE = DataSpec(
    name="OffsetCommitValue", min_version=0, max_version=3, flexible_since=None,
    schema=Schema(
        Field("offset", INT64),
        Field("leader_epoch", INT32, since=3, default=-1, ignorable=True),
        Field("metadata", STRING),
        Field("commit_timestamp", INT64),
        Field("expire_timestamp", INT64, since=1, until=1, default=-1, ignorable=True),
    ),
)

GROUP_METADATA_KEY = DataSpec(
    name="GroupMetadataKey", min_version=2, max_version=2, flexible_since=None,
    schema=Schema(
        Field("group", STRING, since=2, until=2),
    ),
)

MemberMetadata = Struct(
    Field("member_id", STRING),
    Field("group_instance_id", STRING, since=3, nullable_since=3, default=None, ignorable=True),
    Field("client_id", STRING),
    Field("client_host", STRING),
    Field("rebalance_timeout", INT32, since=1, ignorable=True),
    Field("session_timeout", INT32),
    Field("subscription", BYTES),
    Field("assignment", BYTES),
    name="MemberMetadata",
)

GROUP_METADATA_VALUE = DataSpec(
    name="GroupMetadataValue", min_version=0, max_version=3, flexible_since=None,
    schema=Schema(
        Field("protocol_type", STRING),
        Field("generation", INT32),
        Field("protocol", STRING, nullable_since=0),
        Field("leader", STRING, nullable_since=0),
        Field("current_state_timestamp", INT64, since=2, default=-1, ignorable=True),
        Field("members", ArrayOf(MemberMetadata)),
    ),
)

#: The key versions a 2.8 broker writes: offset commits use v1 (v0 has the same layout).
OFFSET_COMMIT_KEY_VERSION = 1
GROUP_METADATA_KEY_VERSION = 2

# ----------------------------------------------------------------- __transaction_state

TRANSACTION_LOG_KEY = DataSpec(
    name="TransactionLogKey", min_version=0, max_version=0, flexible_since=None,
    schema=Schema(
        Field("transactional_id", STRING, until=0),
    ),
)

TRANSACTION_LOG_VALUE = DataSpec(
    name="TransactionLogValue", min_version=0, max_version=0, flexible_since=None,
    schema=Schema(
        Field("producer_id", INT64, until=0),
        Field("producer_epoch", INT16, until=0),
        Field("transaction_timeout_ms", INT32, until=0),
        Field("transaction_status", INT8, until=0),
        Field("transaction_partitions", ArrayOf(
            Field("topic", STRING, until=0),
            Field("partition_ids", ArrayOf(INT32), until=0),
            name="PartitionsSchema"), until=0, nullable_since=0),
        Field("transaction_last_update_timestamp_ms", INT64, until=0),
        Field("transaction_start_timestamp_ms", INT64, until=0),
    ),
)

# ----------------------------------------------------------------- consumer protocol

CONSUMER_PROTOCOL_SUBSCRIPTION = DataSpec(
    name="ConsumerProtocolSubscription", min_version=0, max_version=1, flexible_since=None,
    schema=Schema(
        Field("topics", ArrayOf(STRING)),
        Field("user_data", BYTES, nullable_since=0, default=None),
        Field("owned_partitions", ArrayOf(
            Field("topic", STRING, since=1),
            Field("partitions", ArrayOf(INT32), since=1),
            name="TopicPartition"), since=1, ignorable=True),
    ),
)

CONSUMER_PROTOCOL_ASSIGNMENT = DataSpec(
    name="ConsumerProtocolAssignment", min_version=0, max_version=1, flexible_since=None,
    schema=Schema(
        Field("assigned_partitions", ArrayOf(
            Field("topic", STRING),
            Field("partitions", ArrayOf(INT32)),
            name="TopicPartition")),
        Field("user_data", BYTES, nullable_since=0, default=None),
    ),
)

DATA_SPECS: dict[str, DataSpec] = {
    spec.name: spec for spec in (
        OFFSET_COMMIT_KEY, OFFSET_COMMIT_VALUE, GROUP_METADATA_KEY, GROUP_METADATA_VALUE,
        TRANSACTION_LOG_KEY, TRANSACTION_LOG_VALUE,
        CONSUMER_PROTOCOL_SUBSCRIPTION, CONSUMER_PROTOCOL_ASSIGNMENT,
    )
}


# ----------------------------------------------------------------- helpers

def encode_versioned(spec: DataSpec, version: int, obj: Any) -> bytes:
    """``int16 version`` followed by ``obj`` in ``spec``'s classic encoding at ``version``."""
    if not spec.min_version <= version <= spec.max_version:
        raise ProtocolEncodeError(
            f"{spec.name}: version {version} outside {spec.min_version}..{spec.max_version}")
    return _VERSION.pack(version) + spec.codec(version).encode(obj)


def read_version(buf: bytes | bytearray | memoryview) -> int:
    """The leading int16 schema version of ``buf``."""
    if len(buf) < 2:
        raise ProtocolDecodeError(f"versioned data too short ({len(buf)} bytes) for its int16 version")
    return _VERSION.unpack_from(buf, 0)[0]


def decode_versioned(spec: DataSpec, buf: bytes | bytearray | memoryview, *,
                     accept_newer: bool = False) -> tuple[int, Any]:
    """Decode ``int16 version + struct``; returns ``(version, obj)``.

    A version outside ``spec``'s range raises ProtocolDecodeError, unless ``accept_newer`` is
    set and the version is newer: then the bytes are read with the newest layout we know and
    whatever follows is ignored (the consumer protocol's forward-compatibility rule).
    Bytes after the struct are ignored, as Kafka's readers do.
    """
    version = read_version(buf)
    read_as = version
    if version > spec.max_version and accept_newer:
        read_as = spec.max_version
    elif not spec.min_version <= version <= spec.max_version:
        raise ProtocolDecodeError(
            f"{spec.name}: unknown version {version} "
            f"(known {spec.min_version}..{spec.max_version})")
    obj, _end = spec.codec(read_as).decode(buf, 2)
    return version, obj


def decode_offsets_key(buf: bytes | bytearray | memoryview) -> tuple[int, Any]:
    """Decode a ``__consumer_offsets`` record key: ``(version, OffsetCommitKey | GroupMetadataKey)``.

    The key's version tells the record kind (0 and 1: committed offset; 2: group metadata).
    """
    version = read_version(buf)
    if OFFSET_COMMIT_KEY.min_version <= version <= OFFSET_COMMIT_KEY.max_version:
        return decode_versioned(OFFSET_COMMIT_KEY, buf)
    if GROUP_METADATA_KEY.min_version <= version <= GROUP_METADATA_KEY.max_version:
        return decode_versioned(GROUP_METADATA_KEY, buf)
    raise ProtocolDecodeError(f"unknown __consumer_offsets key version {version}")


def decode_offsets_value(key_version: int, buf: bytes | bytearray | memoryview | None
                         ) -> tuple[int, Any] | None:
    """Decode a ``__consumer_offsets`` record value for a key of ``key_version``.

    Returns ``(version, OffsetCommitValue | GroupMetadataValue)``, or None for a tombstone.
    """
    if buf is None:
        return None
    if OFFSET_COMMIT_KEY.min_version <= key_version <= OFFSET_COMMIT_KEY.max_version:
        return decode_versioned(OFFSET_COMMIT_VALUE, buf)
    if GROUP_METADATA_KEY.min_version <= key_version <= GROUP_METADATA_KEY.max_version:
        return decode_versioned(GROUP_METADATA_VALUE, buf)
    raise ProtocolDecodeError(f"unknown __consumer_offsets key version {key_version}")
