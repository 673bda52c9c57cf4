from __future__ import annotations

import struct

import pytest

from kafkapy.log.config import LogConfig
from kafkapy.log.errors import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    RecordTooLargeError,
    UnexpectedAppendOffsetError,
    UnsupportedCompressionTypeError,
)
from kafkapy.log.validator import analyze_follower_records, validate_and_assign_offsets
from kafkapy.protocol.records import (
    SimpleRecord,
    build_batch,
    build_message_set,
    iter_batches,
    records_of,
    verify_crc,
)
from kafkapy.protocol.records.control import build_end_txn_marker_batch

from .helpers import batch

NOW = 1_600_000_000_000


def records(buf):
    out = []
    for info in iter_batches(buf):
        out.extend(records_of(buf, info))
    return out


def test_v2_offsets_assigned_in_place():
    data = batch(3) + batch(2, start=3)
    orig = bytes(data)
    res = validate_and_assign_offsets(data, 100, NOW, LogConfig(), leader_epoch=7)
    info = res.info
    assert (info.first_offset, info.last_offset, info.record_count, info.shallow_count) == (100, 104, 5, 2)
    assert info.max_timestamp == NOW + 2 and info.offset_of_max_timestamp == 102
    assert info.epoch_starts == ((7, 100),)
    # patched in the caller's buffer, no copy
    assert res.records.obj is data
    batches = list(iter_batches(data))
    assert [(b.base_offset, b.last_offset, b.partition_leader_epoch) for b in batches] == [(100, 102, 7), (103, 104, 7)]
    assert all(verify_crc(data, b) for b in batches)
    # only base_offset and partition_leader_epoch changed
    for b in batches:
        assert data[b.position + 16:b.end] == orig[b.position + 16:b.end]
    assert [r.offset for r in records(data)] == list(range(100, 105))


def test_log_append_time_sets_max_timestamp_and_crc():
    data = batch(2, ts=5)
    res = validate_and_assign_offsets(data, 0, NOW, LogConfig(message_timestamp_type="LogAppendTime"), 1)
    b = next(iter_batches(data))
    assert b.timestamp_type == 1 and b.max_timestamp == NOW and verify_crc(data, b)
    assert res.info.log_append_time == NOW and res.info.max_timestamp == NOW
    assert [r.timestamp for r in records(data)] == [NOW, NOW]


def test_read_only_buffer_is_copied_once():
    data = bytes(batch(1))
    res = validate_and_assign_offsets(memoryview(data), 5, NOW, LogConfig())
    assert next(iter_batches(res.records)).base_offset == 5
    assert next(iter_batches(data)).base_offset == 0


def test_corrupt_crc_rejected():
    data = batch(2)
    data[-1] ^= 0xFF
    with pytest.raises(CorruptRecordError):
        validate_and_assign_offsets(data, 0, NOW, LogConfig())
    assert CorruptRecordError.code == 2


def test_impossible_size_is_corrupt():
    data = batch(1)
    struct.pack_into(">i", data, 8, 3)
    with pytest.raises(CorruptRecordError):
        validate_and_assign_offsets(data, 0, NOW, LogConfig())


def test_partial_tail_is_dropped():
    data = batch(1) + batch(1)[:30]
    res = validate_and_assign_offsets(data, 0, NOW, LogConfig())
    assert len(res.records) == len(batch(1)) and res.info.shallow_count == 1


def test_record_too_large():
    data = batch(1, value_size=2000)
    with pytest.raises(RecordTooLargeError) as exc:
        validate_and_assign_offsets(data, 0, NOW, LogConfig(max_message_bytes=1000))
    assert exc.value.code == 10


def test_produce_v3_needs_exactly_one_v2_batch():
    with pytest.raises(InvalidRecordError):
        validate_and_assign_offsets(batch(1) + batch(1), 0, NOW, LogConfig(), require_single_v2_batch=True)
    legacy = bytearray(build_message_set([SimpleRecord(None, b"x", timestamp=NOW)], magic=1))
    with pytest.raises(InvalidRecordError):
        validate_and_assign_offsets(legacy, 0, NOW, LogConfig(), require_single_v2_batch=True)
    with pytest.raises(InvalidRecordError):
        validate_and_assign_offsets(bytearray(), 0, NOW, LogConfig(), require_single_v2_batch=True)
    assert validate_and_assign_offsets(batch(1), 0, NOW, LogConfig(), require_single_v2_batch=True).info.last_offset == 0


def test_client_control_batch_rejected():
    data = bytearray(build_end_txn_marker_batch(1, producer_id=1, producer_epoch=0, coordinator_epoch=0,
                                                timestamp=NOW))
    struct.pack_into(">q", data, 0, 0)
    with pytest.raises(InvalidRecordError):
        validate_and_assign_offsets(data, 0, NOW, LogConfig())


def test_nonzero_base_offset_and_bad_count_rejected():
    data = bytearray(build_batch([SimpleRecord(None, b"a", timestamp=NOW)], base_offset=3))
    with pytest.raises(InvalidRecordError):
        validate_and_assign_offsets(data, 0, NOW, LogConfig())


def test_timestamp_difference_checked_for_create_time():
    cfg = LogConfig(message_timestamp_difference_max_ms=1000)
    with pytest.raises(InvalidTimestampError) as exc:
        validate_and_assign_offsets(batch(1, ts=NOW - 5000), 0, NOW, cfg)
    assert exc.value.code == 32
    validate_and_assign_offsets(batch(1, ts=NOW - 500), 0, NOW, cfg)
    # LogAppendTime ignores the producer's timestamps
    validate_and_assign_offsets(batch(1, ts=0), 0, NOW, cfg.replace(message_timestamp_type="LogAppendTime"))


