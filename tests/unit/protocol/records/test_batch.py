"""Magic 2 record batches: builder, record iteration, patches, kafka-python as an independent peer."""
from __future__ import annotations

import struct

import crc32c as crc32c_pkg
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.record import MemoryRecords, MemoryRecordsBuilder

from kafkapy.protocol.records import (
    RECORD_BATCH_OVERHEAD,
    CorruptRecordError,
    InvalidRecordError,
    Record,
    RecordBatch,
    RecordsError,
    SimpleRecord,
    build_batch,
    build_empty_batch,
    build_message_set,
    iter_records,
    read_entry,
    scan_valid_prefix,
    set_base_offset,
    set_log_append_time,
    set_partition_leader_epoch,
    write_crc,
)
from kafkapy.protocol.records.batch import encode_record

from .strategies import SETTINGS, v2_records
from .test_shallow import V2_HELLO

TS = 1600000000000


def expected_records(records, base_offset, log_append_time=None):
    return [Record(base_offset + i, log_append_time if log_append_time is not None else r.timestamp,
                   r.key, r.value, tuple(r.headers)) for i, r in enumerate(records)]


def test_worked_examples_byte_for_byte():
    assert build_batch([SimpleRecord(None, b"hello", timestamp=TS)]) == V2_HELLO
    two = build_batch([SimpleRecord(b"k1", b"v1", timestamp=TS), SimpleRecord(b"k2", b"v2", timestamp=TS)])
    assert len(two) == 61 + 22
    assert two[17:21] == bytes.fromhex("d5391980")
    assert two[23:27] == struct.pack(">i", 1)
    assert two[61:] == bytes.fromhex("14000000046b3104763100" "14000002046b3204763200")


def test_record_encoding_examples():
    assert encode_record(0, 0, None, b"hello") == bytes.fromhex("16000000010a68656c6c6f00")
    assert encode_record(1, -1, b"", None, [("a", None)]) == bytes.fromhex("12 00 01 02 00 01 02 02 61 01".replace(" ", ""))


@SETTINGS
@given(records=v2_records(), codec=st.integers(0, 4), base_offset=st.integers(0, 2**40),
       producer=st.sampled_from([(-1, -1, -1, False), (1000, 3, 0, False), (7, 0, 2**31 - 5, True)]))
def test_round_trip_and_kafka_python_parses_ours(records, codec, base_offset, producer):
    pid, epoch, seq, txn = producer
    data = build_batch(records, base_offset=base_offset, compression=codec, producer_id=pid,
                       producer_epoch=epoch, base_sequence=seq, is_transactional=txn)
    batch = RecordBatch.at(data)
    info = batch.info
    assert info.size == len(data) and info.compression == codec and info.magic == 2
    assert (info.producer_id, info.producer_epoch, info.base_sequence, info.is_transactional) == producer
    assert info.record_count == len(records) and info.last_offset == base_offset + len(records) - 1
    assert info.first_timestamp == records[0].timestamp
    assert info.max_timestamp == max(r.timestamp for r in records)
    assert info.crc == crc32c_pkg.crc32c(data[21:]) and batch.is_valid()
    got = list(batch.records())
    assert got == expected_records(records, base_offset)
    assert list(iter_records(data)) == got

    peer = MemoryRecords(data).next_batch()
    assert peer.validate_crc()
    assert (peer.base_offset, peer.producer_id, peer.producer_epoch, peer.base_sequence) == (
        base_offset, pid, epoch, seq)
    assert peer.is_transactional == txn and peer.compression_type == codec
    theirs = [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in peer]
    assert theirs == [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in got]


@SETTINGS
@given(records=v2_records(), codec=st.integers(0, 4))
def test_we_parse_kafka_python_batches(records, codec):
    builder = MemoryRecordsBuilder(magic=2, compression_type=codec, batch_size=10**8, offset=0)
    for r in records:
        assert builder.append(r.timestamp, r.key, r.value, [(k, v) for k, v in r.headers]) is not None
    builder.close()
    data = bytes(builder.buffer())
    (info,) = scan_valid_prefix(data).batches
    # kafka-python stores uncompressed when compression does not help
    assert info.compression in (codec, 0) and info.record_count == len(records)
    assert list(iter_records(data)) == expected_records(records, 0)


