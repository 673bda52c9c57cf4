from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafkapy.common.types import TopicPartition
from kafkapy.log.cleaner import cleanable_section
from kafkapy.log.config import LogConfig
from kafkapy.log.errors import InvalidRecordError
from kafkapy.log.log import Log
from kafkapy.log.manager import LogManager

from .helpers import LOG_SETTINGS, FakeClock, all_records, batch, check_log_invariants

CFG = LogConfig(cleanup_policy=("compact",), segment_bytes=1500, index_interval_bytes=200,
                min_cleanable_dirty_ratio=0.1, delete_retention_ms=10_000, file_delete_delay_ms=0)


def kv_batch(pairs, ts, codec=0):
    keys = [k for k, _ in pairs]
    values = [v for _, v in pairs]
    return batch(len(pairs), keys=keys, values=values, ts=ts, compression=codec)


def setup(tmp_path, clock, cfg=CFG):
    lm = LogManager([str(tmp_path)], cfg, broker_id=0, clock_ms=clock, sync_checkpoints=False)
    lm.load_logs()
    return lm, lm.get_or_create_log(TopicPartition("c", 0))


def latest_by_key(recs):
    out = {}
    for r in recs:
        out[r.key] = r
    return out


def test_compacted_topic_needs_keys(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    with pytest.raises(InvalidRecordError):
        lg.append_as_leader(batch(1), 0)
    lm.shutdown()


def test_compaction_keeps_latest_value_per_key(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    for i in range(60):
        lg.append_as_leader(kv_batch([(b"k%d" % (i % 5), b"v%d" % i), (b"x%d" % i, b"once")], clock.now,
                                     codec=i % 3 and 1), 0)
    lg.update_high_watermark(lg.log_end_offset)
    before = all_records(lg)
    end = lg.active_segment.base_offset
    freed = lm.clean_logs()
    assert freed > 0
    after = all_records(lg)
    # offsets increase (with gaps), the latest value of every key in the cleaned part survives
    offs = [r.offset for r in after]
    assert offs == sorted(set(offs))
    assert latest_by_key([r for r in after]) == latest_by_key(before)
    for r in after:
        if r.offset < end:
            later = [x for x in before if x.key == r.key and r.offset < x.offset < end]
            assert not later, (r, later)
    assert [r for r in after if r.offset >= end] == [r for r in before if r.offset >= end]
    assert lg.log_end_offset == before[-1].offset + 1
    check_log_invariants(lg, dense=False)
    assert lm.cleaner.first_dirty_offset(lg.topic_partition) == end
    assert not [n for n in os.listdir(lg.dir_path) if n.endswith((".cleaned", ".swap"))]
    # reads from any offset still return whole entries at or after it
    for off in range(0, lg.log_end_offset, 7):
        data = lg.read(off, 300).records.read()
        assert data
    # nothing left to clean until new dirty data arrives
    assert lm.clean_logs() == 0
    lm.shutdown()
    lg2 = Log(os.path.join(tmp_path, "c-0"), CFG, clock_ms=clock, had_clean_shutdown=False)
    assert [(r.offset, r.key, r.value) for r in all_records(lg2)] == [(r.offset, r.key, r.value) for r in after]
    lg2.close()


def test_small_cleaned_segments_are_grouped(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    for i in range(60):
        lg.append_as_leader(kv_batch([(b"k%d" % (i % 3), b"v" * 100)], clock.now), 0)
    lg.update_high_watermark(lg.log_end_offset)
    lm.clean_logs()  # every segment shrinks to a few records
    inactive_before = lg.num_segments - 1
    assert inactive_before > 2
    for i in range(30):
        lg.append_as_leader(kv_batch([(b"k%d" % (i % 3), b"w" * 100)], clock.now), 0)
    lg.update_high_watermark(lg.log_end_offset)
    end = lg.active_segment.base_offset
    lm.clean_logs()
    below = [s for s in lg.segments if s.base_offset < end]
    assert len(below) < inactive_before
    assert sum(s.size for s in below) <= CFG.segment_bytes * len(below)
    check_log_invariants(lg, dense=False)
    assert {r.key: r.value for r in all_records(lg)} == {b"k%d" % i: b"w" * 100 for i in range(3)}
    lm.shutdown()


def test_tombstones_dropped_after_delete_retention(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    for i in range(20):
        lg.append_as_leader(kv_batch([(b"a", b"x" * 100)], clock.now), 0)
    lg.append_as_leader(kv_batch([(b"a", None)], clock.now), 0)
    for i in range(20):
        lg.append_as_leader(kv_batch([(b"b%d" % i, b"y" * 100)], clock.now), 0)
    lg.update_high_watermark(lg.log_end_offset)
    lm.clean_logs()
    keys_a = [r for r in all_records(lg) if r.key == b"a"]
    assert len(keys_a) == 1 and keys_a[0].value is None  # tombstone kept within delete.retention.ms
    clock.advance(20_000)
    for i in range(20):
        lg.append_as_leader(kv_batch([(b"b%d" % i, b"z" * 100)], clock.now), 0)
    lg.update_high_watermark(lg.log_end_offset)
    lm.clean_logs()
    assert [r for r in all_records(lg) if r.key == b"a"] == []
    check_log_invariants(lg, dense=False)
    lm.shutdown()


def test_min_compaction_lag_and_dirty_ratio(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock, CFG.replace(min_compaction_lag_ms=60_000))
    for i in range(30):
        lg.append_as_leader(kv_batch([(b"k", b"v" * 100)], clock.now), 0)
    lg.update_high_watermark(lg.log_end_offset)
    assert cleanable_section(lg, None, clock.now).first_uncleanable_offset == 0
    assert lm.clean_logs() == 0
    clock.advance(120_000)
    assert lm.clean_logs() > 0
    lm.shutdown()
    clock2 = FakeClock()
    lm2, lg2 = setup(tmp_path / "x", clock2, CFG.replace(min_cleanable_dirty_ratio=0.99))
    for i in range(30):
        lg2.append_as_leader(kv_batch([(b"k", b"v" * 100)], clock2.now), 0)
    lg2.update_high_watermark(lg2.log_end_offset)
    assert lm2.clean_logs() > 0  # first pass: everything is dirty
    for i in range(12):
        lg2.append_as_leader(kv_batch([(b"k", b"v" * 100)], clock2.now), 0)
    lg2.update_high_watermark(lg2.log_end_offset)
    assert lm2.clean_logs() == 0  # ratio below 0.99
    lm2.shutdown()


def test_interrupted_swap_is_completed_on_load(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    for i in range(40):
        lg.append_as_leader(kv_batch([(b"k%d" % (i % 3), b"v%d" % i)], clock.now), 0)
    lg.update_high_watermark(lg.log_end_offset)
    result = lm.cleaner.prepare(lg)
    _, cleaned = result.replaced[0]
    # crash after renaming the cleaned segment to .swap, before replacing the old one
    from kafkapy.log.segment import CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX
    cleaned.change_file_suffixes(CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX)
    for _, c in result.replaced[1:]:
        c.delete_if_exists()
    cleaned.close_handlers()
    expected_first = [(r.offset, r.value) for r in all_records(lg)]
    lg.close()
    lm._unlock_dirs()
    lg2 = Log(os.path.join(tmp_path, "c-0"), CFG, clock_ms=clock, had_clean_shutdown=False)
    recs = [(r.offset, r.value) for r in all_records(lg2)]
    assert recs and set(recs) <= set(expected_first)
    assert not [n for n in os.listdir(lg2.dir_path) if n.endswith(".swap")]
    check_log_invariants(lg2, dense=False)
    lg2.close()


@LOG_SETTINGS
@given(st.lists(st.tuples(st.integers(0, 8), st.booleans(), st.sampled_from([0, 0, 2])), min_size=1, max_size=30),
       st.integers(0, 2))
def test_random_compaction_invariants(tmp_path_factory, writes, rounds):
    d = tmp_path_factory.mktemp("cl")
    clock = FakeClock()
    lm, lg = setup(d, clock, CFG.replace(segment_bytes=600))
    try:
        all_written = []
        for r in range(rounds + 1):
            for key, tomb, codec in writes:
                value = None if tomb else b"%d-%d" % (r, len(all_written))
                lg.append_as_leader(kv_batch([(b"k%d" % key, value), (b"u%d" % len(all_written), b"1")],
                                             clock.now, codec), 0)
                all_written.append(1)
            lg.update_high_watermark(lg.log_end_offset)
            before = all_records(lg)
            end = lg.active_segment.base_offset
            lm.clean_logs()
            after = all_records(lg)
            check_log_invariants(lg, dense=False)
            assert [r for r in after if r.offset >= end] == [r for r in before if r.offset >= end]
            last_before = latest_by_key([r for r in before])
            latest_below_end = latest_by_key([x for x in before if x.offset < end])
            for r in after:
                if r.offset < end:
                    assert latest_below_end[r.key].offset == r.offset
            # every key's latest record is still there (tombstones are young here)
            assert latest_by_key(after) == last_before
            clock.advance(1000)
    finally:
        lm.shutdown()


def test_clean_from_executor_swaps_on_the_loop(tmp_path):
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    clock = FakeClock()

    async def main():
        lm = LogManager([str(tmp_path)], CFG, broker_id=0, clock_ms=clock, sync_checkpoints=False)
        with ThreadPoolExecutor(1) as ex:
            await lm.startup(ex)
            lg = lm.get_or_create_log(TopicPartition("c", 0))
            for i in range(60):
                lg.append_as_leader(kv_batch([(b"k%d" % (i % 4), b"v%d" % i)], clock.now), 0)
            lg.update_high_watermark(lg.log_end_offset)
            loop_thread = threading.get_ident()
            seen = []
            original = lm.cleaner.apply

            def spy(result):
                seen.append(threading.get_ident())
                return original(result)
            lm.cleaner.apply = spy
            freed = await asyncio.get_running_loop().run_in_executor(ex, lm.clean_logs)
            assert freed > 0 and seen == [loop_thread]
            assert {r.key: r.value for r in all_records(lg)} == {b"k%d" % (i % 4): b"v%d" % i for i in range(56, 60)}
            check_log_invariants(lg, dense=False)
            await asyncio.get_running_loop().run_in_executor(ex, lm.shutdown)

    asyncio.run(asyncio.wait_for(main(), 30))
