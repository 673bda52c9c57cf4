"""Validation of appended records and offset assignment (the produce path's core).

Leader appends: check every entry's header (magic, size, CRC, record count,
control batches, timestamps, ``max.message.bytes``), then assign offsets. For
magic 2 batches stored as they came (no format or codec change) offsets are
assigned by patching ``base_offset`` and ``partition_leader_epoch`` in place;
LogAppendTime also sets ``max_timestamp`` and the CRC. Nothing looks at
individual v2 records on that path. Legacy (magic 0/1) data, format conversion
and recompression walk the records (Kafka does too).

Follower appends keep offsets and epochs; they are only checked.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable, NamedTuple

from kafkapy.common.types import NO_TIMESTAMP
from kafkapy.protocol.records import (
    MAGIC_V0,
    MAGIC_V1,
    MAGIC_V2,
    BatchInfo,
    CompressionType,
    SimpleRecord,
    TimestampType,
    build_batch,
    build_message_set,
    compute_crc,
    iter_batches,
    records_of,
    set_base_offset,
    set_log_append_time,
    set_partition_leader_epoch,
)
from kafkapy.protocol.records import CorruptRecordError as RecordsCorruptError
from kafkapy.protocol.records import InvalidRecordError as RecordsInvalidError
from kafkapy.protocol.records import RecordsError, UnsupportedCompressionError
from kafkapy.protocol.records.legacy import iter_inner_messages, set_log_append_time as legacy_set_log_append_time
from kafkapy.protocol.records.legacy import set_offset as legacy_set_offset

from .config import LONG_MAX, LogConfig
from .errors import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    RecordTooLargeError,
    UnexpectedAppendOffsetError,
    UnsupportedCompressionTypeError,
)

_INT64 = struct.Struct(">q")

COMPRESSION_CODECS = {"uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


class LogAppendInfo(NamedTuple):
    """What an append did: offsets, timestamps, sizes, codecs (a tuple: cheap on the produce path)."""

    first_offset: int
    last_offset: int
    max_timestamp: int
    offset_of_max_timestamp: int
    log_append_time: int
    log_start_offset: int
    record_count: int
    valid_bytes: int
    shallow_count: int
    source_codec: int
    target_codec: int
    offsets_monotonic: bool = True
    last_leader_epoch: int = -1
    # (epoch, start offset) for each batch whose epoch differs from the one before it.
    epoch_starts: tuple[tuple[int, int], ...] = ()

    def with_log_start_offset(self, log_start_offset: int) -> "LogAppendInfo":
        return self._replace(log_start_offset=log_start_offset)


@dataclass(frozen=True, slots=True)
class ValidationResult:
    records: bytearray | memoryview | bytes   # the bytes to write (maybe the caller's buffer, patched)
    info: LogAppendInfo


def target_codec(config: LogConfig, source_codec: int) -> int:
    if config.compression_type == "producer":
        return source_codec
    return COMPRESSION_CODECS[config.compression_type]


def _scan(records, max_message_bytes: int | None) -> tuple[list[BatchInfo], int]:
    """Shallow walk; returns the entries and the number of valid bytes (a partial tail is dropped)."""
    try:
        batches = list(iter_batches(records))
    except RecordsCorruptError as exc:
        raise CorruptRecordError(str(exc)) from None
    valid = batches[-1].end if batches else 0
    if max_message_bytes is not None:
        for b in batches:
            if b.size > max_message_bytes:
                raise RecordTooLargeError(
                    f"the record batch at position {b.position} is {b.size} bytes, larger than "
                    f"the maximum allowed {max_message_bytes} (max.message.bytes)")
    return batches, valid


def _check_crc(records, b: BatchInfo) -> None:
    computed = compute_crc(records, b)
    if computed != b.crc:
        raise CorruptRecordError(
            f"record is corrupt (stored crc = {b.crc}, computed crc = {computed}) at position {b.position}")


def analyze_follower_records(records, log_end_offset: int, max_message_bytes: int | None = None,
                             log_start_offset: int = 0,
                             producer_batches: list[BatchInfo] | None = None) -> tuple[memoryview, LogAppendInfo]:
    """Check a follower's (or a tool's) pre-assigned entries; offsets must increase from the log end.

    ``producer_batches``, when given, receives the v2 data batches that carry a producer id.
    """
    view = memoryview(records)
    batches, valid = _scan(view, max_message_bytes)
    if not batches:
        return view[:0], LogAppendInfo(-1, -1, NO_TIMESTAMP, -1, NO_TIMESTAMP, log_start_offset, 0, 0, 0,
                                       0, 0)
    max_ts, offset_of_max = NO_TIMESTAMP, -1
    last = -1
    monotonic = True
    epoch_starts: list[tuple[int, int]] = []
    prev_epoch = None
    count = 0
    codec = 0
    for b in batches:
        _check_crc(view, b)
        if b.last_offset < last or b.base_offset > b.last_offset:
            monotonic = False
        last = max(last, b.last_offset)
        if b.max_timestamp > max_ts:
            max_ts, offset_of_max = b.max_timestamp, b.last_offset
        if b.magic == MAGIC_V2:
            if b.partition_leader_epoch != prev_epoch and b.partition_leader_epoch >= 0:
                epoch_starts.append((b.partition_leader_epoch, b.base_offset))
            prev_epoch = b.partition_leader_epoch
            count += b.record_count
            if producer_batches is not None and b.producer_id >= 0 and not b.attributes & 0x20:
                producer_batches.append(b)
        else:
            count += max(b.record_count, 1)
        if b.compression:
            codec = b.compression
    first = batches[0].base_offset
    if not monotonic:
        raise UnexpectedAppendOffsetError(
            f"out of order offsets found in append: {[b.last_offset for b in batches][:20]}")
    if first < log_end_offset:
        raise UnexpectedAppendOffsetError(
            f"unexpected offset in append: first offset {first} is less than the next offset {log_end_offset}")
    return view[:valid], LogAppendInfo(
        first, last, max_ts, offset_of_max, NO_TIMESTAMP, log_start_offset, count, valid, len(batches),
        codec, codec, True, batches[-1].partition_leader_epoch if batches[-1].magic == MAGIC_V2 else -1,
        tuple(epoch_starts))


def validate_and_assign_offsets(records, next_offset: int, now_ms: int, config: LogConfig,
                                leader_epoch: int = -1, *, require_single_v2_batch: bool = False,
                                allow_zstd: bool = True, log_start_offset: int = 0,
                                from_client: bool = True,
                                before_assign: Callable[[list[BatchInfo]], LogAppendInfo | None] | None = None,
                                ) -> ValidationResult:
    """Validate a leader append and assign offsets starting at ``next_offset``.

    ``records`` should be writable (a ``bytearray`` or a writable memoryview): v2
    batches are patched in place. A read-only buffer is copied once.
    ``require_single_v2_batch`` is Produce v3+'s rule; ``allow_zstd`` is False
    before Produce v7. Raises the typed errors of ``kafkapy.log.errors``.
    ``before_assign`` sees the checked entries before any offset is assigned (the producer
    state checks); when it returns an info, nothing is assigned and the result carries that
    info with no bytes (a duplicate batch).
    """
    view = memoryview(records)
    batches, valid = _scan(view, config.max_message_bytes)
    if require_single_v2_batch and (len(batches) != 1 or batches[0].magic != MAGIC_V2):
        raise InvalidRecordError("produce requests with version 3 or later must contain exactly one "
                                 "record batch with magic 2")
    if not batches:
        return ValidationResult(view[:0], LogAppendInfo(-1, -1, NO_TIMESTAMP, -1, NO_TIMESTAMP, log_start_offset,
                                                        0, 0, 0, 0, 0))
    if valid != len(view):
        view = view[:valid]
    to_magic = config.record_version
    source_codec = 0
    for b in batches:
        _check_crc(view, b)
        codec = b.compression
        if codec > 4:
            raise UnsupportedCompressionTypeError(f"unknown compression codec {codec}")
        if codec == CompressionType.ZSTD and (not allow_zstd or b.magic < MAGIC_V2):
            raise UnsupportedCompressionTypeError(
                "zstd compression needs produce request version 7 or later and magic 2")
        if codec:
            source_codec = codec
        _validate_batch(b, to_magic, from_client)
    if config.compact and from_client:
        _check_keys(view, batches)
    if before_assign is not None:
        duplicate = before_assign(batches)
        if duplicate is not None:
            return ValidationResult(view[:0], duplicate)
    tcodec = target_codec(config, source_codec)
    if tcodec == CompressionType.ZSTD and to_magic < MAGIC_V2:
        raise UnsupportedCompressionTypeError("zstd cannot be stored with a message format below 0.11")
    log_append = config.log_append_time
    max_diff = config.message_timestamp_difference_max_ms
    check_ts = not log_append and max_diff < LONG_MAX

    same_magic = all(b.magic == to_magic for b in batches)
    if same_magic and to_magic == MAGIC_V2 and all(b.compression == tcodec for b in batches):
        if view.readonly:
            view = memoryview(bytearray(view))
        return ValidationResult(view, _assign_v2_in_place(view, batches, next_offset, now_ms, leader_epoch,
                                                          log_append, check_ts, max_diff, source_codec,
                                                          tcodec, valid, log_start_offset))
    if same_magic and to_magic < MAGIC_V2 and tcodec == 0 and source_codec == 0:
        if view.readonly:
            view = memoryview(bytearray(view))
        return ValidationResult(view, _assign_legacy_uncompressed(view, batches, next_offset, now_ms,
                                                                  log_append, check_ts, max_diff, valid,
                                                                  log_start_offset))
    if same_magic and to_magic == MAGIC_V1 and tcodec == source_codec and len(batches) == 1:
        result = _assign_legacy_wrapper_in_place(view, batches[0], next_offset, now_ms, log_append, check_ts,
                                                 max_diff, valid, log_start_offset)
        if result is not None:
            return result
    return _rebuild(view, batches, next_offset, now_ms, config, leader_epoch, to_magic, source_codec, tcodec,
                    check_ts, max_diff, log_start_offset)


def _validate_batch(b: BatchInfo, to_magic: int, from_client: bool) -> None:
    if from_client:
        if b.magic == MAGIC_V2:
            if b.base_offset != 0:
                raise InvalidRecordError(f"the base offset of the record batch should be 0, but it is "
                                         f"{b.base_offset}")
            span = b.last_offset - b.base_offset + 1
            if span <= 0:
                raise InvalidRecordError(f"batch has an invalid offset range [{b.base_offset}, {b.last_offset}]")
            if b.record_count <= 0:
                raise InvalidRecordError(f"invalid reported count for record batch: {b.record_count}")
            if span != b.record_count:
                raise InvalidRecordError(f"inconsistent batch offset range [{b.base_offset}, {b.last_offset}] "
                                         f"and count of records {b.record_count}")
        if b.is_control:
            raise InvalidRecordError("clients are not allowed to write control records")
        if b.has_producer_id and b.base_sequence < 0:
            raise InvalidRecordError(f"invalid sequence number {b.base_sequence} in record batch with "
                                     f"producer id {b.producer_id}")
    if b.is_transactional and to_magic < MAGIC_V2:
        raise InvalidRecordError("transactional records cannot be used with magic below 2")
    if b.has_producer_id and to_magic < MAGIC_V2:
        raise InvalidRecordError("idempotent records cannot be used with magic below 2")


def _check_keys(view, batches: list[BatchInfo]) -> None:
    """Compacted topics need a key on every record (one of the few per-record rules)."""
    try:
        for b in batches:
            for r in records_of(view, b):
                if r.key is None:
                    raise InvalidRecordError("compacted topic cannot accept message without key")
    except RecordsInvalidError as exc:
        raise InvalidRecordError(f"invalid records in append: {exc}") from None
    except RecordsError as exc:
        raise CorruptRecordError(f"invalid records in append: {exc}") from None


def _check_timestamp(ts: int, now_ms: int, max_diff: int, where: str) -> None:
    if abs(ts - now_ms) > max_diff:
        raise InvalidTimestampError(
            f"timestamp {ts} of {where} is out of range: it must be within {max_diff} ms of {now_ms} "
            f"(message.timestamp.difference.max.ms)")


def _assign_v2_in_place(view, batches, next_offset, now_ms, leader_epoch, log_append, check_ts, max_diff,
                        source_codec, tcodec, valid, log_start_offset) -> LogAppendInfo:
    first = next_offset
    max_ts, offset_of_max = NO_TIMESTAMP, -1
    count = 0
    for b in batches:
        if check_ts and not b.is_control:
            _check_timestamp(b.max_timestamp, now_ms, max_diff, f"record batch at position {b.position}")
            if b.first_timestamp != b.max_timestamp:
                _check_timestamp(b.first_timestamp, now_ms, max_diff, f"record batch at position {b.position}")
        pos = b.position
        set_base_offset(view, pos, next_offset)
        set_partition_leader_epoch(view, pos, leader_epoch)
        last = next_offset + b.last_offset_delta
        if log_append:
            set_log_append_time(view, pos, now_ms)
        elif b.max_timestamp > max_ts:
            max_ts, offset_of_max = b.max_timestamp, last
        count += b.record_count
        next_offset = last + 1
    last_offset = next_offset - 1
    if log_append:
        max_ts, offset_of_max = now_ms, last_offset
    return LogAppendInfo(first, last_offset, max_ts, offset_of_max, now_ms if log_append else NO_TIMESTAMP,
                         log_start_offset, count, valid, len(batches), source_codec, tcodec, True,
                         leader_epoch, ((leader_epoch, first),) if leader_epoch >= 0 else ())


def _assign_legacy_uncompressed(view, batches, next_offset, now_ms, log_append, check_ts, max_diff, valid,
                                log_start_offset) -> LogAppendInfo:
    first = next_offset
    max_ts, offset_of_max = NO_TIMESTAMP, -1
    for b in batches:
        legacy_set_offset(view, b.position, next_offset)
        if b.magic == MAGIC_V1:
            if log_append:
                legacy_set_log_append_time(view, b.position, now_ms)
            else:
                if check_ts:
                    _check_timestamp(b.max_timestamp, now_ms, max_diff, f"message at position {b.position}")
                if b.max_timestamp > max_ts:
                    max_ts, offset_of_max = b.max_timestamp, next_offset
        next_offset += 1
    last = next_offset - 1
    if log_append and batches[0].magic == MAGIC_V1:
        max_ts, offset_of_max = now_ms, last
    return LogAppendInfo(first, last, max_ts, offset_of_max,
                         now_ms if log_append and batches[0].magic == MAGIC_V1 else NO_TIMESTAMP,
                         log_start_offset, len(batches), valid, len(batches), 0, 0)


def _assign_legacy_wrapper_in_place(view, b: BatchInfo, next_offset, now_ms, log_append, check_ts, max_diff,
                                    valid, log_start_offset) -> ValidationResult | None:
    """Magic 1 compressed wrapper: inner offsets are relative, so only the wrapper offset changes."""
    if not b.is_compressed:
        return None
    try:
        inner = list(iter_inner_messages(view, b))
    except RecordsError as exc:
        raise CorruptRecordError(f"invalid compressed message at position {b.position}: {exc}") from None
    if not inner:
        raise InvalidRecordError("compressed wrapper message has no inner messages")
    base = inner[-1].offset - (len(inner) - 1)
    if any(m.offset != base + i for i, m in enumerate(inner)) or any(not m.valid for m in inner):
        return None  # not sequential relative offsets: rebuild
    if check_ts:
        for m in inner:
            _check_timestamp(m.timestamp, now_ms, max_diff, "inner message")
    if view.readonly:
        view = memoryview(bytearray(view))
    last = next_offset + len(inner) - 1
    legacy_set_offset(view, b.position, last)
    if log_append:
        legacy_set_log_append_time(view, b.position, now_ms)
        max_ts, offset_of_max = now_ms, last
    else:
        # The time index records the shallow (wrapper) offset, as Kafka does.
        max_ts, offset_of_max = max(m.timestamp for m in inner), last
    return ValidationResult(view, LogAppendInfo(
        next_offset, last, max_ts, offset_of_max, now_ms if log_append else NO_TIMESTAMP, log_start_offset,
        len(inner), valid, 1, b.compression, b.compression))


def _rebuild(view, batches, next_offset, now_ms, config: LogConfig, leader_epoch, to_magic, source_codec,
             tcodec, check_ts, max_diff, log_start_offset) -> ValidationResult:
    """Re-encode every record in the stored format and codec (conversion or recompression)."""
    recs: list[SimpleRecord] = []
    first = batches[0]
    try:
        for b in batches:
            for r in records_of(view, b):
                ts = r.timestamp
                if check_ts and b.magic > MAGIC_V0:
                    _check_timestamp(ts, now_ms, max_diff, f"record at offset {r.offset}")
                recs.append(SimpleRecord(r.key, r.value, r.headers if to_magic == MAGIC_V2 else (), ts))
                if r.headers and to_magic < MAGIC_V2:
                    raise InvalidRecordError("record headers cannot be stored with magic below 2")
    except UnsupportedCompressionError as exc:
        raise UnsupportedCompressionTypeError(str(exc)) from None
    except RecordsInvalidError as exc:
        raise InvalidRecordError(f"invalid records in append: {exc}") from None
    except RecordsError as exc:
        raise CorruptRecordError(f"invalid records in append: {exc}") from None
    if not recs:
        raise InvalidRecordError("the append holds no records")
    log_append = config.log_append_time
    ts_type = TimestampType.LOG_APPEND_TIME if log_append else TimestampType.CREATE_TIME
    try:
        if to_magic == MAGIC_V2:
            data = build_batch(recs, base_offset=next_offset, compression=tcodec, timestamp_type=ts_type,
                               log_append_time=now_ms if log_append else None,
                               producer_id=first.producer_id, producer_epoch=first.producer_epoch,
                               base_sequence=first.base_sequence, is_transactional=first.is_transactional,
                               partition_leader_epoch=leader_epoch)
        else:
            data = build_message_set(recs, magic=to_magic, compression=tcodec, base_offset=next_offset,
                                     timestamp_type=ts_type if to_magic == MAGIC_V1 else TimestampType.CREATE_TIME,
                                     log_append_time=now_ms if log_append else None)
    except UnsupportedCompressionError as exc:
        raise UnsupportedCompressionTypeError(str(exc)) from None
    last = next_offset + len(recs) - 1
    if log_append and to_magic > MAGIC_V0:
        max_ts, offset_of_max = now_ms, last
    else:
        max_ts, offset_of_max = NO_TIMESTAMP, -1
        if to_magic > MAGIC_V0:
            for i, r in enumerate(recs):
                if r.timestamp is not None and r.timestamp > max_ts:
                    max_ts, offset_of_max = r.timestamp, next_offset + i
            if to_magic == MAGIC_V2 or tcodec:
                offset_of_max = last  # one entry: the time index holds its (shallow) offset
    out = bytearray(data)
    n_entries = sum(1 for _ in iter_batches(out))
    return ValidationResult(memoryview(out), LogAppendInfo(
        next_offset, last, max_ts, offset_of_max, now_ms if log_append else NO_TIMESTAMP, log_start_offset,
        len(recs), len(out), n_entries, source_codec, tcodec, True, leader_epoch,
        ((leader_epoch, next_offset),) if leader_epoch >= 0 and to_magic == MAGIC_V2 else ()))
