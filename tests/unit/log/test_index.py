from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafkapy.log.offset_index import InvalidOffsetIndexError, OffsetIndex, OffsetPosition
from kafkapy.log.time_index import TimeIndex, TimestampOffset

from .helpers import LOG_SETTINGS


def test_offset_index_preallocated_lookup_trim_reopen(tmp_path):
    path = str(tmp_path / "00000000000000000100.index")
    idx = OffsetIndex(path, 100, max_index_size=1003)
    assert os.path.getsize(path) == 1000  # rounded down to whole 8-byte entries
    assert idx.max_entries == 125
    assert idx.lookup(150) == OffsetPosition(100, 0)
    for i in range(10):
        idx.append(100 + 10 * i + 5, 1000 * i + 7)
    assert idx.lookup(104) == OffsetPosition(100, 0)
    assert idx.lookup(105) == OffsetPosition(105, 7)
    assert idx.lookup(124) == OffsetPosition(115, 1007)
    assert idx.lookup(10_000) == OffsetPosition(195, 9007)
    assert idx.lookup_by_position(2500) == OffsetPosition(125, 2007)
    with pytest.raises(InvalidOffsetIndexError):
        idx.append(195, 99999)
    idx.close()
    assert os.path.getsize(path) == 80
    again = OffsetIndex(path, 100, writable=False)
    assert again.entries == 10 and again.last_offset == 195
    assert [e.offset for e in again.entries_list()] == [100 + 10 * i + 5 for i in range(10)]
    again.truncate_to(125)  # removes entries >= 125
    assert again.entries == 2 and again.last_offset == 115
    again.resize(800)
    assert again.max_entries == 100
    again.sanity_check(10_000)
    again.close()


def test_offset_index_full_and_overflow(tmp_path):
    idx = OffsetIndex(str(tmp_path / "0.index"), 0, max_index_size=16)
    idx.append(1, 10)
    idx.append(2, 20)
    assert idx.is_full
    with pytest.raises(InvalidOffsetIndexError):
        idx.append(3, 30)
    assert not idx.can_append_offset(2**31)
    idx.close()


def test_offset_index_detects_zero_filled_preallocation(tmp_path):
    path = str(tmp_path / "00000000000000000000.index")
    with open(path, "wb") as f:
        f.write(b"\0" * 4096)
    idx = OffsetIndex(path, 0, writable=False)
    with pytest.raises(InvalidOffsetIndexError):
        idx.sanity_check(100)
    idx.close_handler()


@LOG_SETTINGS
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 500)), max_size=60), st.integers(0, 3000))
def test_offset_index_lookup_matches_brute_force(tmp_path_factory, steps, target):
    d = tmp_path_factory.mktemp("idx")
    idx = OffsetIndex(str(d / "0.index"), 7, max_index_size=4096)
    entries = []
    off, pos = 7, 0
    for doff, dpos in steps:
        off += doff
        pos += dpos
        idx.append(off, pos)
        entries.append((off, pos))
    expected = max((e for e in entries if e[0] <= target), default=(7, 0))
    assert idx.lookup(target) == OffsetPosition(*expected)
    by_pos = max((e for e in entries if e[1] <= target), default=(7, 0), key=lambda e: e[1])
    assert idx.lookup_by_position(target) == OffsetPosition(*by_pos)
    idx.truncate_to(target)
    assert [(e.offset, e.position) for e in idx.entries_list()] == [e for e in entries if e[0] < target]
    idx.close()


def test_time_index_append_rules_and_lookup(tmp_path):
    path = str(tmp_path / "00000000000000000010.timeindex")
    idx = TimeIndex(path, 10, max_index_size=12 * 10)
    assert idx.lookup(5) == TimestampOffset(-1, 10)
    assert idx.maybe_append(100, 12)
    assert not idx.maybe_append(100, 13)  # not greater: skipped
    assert idx.maybe_append(200, 20)
    with pytest.raises(InvalidOffsetIndexError):
        idx.maybe_append(300, 15)  # offset going back
    with pytest.raises(InvalidOffsetIndexError):
        idx.maybe_append(150, 25)  # timestamp going back
    assert idx.lookup(99) == TimestampOffset(-1, 10)
    assert idx.lookup(150) == TimestampOffset(100, 12)
    assert idx.lookup(10**15) == TimestampOffset(200, 20)
    idx.truncate_to(20)
    assert idx.last_entry == TimestampOffset(100, 12)
    idx.close()
    assert os.path.getsize(path) == 12
    again = TimeIndex(path, 10, writable=False)
    assert again.last_entry == TimestampOffset(100, 12)
    again.close()


