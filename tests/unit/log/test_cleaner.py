from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafkapy.common.errors import InvalidProducerEpochError, OutOfOrderSequenceError
from kafkapy.common.types import TopicPartition
from kafkapy.log.cleaner import cleanable_section
from kafkapy.log.config import LogConfig
from kafkapy.log.errors import InvalidRecordError
from kafkapy.log.log import Log
from kafkapy.log.manager import LogManager
from kafkapy.protocol.records import (
    RECORD_BATCH_OVERHEAD,
    SimpleRecord,
    build_batch,
    iter_batches,
    iter_records,
    verify_crc,
)

from .helpers import LOG_SETTINGS, FakeClock, all_records, batch, check_log_invariants, entries_on_disk

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
            lg.append_as_leader(pid_batch(5, 0, 0, [(b"k0", b"p")], clock.now), 0)
            for i in range(1, 60):
                lg.append_as_leader(kv_batch([(b"k%d" % (i % 4), b"v%d" % i)], clock.now), 0)
            lg.update_high_watermark(lg.log_end_offset)
            loop_thread = threading.get_ident()
            seen = []
            original = lm.cleaner.apply
            original_last = lg.last_records_of_active_producers

            def spy(result):
                seen.append(threading.get_ident())
                return original(result)

            def spy_last():        # the producer state is read on the loop, not on the cleaner's thread
                seen.append(threading.get_ident())
                return original_last()
            lm.cleaner.apply = spy
            lg.last_records_of_active_producers = spy_last
            freed = await asyncio.get_running_loop().run_in_executor(ex, lm.clean_logs)
            assert freed > 0 and seen == [loop_thread, loop_thread]
            assert [(off, b.record_count) for off, b in producer_entries(lg)] == [(0, 0)]
            assert {r.key: r.value for r in all_records(lg)} == {b"k%d" % (i % 4): b"v%d" % i for i in range(56, 60)}
            check_log_invariants(lg, dense=False)
            await asyncio.get_running_loop().run_in_executor(ex, lm.shutdown)

    asyncio.run(asyncio.wait_for(main(), 30))


# -- idempotent producers: the last batch of each producer survives (Kafka's BatchRetention.RETAIN_EMPTY) ----
def pid_batch(pid, epoch, seq, pairs, ts):
    recs = [SimpleRecord(k, v, timestamp=ts + i) for i, (k, v) in enumerate(pairs)]
    return bytearray(build_batch(recs, producer_id=pid, producer_epoch=epoch, base_sequence=seq))


def producer_entries(lg):
    """(base offset, batch) of every v2 batch with a producer id, from the files."""
    return [(b.base_offset, b) for _, b in entries_on_disk(lg) if b.producer_id >= 0]


def overwrite(lg, clock, keys, rounds=30):
    """Plain batches that make every earlier record of ``keys`` obsolete and roll a few segments."""
    for i in range(rounds):
        lg.append_as_leader(kv_batch([(k, b"w%d" % i + b"." * 60) for k in keys], clock.now), 0)
    lg.update_high_watermark(lg.log_end_offset)


