"""Kafka's record formats: v0/v1 message sets, v2 record batches, checksums, codecs.

Shallow, batch-level API (what the log and the broker use; stable names):

- ``BatchInfo``: immutable NamedTuple with the decoded header of one entry (a v2 batch or a
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

Per-record APIs (clients, tools, cleaner, tests; never the produce path):

- ``Record(offset, timestamp, key, value, headers)`` (NamedTuple); builder input
  ``SimpleRecord(key, value, headers=(), timestamp=None, offset_delta=None)``.
- ``build_batch(records, *, base_offset=0, compression=0, timestamp_type=0,
  log_append_time=None, producer_id=-1, producer_epoch=-1, base_sequence=-1,
  is_transactional=False, is_control=False, partition_leader_epoch=-1,
  last_offset_delta=None, compression_level=None) -> bytes`` (magic 2);
  ``build_empty_batch(info) -> bytes``: the header of a v2 batch with no records.
- ``RecordBatch.at(buf, pos)``: ``.info``, ``.is_valid()``, ``.ensure_valid()``,
  ``.records(max_size)``; ``iter_batch_records(buf, pos)``.
- ``build_message_set(records, *, magic=1, compression=0, base_offset=0,
  timestamp_type=0, log_append_time=None) -> bytes`` (magic 0/1, one wrapper
  when compressed); ``legacy.iter_inner_messages(buf, info)`` yields
  ``LegacyMessage`` (with crc and validity) for tools.
- ``records_of(buf, info)`` and ``iter_records(buf, start=0, end=None)``: deep
  iteration over any mix of formats.
- ``compress(codec, data, magic=2)``, ``decompress(codec, data, magic=2,
  max_size=DEFAULT_MAX_DECOMPRESSED_BYTES)``.
- ``control``: ``ControlRecordType``, ``EndTransactionMarker``,
  ``decode_control_key``, ``decode_end_txn_marker``, ``build_end_txn_marker_batch``.
"""
from __future__ import annotations

from .batch import (
    RecordBatch,
    build_batch,
    build_empty_batch,
    iter_batch_records,
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
from .compression import DEFAULT_MAX_DECOMPRESSED_BYTES, compress, decompress
from .control import (
    ControlRecordType,
    EndTransactionMarker,
    build_end_txn_marker_batch,
    decode_control_key,
    decode_end_txn_marker,
)
from .crc import HARDWARE_CRC32C, crc32, crc32c
from .deep import iter_records, records_of
from .errors import (
    CorruptRecordError,
    CrcMismatchError,
    DecompressionLimitError,
    InvalidRecordError,
    RecordsError,
    UnsupportedCompressionError,
)
from .legacy import LegacyMessage, build_message_set
from .record import Record, SimpleRecord
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
    "CompressionType", "TimestampType", "crc32", "crc32c", "HARDWARE_CRC32C",
    "RecordsError", "CorruptRecordError", "CrcMismatchError", "DecompressionLimitError",
    "InvalidRecordError", "UnsupportedCompressionError",
    "Record", "SimpleRecord", "RecordBatch", "build_batch", "build_empty_batch", "iter_batch_records",
    "LegacyMessage", "build_message_set", "records_of", "iter_records",
    "compress", "decompress", "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "ControlRecordType", "EndTransactionMarker", "build_end_txn_marker_batch",
    "decode_control_key", "decode_end_txn_marker",
]
