from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.errors import OffsetOutOfRangeError, RecordBatchTooLargeError, UnexpectedAppendOffsetError
from kafkapy.log.log import Log
from kafkapy.protocol.records import SimpleRecord, build_batch, iter_batches

from .helpers import LOG_SETTINGS, FakeClock, all_records, batch, check_log_invariants, entries_on_disk

SMALL = LogConfig(segment_bytes=3000, index_interval_bytes=200, segment_index_bytes=4096)


def open_log(path, config=SMALL, clock=None, **kw) -> Log:
    return Log(str(path), config, clock_ms=clock or FakeClock(), topic_partition=TopicPartition("t", 0),
               sync_checkpoints=False, **kw)


def check_read(log: Log, offset: int, max_bytes: int, max_offset=None, min_one=True):
    fetch = log.read(offset, max_bytes, max_offset, min_one)
    data = fetch.records.read()
    entries = list(iter_batches(data))
    assert (entries[-1].end if entries else 0) == len(data)  # whole entries only
    if entries:
        assert entries[0].base_offset <= max(offset, entries[0].base_offset)
        assert entries[0].last_offset >= offset
        assert len(data) <= max_bytes or len(entries) == 1
        if max_offset is not None:
            assert entries[-1].last_offset < max_offset
    return fetch, entries


def test_append_read_roll(tmp_path):
    log = open_log(tmp_path / "t-0")
    for i in range(40):
        info = log.append_as_leader(batch(3, value_size=40, start=i), leader_epoch=0)
        assert (info.first_offset, info.last_offset) == (3 * i, 3 * i + 2)
    assert log.log_end_offset == 120 and log.num_segments >= 3
    check_log_invariants(log)
    for off in range(0, 120, 7):
        fetch, entries = check_read(log, off, 500)
        assert entries and entries[0].base_offset <= off <= entries[0].last_offset
        assert fetch.fetch_offset_metadata.message_offset == off
    fetch, entries = check_read(log, 120, 500)
    assert entries == [] and fetch.records.size == 0
    with pytest.raises(OffsetOutOfRangeError):
        log.read(121, 100)
    assert [r.offset for r in all_records(log)] == list(range(120))
    log.close()


def test_min_one_message_and_max_offset(tmp_path):
    log = open_log(tmp_path / "t-0", LogConfig())
    log.append_as_leader(batch(2, value_size=1000), 0)
    log.append_as_leader(batch(2, value_size=10), 0)
    fetch, entries = check_read(log, 0, 10)
    assert len(entries) == 1 and fetch.records.size > 10
    fetch, entries = check_read(log, 0, 10, min_one=False)
    assert entries == []
    fetch, entries = check_read(log, 0, 10**6, max_offset=2)
    assert [e.last_offset for e in entries] == [1]
    fetch, entries = check_read(log, 2, 10**6, max_offset=2)
    assert entries == []
    log.close()


def test_segment_too_large_batch(tmp_path):
    log = open_log(tmp_path / "t-0", LogConfig(segment_bytes=500))
    with pytest.raises(RecordBatchTooLargeError):
        log.append_as_leader(batch(1, value_size=600), 0)
    assert log.log_end_offset == 0


def test_roll_by_time_uses_first_batch_timestamp(tmp_path):
    clock = FakeClock()
    log = open_log(tmp_path / "t-0", LogConfig(segment_ms=1000), clock)
    log.append_as_leader(batch(1, ts=clock.now), 0)
    log.append_as_leader(batch(1, ts=clock.now + 500), 0)
    assert log.num_segments == 1
    log.append_as_leader(batch(1, ts=clock.now + 1500), 0)
    assert log.num_segments == 2 and log.active_segment.base_offset == 2
    log.close()


def test_follower_append_keeps_offsets_and_epochs(tmp_path):
    log = open_log(tmp_path / "t-0")
    data = bytearray(build_batch([SimpleRecord(None, b"x")] * 3, base_offset=0, partition_leader_epoch=5))
    data += build_batch([SimpleRecord(None, b"y")], base_offset=3, partition_leader_epoch=6)
    info = log.append_as_follower(data)
    assert info.last_offset == 3 and log.log_end_offset == 4
    assert [(e.epoch, e.start_offset) for e in log.leader_epoch_cache.entries] == [(5, 0), (6, 3)]
    assert log.end_offset_for_epoch(5) == (5, 3)
    assert log.end_offset_for_epoch(6) == (6, 4)
    with pytest.raises(UnexpectedAppendOffsetError):
        log.append_as_follower(bytearray(build_batch([SimpleRecord(None, b"z")], base_offset=2)))
    # a gap (compacted leader) is allowed
    log.append_as_follower(bytearray(build_batch([SimpleRecord(None, b"z")], base_offset=10)))
    assert log.log_end_offset == 11
    log.close()