def test_last_batch_of_a_producer_is_kept_empty(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    lg.append_as_leader(pid_batch(7, 3, 0, [(b"a", b"1"), (b"b", b"1")], clock.now), 0)      # offsets 0-1
    lg.append_as_leader(pid_batch(7, 3, 2, [(b"a", b"2"), (b"b", b"2"), (b"a", b"3")], clock.now), 0)  # 2-4
    lg.append_as_leader(pid_batch(9, 0, 5, [(b"c", b"1")], clock.now), 0)                     # 5
    lg.append_as_leader(kv_batch([(b"d", b"1")], clock.now), 0)                               # 6, no producer
    overwrite(lg, clock, [b"a", b"b", b"c", b"d"])
    assert lg.active_segment.base_offset > 7
    assert lm.clean_logs() > 0
    kept = producer_entries(lg)
    # producer 7's first batch goes like any other; its last one and producer 9's stay, without records
    assert [off for off, _ in kept] == [2, 5]
    b7, b9 = kept[0][1], kept[1][1]
    assert (b7.last_offset, b7.producer_id, b7.producer_epoch, b7.base_sequence, b7.record_count) == (4, 7, 3, 2, 0)
    assert (b9.last_offset, b9.producer_id, b9.producer_epoch, b9.base_sequence, b9.record_count) == (5, 9, 0, 5, 0)
    assert b7.size == RECORD_BATCH_OVERHEAD and b7.last_sequence == 4 and b7.max_timestamp == clock.now + 2
    assert b7.first_timestamp == -1 and not b7.is_compressed and not b7.is_transactional
    data = open(lg.segments[0].log_path, "rb").read()
    assert verify_crc(data, b7) and verify_crc(data, b9)
    assert not [r for r in all_records(lg) if r.offset < 7]        # no record of the old batches survives
    assert all(b.producer_id >= 0 for _, b in entries_on_disk(lg) if b.record_count == 0)
    check_log_invariants(lg, dense=False)
    # a second pass keeps the empty batches as they are
    overwrite(lg, clock, [b"a", b"b", b"c", b"d"], rounds=10)
    lm.clean_logs()
    assert [(off, b.record_count) for off, b in producer_entries(lg)] == [(2, 0), (5, 0)]
    check_log_invariants(lg, dense=False)
    lm.shutdown()


def test_last_batch_with_surviving_records_is_rewritten_as_before(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    lg.append_as_leader(pid_batch(7, 0, 0, [(b"a", b"1"), (b"keep", b"1"), (b"b", b"1")], clock.now), 0)
    overwrite(lg, clock, [b"a", b"b"])
    lm.clean_logs()
    [(off, b)] = producer_entries(lg)
    assert (off, b.last_offset, b.record_count, b.base_sequence, b.last_sequence) == (0, 2, 1, 0, 2)
    assert [(r.offset, r.key) for r in all_records(lg) if r.offset < 3] == [(1, b"keep")]
    lm.shutdown()


def test_batch_of_an_expired_producer_is_not_kept(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    lg.append_as_leader(pid_batch(7, 0, 0, [(b"a", b"1")], clock.now), 0)
    overwrite(lg, clock, [b"a"])
    assert lg.last_records_of_active_producers() == {7: 0}
    clock.advance(lg.producer_state.producer_id_expiration_ms)
    lg.remove_expired_producers()
    assert lg.last_records_of_active_producers() == {}
    lm.clean_logs()
    assert producer_entries(lg) == []
    lm.shutdown()


@pytest.mark.parametrize("snapshots", [False, True])
def test_producer_state_rebuilt_from_a_cleaned_log(tmp_path, snapshots):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    lg.append_as_leader(pid_batch(7, 2, 0, [(b"a", b"1")], clock.now), 0)
    lg.append_as_leader(pid_batch(7, 2, 1, [(b"a", b"2"), (b"b", b"2")], clock.now), 0)      # offsets 1-2
    overwrite(lg, clock, [b"a", b"b"])
    lm.clean_logs()
    assert [(off, b.record_count) for off, b in producer_entries(lg)] == [(1, 0)]
    leo = lg.log_end_offset
    lg.local.close()                                      # a crash: no snapshot at close
    lm._unlock_dirs()
    if not snapshots:
        for name in os.listdir(lg.dir_path):
            if name.endswith(".snapshot"):
                os.unlink(os.path.join(lg.dir_path, name))
    again = Log(lg.dir_path, CFG, clock_ms=clock, had_clean_shutdown=False, recovery_point=0)
    try:
        entry = again.producer_state.last_entry(7)
        assert entry is not None
        assert (entry.producer_epoch, entry.last_seq, entry.last_data_offset) == (2, 2, 2)
        # the client's re-send of its last batch is still a duplicate: the original offsets, nothing written
        info = again.append_as_leader(pid_batch(7, 2, 1, [(b"a", b"2"), (b"b", b"2")], clock.now), 0)
        assert (info.first_offset, info.last_offset) == (1, 2)
        assert again.log_end_offset == leo
        with pytest.raises(OutOfOrderSequenceError):
            again.append_as_leader(pid_batch(7, 2, 5, [(b"a", b"3")], clock.now), 0)
        with pytest.raises(InvalidProducerEpochError):
            again.append_as_leader(pid_batch(7, 1, 0, [(b"a", b"3")], clock.now), 0)
        assert again.append_as_leader(pid_batch(7, 2, 3, [(b"a", b"3")], clock.now), 0).first_offset == leo
    finally:
        again.close()


def test_reads_of_a_cleaned_log_step_over_empty_batches(tmp_path):
    clock = FakeClock()
    lm, lg = setup(tmp_path, clock)
    for seq in range(0, 20, 2):
        lg.append_as_leader(pid_batch(seq + 1, 0, 0, [(b"a", b"%d" % seq), (b"b", b"%d" % seq)], clock.now), 0)
    overwrite(lg, clock, [b"a", b"b"])
    lm.clean_logs()
    empties = [b for _, b in entries_on_disk(lg) if b.record_count == 0]
    assert len(empties) == 10
    for b in empties:
        data = lg.read(b.base_offset, 10_000).records.read()
        first = next(iter_batches(data))
        assert first.base_offset == b.base_offset and first.record_count == 0
        assert [r.offset for r in iter_records(data)] == [r.offset for r in all_records(lg)
                                                          if r.offset >= b.base_offset][:len(list(
                                                              iter_records(data)))]
    check_log_invariants(lg, dense=False)
    lm.shutdown()


@LOG_SETTINGS
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([-1, -1, 1, 2, 3]), st.integers(1, 3),
                          st.sampled_from([0, 0, 2])), min_size=1, max_size=30),
       st.integers(0, 2))
