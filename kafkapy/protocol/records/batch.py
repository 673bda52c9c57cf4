"""Record batch v2 (magic 2): in-place header patches, builder and record iteration."""
from __future__ import annotations

import struct

from .constants import (
    ATTRIBUTES_OFFSET_V2,
    CRC_OFFSET_V2,
    MAGIC_OFFSET,
    MAGIC_V2,
    MAX_TIMESTAMP_OFFSET,
    PARTITION_LEADER_EPOCH_OFFSET,
    RECORD_BATCH_OVERHEAD,
    TIMESTAMP_TYPE_MASK,
    TimestampType,
)
from .crc import crc32c
from .errors import CorruptRecordError, InvalidRecordError

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
