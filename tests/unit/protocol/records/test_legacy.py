"""Magic 0/1 message sets: builder, wrappers, deep iteration, patches, kafka-python as a peer."""
from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.record import MemoryRecords, MemoryRecordsBuilder

from kafkapy.protocol.records import (
    CorruptRecordError,
    InvalidRecordError,
    Record,
    SimpleRecord,
    UnsupportedCompressionError,
    build_message_set,
    compress,
    decompress,
    iter_batches,
    iter_records,
    read_entry,
    scan_valid_prefix,
)
from kafkapy.protocol.records.legacy import (
    encode_message,
    iter_inner_messages,
    parse_message,
    set_log_append_time,
    set_offset,
)

from .strategies import SETTINGS, legacy_records
from .test_shallow import V0_HELLO, V1_HELLO

TS = 1600000000000


def test_worked_examples_byte_for_byte():
    assert encode_message(0, 1, None, b"hello", TS) == V1_HELLO
    assert encode_message(0, 0, None, b"hello") == V0_HELLO
    assert build_message_set([SimpleRecord(None, b"hello", (), TS)], magic=1) == V1_HELLO
    assert build_message_set([SimpleRecord(None, b"hello", (), TS)], magic=0) == V0_HELLO
    msg = parse_message(V1_HELLO)
    assert (msg.offset, msg.timestamp, msg.key, msg.value, msg.valid, msg.size) == (0, TS, None, b"hello", True, 39)


def _expected(records, magic, base_offset, log_append_time=None):
    return [Record(base_offset + i,
                   -1 if magic == 0 else (log_append_time if log_append_time is not None else r.timestamp),
                   r.key, r.value, ()) for i, r in enumerate(records)]


@SETTINGS
@given(records=legacy_records(), magic=st.integers(0, 1), codec=st.integers(0, 3),
       base_offset=st.integers(0, 2**40))
def test_round_trip_and_kafka_python_parses_ours(records, magic, codec, base_offset):
    data = build_message_set(records, magic=magic, compression=codec, base_offset=base_offset)
    scan = scan_valid_prefix(data)
    assert scan.error is None and scan.valid_end == len(data)
    last = base_offset + len(records) - 1
    if codec:
        (info,) = scan.batches
        assert info.base_offset == info.last_offset == last and info.compression == codec
        assert info.record_count == -1
        if magic == 1:
            assert info.max_timestamp == max(r.timestamp for r in records)
    else:
        assert [i.base_offset for i in scan.batches] == list(range(base_offset, last + 1))
    assert list(iter_records(data)) == _expected(records, magic, base_offset)

    peer = []
    mr = MemoryRecords(data)
    while mr.has_next():
        batch = mr.next_batch()
        assert batch.validate_crc()
        peer.extend((r.offset, r.timestamp if magic else -1, r.key, r.value) for r in batch)
    assert peer == [(r.offset, r.timestamp, r.key, r.value) for r in _expected(records, magic, base_offset)]


@SETTINGS
@given(records=legacy_records(), magic=st.integers(0, 1), codec=st.integers(0, 3))
def test_we_parse_kafka_python_message_sets(records, magic, codec):
    builder = MemoryRecordsBuilder(magic=magic, compression_type=codec, batch_size=10**8, offset=0)
    for r in records:
        assert builder.append(r.timestamp, r.key, r.value) is not None
    builder.close()
    data = bytes(builder.buffer())
    assert scan_valid_prefix(data).error is None
    assert list(iter_records(data)) == _expected(records, magic, 0)


def _inner_entries(data):
    info = read_entry(data, 0)
    wrapper = parse_message(data, 0)
    inner = decompress(info.compression, wrapper.value, magic=info.magic)
    return [i.base_offset for i in iter_batches(inner)], wrapper


@pytest.mark.parametrize("codec", [1, 2, 3])
def test_wrapper_offsets_relative_in_v1_absolute_in_v0(codec):
    recs = [SimpleRecord(b"k", b"v%d" % i, (), TS + i) for i in range(4)]
    v1 = build_message_set(recs, magic=1, compression=codec, base_offset=500)
    inner_offsets, wrapper = _inner_entries(v1)
    assert inner_offsets == [0, 1, 2, 3] and wrapper.offset == 503 and wrapper.key is None
    assert wrapper.timestamp == TS + 3
    v0 = build_message_set(recs, magic=0, compression=codec, base_offset=500)
    inner_offsets, wrapper = _inner_entries(v0)
    assert inner_offsets == [500, 501, 502, 503] and wrapper.offset == 503


def test_magic1_wrapper_offset_rebased_from_the_wrapper():
    data = bytearray(build_message_set([SimpleRecord(b"k", b"v", (), TS)] * 3, magic=1, compression=1))
    set_offset(data, 0, 77)     # the broker assigns the wrapper the last offset
    assert [r.offset for r in iter_records(data)] == [75, 76, 77]
    assert scan_valid_prefix(data).error is None


