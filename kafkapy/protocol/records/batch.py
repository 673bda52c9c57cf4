"""Record batch v2 (magic 2): in-place header patches, builder and record iteration."""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from ..varint import decode_varint, decode_varlong, encode_varint
from .compression import DEFAULT_MAX_DECOMPRESSED_BYTES, check_codec, compress, decompress
from .constants import (
    ATTRIBUTES_OFFSET_V2,
    COMPRESSION_CODEC_MASK,
    CONTROL_FLAG_MASK,
    CRC_OFFSET_V2,
    MAGIC_OFFSET,
    MAGIC_V2,
    MAX_TIMESTAMP_OFFSET,
    NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    NO_TIMESTAMP,
    PARTITION_LEADER_EPOCH_OFFSET,
    RECORD_BATCH_OVERHEAD,
    TIMESTAMP_TYPE_MASK,
    TRANSACTIONAL_FLAG_MASK,
    TimestampType,
)
from .crc import crc32c
from .errors import CorruptRecordError, CrcMismatchError, InvalidRecordError
from .record import Header, Record, SimpleRecord
from .shallow import V2_HEADER, BatchInfo, read_entry

_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")
_INT16 = struct.Struct(">h")


def _check_v2(buf, pos: int) -> int:
    """Return the batch size after checking the magic and that the batch fits."""
    if len(buf) - pos < RECORD_BATCH_OVERHEAD:
        raise CorruptRecordError(f"no record batch header at position {pos}")
    if buf[pos + MAGIC_OFFSET] != MAGIC_V2:
        raise InvalidRecordError(f"entry at position {pos} has magic {buf[pos + MAGIC_OFFSET]}, not 2")
    size = _INT32.unpack_from(buf, pos + 8)[0] + 12
    if size < RECORD_BATCH_OVERHEAD or pos + size > len(buf):
        raise CorruptRecordError(f"record batch at position {pos} has an impossible size {size}")
    return size


def set_base_offset(buf, pos: int, base_offset: int) -> None:
    """Overwrite base_offset of the batch at ``pos`` (not covered by the CRC)."""
    _INT64.pack_into(buf, pos, base_offset)


def set_partition_leader_epoch(buf, pos: int, epoch: int) -> None:
    """Overwrite partition_leader_epoch of the batch at ``pos`` (not covered by the CRC)."""
    _INT32.pack_into(buf, pos + PARTITION_LEADER_EPOCH_OFFSET, epoch)


def write_crc(buf, pos: int) -> int:
    """Recompute and store the CRC-32C of the v2 batch at ``pos``; returns it."""
    size = _check_v2(buf, pos)
    crc = crc32c(memoryview(buf)[pos + ATTRIBUTES_OFFSET_V2:pos + size])
    _UINT32.pack_into(buf, pos + CRC_OFFSET_V2, crc)
    return crc


def set_max_timestamp(buf, pos: int, timestamp_type: int, max_timestamp: int) -> None:
    """Set the timestamp type bit and max_timestamp, then recompute the CRC.

    Nothing is written (and the CRC is untouched) when both already hold these values.
    """
    _check_v2(buf, pos)
    attributes = _INT16.unpack_from(buf, pos + ATTRIBUTES_OFFSET_V2)[0]
    current_type = 1 if attributes & TIMESTAMP_TYPE_MASK else 0
    current_max = _INT64.unpack_from(buf, pos + MAX_TIMESTAMP_OFFSET)[0]
    if current_type == timestamp_type and current_max == max_timestamp:
        return
    if timestamp_type == TimestampType.LOG_APPEND_TIME:
        attributes |= TIMESTAMP_TYPE_MASK
    elif timestamp_type == TimestampType.CREATE_TIME:
        attributes &= ~TIMESTAMP_TYPE_MASK
    else:
        raise InvalidRecordError(f"magic 2 batches cannot have timestamp type {timestamp_type}")
    _INT16.pack_into(buf, pos + ATTRIBUTES_OFFSET_V2, attributes)
    _INT64.pack_into(buf, pos + MAX_TIMESTAMP_OFFSET, max_timestamp)
    write_crc(buf, pos)


def set_log_append_time(buf, pos: int, append_time_ms: int) -> None:
    """Mark the batch at ``pos`` as LogAppendTime with ``append_time_ms`` (bit 3 + max_timestamp + CRC)."""
    set_max_timestamp(buf, pos, TimestampType.LOG_APPEND_TIME, append_time_ms)


