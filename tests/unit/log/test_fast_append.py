"""The produce fast path (one v2 batch, roll limits armed by the last roll decision) must lay out the log
exactly as the general path does, which decides every roll with `LogSegment.should_roll`.

Two logs get the same operations; one has the fast path switched off. Their segments (base offsets,
sizes), offset and time index entries, bytes on disk and the state kept beside them must be equal after
every step. Each test runs twice: with the Python fast path and with its C twin (kafkapy.log._append).
"""
from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafkapy.common.errors import ApiError
from kafkapy.common.types import TopicPartition
from kafkapy.log import log as log_module
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log
from kafkapy.log.segment import LogSegment

from .helpers import LOG_SETTINGS, FakeClock, batch, check_log_invariants

T0 = 1_600_000_000_000


NATIVE = log_module._native_append_v2
IMPLS = ["python", pytest.param("native", marks=pytest.mark.skipif(
    NATIVE is None, reason="kafkapy.log._append is not built (or KAFKAPY_NATIVE=0)"))]


@contextlib.contextmanager
def fast_impl(impl: str):
    """The fast path in Python (the C helper hidden) or in C."""
    saved = log_module._native_append_v2
    log_module._native_append_v2 = NATIVE if impl == "native" else None
    try:
        yield
    finally:
        log_module._native_append_v2 = saved


def layout(log: Log) -> list:
    out = [log.log_end_offset]
    for seg in log.segments:
        with open(seg.log_path, "rb") as f:
            data = f.read()[:seg.size]
        oi, ti = seg.offset_index, seg.time_index
        out.append((seg.base_offset, seg.size, oi.entries_list(), ti.entries_list(), data,
                    seg.max_timestamp_so_far, seg.offset_of_max_timestamp_so_far, seg.bytes_since_last_index_entry,
                    oi.entries, oi.last_offset, ti.entries, ti.last_entry))
    return out


def open_pair(tmp_path, config: LogConfig, clock: FakeClock) -> tuple[Log, Log]:
    fast = Log(str(tmp_path / "fast-0"), config, clock_ms=clock, topic_partition=TopicPartition("fast", 0),
               sync_checkpoints=False)
    slow = Log(str(tmp_path / "slow-0"), config, clock_ms=clock, topic_partition=TopicPartition("slow", 0),
               sync_checkpoints=False)
    slow._fast_path = False
    return fast, slow


def append(log: Log, data: bytearray):
    try:
        return log.append_as_leader(data, 3)
    except ApiError as e:
        return e


op = st.one_of(
    st.tuples(st.just("append"), st.integers(1, 6), st.integers(1, 400), st.integers(0, 3000)),
    st.tuples(st.just("truncate"), st.integers(0, 100)),
    st.tuples(st.just("config"), st.sampled_from([1500, 3000, 6000]), st.sampled_from([2000, 10**9])),
    st.tuples(st.just("roll")),
)


@pytest.mark.parametrize("impl", IMPLS)
@LOG_SETTINGS
@given(ops=st.lists(op, min_size=1, max_size=60),
       index_bytes=st.sampled_from([64, 128, 4096]),
       interval=st.sampled_from([0, 150, 4096]))
def test_fast_path_rolls_and_indexes_like_the_general_path(tmp_path_factory, impl, ops, index_bytes, interval):
    with fast_impl(impl):
        run_ops(tmp_path_factory.mktemp("fast"), ops, index_bytes, interval)


def run_ops(tmp_path, ops, index_bytes: int, interval: int) -> None:
    clock = FakeClock(T0)
    config = LogConfig(segment_bytes=3000, segment_ms=10**9, index_interval_bytes=interval,
                       segment_index_bytes=index_bytes)
    fast, slow = open_pair(tmp_path, config, clock)
    ts = T0
    try:
        for o in ops:
            if o[0] == "append":
                _, count, size, dt = o
                ts += dt
                clock.now = ts
                infos = [append(log, batch(count, ts=ts, value_size=size)) for log in (fast, slow)]
                if isinstance(infos[0], Exception):     # e.g. a batch larger than the segment: both refuse
                    assert type(infos[0]) is type(infos[1]), infos
                else:
                    assert infos[0] == infos[1]
            elif o[0] == "truncate":
                target = min(o[1], fast.log_end_offset)
                for log in (fast, slow):
                    log.truncate_to(target)
            elif o[0] == "config":
                new = LogConfig(segment_bytes=o[1], segment_ms=o[2], index_interval_bytes=interval,
                                segment_index_bytes=index_bytes)
                for log in (fast, slow):
                    log.update_config(new)
            else:
                for log in (fast, slow):
                    log.roll()
            assert layout(fast) == layout(slow)
        check_log_invariants(fast)
    finally:
        fast.close()
        slow.close()