def test_log_append_time_wrapper_and_patch():
    recs = [SimpleRecord(b"k", b"v%d" % i, (), TS + i) for i in range(3)]
    built = build_message_set(recs, magic=1, compression=2, timestamp_type=1, log_append_time=TS + 50)
    assert [r.timestamp for r in iter_records(built)] == [TS + 50] * 3
    assert all(m.timestamp_type == 1 for m in iter_inner_messages(built, read_entry(built, 0)))
    data = bytearray(build_message_set(recs, magic=1, compression=2))
    set_log_append_time(data, 0, TS + 50)
    info = read_entry(data, 0)
    assert info.timestamp_type == 1 and info.max_timestamp == TS + 50
    assert scan_valid_prefix(data).error is None
    assert [r.timestamp for r in iter_records(data)] == [TS + 50] * 3
    peer = MemoryRecords(bytes(data)).next_batch()
    assert peer.validate_crc() and [r.timestamp for r in peer] == [TS + 50] * 3
    plain = bytearray(V1_HELLO)
    set_log_append_time(plain, 0, 5)
    assert parse_message(plain).timestamp == 5 and parse_message(plain).valid
    with pytest.raises(InvalidRecordError):
        set_log_append_time(bytearray(V0_HELLO), 0, 5)


def test_crc_is_zlib_crc32_from_magic():
    data = build_message_set([SimpleRecord(b"a", b"b", (), TS)] * 2, magic=1, compression=1)
    info = read_entry(data, 0)
    assert info.crc == zlib.crc32(data[16:info.end])


def test_rules():
    with pytest.raises(UnsupportedCompressionError):
        build_message_set([SimpleRecord(b"a", b"b", (), TS)], magic=1, compression=4)
    with pytest.raises(InvalidRecordError):
        build_message_set([SimpleRecord(b"a", b"b", (("h", b"x"),), TS)], magic=1)
    with pytest.raises(InvalidRecordError):
        build_message_set([SimpleRecord(b"a", b"b", (), TS)], magic=2)
    assert build_message_set([], magic=1) == b""


def test_magic1_wrapper_offset_zero_keeps_relative_offsets():
    """Producers (kafka-python, some librdkafka versions) send a magic 1 wrapper with offset 0."""
    data = bytearray(build_message_set([SimpleRecord(b"k", b"v", (), TS)] * 3, magic=1, compression=1))
    set_offset(data, 0, 0)
    assert [r.offset for r in iter_records(data)] == [0, 1, 2]


def test_empty_wrapper_is_invalid():
    empty = encode_message(0, 1, None, compress(1, b"", magic=1), TS, attributes=1)
    with pytest.raises(InvalidRecordError):
        list(iter_records(empty))


def test_nested_wrapper_and_magic_mismatch_are_invalid():
    inner = build_message_set([SimpleRecord(b"a", b"b", (), TS)], magic=1, compression=1)
    nested = encode_message(0, 1, None, compress(1, inner, magic=1), TS, attributes=1)
    with pytest.raises(InvalidRecordError):
        list(iter_records(nested))
    v0_inside_v1 = encode_message(0, 1, None, compress(1, V0_HELLO, magic=1), TS, attributes=1)
    with pytest.raises(InvalidRecordError):
        list(iter_records(v0_inside_v1))


def test_malformed_messages_are_corrupt():
    bad = bytearray(V1_HELLO)
    struct.pack_into(">i", bad, 30, 6)   # value length runs past the end
    with pytest.raises(CorruptRecordError):
        parse_message(bad)
    bad = bytearray(V1_HELLO)
    struct.pack_into(">i", bad, 30, 4)   # a byte left over
    with pytest.raises(CorruptRecordError):
        parse_message(bad)
    bad = bytearray(V0_HELLO)
    bad[-1] ^= 1
    assert not parse_message(bad).valid
    garbage = encode_message(3, 1, None, b"not gzip", TS, attributes=1)
    with pytest.raises(CorruptRecordError):
        list(iter_records(garbage))


@SETTINGS
@given(records=legacy_records(max_size=5), magic=st.integers(0, 1), codec=st.integers(1, 3), data=st.data())
def test_mangled_inner_message_sets_raise_only_records_errors(records, magic, codec, data):
    """Random damage to a wrapper's inner message set (wrapper CRC valid, as a buggy producer would send)."""
    from kafkapy.protocol.records import RecordsError

    inner = bytearray(build_message_set(records, magic=magic, base_offset=0))
    for _ in range(data.draw(st.integers(1, 4))):
        inner[data.draw(st.integers(0, len(inner) - 1))] = data.draw(st.integers(0, 255))
    inner = inner[:data.draw(st.integers(0, len(inner)))]
    wrapper = encode_message(9, magic, None, compress(codec, bytes(inner), magic=magic), TS, attributes=codec)
    assert scan_valid_prefix(wrapper).error is None
    try:
        list(iter_records(wrapper))
    except RecordsError:
        pass
