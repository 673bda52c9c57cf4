"""Control records and end-transaction marker batches."""
from __future__ import annotations

import pytest
from kafka.record import MemoryRecords

from kafkapy.protocol.records import (
    ControlRecordType,
    EndTransactionMarker,
    InvalidRecordError,
    Record,
    build_end_txn_marker_batch,
    decode_control_key,
    decode_end_txn_marker,
    iter_records,
    read_entry,
)
from kafkapy.protocol.records.control import encode_control_key, encode_end_txn_marker_value

from .test_shallow import V2_COMMIT

TS = 1600000000000


def test_commit_marker_worked_example_byte_for_byte():
    built = build_end_txn_marker_batch(ControlRecordType.COMMIT, producer_id=1000, producer_epoch=0,
                                       coordinator_epoch=0, base_offset=5, timestamp=TS)
    assert built == V2_COMMIT


@pytest.mark.parametrize("ctype", [ControlRecordType.ABORT, ControlRecordType.COMMIT])
def test_marker_round_trip_and_peer(ctype):
    data = build_end_txn_marker_batch(ctype, producer_id=77, producer_epoch=3, coordinator_epoch=12,
                                      base_offset=9, timestamp=TS, partition_leader_epoch=4)
    info = read_entry(data, 0)
    assert info.is_control and info.is_transactional and info.attributes == 0x30
    assert (info.producer_id, info.producer_epoch, info.partition_leader_epoch) == (77, 3, 4)
    (rec,) = iter_records(data)
    assert decode_end_txn_marker(rec) == EndTransactionMarker(ctype, 12)
    peer = MemoryRecords(data).next_batch()
    assert peer.is_control_batch and peer.validate_crc()
    (prec,) = list(peer)
    assert prec.type == int(ctype) and prec.offset == 9


def test_key_decoding():
    assert decode_control_key(encode_control_key(1)) == (0, ControlRecordType.COMMIT)
    assert decode_control_key(encode_control_key(9)) == (0, ControlRecordType.UNKNOWN)
    assert decode_control_key(b"\x00\x01\x00\x00extra") == (1, ControlRecordType.ABORT)
    for bad in (None, b"", b"\x00\x00\x00"):
        with pytest.raises(InvalidRecordError):
            decode_control_key(bad)


def test_marker_value_errors():
    key = encode_control_key(ControlRecordType.ABORT)
    with pytest.raises(InvalidRecordError):
        decode_end_txn_marker(Record(0, TS, key, b"\x00\x00\x00"))
    with pytest.raises(InvalidRecordError):
        decode_end_txn_marker(Record(0, TS, encode_control_key(3), encode_end_txn_marker_value(1)))
    with pytest.raises(InvalidRecordError):
        build_end_txn_marker_batch(ControlRecordType.LEADER_CHANGE, producer_id=1, producer_epoch=0,
                                   coordinator_epoch=0)