def test_time_index_keeps_room_for_final_entry(tmp_path):
    idx = TimeIndex(str(tmp_path / "0.timeindex"), 0, max_index_size=36)
    idx.maybe_append(1, 1)
    idx.maybe_append(2, 2)
    assert idx.is_full
    assert idx.maybe_append(3, 3, skip_full_check=True)
    assert idx.maybe_append(4, 4, skip_full_check=True)  # grows the file when needed
    assert [e.timestamp for e in idx.entries_list()] == [1, 2, 3, 4]
    idx.close()


@LOG_SETTINGS
@given(st.lists(st.tuples(st.integers(1, 100), st.integers(0, 5)), max_size=50), st.integers(0, 6000))
def test_time_index_lookup_matches_brute_force(tmp_path_factory, steps, target):
    d = tmp_path_factory.mktemp("tidx")
    idx = TimeIndex(str(d / "0.timeindex"), 0, max_index_size=12 * 100)
    entries = []
    ts, off = 0, 0
    for dts, doff in steps:
        ts += dts
        off += doff
        if idx.maybe_append(ts, off):
            entries.append((ts, off))
    expected = max((e for e in entries if e[0] <= target), default=(-1, 0))
    assert idx.lookup(target) == TimestampOffset(*expected)
    idx.close()


def test_offset_index_lookups_across_the_warm_section(tmp_path):
    import random
    rng = random.Random(7)
    idx = OffsetIndex(str(tmp_path / "0.index"), 1000, max_index_size=8 * 5000)
    entries = []
    off, pos = 1000, 0
    for _ in range(3000):  # more than the 1024-entry warm section
        off += rng.randint(1, 9)
        pos += rng.randint(1, 900)
        idx.append(off, pos)
        entries.append((off, pos))
    for target in [0, 999, 1000, entries[0][0], entries[-1][0] + 5] + [rng.randint(900, off + 10) for _ in range(400)]:
        expected = max((e for e in entries if e[0] <= target), default=(1000, 0))
        assert idx.lookup(target) == OffsetPosition(*expected), target
    for target in [0, pos + 1] + [rng.randint(0, pos) for _ in range(400)]:
        expected = max((e for e in entries if e[1] <= target), default=(1000, 0), key=lambda e: e[1])
        assert idx.lookup_by_position(target) == OffsetPosition(*expected), target
    idx.close()


def test_indexes_hold_no_descriptor_of_their_own_and_map_on_first_entry(tmp_path):
    """Kafka's mapped index buffers keep no file open; here a mapped index holds only the mapping's
    duplicate descriptor, and an index without entries holds none (thousands of idle replicas)."""
    import os

    from kafkapy.common.types import TopicPartition
    from kafkapy.log.config import LogConfig
    from kafkapy.log.log import Log
    from kafkapy.protocol.records import SimpleRecord, build_batch

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_fds()
    logs = [Log(str(tmp_path / f"t-{i}"), LogConfig(index_interval_bytes=100), topic_partition=TopicPartition("t", i),
                sync_checkpoints=False) for i in range(20)]
    assert open_fds() - before == 20                       # the .log of each active segment
    for lg in logs[:10]:
        for _ in range(3):
            lg.append_as_leader(bytearray(build_batch([SimpleRecord(None, b"x" * 500)])), 0)
    assert open_fds() - before == 20 + 10 * 2              # + the two mappings of each log with data
    assert all(lg.active_segment.offset_index.entries > 0 for lg in logs[:10])
    assert logs[0].read(0, 1 << 20).records.size > 0 and logs[15].read(0, 1 << 20).records.size == 0
    for lg in logs:
        lg.close()
    assert open_fds() == before