@pytest.mark.parametrize("impl", IMPLS)
def test_the_armed_path_is_taken_by_the_fast_log_only(tmp_path, monkeypatch, impl):
    calls: list[str] = []
    if impl == "native":
        def native_spy(seg, *args):
            info = NATIVE(seg, *args)
            if info is not None:
                calls.append(seg.dir_path)
            return info

        monkeypatch.setattr(log_module, "_native_append_v2", native_spy)
    else:
        original = LogSegment.append_armed

        def spy(self, *args):
            calls.append(self.dir_path)
            return original(self, *args)

        monkeypatch.setattr(log_module, "_native_append_v2", None)
        monkeypatch.setattr(LogSegment, "append_armed", spy)
    clock = FakeClock(T0)
    fast, slow = open_pair(tmp_path, LogConfig(), clock)
    for i in range(10):
        for log in (fast, slow):
            log.append_as_leader(batch(2, ts=T0 + i), 0)
    # the first append of a segment decides the roll and arms; the other nine take the armed path
    assert calls == [fast.dir_path] * 9
    assert layout(fast) == layout(slow)
    fast.close()
    slow.close()


@pytest.mark.parametrize("impl", IMPLS)
def test_index_full_rolls_on_the_fast_path(tmp_path, impl):
    with fast_impl(impl):
        # 64-byte index: 8 offset entries, 5 time entries; an entry after every batch (interval 0)
        config = LogConfig(segment_bytes=1 << 20, index_interval_bytes=0, segment_index_bytes=64)
        clock = FakeClock(T0)
        fast, slow = open_pair(tmp_path, config, clock)
        for i in range(40):
            for log in (fast, slow):
                log.append_as_leader(batch(1, ts=T0 + i), 0)
        assert fast.num_segments > 1
        assert layout(fast) == layout(slow)
        for seg in fast.segments[:-1]:
            assert seg.time_index.entries <= seg.time_index.max_entries and seg.offset_index.entries <= 8
        fast.close()
        slow.close()


@pytest.mark.parametrize("impl", IMPLS)
def test_segment_ms_rolls_on_the_fast_path_and_follows_config_changes(tmp_path, impl):
    with fast_impl(impl):
        clock = FakeClock(T0)
        fast, slow = open_pair(tmp_path, LogConfig(segment_ms=1000), clock)
        for dt in (0, 100, 999, 1000, 1001, 1500, 2500):
            for log in (fast, slow):
                log.append_as_leader(batch(1, ts=T0 + dt), 0)
        assert [s.base_offset for s in fast.segments] == [0, 4, 6]
        for log in (fast, slow):
            log.update_config(LogConfig(segment_ms=100))
            log.append_as_leader(batch(1, ts=T0 + 2650), 0)
        assert [s.base_offset for s in fast.segments] == [0, 4, 6, 7]
        assert layout(fast) == layout(slow)
        fast.close()
        slow.close()


@pytest.mark.parametrize("impl", IMPLS)
def test_the_largest_segment_ms_arms_a_64_bit_time_limit(tmp_path, impl):
    """segment.ms may be Long.MAX_VALUE; the armed time limit (a 64-bit field when the C helper is built)
    is clamped instead of overflowing."""
    from kafkapy.log.config import LONG_MAX
    with fast_impl(impl):
        clock = FakeClock(T0)
        fast, slow = open_pair(tmp_path, LogConfig(segment_ms=LONG_MAX), clock)
        for i in range(5):
            for log in (fast, slow):
                log.append_as_leader(batch(2, ts=T0 + i), 0)
        assert fast.active_segment.fast_limit_timestamp == LONG_MAX
        assert layout(fast) == layout(slow)
        fast.close()
        slow.close()