# --- building ----------------------------------------------------------------

_NULL = encode_varint(-1)
# Precomputed zig-zag varints for small non-negative values (lengths, deltas).
_SMALL_VARINTS = [encode_varint(i) for i in range(4096)]


def _varint(value: int) -> bytes:
    if 0 <= value < 4096:
        return _SMALL_VARINTS[value]
    return encode_varint(value)


def _as_simple(rec) -> SimpleRecord:
    if isinstance(rec, SimpleRecord):
        return rec
    if isinstance(rec, Record):
        return SimpleRecord(rec.key, rec.value, rec.headers, rec.timestamp)
    if isinstance(rec, tuple):
        return SimpleRecord(*rec)
    raise TypeError(f"cannot build a record from {type(rec).__name__}")


def encode_record(offset_delta: int, timestamp_delta: int, key, value,
                  headers: Sequence[Header] = ()) -> bytes:
    """One v2 record, including its varint length prefix."""
    parts = [b"\x00", encode_varint(timestamp_delta), _varint(offset_delta)]
    if key is None:
        parts.append(_NULL)
    else:
        parts.append(_varint(len(key)))
        parts.append(bytes(key))
    if value is None:
        parts.append(_NULL)
    else:
        parts.append(_varint(len(value)))
        parts.append(bytes(value))
    parts.append(_varint(len(headers)))
    for hkey, hvalue in headers:
        if hkey is None:
            raise InvalidRecordError("record header keys cannot be null")
        kb = hkey.encode("utf-8") if isinstance(hkey, str) else bytes(hkey)
        parts.append(_varint(len(kb)))
        parts.append(kb)
        if hvalue is None:
            parts.append(_NULL)
        else:
            parts.append(_varint(len(hvalue)))
            parts.append(bytes(hvalue))
    body = b"".join(parts)
    return _varint(len(body)) + body


def attributes_for(compression: int = 0, timestamp_type: int = 0, is_transactional: bool = False,
                   is_control: bool = False) -> int:
    attributes = compression & COMPRESSION_CODEC_MASK
    if timestamp_type == TimestampType.LOG_APPEND_TIME:
        attributes |= TIMESTAMP_TYPE_MASK
    if is_transactional:
        attributes |= TRANSACTIONAL_FLAG_MASK
    if is_control:
        attributes |= CONTROL_FLAG_MASK
    return attributes


def build_batch(
    records: Iterable[SimpleRecord | Record | tuple],
    *,
    base_offset: int = 0,
    compression: int = 0,
    timestamp_type: int = TimestampType.CREATE_TIME,
    log_append_time: int | None = None,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    is_transactional: bool = False,
    is_control: bool = False,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
    last_offset_delta: int | None = None,
    compression_level: int | None = None,
) -> bytes:
    """Write one magic 2 record batch.

    ``records`` are SimpleRecord (or Record, or ``(key, value, headers, timestamp)``
    tuples). With LogAppendTime, ``log_append_time`` becomes max_timestamp.
    ``last_offset_delta`` defaults to the last record's offset delta (set it to
    keep the original range of a batch whose records were removed).
    """
    check_codec(compression, MAGIC_V2)
    recs = [_as_simple(r) for r in records]
    now = None
    timestamps = []
    for r in recs:
        if r.timestamp is None:
            if now is None:
                now = int(time.time() * 1000)
            timestamps.append(now)
        else:
            timestamps.append(r.timestamp)
    first_timestamp = timestamps[0] if recs else NO_TIMESTAMP
    parts = []
    delta = -1
    for r, ts in zip(recs, timestamps):
        if r.offset_delta is None:
            delta += 1
        else:
            if r.offset_delta <= delta:
                raise InvalidRecordError("record offset deltas must increase")
            delta = r.offset_delta
        parts.append(encode_record(delta, ts - first_timestamp, r.key, r.value, r.headers))
    if last_offset_delta is None:
        last_offset_delta = max(delta, 0)
    elif last_offset_delta < delta:
        raise InvalidRecordError("last_offset_delta is below the last record's offset delta")
    if timestamp_type == TimestampType.LOG_APPEND_TIME:
        if log_append_time is None:
            raise InvalidRecordError("LogAppendTime batches need log_append_time")
        max_timestamp = log_append_time
    elif timestamp_type == TimestampType.CREATE_TIME:
        max_timestamp = max(timestamps) if recs else NO_TIMESTAMP
    else:
        raise InvalidRecordError(f"magic 2 batches cannot have timestamp type {timestamp_type}")
    payload = b"".join(parts)
    if compression:
        payload = compress(compression, payload, magic=MAGIC_V2, level=compression_level)
    attributes = attributes_for(compression, timestamp_type, is_transactional, is_control)
    out = bytearray(RECORD_BATCH_OVERHEAD + len(payload))
    V2_HEADER.pack_into(out, 0, base_offset, len(out) - 12, partition_leader_epoch, MAGIC_V2, 0,
                        attributes, last_offset_delta, first_timestamp, max_timestamp, producer_id,
                        producer_epoch, base_sequence, len(recs))
    out[RECORD_BATCH_OVERHEAD:] = payload
    _UINT32.pack_into(out, CRC_OFFSET_V2, crc32c(memoryview(out)[ATTRIBUTES_OFFSET_V2:]))
    return bytes(out)