def test_log_append_time_builder_and_patch_agree_with_peer():
    recs = [SimpleRecord(b"k", b"v%d" % i, (), TS + i) for i in range(3)]
    built = build_batch(recs, timestamp_type=1, log_append_time=TS + 99, base_offset=4)
    assert [r.timestamp for r in RecordBatch.at(built)] == [TS + 99] * 3
    patched = bytearray(build_batch(recs, base_offset=4))
    set_log_append_time(patched, 0, TS + 99)
    assert bytes(patched) == built
    peer = MemoryRecords(bytes(patched)).next_batch()
    assert peer.validate_crc() and peer.timestamp_type == 1
    assert [r.timestamp for r in peer] == [TS + 99] * 3


def test_offset_and_leader_epoch_patches_do_not_touch_crc():
    data = bytearray(build_batch([SimpleRecord(b"a", b"b", (), TS)] * 3, compression=1))
    before = bytes(data[17:])
    set_base_offset(data, 0, 10**12)
    set_partition_leader_epoch(data, 0, 42)
    assert bytes(data[17:]) == before
    info = read_entry(data, 0)
    assert (info.base_offset, info.last_offset, info.partition_leader_epoch) == (10**12, 10**12 + 2, 42)
    assert [r.offset for r in RecordBatch.at(data)] == [10**12, 10**12 + 1, 10**12 + 2]


def test_offset_delta_gaps_and_kept_last_offset_delta():
    recs = [SimpleRecord(b"a", b"1", (), TS, 0), SimpleRecord(b"b", b"2", (), TS, 5)]
    data = build_batch(recs, base_offset=100, last_offset_delta=9)
    info = read_entry(data, 0)
    assert info.last_offset == 109 and info.record_count == 2
    assert [r.offset for r in RecordBatch.at(data)] == [100, 105]
    empty = build_batch([], base_offset=50, last_offset_delta=4, producer_id=3, producer_epoch=1,
                        base_sequence=10)
    e = read_entry(empty, 0)
    assert (e.record_count, e.base_offset, e.last_offset, e.last_sequence) == (0, 50, 54, 14)
    assert list(RecordBatch.at(empty)) == []
    with pytest.raises(InvalidRecordError):
        build_batch(recs, last_offset_delta=3)


def _refix(data: bytearray) -> bytearray:
    write_crc(data, 0)
    return data


def test_records_count_mismatch_is_corrupt():
    data = bytearray(build_batch([SimpleRecord(b"a", b"b", (), TS)] * 3))
    struct.pack_into(">i", data, 57 + 2, 2)
    with pytest.raises(CorruptRecordError):
        list(RecordBatch.at(_refix(data)))
    struct.pack_into(">i", data, 59, 4)
    with pytest.raises(CorruptRecordError):
        list(RecordBatch.at(_refix(data)))
    struct.pack_into(">i", data, 59, -1)
    with pytest.raises(CorruptRecordError):
        list(RecordBatch.at(_refix(data)))


def test_corrupt_compressed_payload_is_corrupt():
    data = bytearray(build_batch([SimpleRecord(b"a", b"b" * 100, (), TS)] * 30, compression=3))
    data[70:80] = b"\xff" * 10
    with pytest.raises(CorruptRecordError):
        list(RecordBatch.at(_refix(data)))


def test_decompression_limit_applies_to_batches():
    data = build_batch([SimpleRecord(None, b"\0" * 100000, (), TS)] * 20, compression=4)
    with pytest.raises(CorruptRecordError):
        list(RecordBatch.at(data).records(max_size=1_000_000))
    assert len(list(RecordBatch.at(data).records(max_size=3_000_000))) == 20