def test_truncate_and_epoch_cache(tmp_path):
    log = open_log(tmp_path / "t-0")
    for epoch in range(5):
        for _ in range(5):
            log.append_as_leader(batch(2, value_size=50), epoch)
    assert [e.start_offset for e in log.leader_epoch_cache.entries] == [0, 10, 20, 30, 40]
    log.update_high_watermark(50)
    assert log.truncate_to(24)
    assert log.log_end_offset == 24 and log.high_watermark == 24
    assert [e.epoch for e in log.leader_epoch_cache.entries] == [0, 1, 2]
    check_log_invariants(log)
    log.append_as_leader(batch(1), 9)
    assert log.log_end_offset == 25
    log.truncate_fully_and_start_at(100)
    assert (log.log_start_offset, log.log_end_offset, log.num_segments) == (100, 100, 1)
    assert log.leader_epoch_cache.entries == []
    log.append_as_leader(batch(1), 10)
    assert [r.offset for r in all_records(log)] == [100]
    log.truncate_fully_and_start_at(100)  # same base offset as the current segment
    assert all_records(log) == [] and log.log_end_offset == 100
    log.append_as_leader(batch(2), 10)
    assert [r.offset for r in all_records(log)] == [100, 101]
    check_log_invariants(log)
    log.close()


def test_fetch_offset_by_timestamp(tmp_path):
    log = open_log(tmp_path / "t-0")
    ts = [50, 10, 70, 70, 30, 90, 20]
    for i, t in enumerate(ts):
        log.append_as_leader(batch(2, ts=t, value_size=300), 1)
    recs = all_records(log)
    for target in range(0, 100, 5):
        expected = next(((r.timestamp, r.offset) for r in recs if r.timestamp >= target), None)
        got = log.fetch_offset_by_timestamp(target)
        assert (None if got is None else (got.timestamp, got.offset)) == expected, target
    assert log.fetch_offset_by_timestamp(-2).offset == 0
    assert log.fetch_offset_by_timestamp(-1).offset == 14
    log.close()


def test_retention_by_time_size_and_start_offset(tmp_path):
    clock = FakeClock()
    cfg = LogConfig(segment_bytes=1000, retention_ms=10_000, file_delete_delay_ms=500)
    log = open_log(tmp_path / "t-0", cfg, clock)
    for i in range(30):
        log.append_as_leader(batch(1, ts=clock.now - 20_000 + i * 1000, value_size=200), 0)
    n = log.num_segments
    assert n >= 5
    # nothing goes while the high watermark does not cover it
    assert log.delete_old_segments() == 0
    log.update_high_watermark(log.log_end_offset)
    deleted = log.delete_old_segments()
    assert deleted > 0
    assert all(s.largest_timestamp >= clock.now - 10_000 for s in log.segments[:-1]) or log.num_segments == 1
    assert log.log_start_offset == log.segments[0].base_offset
    pending = [f for f in os.listdir(log.dir_path) if f.endswith(".deleted")]
    assert pending
    clock.advance(600)
    assert log.delete_pending_files() == deleted
    assert not [f for f in os.listdir(log.dir_path) if f.endswith(".deleted")]
    # size retention
    log.update_config(cfg.replace(retention_ms=-1, retention_bytes=1000))
    log.delete_old_segments()
    assert log.size_in_bytes - log.active_segment.size <= 1000
    # delete records: the log start offset moves, segments below it go at the next check
    target = log.log_end_offset - 1
    log.delete_records_before(target)
    assert log.log_start_offset == target
    log.delete_old_segments()
    assert log.segments[0].base_offset <= target
    with pytest.raises(OffsetOutOfRangeError):
        log.read(target - 1, 100)
    with pytest.raises(OffsetOutOfRangeError):
        log.delete_records_before(log.log_end_offset + 1)
    check_log_invariants(log)
    log.close()


def test_retention_of_everything_rolls_a_new_active_segment(tmp_path):
    clock = FakeClock()
    log = open_log(tmp_path / "t-0", LogConfig(retention_ms=1000), clock)
    log.append_as_leader(batch(3, ts=clock.now - 5000), 0)
    log.update_high_watermark(3)
    assert log.delete_old_segments() == 1
    assert (log.log_start_offset, log.log_end_offset, log.num_segments) == (3, 3, 1)
    log.append_as_leader(batch(1), 0)
    assert log.log_end_offset == 4
    log.close()


