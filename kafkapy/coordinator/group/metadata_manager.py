"""`__consumer_offsets`: which partition holds a group, the record keys and values, and replay.

Pure functions and a small replay state; the coordinator does the appends and the reads.

* ``partition_for(group, n)``: ``abs(String.hashCode(group)) % n`` with Java's UTF-16 hash and
  Kafka's ``Utils.abs`` (0 for Integer.MIN_VALUE).
* Keys: committed offset = key v1 (group, topic, partition); group metadata = key v2 (group).
* Values: offset v3 (offset, leader epoch, metadata, commit time), or v1 when the commit carried
  an explicit expire time; group metadata v3. A null value is a tombstone.
* ``OffsetsReplay`` folds records read from a partition (oldest first) into the latest
  offsets and group values per group: what loading a partition yields.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Iterable

from kafkapy.common.types import TopicPartition
from kafkapy.coordinator.group.group_metadata import GroupMetadata, GroupState, OffsetAndMetadata
from kafkapy.coordinator.group.member_metadata import MemberMetadata
from kafkapy.protocol.messages.internal import (
    GROUP_METADATA_KEY,
    GROUP_METADATA_KEY_VERSION,
    GROUP_METADATA_VALUE,
    OFFSET_COMMIT_KEY,
    OFFSET_COMMIT_KEY_VERSION,
    OFFSET_COMMIT_VALUE,
    decode_offsets_key,
    decode_offsets_value,
    encode_versioned,
)
from kafkapy.protocol.records.batch import build_batch
from kafkapy.protocol.records.record import SimpleRecord

GROUP_METADATA_TOPIC = "__consumer_offsets"
OFFSET_VALUE_VERSION = 3
OFFSET_VALUE_VERSION_WITH_EXPIRY = 1
GROUP_VALUE_VERSION = 3

_INT_MIN = -(2 ** 31)
_STR = struct.Struct(">h")

_OffsetKey = OFFSET_COMMIT_KEY.schema.cls
_OffsetValue = OFFSET_COMMIT_VALUE.schema.cls
_GroupKey = GROUP_METADATA_KEY.schema.cls
_GroupValue = GROUP_METADATA_VALUE.schema.cls
_MemberValue = GROUP_METADATA_VALUE.schema.struct("members").cls


# ---------------------------------------------------------------------- partitioning
def java_string_hashcode(s: str) -> int:
    """Java's ``String.hashCode``: 31-polynomial over UTF-16 code units, as a signed int32."""
    data = s.encode("utf-16-be", "surrogatepass")
    h = 0
    for (unit,) in struct.iter_unpack(">H", data):
        h = (31 * h + unit) & 0xFFFFFFFF
    return h - 0x100000000 if h & 0x80000000 else h


def kafka_abs(n: int) -> int:
    """Kafka's ``Utils.abs``: |n|, except 0 for Integer.MIN_VALUE."""
    return 0 if n == _INT_MIN else abs(n)


def partition_for(group_id: str, num_partitions: int) -> int:
    return kafka_abs(java_string_hashcode(group_id)) % num_partitions


# ---------------------------------------------------------------------- keys and values
_I32 = struct.Struct(">i")
_VALUE_V3_HEAD = struct.Struct(">hqih")
_I64 = struct.Struct(">q")
_key_cache: dict[tuple[str, str, int], bytes] = {}
_KEY_CACHE_MAX = 100_000


def _short_string(s: str) -> bytes:
    data = s.encode("utf-8")
    if len(data) > 32767:
        raise ValueError(f"string of {len(data)} bytes is too long for an int16 length")
    return _STR.pack(len(data)) + data


def offset_commit_key(group_id: str, tp: TopicPartition) -> bytes:
    """Offset key v1: (group, topic, partition); cached, since the same keys are written again and again."""
    cache_key = (group_id, tp.topic, tp.partition)
    key = _key_cache.get(cache_key)
    if key is None:
        key = (_STR.pack(OFFSET_COMMIT_KEY_VERSION) + _short_string(group_id) + _short_string(tp.topic)
               + _I32.pack(tp.partition))
        if len(_key_cache) >= _KEY_CACHE_MAX:
            _key_cache.clear()
        _key_cache[cache_key] = key
    return key


def offset_commit_value(om: OffsetAndMetadata) -> bytes:
    if om.expire_timestamp_ms is not None:
        return encode_versioned(OFFSET_COMMIT_VALUE, OFFSET_VALUE_VERSION_WITH_EXPIRY, _OffsetValue(
            offset=om.offset, metadata=om.metadata, commit_timestamp=om.commit_timestamp_ms,
            expire_timestamp=om.expire_timestamp_ms))
    metadata = om.metadata.encode("utf-8") if om.metadata else b""
    if len(metadata) > 32767:
        raise ValueError("offset metadata is too long for an int16 length")
    return (_VALUE_V3_HEAD.pack(OFFSET_VALUE_VERSION, om.offset, om.leader_epoch, len(metadata)) + metadata
            + _I64.pack(om.commit_timestamp_ms))


def group_metadata_key(group_id: str) -> bytes:
    return encode_versioned(GROUP_METADATA_KEY, GROUP_METADATA_KEY_VERSION, _GroupKey(group=group_id))