def test_zstd_needs_produce_v7():
    data = batch(2, compression=4)
    with pytest.raises(UnsupportedCompressionTypeError) as exc:
        validate_and_assign_offsets(data, 0, NOW, LogConfig(), allow_zstd=False)
    assert exc.value.code == 76
    assert validate_and_assign_offsets(batch(2, compression=4), 0, NOW, LogConfig()).info.record_count == 2


def test_compressed_v2_kept_in_place():
    data = batch(5, compression=1)
    res = validate_and_assign_offsets(data, 10, NOW, LogConfig(), 2)
    assert res.records.obj is data
    assert [r.offset for r in records(res.records)] == list(range(10, 15))
    assert res.info.source_codec == res.info.target_codec == 1


def test_topic_compression_recompresses():
    data = batch(4, compression=0)
    res = validate_and_assign_offsets(data, 10, NOW, LogConfig(compression_type="lz4"), 2)
    b = next(iter_batches(res.records))
    assert b.compression == 3 and b.base_offset == 10 and b.partition_leader_epoch == 2
    assert [r.value for r in records(res.records)] == [r.value for r in records(batch(4))]
    assert res.info.target_codec == 3


def test_legacy_uncompressed_converted_to_v2_by_default():
    data = bytearray(build_message_set([SimpleRecord(b"k", b"v%d" % i, timestamp=NOW + i) for i in range(3)],
                                       magic=1))
    res = validate_and_assign_offsets(data, 50, NOW, LogConfig(), 4)
    assert [b.magic for b in iter_batches(res.records)] == [2]
    assert [(r.offset, r.value, r.timestamp) for r in records(res.records)] == \
        [(50 + i, b"v%d" % i, NOW + i) for i in range(3)]


@pytest.mark.parametrize("magic", [0, 1])
def test_legacy_uncompressed_offsets_patched_when_stored_as_legacy(magic):
    cfg = LogConfig(message_format_version="0.10.2" if magic == 1 else "0.9.0")
    data = bytearray(build_message_set([SimpleRecord(None, b"v%d" % i, timestamp=NOW) for i in range(3)],
                                       magic=magic))
    res = validate_and_assign_offsets(data, 20, NOW, cfg)
    assert res.records.obj is data
    entries = list(iter_batches(res.records))
    assert [e.base_offset for e in entries] == [20, 21, 22] and all(verify_crc(data, e) for e in entries)
    assert (res.info.first_offset, res.info.last_offset) == (20, 22)


def test_legacy_magic1_wrapper_offset_patched_in_place():
    cfg = LogConfig(message_format_version="0.10.2")
    data = bytearray(build_message_set([SimpleRecord(None, b"v%d" % i, timestamp=NOW + i) for i in range(4)],
                                       magic=1, compression=1))
    res = validate_and_assign_offsets(data, 100, NOW, cfg)
    assert res.records.obj is data
    (wrapper,) = list(iter_batches(res.records))
    assert wrapper.base_offset == 103
    assert [r.offset for r in records(res.records)] == [100, 101, 102, 103]
    assert res.info.max_timestamp == NOW + 3 and res.info.offset_of_max_timestamp == 103


def test_legacy_magic1_wrapper_log_append_time():
    cfg = LogConfig(message_format_version="0.10.2", message_timestamp_type="LogAppendTime")
    data = bytearray(build_message_set([SimpleRecord(None, b"v", timestamp=1)] * 2, magic=1, compression=2))
    res = validate_and_assign_offsets(data, 0, NOW, cfg)
    (wrapper,) = list(iter_batches(res.records))
    assert verify_crc(res.records, wrapper) and wrapper.timestamp_type == 1
    assert [r.timestamp for r in records(res.records)] == [NOW, NOW]


def test_legacy_magic0_wrapper_recompressed_with_absolute_offsets():
    cfg = LogConfig(message_format_version="0.9.0")
    data = bytearray(build_message_set([SimpleRecord(None, b"v%d" % i) for i in range(3)], magic=0,
                                       compression=1))
    res = validate_and_assign_offsets(data, 40, NOW, cfg)
    (wrapper,) = list(iter_batches(res.records))
    assert wrapper.magic == 0 and wrapper.base_offset == 42 and wrapper.compression == 1
    assert [(r.offset, r.value) for r in records(res.records)] == [(40 + i, b"v%d" % i) for i in range(3)]


def test_follower_records_keep_offsets_and_must_increase():
    data = bytearray(build_batch([SimpleRecord(None, b"a", timestamp=NOW)] * 2, base_offset=10,
                                 partition_leader_epoch=3))
    data += build_batch([SimpleRecord(None, b"b", timestamp=NOW + 5)], base_offset=12, partition_leader_epoch=4)
    view, info = analyze_follower_records(data, 10)
    assert (info.first_offset, info.last_offset, info.max_timestamp) == (10, 12, NOW + 5)
    assert info.epoch_starts == ((3, 10), (4, 12))
    with pytest.raises(UnexpectedAppendOffsetError):
        analyze_follower_records(data, 11)
    backwards = bytearray(build_batch([SimpleRecord(None, b"b")], base_offset=12)) + \
        build_batch([SimpleRecord(None, b"b")], base_offset=5)
    with pytest.raises(UnexpectedAppendOffsetError):
        analyze_follower_records(backwards, 0)
