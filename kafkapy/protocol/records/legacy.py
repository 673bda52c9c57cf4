"""Legacy message sets: magic 0 and magic 1 messages, including compressed wrappers.

A wrapper message has a codec in its attributes, a null key, and as value the
compressed bytes of an inner message set. Inner offsets are relative
(0..n-1) in magic 1 and absolute in magic 0; the wrapper carries the offset
of its last inner message in both.
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

from .compression import DEFAULT_MAX_DECOMPRESSED_BYTES, check_codec, compress, decompress
from .constants import (
    ATTRIBUTES_OFFSET_LEGACY,
    COMPRESSION_CODEC_MASK,
    CRC_OFFSET_LEGACY,
    MAGIC_OFFSET,
    MAGIC_V0,
    MAGIC_V1,
    NO_TIMESTAMP,
    TIMESTAMP_OFFSET_V1,
    TIMESTAMP_TYPE_MASK,
    TimestampType,
)
from .crc import crc32
from .errors import CorruptRecordError, InvalidRecordError
from .record import Record, SimpleRecord
from .shallow import BatchInfo, read_entry

__all__ = [
    "LegacyMessage",
    "encode_message",
    "build_message_set",
    "parse_message",
    "iter_inner_messages",
    "iter_legacy_records",
    "set_offset",
    "set_log_append_time",
]

_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class LegacyMessage:
    """One decoded magic 0/1 message (a plain message or a wrapper)."""

    offset: int
    magic: int
    attributes: int
    crc: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    valid: bool             # stored crc == computed crc
    size: int               # entry size including the 12-byte prefix

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_CODEC_MASK

    @property
    def timestamp_type(self) -> int:
        if self.magic == MAGIC_V0:
            return TimestampType.NO_TIMESTAMP_TYPE
        return TimestampType.LOG_APPEND_TIME if self.attributes & TIMESTAMP_TYPE_MASK else TimestampType.CREATE_TIME

    def to_record(self) -> Record:
        return Record(self.offset, self.timestamp, self.key, self.value, ())


def _legacy_attributes(magic: int, compression: int, timestamp_type: int) -> int:
    attributes = compression & COMPRESSION_CODEC_MASK
    if magic == MAGIC_V1 and timestamp_type == TimestampType.LOG_APPEND_TIME:
        attributes |= TIMESTAMP_TYPE_MASK
    return attributes


def encode_message(offset: int, magic: int, key, value, timestamp: int = NO_TIMESTAMP,
                   attributes: int = 0) -> bytes:
    """One legacy entry: offset, size, crc, magic, attributes, [timestamp], key, value."""
    if magic not in (MAGIC_V0, MAGIC_V1):
        raise InvalidRecordError(f"legacy messages have magic 0 or 1, not {magic}")
    parts = [bytes((magic, attributes & 0xFF))]
    if magic == MAGIC_V1:
        parts.append(_INT64.pack(timestamp))
    for field in (key, value):
        if field is None:
            parts.append(_INT32.pack(-1))
        else:
            parts.append(_INT32.pack(len(field)))
            parts.append(bytes(field))
    body = b"".join(parts)
    crc = crc32(body)
    return _INT64.pack(offset) + _INT32.pack(len(body) + 4) + _UINT32.pack(crc) + body


def _as_simple(rec) -> SimpleRecord:
    if isinstance(rec, SimpleRecord):
        return rec
    if isinstance(rec, Record):
        return SimpleRecord(rec.key, rec.value, rec.headers, rec.timestamp)
    if isinstance(rec, tuple):
        return SimpleRecord(*rec)
    raise TypeError(f"cannot build a message from {type(rec).__name__}")


def build_message_set(
    records: Iterable[SimpleRecord | Record | tuple],
    *,
    magic: int = MAGIC_V1,
    compression: int = 0,
    base_offset: int = 0,
    timestamp_type: int = TimestampType.CREATE_TIME,
    log_append_time: int | None = None,
    compression_level: int | None = None,
) -> bytes:
    """Write records as a magic 0/1 message set (one wrapper message when compressed).

    Headers cannot be represented and must be empty. Magic 0 ignores timestamps.
    """
    if magic not in (MAGIC_V0, MAGIC_V1):
        raise InvalidRecordError(f"legacy message sets have magic 0 or 1, not {magic}")
    check_codec(compression, magic)
    recs = [_as_simple(r) for r in records]
    if not recs:
        return b""
    if magic == MAGIC_V1 and timestamp_type == TimestampType.LOG_APPEND_TIME and log_append_time is None:
        raise InvalidRecordError("LogAppendTime message sets need log_append_time")
    now = int(time.time() * 1000)
    entries = []
    timestamps = []
    delta = -1
    inner_attrs = _legacy_attributes(magic, 0, timestamp_type)
    for r in recs:
        if r.headers:
            raise InvalidRecordError(f"magic {magic} messages cannot carry headers")
        delta = delta + 1 if r.offset_delta is None else r.offset_delta
        if magic == MAGIC_V0:
            ts = NO_TIMESTAMP
        elif timestamp_type == TimestampType.LOG_APPEND_TIME and not compression:
            ts = log_append_time
        else:
            ts = now if r.timestamp is None else r.timestamp
        timestamps.append(ts)
        if compression:
            inner_offset = delta if magic == MAGIC_V1 else base_offset + delta
        else:
            inner_offset = base_offset + delta
        entries.append(encode_message(inner_offset, magic, r.key, r.value, ts, inner_attrs))
    if not compression:
        return b"".join(entries)
    inner = b"".join(entries)
    wrapped = compress(compression, inner, magic=magic, level=compression_level)
    if magic == MAGIC_V0:
        wrapper_ts = NO_TIMESTAMP
    elif timestamp_type == TimestampType.LOG_APPEND_TIME:
        wrapper_ts = log_append_time
    else:
        wrapper_ts = max(timestamps)
    return encode_message(base_offset + delta, magic, None, wrapped, wrapper_ts,
                          _legacy_attributes(magic, compression, timestamp_type))


def _parse_at(buf, pos: int, info: BatchInfo) -> LegacyMessage:
    view = memoryview(buf)
    end = pos + info.size
    kpos = pos + (26 if info.magic == MAGIC_V1 else 18)
    fields = []
    for _ in range(2):
        if kpos + 4 > end:
            raise CorruptRecordError(f"magic {info.magic} message at position {pos} is truncated")
        (length,) = _INT32.unpack_from(view, kpos)
        kpos += 4
        if length < 0:
            if length != -1:
                raise CorruptRecordError(f"invalid field length {length} in message at position {pos}")
            fields.append(None)
            continue
        if kpos + length > end:
            raise CorruptRecordError(f"field of message at position {pos} runs past its end")
        fields.append(bytes(view[kpos:kpos + length]))
        kpos += length
    if kpos != end:
        raise CorruptRecordError(f"message at position {pos} has {end - kpos} bytes after its value")
    valid = crc32(view[pos + MAGIC_OFFSET:end]) == info.crc
    return LegacyMessage(info.base_offset, info.magic, info.attributes, info.crc, info.max_timestamp,
                         fields[0], fields[1], valid, info.size)


def parse_message(buf, pos: int = 0) -> LegacyMessage:
    """Decode the whole legacy message at ``pos`` (key and value are copied)."""
    info = read_entry(buf, pos)
    if info is None:
        raise CorruptRecordError(f"truncated message at position {pos}")
    if info.magic not in (MAGIC_V0, MAGIC_V1):
        raise InvalidRecordError(f"entry at position {pos} has magic {info.magic}, not 0 or 1")
    return _parse_at(buf, pos, info)


def iter_inner_messages(buf, info: BatchInfo,
                        max_size: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> Iterator[LegacyMessage]:
    """Deep iteration of the legacy entry ``info``: the message itself when not
    compressed, else its inner messages with absolute offsets (and the wrapper's
    timestamp when the wrapper is LogAppendTime)."""
    wrapper = _parse_at(buf, info.position, info)
    if not wrapper.compression:
        yield wrapper
        return
    if wrapper.value is None:
        raise CorruptRecordError(f"compressed wrapper message at position {info.position} has a null value")
    inner = decompress(wrapper.compression, wrapper.value, magic=info.magic, max_size=max_size)
    messages = []
    pos = 0
    n = len(inner)
    while pos < n:
        inner_info = read_entry(inner, pos)
        if inner_info is None:
            raise CorruptRecordError(f"truncated inner message in wrapper at position {info.position}")
        if inner_info.magic != info.magic:
            raise InvalidRecordError(
                f"inner message magic {inner_info.magic} differs from wrapper magic {info.magic}")
        msg = _parse_at(inner, pos, inner_info)
        if msg.compression:
            raise InvalidRecordError(f"nested compressed message in wrapper at position {info.position}")
        messages.append(msg)
        pos += inner_info.size
    if not messages:
        raise InvalidRecordError(f"compressed wrapper message at position {info.position} has no inner messages")
    shift = 0
    if info.magic == MAGIC_V1:
        # Relative inner offsets: rebase on the wrapper, which holds the last absolute offset.
        # A wrapper offset below the last relative offset (producers may send 0) leaves them as is.
        base = wrapper.offset - messages[-1].offset
        if base >= 0:
            shift = base
    log_append = wrapper.timestamp_type == TimestampType.LOG_APPEND_TIME
    for msg in messages:
        ts = wrapper.timestamp if log_append else msg.timestamp
        attrs = msg.attributes | TIMESTAMP_TYPE_MASK if log_append else msg.attributes
        yield LegacyMessage(msg.offset + shift, msg.magic, attrs, msg.crc, ts, msg.key, msg.value,
                            msg.valid, msg.size)


def iter_legacy_records(buf, info: BatchInfo,
                        max_size: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> Iterator[Record]:
    for msg in iter_inner_messages(buf, info, max_size):
        yield msg.to_record()


def set_offset(buf, pos: int, offset: int) -> None:
    """Overwrite the offset of the legacy entry at ``pos`` (not covered by the CRC)."""
    _INT64.pack_into(buf, pos, offset)


def set_log_append_time(buf, pos: int, append_time_ms: int) -> None:
    """Magic 1 only: set the LogAppendTime bit and the timestamp, then the CRC."""
    info = read_entry(buf, pos)
    if info is None or info.magic != MAGIC_V1:
        raise InvalidRecordError(f"no magic 1 message at position {pos}")
    buf[pos + ATTRIBUTES_OFFSET_LEGACY] = (info.attributes | TIMESTAMP_TYPE_MASK) & 0xFF
    _INT64.pack_into(buf, pos + TIMESTAMP_OFFSET_V1, append_time_ms)
    _UINT32.pack_into(buf, pos + CRC_OFFSET_LEGACY, crc32(memoryview(buf)[pos + MAGIC_OFFSET:pos + info.size]))


