"""Kafka's record formats: v0/v1 message sets, v2 record batches, checksums, codecs.

Shallow, batch-level API (what the log and the broker use; stable names):

- ``BatchInfo``: frozen value with the decoded header of one entry (a v2 batch or a
  legacy message, maybe a compressed wrapper): ``position``, ``size`` (including
  the 12-byte offset+length prefix), ``magic``, ``base_offset``, ``last_offset``,
  ``partition_leader_epoch``, ``attributes``, ``crc``, ``first_timestamp``,
  ``max_timestamp``, ``producer_id``, ``producer_epoch``, ``base_sequence``,
  ``record_count``; properties ``end``, ``next_offset``, ``last_offset_delta``,
  ``compression``, ``is_compressed``, ``timestamp_type``, ``is_transactional``,
  ``is_control``, ``has_producer_id``, ``last_sequence``.
- ``iter_batches(buf, start=0, end=None, max_size=None) -> Iterator[BatchInfo]``:
  shallow walk, no CRC check; stops cleanly at a truncated tail; raises
  ``CorruptRecordError`` for impossible sizes or magic.
- ``read_entry(buf, pos, end=None, max_size=None) -> BatchInfo | None``: one header.
- ``scan_valid_prefix(buf, start=0, end=None, max_size=None) -> ValidPrefix``:
  ``(valid_end, batches, error)``; walks and verifies every CRC, never raises.
- ``verify_crc(buf, info) -> bool``, ``ensure_valid(buf, info)`` (raises
  ``CrcMismatchError``), ``compute_crc(buf, info) -> int``.
- In-place patches of a v2 batch in a writable buffer (``bytearray`` or writable
  memoryview): ``set_base_offset(buf, pos, offset)``,
  ``set_partition_leader_epoch(buf, pos, epoch)`` (no CRC change),
  ``set_max_timestamp(buf, pos, timestamp_type, ts)``,
  ``set_log_append_time(buf, pos, ts)`` (CRC recomputed), ``write_crc(buf, pos)``.

Errors (all ``ValueError``): ``RecordsError`` > ``CorruptRecordError`` >
(``CrcMismatchError``, ``DecompressionLimitError``); ``RecordsError`` >
``InvalidRecordError`` > ``UnsupportedCompressionError``.

Per-record APIs (clients, tools, cleaner, tests; never the produce path) live in
``batch`` (v2), ``legacy`` (v0/v1), ``control`` and ``compression``.
"""
from __future__ import annotations

from .batch import (
    set_base_offset,
    set_log_append_time,
    set_max_timestamp,
    set_partition_leader_epoch,
    write_crc,
)
from .constants import (
    LOG_OVERHEAD,
    MAGIC_V0,
    MAGIC_V1,
    MAGIC_V2,
    RECORD_BATCH_OVERHEAD,
    CompressionType,
    TimestampType,
)
from .crc import crc32, crc32c
from .errors import (
    CorruptRecordError,
    CrcMismatchError,
    DecompressionLimitError,
    InvalidRecordError,
    RecordsError,
    UnsupportedCompressionError,
)
from .shallow import (
    BatchInfo,
    ValidPrefix,
    compute_crc,
    ensure_valid,
    iter_batches,
    read_entry,
    scan_valid_prefix,
    verify_crc,
)

__all__ = [
    "BatchInfo", "ValidPrefix", "iter_batches", "read_entry", "scan_valid_prefix",
    "compute_crc", "verify_crc", "ensure_valid",
    "set_base_offset", "set_partition_leader_epoch", "set_max_timestamp", "set_log_append_time", "write_crc",
    "LOG_OVERHEAD", "RECORD_BATCH_OVERHEAD", "MAGIC_V0", "MAGIC_V1", "MAGIC_V2",
    "CompressionType", "TimestampType", "crc32", "crc32c",
    "RecordsError", "CorruptRecordError", "CrcMismatchError", "DecompressionLimitError",
    "InvalidRecordError", "UnsupportedCompressionError",
]