def test_random_compaction_keeps_each_producers_last_batch(tmp_path_factory, writes, rounds):
    d = tmp_path_factory.mktemp("clp")
    clock = FakeClock()
    lm, lg = setup(d, clock, CFG.replace(segment_bytes=600))
    next_seq: dict[int, int] = {}
    try:
        for r in range(rounds + 1):
            for key, pid, n, codec in writes:
                pairs = [(b"k%d" % ((key + i) % 6), b"%d-%d" % (r, i)) for i in range(n)]
                if pid < 0:
                    lg.append_as_leader(kv_batch(pairs, clock.now, codec), 0)
                else:
                    seq = next_seq.get(pid, 0)
                    recs = [SimpleRecord(k, v, timestamp=clock.now) for k, v in pairs]
                    lg.append_as_leader(bytearray(build_batch(recs, producer_id=pid, producer_epoch=r,
                                                              base_sequence=0 if seq == 0 else seq,
                                                              compression=codec)), 0)
                    next_seq[pid] = seq + n
            lg.update_high_watermark(lg.log_end_offset)
            before = all_records(lg)
            end = lg.active_segment.base_offset
            lm.clean_logs()
            check_log_invariants(lg, dense=False)
            after = all_records(lg)
            assert [x for x in after if x.offset >= end] == [x for x in before if x.offset >= end]
            assert latest_by_key(after) == latest_by_key(before)
            last = lg.last_records_of_active_producers()
            on_disk = {b.last_offset: b for _, b in entries_on_disk(lg)}
            for _, b in entries_on_disk(lg):
                # only a producer's last batch is kept without records (a later batch of it in the
                # uncleaned part only replaces it at the next cleaning)
                if b.record_count == 0:
                    assert b.producer_id >= 0 and b.last_offset <= last[b.producer_id]
                    if lm.cleaner.first_dirty_offset(lg.topic_partition) == end:   # this round cleaned
                        assert b.last_offset == last[b.producer_id] or last[b.producer_id] >= end
            for pid, last_offset in last.items():   # and every producer's last batch is still there
                b = on_disk[last_offset]
                e = lg.producer_state.last_entry(pid)
                assert (b.producer_id, b.producer_epoch, b.last_sequence) == (pid, e.producer_epoch, e.last_seq)
            clock.advance(1000)
            next_seq = {pid: 0 for pid in next_seq}      # the next round is a new epoch of every producer
        live = {pid: (e.producer_epoch, e.last_seq, e.last_data_offset, e.last_offset_delta)
                for pid, e in lg.producer_state.producers.items()}
        lg.local.close()
        lm._unlock_dirs()
        for name in os.listdir(lg.dir_path):
            if name.endswith(".snapshot"):
                os.unlink(os.path.join(lg.dir_path, name))
        again = Log(lg.dir_path, CFG, clock_ms=clock, had_clean_shutdown=False, recovery_point=0)
        try:
            assert {pid: (e.producer_epoch, e.last_seq, e.last_data_offset, e.last_offset_delta)
                    for pid, e in again.producer_state.producers.items()} == live
        finally:
            again.close()
    finally:
        if not lg.local.closed:
            lm.shutdown()