def build_empty_batch(info: BatchInfo) -> bytes:
    """The header of the v2 batch ``info`` with no records (what the cleaner keeps of a producer's last batch).

    Same base offset, last offset delta, partition leader epoch, producer id, epoch and base sequence,
    timestamp type, transactional and control flags, and max timestamp; no compression, first
    timestamp -1, record count 0, CRC-32C recomputed (Kafka's empty batch header).
    """
    if info.magic != MAGIC_V2:
        raise InvalidRecordError(f"empty batches need magic 2, not {info.magic}")
    attributes = attributes_for(0, info.timestamp_type, info.is_transactional, info.is_control)
    out = bytearray(RECORD_BATCH_OVERHEAD)
    V2_HEADER.pack_into(out, 0, info.base_offset, RECORD_BATCH_OVERHEAD - 12, info.partition_leader_epoch, MAGIC_V2,
                        0, attributes, info.last_offset - info.base_offset, NO_TIMESTAMP, info.max_timestamp,
                        info.producer_id, info.producer_epoch, info.base_sequence, 0)
    _UINT32.pack_into(out, CRC_OFFSET_V2, crc32c(memoryview(out)[ATTRIBUTES_OFFSET_V2:]))
    return bytes(out)


# --- reading -----------------------------------------------------------------

def _bad_length(length: int) -> CorruptRecordError:
    return CorruptRecordError(f"invalid length {length} in record")


def decode_records(data, count: int, base_offset: int, first_timestamp: int,
                   log_append_time: int | None = None) -> Iterator[Record]:
    """Decode ``count`` v2 records from the (uncompressed) ``data``.

    The per-record path of clients, tools and the cleaner: single-byte varints (the common
    case for lengths and deltas) are decoded inline, longer ones by the varint helpers.
    """
    buf = data if data.__class__ is bytes else bytes(data)
    n = len(buf)
    pos = 0
    new = tuple.__new__
    record_cls = Record
    try:
        for _ in range(count):
            b = buf[pos]
            if b < 0x80:
                length = (b >> 1) ^ -(b & 1)
                pos += 1
            else:
                length, pos = decode_varint(buf, pos)
            end = pos + length
            if length < 6 or end > n:
                raise CorruptRecordError(f"invalid record length {length}")
            b = buf[pos + 1]                  # skip attributes (unused)
            if b < 0x80:
                ts_delta = (b >> 1) ^ -(b & 1)
                pos += 2
            else:
                ts_delta, pos = decode_varlong(buf, pos + 1)
            b = buf[pos]
            if b < 0x80:
                off_delta = (b >> 1) ^ -(b & 1)
                pos += 1
            else:
                off_delta, pos = decode_varint(buf, pos)
            b = buf[pos]
            if b < 0x80:
                klen = (b >> 1) ^ -(b & 1)
                pos += 1
            else:
                klen, pos = decode_varint(buf, pos)
            if klen >= 0:
                if pos + klen > end:
                    raise _bad_length(klen)
                key = buf[pos:pos + klen]
                pos += klen
            elif klen == -1:
                key = None
            else:
                raise _bad_length(klen)
            b = buf[pos]
            if b < 0x80:
                vlen = (b >> 1) ^ -(b & 1)
                pos += 1
            else:
                vlen, pos = decode_varint(buf, pos)
            if vlen >= 0:
                if pos + vlen > end:
                    raise _bad_length(vlen)
                value = buf[pos:pos + vlen]
                pos += vlen
            elif vlen == -1:
                value = None
            else:
                raise _bad_length(vlen)
            b = buf[pos]
            if b == 0:
                headers: tuple = ()
                pos += 1
            else:
                header_count, pos = decode_varint(buf, pos)
                headers = _decode_headers(buf, pos, end, header_count)
                pos = end
            if pos != end:
                raise CorruptRecordError(f"record length {length} does not match its content")
            yield new(record_cls, (base_offset + off_delta,
                                   first_timestamp + ts_delta if log_append_time is None else log_append_time,
                                   key, value, headers))
    except IndexError:
        raise CorruptRecordError("record runs past the end of the batch") from None
    except ValueError as exc:
        if isinstance(exc, CorruptRecordError):
            raise
        raise CorruptRecordError(f"malformed record: {exc}") from None
    if pos != n:
        raise CorruptRecordError(
            f"batch holds {n - pos} bytes after its {count} declared records")