def group_metadata_value(group: GroupMetadata, assignment: dict[str, bytes]) -> bytes:
    """The group as stored after a rebalance: members carry the chosen protocol's metadata."""
    protocol = group.protocol_name
    members = []
    for m in group.members.values():
        members.append(_MemberValue(
            member_id=m.member_id, group_instance_id=m.group_instance_id, client_id=m.client_id,
            client_host=m.client_host, rebalance_timeout=m.rebalance_timeout_ms,
            session_timeout=m.session_timeout_ms,
            subscription=m.metadata(protocol) if protocol is not None else b"",
            assignment=assignment.get(m.member_id, b"")))
    ts = group.current_state_timestamp_ms if group.current_state_timestamp_ms is not None else -1
    return encode_versioned(GROUP_METADATA_VALUE, GROUP_VALUE_VERSION, _GroupValue(
        protocol_type=group.protocol_type or "", generation=group.generation_id, protocol=protocol,
        leader=group.leader_id if protocol is not None else None, current_state_timestamp=ts, members=members))


def build_records(entries: Iterable[tuple[bytes, bytes | None]], now_ms: int, compression: int = 0) -> bytes:
    """One magic-2 batch (CreateTime = now) holding `entries` as (key, value-or-None) records."""
    return build_batch([SimpleRecord(k, v, (), now_ms) for k, v in entries], compression=compression)


# ---------------------------------------------------------------------- replay
_VALUE_V3_FIXED = struct.Struct(">hqih")


def _decode_offset_value(buf: bytes) -> OffsetAndMetadata:
    """An offset commit value; v3 (what we and Kafka 2.8 write) is read directly."""
    if buf[:2] == b"\x00\x03":
        _v, offset, epoch, n = _VALUE_V3_FIXED.unpack_from(buf, 0)
        end = _VALUE_V3_FIXED.size + max(n, 0)
        metadata = buf[_VALUE_V3_FIXED.size:end].decode("utf-8") if n > 0 else ""
        return OffsetAndMetadata(offset, epoch, metadata, _I64.unpack_from(buf, end)[0], None)
    vv, v = decode_offsets_value(OFFSET_COMMIT_KEY_VERSION, buf)   # type: ignore[misc]
    expire = v.expire_timestamp if vv == 1 and v.expire_timestamp != -1 else None
    return OffsetAndMetadata(v.offset, v.leader_epoch if vv >= 3 else -1, v.metadata, v.commit_timestamp, expire)


@dataclass(slots=True)
class OffsetsReplay:
    """Latest state per key while reading a partition from its start."""

    offsets: dict[str, dict[TopicPartition, OffsetAndMetadata]] = field(default_factory=dict)
    groups: dict[str, Any] = field(default_factory=dict)            # group id -> decoded value
    removed_groups: set[str] = field(default_factory=set)
    _keys: dict[bytes, tuple[str, TopicPartition | None]] = field(default_factory=dict)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        key = bytes(key)
        known = self._keys.get(key)
        if known is None:
            version, k = decode_offsets_key(key)
            if version <= OFFSET_COMMIT_KEY.max_version:
                known = (k.group, TopicPartition(k.topic, k.partition))
            else:
                known = (k.group, None)
            self._keys[key] = known
        group_id, tp = known
        if tp is not None:
            if value is None:
                per = self.offsets.get(group_id)
                if per is not None:
                    per.pop(tp, None)
                return
            self.offsets.setdefault(group_id, {})[tp] = _decode_offset_value(bytes(value))
            return
        if value is None:
            self.groups.pop(group_id, None)
            self.removed_groups.add(group_id)
        else:
            self.groups[group_id] = decode_offsets_value(GROUP_METADATA_KEY_VERSION, value)[1]   # type: ignore[index]
            self.removed_groups.discard(group_id)


def group_from_value(group_id: str, value: Any, now_ms: int) -> GroupMetadata:
    """Rebuild a loaded group (Empty without members, else Stable) from its stored value."""
    state = GroupState.STABLE if value.members else GroupState.EMPTY
    group = GroupMetadata(group_id, state, now_ms)
    group.protocol_type = value.protocol_type or None
    group.generation_id = value.generation
    group.protocol_name = value.protocol
    group.leader_id = value.leader
    ts = getattr(value, "current_state_timestamp", -1)
    group.current_state_timestamp_ms = ts if ts is not None and ts >= 0 else None
    for mv in value.members:
        protocols = [(value.protocol, bytes(mv.subscription))] if value.protocol is not None else []
        member = MemberMetadata(mv.member_id, group_id, getattr(mv, "group_instance_id", None), mv.client_id,
                                mv.client_host, getattr(mv, "rebalance_timeout", mv.session_timeout) or
                                mv.session_timeout, mv.session_timeout, value.protocol_type, protocols)
        member.assignment = bytes(mv.assignment)
        group.add(member)
    group.leader_id = value.leader
    return group


__all__ = ["GROUP_METADATA_TOPIC", "java_string_hashcode", "kafka_abs", "partition_for", "offset_commit_key",
           "offset_commit_value", "group_metadata_key", "group_metadata_value", "build_records", "OffsetsReplay",
           "group_from_value"]