def test_reopen_clean_and_unclean(tmp_path):
    path = tmp_path / "t-0"
    log = open_log(path)
    for i in range(30):
        log.append_as_leader(batch(2, value_size=60, ts=1000 + i), i // 10)
    before = [(r.offset, r.value) for r in all_records(log)]
    log.close()
    for clean in (True, False):
        log = open_log(path, had_clean_shutdown=clean)
        assert [(r.offset, r.value) for r in all_records(log)] == before
        assert log.log_end_offset == 60
        assert [e.epoch for e in log.leader_epoch_cache.entries] == [0, 1, 2]
        check_log_invariants(log)
        log.append_as_leader(batch(1), 3)
        log.truncate_to(60)
        log.close()


ops = st.lists(st.one_of(
    st.tuples(st.just("append"), st.integers(1, 5), st.integers(1, 400), st.sampled_from([0, 0, 1, 3]),
              st.integers(-50, 50)),
    st.tuples(st.just("read"), st.integers(0, 200), st.integers(0, 3000), st.booleans()),
    st.tuples(st.just("truncate"), st.integers(0, 200)),
    st.tuples(st.just("roll"),),
    st.tuples(st.just("reopen"), st.booleans()),
    st.tuples(st.just("hw"), st.integers(0, 200)),
    st.tuples(st.just("full"), st.integers(0, 300)),
    st.tuples(st.just("delete_records"), st.integers(0, 200)),
    st.tuples(st.just("retention"), st.integers(0, 200), st.sampled_from([-1, 500, 3000])),
), max_size=40)


@settings(LOG_SETTINGS, max_examples=150)
@given(ops)
def test_random_operations_keep_invariants(tmp_path_factory, steps):
    path = tmp_path_factory.mktemp("log") / "t-0"
    clock = FakeClock()
    log = open_log(path, SMALL, clock)
    model: list[tuple[int, bytes]] = []  # (offset, value)
    ts_base = clock.now
    try:
        for step in steps:
            kind = step[0]
            if kind == "append":
                _, n, size, codec, dts = step
                start = log.log_end_offset
                info = log.append_as_leader(batch(n, value_size=size, compression=codec, start=start,
                                                  ts=ts_base + dts), 0)
                assert info.first_offset == start
                model.extend((start + i, bytes([65 + (start + i) % 26]) * size) for i in range(n))
            elif kind == "read":
                _, off, max_bytes, min_one = step
                if log.log_start_offset <= off <= log.log_end_offset:
                    hw = log.high_watermark
                    _, entries = check_read(log, off, max_bytes, None, min_one)
                    if off < log.log_end_offset and min_one:
                        assert entries
                    _, entries = check_read(log, off, max_bytes, hw, min_one)
                else:
                    with pytest.raises(OffsetOutOfRangeError):
                        log.read(off, max_bytes)
            elif kind == "truncate":
                log.truncate_to(step[1])
                model = [m for m in model if m[0] < log.log_end_offset]
            elif kind == "roll":
                log.roll()
            elif kind == "reopen":
                log.close()
                log = open_log(path, SMALL, clock, had_clean_shutdown=step[1], high_watermark=log.high_watermark)
            elif kind == "hw":
                log.update_high_watermark(step[1])
            elif kind == "full":
                log.truncate_fully_and_start_at(step[1])
                model = []
            elif kind == "delete_records":
                if step[1] <= log.high_watermark:
                    log.delete_records_before(step[1])
                else:
                    with pytest.raises(OffsetOutOfRangeError):
                        log.delete_records_before(step[1])
            elif kind == "retention":
                clock.advance(step[1])
                log.update_config(SMALL.replace(retention_ms=step[2], retention_bytes=-1 if step[2] < 0 else 2500))
                before = log.log_start_offset
                log.delete_old_segments()
                assert log.log_start_offset >= before
                assert log.segments[0].base_offset <= log.log_start_offset
                log.update_config(SMALL)
            check_log_invariants(log)
            start = log.log_start_offset
            model = [m for m in model if m[0] >= log.segments[0].base_offset]
            assert [(r.offset, r.value) for r in all_records(log) if r.offset >= start] == \
                [m for m in model if m[0] >= start]
            recs = [r for r in all_records(log) if r.offset >= start]
            for target in (ts_base - 60, ts_base, ts_base + 3, ts_base + 60):
                expected = next(((r.timestamp, r.offset) for r in recs if r.timestamp >= target), None)
                got = log.fetch_offset_by_timestamp(target)
                assert (None if got is None else (got.timestamp, got.offset)) == expected
    finally:
        log.close()


def _legacy_entry(magic: int, n: int, codec: int, ts: int, start: int) -> bytearray:
    from kafkapy.protocol.records import build_message_set
    recs = [SimpleRecord(b"k", bytes([65 + (start + i) % 26]) * 20, timestamp=ts + i) for i in range(n)]
    return bytearray(build_message_set(recs, magic=magic, compression=codec))


@pytest.mark.parametrize("fmt", ["0.10.2", "0.9.0", "2.8"])
@LOG_SETTINGS
@given(st.lists(st.tuples(st.sampled_from([0, 1, 2]), st.integers(1, 4), st.sampled_from([0, 1, 2]),
                          st.integers(-30, 30)), min_size=1, max_size=25),
       st.integers(0, 120))
def test_mixed_magic_appends_reads_and_lookups(tmp_path_factory, fmt, appends, cut):
    """Produce data in every magic, stored in the topic's message.format.version."""
    path = tmp_path_factory.mktemp("mixed") / "t-0"
    clock = FakeClock()
    cfg = SMALL.replace(message_format_version=fmt)
    log = open_log(path, cfg, clock)
    stored_magic = cfg.record_version
    expected = []
    try:
        for magic, n, codec, dts in appends:
            start = log.log_end_offset
            if magic == 2:
                data = batch(n, ts=clock.now + dts, value_size=20, compression=codec, start=start)
            else:
                data = _legacy_entry(magic, n, codec, clock.now + dts, start)
            info = log.append_as_leader(data, 1)
            assert (info.first_offset, info.last_offset) == (start, start + n - 1)
            expected.extend((start + i, bytes([65 + (start + i) % 26]) * 20) for i in range(n))
        assert [(r.offset, r.value) for r in all_records(log)] == expected
        assert {e[1].magic for e in entries_on_disk(log)} <= {stored_magic}
        check_log_invariants(log)
        for off in range(0, log.log_end_offset, 3):
            _, entries = check_read(log, off, 200)
            assert entries
        recs = all_records(log)
        for target in (clock.now - 40, clock.now, clock.now + 10, clock.now + 40):
            got = log.fetch_offset_by_timestamp(target)
            if stored_magic == 0:
                assert got is None  # magic 0 has no timestamps
                continue
            exp = next(((r.timestamp, r.offset) for r in recs if r.timestamp >= target), None)
            assert (None if got is None else (got.timestamp, got.offset)) == exp
        log.truncate_to(cut)
        check_log_invariants(log)
        assert [r.offset for r in all_records(log)] == [o for o, _ in expected if o < log.log_end_offset]
    finally:
        log.close()


def test_follower_replicates_leader_bytes_exactly(tmp_path):
    clock = FakeClock()
    leader = open_log(tmp_path / "l" / "t-0", SMALL, clock)
    follower = open_log(tmp_path / "f" / "t-0", SMALL, clock)
    for i in range(50):
        leader.append_as_leader(batch(1 + i % 3, value_size=50 + i, compression=i % 2), i // 10)
    offset = 0
    while offset < leader.log_end_offset:
        fetch = leader.read(offset, 700, None, True)
        data = bytearray(fetch.records.read())
        info = follower.append_as_follower(data)
        offset = info.last_offset + 1
    assert follower.log_end_offset == leader.log_end_offset
    lead_bytes = b"".join(open(s.log_path, "rb").read() for s in leader.segments)
    fol_bytes = b"".join(open(s.log_path, "rb").read() for s in follower.segments)
    assert lead_bytes == fol_bytes
    assert follower.leader_epoch_cache.entries == leader.leader_epoch_cache.entries
    check_log_invariants(follower)
    leader.close()
    follower.close()


def test_offset_metadata_positions(tmp_path):
    log = open_log(tmp_path / "t-0")
    for i in range(30):
        log.append_as_leader(batch(2, value_size=60), 0)
    for off in (0, 1, 7, 30, 59):
        meta = log.offset_metadata(off)
        seg = log.local.segments.floor_segment(off)
        assert meta.segment_base_offset == seg.base_offset
        holder = next(h for h in seg.headers() if h.last_offset >= off)
        assert meta.relative_position_in_segment == holder.position
        assert log.offset_metadata(off) == meta  # cached answer is the same
    end = log.log_end_offset_metadata
    assert (end.message_offset, end.segment_base_offset, end.relative_position_in_segment) == \
        (60, log.active_segment.base_offset, log.active_segment.size)
    log.offset_metadata(50)
    log.truncate_to(50)
    log.append_as_leader(batch(2, value_size=10), 0)
    seg = log.local.segments.floor_segment(51)
    holder = next(h for h in seg.headers() if h.last_offset >= 51)
    assert log.offset_metadata(51).relative_position_in_segment == holder.position
    log.close()