def _decode_headers(buf: bytes, pos: int, end: int, count: int) -> tuple[Header, ...]:
    """``count`` headers from ``pos``; they must end exactly at ``end``."""
    if count < 0:
        raise CorruptRecordError(f"invalid header count {count}")
    headers: list[Header] = []
    for _ in range(count):
        klen, pos = decode_varint(buf, pos)
        if klen < 0 or pos + klen > end:
            raise CorruptRecordError(f"invalid header key length {klen}")
        try:
            hkey = buf[pos:pos + klen].decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptRecordError("record header key is not UTF-8") from None
        pos += klen
        vlen, pos = decode_varint(buf, pos)
        if vlen >= 0:
            if pos + vlen > end:
                raise CorruptRecordError(f"invalid header value length {vlen}")
            hvalue = buf[pos:pos + vlen]
            pos += vlen
        elif vlen == -1:
            hvalue = None
        else:
            raise CorruptRecordError(f"invalid header value length {vlen}")
        headers.append((hkey, hvalue))
    if pos != end:
        raise CorruptRecordError("record headers do not end where the record ends")
    return tuple(headers)


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """A v2 batch inside a buffer: its decoded header plus a view of its bytes."""

    info: BatchInfo
    view: memoryview

    @classmethod
    def at(cls, buf, pos: int = 0) -> "RecordBatch":
        info = read_entry(buf, pos)
        if info is None:
            raise CorruptRecordError(f"truncated record batch at position {pos}")
        if info.magic != MAGIC_V2:
            raise InvalidRecordError(f"entry at position {pos} has magic {info.magic}, not 2")
        return cls(info, memoryview(buf)[pos:pos + info.size])

    def is_valid(self) -> bool:
        return crc32c(self.view[ATTRIBUTES_OFFSET_V2:]) == self.info.crc

    def ensure_valid(self) -> None:
        computed = crc32c(self.view[ATTRIBUTES_OFFSET_V2:])
        if computed != self.info.crc:
            raise CrcMismatchError(
                f"record batch at position {self.info.position} is corrupt "
                f"(stored crc = {self.info.crc}, computed crc = {computed})", self.info.crc, computed)

    def records_bytes(self, max_size: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> bytes | memoryview:
        """The record bytes after the header, decompressed if needed."""
        payload = self.view[RECORD_BATCH_OVERHEAD:]
        codec = self.info.compression
        if codec == 0:
            return payload
        return decompress(codec, payload, magic=MAGIC_V2, max_size=max_size)

    def records(self, max_size: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> Iterator[Record]:
        info = self.info
        if info.record_count < 0:
            raise CorruptRecordError(f"invalid record count {info.record_count}")
        lat = info.max_timestamp if info.timestamp_type == TimestampType.LOG_APPEND_TIME else None
        return decode_records(self.records_bytes(max_size), info.record_count, info.base_offset,
                              info.first_timestamp, lat)

    def __iter__(self) -> Iterator[Record]:
        return self.records()


def iter_batch_records(buf, pos: int = 0, max_size: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> Iterator[Record]:
    """Records of the v2 batch at ``pos`` (decompressing when needed)."""
    return RecordBatch.at(buf, pos).records(max_size)
