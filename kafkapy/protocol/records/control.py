"""Control records (protocol.md §6.4): transaction end markers in control batches.

Key: version int16 (0) + type int16. Value of ABORT/COMMIT markers: version
int16 (0) + coordinator_epoch int32.
"""
from __future__ import annotations

import enum
import logging
import struct
from dataclasses import dataclass

from .batch import build_batch
from .constants import NO_PARTITION_LEADER_EPOCH
from .errors import InvalidRecordError
from .record import Record, SimpleRecord

logger = logging.getLogger(__name__)

__all__ = [
    "ControlRecordType",
    "EndTransactionMarker",
    "CONTROL_KEY_VERSION",
    "END_TXN_MARKER_VERSION",
    "encode_control_key",
    "decode_control_key",
    "encode_end_txn_marker_value",
    "decode_end_txn_marker",
    "build_end_txn_marker_batch",
]

CONTROL_KEY_VERSION = 0
END_TXN_MARKER_VERSION = 0
_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")


class ControlRecordType(enum.IntEnum):
    UNKNOWN = -1
    ABORT = 0
    COMMIT = 1
    QUORUM_REASSIGNMENT = 2   # KRaft only
    LEADER_CHANGE = 3         # KRaft only

    @classmethod
    def parse(cls, value: int) -> "ControlRecordType":
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True, slots=True)
class EndTransactionMarker:
    control_type: ControlRecordType   # ABORT or COMMIT
    coordinator_epoch: int


def encode_control_key(control_type: int, version: int = CONTROL_KEY_VERSION) -> bytes:
    return _KEY.pack(version, control_type)


def decode_control_key(key) -> tuple[int, ControlRecordType]:
    """Return ``(version, type)``; unknown types decode as UNKNOWN."""
    if key is None or len(key) < _KEY.size:
        raise InvalidRecordError("control record key is too short")
    version, ctype = _KEY.unpack_from(key, 0)
    if version < 0:
        raise InvalidRecordError(f"invalid control record key version {version}")
    if version > CONTROL_KEY_VERSION:
        logger.debug("control record key version %d is newer than %d", version, CONTROL_KEY_VERSION)
    return version, ControlRecordType.parse(ctype)


def encode_end_txn_marker_value(coordinator_epoch: int, version: int = END_TXN_MARKER_VERSION) -> bytes:
    return _VALUE.pack(version, coordinator_epoch)


def decode_end_txn_marker(record: Record) -> EndTransactionMarker:
    """Decode an ABORT/COMMIT control record (key and value)."""
    _, ctype = decode_control_key(record.key)
    if ctype not in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
        raise InvalidRecordError(f"control record type {ctype.name} is not an end transaction marker")
    value = record.value
    if value is None or len(value) < _VALUE.size:
        raise InvalidRecordError("end transaction marker value is too short")
    version, coordinator_epoch = _VALUE.unpack_from(value, 0)
    if version < 0:
        raise InvalidRecordError(f"invalid end transaction marker version {version}")
    if version > END_TXN_MARKER_VERSION:
        logger.debug("end transaction marker version %d is newer than %d", version, END_TXN_MARKER_VERSION)
    return EndTransactionMarker(ctype, coordinator_epoch)


def build_end_txn_marker_batch(
    control_type: int,
    *,
    producer_id: int,
    producer_epoch: int,
    coordinator_epoch: int,
    base_offset: int = 0,
    timestamp: int | None = None,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
) -> bytes:
    """A transactional control batch holding one ABORT or COMMIT marker."""
    if control_type not in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
        raise InvalidRecordError(f"{control_type} is not an end transaction marker type")
    record = SimpleRecord(encode_control_key(control_type), encode_end_txn_marker_value(coordinator_epoch),
                          (), timestamp)
    return build_batch([record], base_offset=base_offset, producer_id=producer_id,
                       producer_epoch=producer_epoch, is_transactional=True, is_control=True,
                       partition_leader_epoch=partition_leader_epoch)