@SETTINGS
@given(records=v2_records(max_size=5), codec=st.integers(0, 4), data=st.data())
def test_mangled_record_bytes_raise_only_records_errors(records, codec, data):
    """Random changes to the record area (CRC fixed up, as if written by a buggy producer)."""
    raw = bytearray(build_batch(records))
    body = bytearray(raw[61:])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(body)))
    body = body[:cut] if data.draw(st.booleans()) else body
    rebuilt = bytearray(raw[:61])
    from kafkapy.protocol.records import compress
    rebuilt[21:23] = struct.pack(">h", codec)
    rebuilt += compress(codec, bytes(body)) if codec else body
    struct.pack_into(">i", rebuilt, 8, len(rebuilt) - 12)
    _refix(rebuilt)
    try:
        list(RecordBatch.at(rebuilt))
    except RecordsError:
        pass


def test_builder_rejects_bad_input():
    with pytest.raises(InvalidRecordError):
        build_batch([SimpleRecord(b"a", b"b", (), TS)], timestamp_type=1)
    with pytest.raises(InvalidRecordError):
        build_batch([SimpleRecord(b"a", b"b", (), TS)], timestamp_type=-1)
    with pytest.raises(InvalidRecordError):
        build_batch([SimpleRecord(b"a", b"b", ((None, b""),), TS)])


def test_multi_byte_varints_everywhere_agree_with_kafka_python():
    headers = tuple((f"h{i}", None if i % 3 == 0 else b"x" * i) for i in range(70))
    recs = [SimpleRecord(b"k" * (i % 200), b"v" * (i * 37 % 5000), headers if i == 7 else (), TS + i * 100003,
                         i * 3) for i in range(300)]
    data = build_batch(recs, base_offset=10**9, compression=0)
    got = list(RecordBatch.at(data))
    assert [r.offset for r in got] == [10**9 + 3 * i for i in range(300)]
    assert [r.timestamp for r in got] == [TS + i * 100003 for i in range(300)]
    assert got[7].headers == headers and got[8].headers == ()
    peer = list(MemoryRecords(data).next_batch())
    assert [(r.offset, r.timestamp, r.key, r.value, tuple(r.headers)) for r in peer] == [tuple(r) for r in got]


@pytest.mark.parametrize("codec,ts_type,txn", [(0, 0, False), (1, 1, False), (3, 0, True)])
def test_empty_batch_keeps_the_header_of_the_batch(codec, ts_type, txn):
    """What the cleaner keeps of a producer's last batch: Kafka's empty header (no records, no codec)."""
    full = build_batch([SimpleRecord(b"a", b"b", (), TS + i) for i in range(4)], base_offset=40, compression=codec,
                       timestamp_type=ts_type, log_append_time=TS + 50 if ts_type else None, producer_id=9,
                       producer_epoch=3, base_sequence=100, is_transactional=txn, partition_leader_epoch=6)
    src = read_entry(full, 0)
    data = build_empty_batch(src)
    info = read_entry(data, 0)
    assert len(data) == info.size == RECORD_BATCH_OVERHEAD
    assert (info.base_offset, info.last_offset, info.partition_leader_epoch, info.producer_id, info.producer_epoch,
            info.base_sequence, info.last_sequence, info.max_timestamp, info.timestamp_type, info.is_transactional) \
        == (40, 43, 6, 9, 3, 100, 103, src.max_timestamp, ts_type, txn)
    assert (info.record_count, info.compression, info.first_timestamp, info.is_control) == (0, 0, -1, False)
    assert list(iter_records(data)) == []
    peer = MemoryRecords(data).next_batch()          # kafka-python reads it and finds no records
    assert peer.validate_crc() and list(peer) == []
    assert (peer.base_offset, peer.producer_id, peer.producer_epoch, peer.base_sequence) == (40, 9, 3, 100)
    with pytest.raises(InvalidRecordError):
        build_empty_batch(read_entry(build_message_set([SimpleRecord(b"a", b"b", (), TS)], magic=1), 0))
