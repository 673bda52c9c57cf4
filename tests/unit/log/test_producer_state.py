"""Producer state (idempotent producer): checks, duplicates, snapshots, recovery and truncation."""
from __future__ import annotations

import os
import struct
from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kafkapy.common.errors import InvalidProducerEpochError, OutOfOrderSequenceError
from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log
from kafkapy.log.producer_state import (
    INT32_MAX,
    BatchMetadata,
    CorruptSnapshotError,
    ProducerStateEntry,
    decode_snapshot,
    decrement_sequence,
    encode_snapshot,
    in_sequence,
    increment_sequence,
    ProducerBatch,
    producer_batches_in_file,
    snapshot_file_name,
)
from kafkapy.protocol.records import (
    SimpleRecord,
    build_batch,
    build_empty_batch,
    crc32c,
    iter_batches,
    read_entry,
    set_base_offset,
)

from .helpers import LOG_SETTINGS, FakeClock

SMALL = LogConfig(segment_bytes=1200, index_interval_bytes=200, segment_index_bytes=4096)
# LogAppendTime keeps appends off the produce fast path: the general path's producer checks
GENERAL = LogConfig(segment_bytes=1200, index_interval_bytes=200, segment_index_bytes=4096,
                    message_timestamp_type="LogAppendTime")
T0 = 1_600_000_000_000


def open_log(path, config=SMALL, clock=None, **kw) -> Log:
    return Log(str(path), config, clock_ms=clock or FakeClock(T0), topic_partition=TopicPartition("t", 0),
               sync_checkpoints=False, **kw)


def pbatch(pid: int, epoch: int, seq: int, n: int = 1, ts: int = T0, tag: bytes = b"v") -> bytearray:
    recs = [SimpleRecord(None, tag + b"-%d" % (seq + i), timestamp=ts + i) for i in range(n)]
    return bytearray(build_batch(recs, producer_id=pid, producer_epoch=epoch, base_sequence=seq))


def live_view(lg: Log) -> dict:
    return lg.producer_state.state()


def last_batches(lg: Log) -> dict:
    """What survives a snapshot: epoch and last batch per producer."""
    return {pid: (e.producer_epoch, e.batches[-1] if e.batches else None)
            for pid, e in lg.producer_state.producers.items()}


def snapshots(lg: Log) -> list[int]:
    return lg.producer_state.snapshot_offsets()


# -- sequence arithmetic ------------------------------------------------------------------------
def test_sequence_wraps_at_int32_max():
    assert increment_sequence(INT32_MAX, 1) == 0
    assert increment_sequence(INT32_MAX - 2, 5) == 2
    assert decrement_sequence(2, 5) == INT32_MAX - 2
    assert in_sequence(INT32_MAX, 0) and in_sequence(4, 5)
    assert not in_sequence(4, 6) and not in_sequence(INT32_MAX, 1)
    assert BatchMetadata(2, 100, 5, 0).first_seq == INT32_MAX - 2


@given(st.integers(0, INT32_MAX), st.integers(0, 10_000))
def test_increment_and_decrement_are_inverse(seq, delta):
    assert decrement_sequence(increment_sequence(seq, delta), delta) == seq
    assert 0 <= increment_sequence(seq, delta) <= INT32_MAX


# -- leader appends against a model ------------------------------------------------------------
class Model:
    """The rules, written as plainly as possible: epoch, last 5 (first seq, last seq, first, last offset)."""

    def __init__(self) -> None:
        self.producers: dict[int, tuple[int, deque]] = {}

    def outcome(self, pid: int, epoch: int, seq: int, n: int):
        last_seq = (seq + n - 1) % (INT32_MAX + 1)
        if pid not in self.producers:
            return "append"
        cur_epoch, batches = self.producers[pid]
        if epoch == cur_epoch:
            for b in batches:
                if b[0] == seq and b[1] == last_seq:
                    return ("duplicate", b[2], b[3])
        if epoch < cur_epoch:
            return InvalidProducerEpochError
        if epoch > cur_epoch:
            return "append" if seq == 0 else OutOfOrderSequenceError
        last = batches[-1][1] if batches else -1
        return "append" if (seq == last + 1 or (seq == 0 and last == INT32_MAX)) else OutOfOrderSequenceError

    def appended(self, pid: int, epoch: int, seq: int, n: int, first: int) -> None:
        cur = self.producers.get(pid)
        if cur is None or cur[0] != epoch:
            cur = self.producers[pid] = (epoch, deque(maxlen=5))
        cur[1].append((seq, (seq + n - 1) % (INT32_MAX + 1), first, first + n - 1))


op = st.tuples(st.integers(0, 2),                               # producer
               st.sampled_from(["next", "next", "next", "dup", "gap", "old_epoch", "new_epoch", "bad_epoch"]),
               st.integers(1, 4),                               # records
               st.integers(0, 6))                               # which retained batch / how far


@pytest.mark.parametrize("config", [SMALL, GENERAL], ids=["fast-path", "general-path"])
@LOG_SETTINGS
@given(ops=st.lists(op, min_size=1, max_size=40), near_wrap=st.booleans())
def test_leader_appends_follow_the_rules(tmp_path_factory, config, ops, near_wrap):
    lg = open_log(tmp_path_factory.mktemp("ps"), config)
    model = Model()
    pids = [1000, 1001, 1002]
    state = {pid: [0, INT32_MAX - 3 if near_wrap else 0] for pid in pids}   # epoch, next seq
    sent: dict[int, list] = {pid: [] for pid in pids}
    try:
        for who, kind, n, k in ops:
            pid = pids[who]
            epoch, nxt = state[pid]
            seq = nxt
            if kind == "dup" and sent[pid]:
                epoch, seq, n = sent[pid][-1 - k % len(sent[pid])]
            elif kind == "gap":
                seq = increment_sequence(nxt, k + 1)
            elif kind == "old_epoch":
                epoch = max(epoch - 1, 0)
            elif kind == "new_epoch":
                epoch, seq = epoch + 1, 0
            elif kind == "bad_epoch":
                epoch, seq = epoch + 1, k + 1
            expected = model.outcome(pid, epoch, seq, n)
            leo = lg.log_end_offset
            if isinstance(expected, type):
                with pytest.raises(expected):
                    lg.append_as_leader(pbatch(pid, epoch, seq, n), 0)
                assert lg.log_end_offset == leo
            elif expected == "append":
                info = lg.append_as_leader(pbatch(pid, epoch, seq, n), 0)
                assert (info.first_offset, info.last_offset) == (leo, leo + n - 1)
                model.appended(pid, epoch, seq, n, leo)
                sent[pid].append((epoch, seq, n))
                state[pid] = [epoch, increment_sequence(seq, n)]
            else:
                info = lg.append_as_leader(pbatch(pid, epoch, seq, n), 0)
                assert (info.first_offset, info.last_offset) == expected[1:]
                assert lg.log_end_offset == leo
    finally:
        lg.close()


def test_duplicate_answer_carries_the_original_offsets_and_timestamp(tmp_path):
    lg = open_log(tmp_path / "fast")
    lg.append_as_leader(pbatch(7, 0, 0, 3, ts=T0), 0)
    lg.append_as_leader(pbatch(8, 0, 0, 1), 0)
    info = lg.append_as_leader(pbatch(7, 0, 0, 3, ts=T0), 0)
    assert (info.first_offset, info.last_offset, info.shallow_count) == (0, 2, 1)
    assert info.log_append_time == T0 + 2           # Kafka answers the retained batch's timestamp
    assert lg.log_end_offset == 4
    # only the last five batches are retained: the sixth-oldest is no longer recognised
    for seq in range(3, 8):
        lg.append_as_leader(pbatch(7, 0, seq), 0)
    with pytest.raises(OutOfOrderSequenceError):
        lg.append_as_leader(pbatch(7, 0, 0, 3, ts=T0), 0)


def test_plain_batches_skip_producer_state(tmp_path):
    lg = open_log(tmp_path)
    recs = [SimpleRecord(None, b"x", timestamp=T0)]
    for _ in range(3):
        lg.append_as_leader(bytearray(build_batch(recs)), 0)
    assert lg.log_end_offset == 3 and lg.producer_state.is_empty


# -- followers ---------------------------------------------------------------------------------
def stored_bytes(lg: Log) -> bytes:
    out = b""
    for seg in lg.segments:
        with open(seg.log_path, "rb") as f:
            out += f.read()[:seg.size]
    return out


def test_follower_learns_batches_so_a_new_leader_recognises_resends(tmp_path):
    leader = open_log(tmp_path / "a")
    for seq in range(0, 12, 3):
        leader.append_as_leader(pbatch(5, 0, seq, 3), 4)
    follower = open_log(tmp_path / "b")
    data = stored_bytes(leader)
    for b in iter_batches(data):   # fetched batch by batch
        follower.append_as_follower(bytearray(data[b.position:b.end]))
    assert live_view(follower) == live_view(leader)
    info = follower.append_as_leader(pbatch(5, 0, 9, 3), 5)    # the client's re-send after a leader change
    assert (info.first_offset, info.last_offset) == (9, 11)
    assert follower.log_end_offset == 12
    assert follower.append_as_leader(pbatch(5, 0, 12, 1), 5).first_offset == 12


def test_empty_batches_of_a_cleaned_log_carry_the_producer_state(tmp_path):
    """The cleaner keeps a producer's last batch without records: its header alone rebuilds the state,
    both from the files and on a follower that copies the cleaned log."""
    full = pbatch(5, 2, 10, 3)
    set_base_offset(full, 0, 4)
    empty = build_empty_batch(read_entry(full, 0))
    plain = bytearray(build_batch([SimpleRecord(None, b"x", timestamp=T0)]))
    set_base_offset(plain, 0, 7)
    path = tmp_path / "seg"
    path.write_bytes(bytes(empty) + bytes(plain))
    fd = os.open(path, os.O_RDONLY)
    try:
        found = list(producer_batches_in_file(fd, 0, os.path.getsize(path)))
    finally:
        os.close(fd)
    assert found == [ProducerBatch(5, 2, 10, 4, 6, T0 + 2)]
    assert found[0].last_sequence == 12
    follower = open_log(tmp_path / "f")
    follower.truncate_fully_and_start_at(4)              # a new replica of a log whose start moved
    follower.append_as_follower(bytearray(empty))
    follower.append_as_follower(plain)
    e = follower.producer_state.last_entry(5)
    assert (e.producer_epoch, e.last_seq, e.last_data_offset, e.last_offset_delta) == (2, 12, 6, 2)
    info = follower.append_as_leader(pbatch(5, 2, 10, 3), 3)          # a re-send of that batch: a duplicate
    assert (info.first_offset, info.last_offset) == (4, 6) and follower.log_end_offset == 8
    with pytest.raises(OutOfOrderSequenceError):
        follower.append_as_leader(pbatch(5, 2, 14), 3)
    follower.close()


# -- snapshots ---------------------------------------------------------------------------------
entry_st = st.builds(
    lambda pid, epoch, seq, off, delta, ts: ProducerStateEntry(pid, epoch, [BatchMetadata(seq, off, delta, ts)], ts),
    st.integers(0, 2**63 - 1), st.integers(0, 32767), st.integers(0, INT32_MAX), st.integers(0, 2**62),
    st.integers(0, 1000), st.integers(-1, 2**50))


@given(st.lists(entry_st, max_size=20, unique_by=lambda e: e.producer_id))
def test_snapshot_round_trip(entries):
    data = encode_snapshot(entries)
    assert struct.unpack_from(">hIi", data) == (1, crc32c(data[6:]), len(entries))
    assert len(data) == 10 + 46 * len(entries)
    back = decode_snapshot(data)
    assert [e.key() for e in back] == [e.key() for e in entries]


def test_snapshot_layout_of_one_entry():
    e = ProducerStateEntry(42, 3, [BatchMetadata(9, 100, 4, T0)], T0)
    data = encode_snapshot([e])
    assert struct.unpack_from(">qhiqiqiq", data, 10) == (42, 3, 9, 100, 4, T0, -1, -1)


def test_corrupt_snapshots_are_rejected():
    data = bytearray(encode_snapshot([ProducerStateEntry(1, 0, [BatchMetadata(0, 0, 0, T0)], T0)]))
    data[20] ^= 1
    with pytest.raises(CorruptSnapshotError):
        decode_snapshot(bytes(data))
    with pytest.raises(CorruptSnapshotError):
        decode_snapshot(b"\x00\x01\x00")
    with pytest.raises(CorruptSnapshotError):
        decode_snapshot(b"\x00\x02" + bytes(8))


def fill(lg: Log, rounds: int = 12, pids=(1, 2, 3)) -> None:
    for r in range(rounds):
        for pid in pids:
            lg.append_as_leader(pbatch(pid, 0, r * 2, 2, ts=T0 + r), 0)


def test_snapshots_on_roll_and_close_and_clean_reload(tmp_path):
    clock = FakeClock(T0)
    lg = open_log(tmp_path, clock=clock)
    fill(lg)
    bases = [s.base_offset for s in lg.segments]
    assert len(bases) > 2
    assert snapshots(lg) == bases        # one at every roll, plus the empty state of the new log at 0
    expected = last_batches(lg)
    lg.close()
    assert lg.log_end_offset in snapshots(open_log(tmp_path, clock=clock))
    again = open_log(tmp_path, clock=clock)
    assert last_batches(again) == expected
    # the reloaded state still de-duplicates the last batch and checks the sequence
    info = again.append_as_leader(pbatch(1, 0, 22, 2, ts=T0 + 11), 0)
    assert info.first_offset == expected[1][1].first_offset
    with pytest.raises(OutOfOrderSequenceError):
        again.append_as_leader(pbatch(1, 0, 30), 0)
    again.close()


@pytest.mark.parametrize("keep_snapshots", [True, False])
def test_unclean_recovery_rebuild_equals_live_state(tmp_path, keep_snapshots):
    clock = FakeClock(T0)
    lg = open_log(tmp_path, clock=clock)
    fill(lg)
    live = live_view(lg)
    lg.local.close()                                      # a crash: no snapshot at close
    if not keep_snapshots:
        for o in lg.producer_state.snapshot_offsets():
            os.unlink(os.path.join(tmp_path, snapshot_file_name(o)))
    again = open_log(tmp_path, clock=clock, had_clean_shutdown=False, recovery_point=0)
    assert live_view(again) == live
    again.close()


def test_recovery_from_a_snapshot_replays_the_rest(tmp_path):
    clock = FakeClock(T0)
    lg = open_log(tmp_path, clock=clock)
    fill(lg)
    leo = lg.log_end_offset
    lg.local.close()
    snaps = lg.producer_state.snapshot_offsets()
    again = open_log(tmp_path, clock=clock, had_clean_shutdown=False, recovery_point=snaps[-1])
    # every producer's last batch comes from the replay of the tail, not from the snapshot
    assert all(e.last_data_offset >= snaps[-1] for e in again.producer_state.producers.values())
    assert again.log_end_offset == leo
    info = again.append_as_leader(pbatch(3, 0, 22, 2, ts=T0 + 11), 0)
    assert info.last_offset == leo - 1                    # the last batch is recognised
    again.close()


def test_corrupt_latest_snapshot_falls_back_to_an_older_one(tmp_path):
    clock = FakeClock(T0)
    lg = open_log(tmp_path, clock=clock)
    fill(lg)
    live = live_view(lg)
    lg.local.close()
    latest = lg.producer_state.snapshot_offsets()[-1]
    with open(os.path.join(tmp_path, snapshot_file_name(latest)), "r+b") as f:
        f.seek(12)
        f.write(b"\xff")
    again = open_log(tmp_path, clock=clock, had_clean_shutdown=False, recovery_point=lg.log_end_offset)
    assert latest not in again.producer_state.snapshot_offsets()
    assert last_batches(again) == {pid: (e[1], e[2][-1]) for pid, e in live.items()}
    again.close()


# -- truncation and retention ------------------------------------------------------------------
def test_truncation_rebuilds_the_state_of_the_remaining_prefix(tmp_path):
    clock = FakeClock(T0)
    lg = open_log(tmp_path / "a", clock=clock)
    fill(lg)
    target = lg.segments[-1].base_offset + 2                # inside the active segment, past a snapshot
    ref = open_log(tmp_path / "b", clock=clock)
    for r in range(12):
        for pid in (1, 2, 3):
            if ref.log_end_offset + 2 <= target:
                ref.append_as_leader(pbatch(pid, 0, r * 2, 2, ts=T0 + r), 0)
    assert ref.log_end_offset == target
    lg.truncate_to(target)
    assert all(o <= target for o in snapshots(lg))
    assert last_batches(lg) == last_batches(ref)
    lg.truncate_to(3)                                        # into the first segment: no snapshot below
    assert snapshots(lg) == [0]
    assert lg.log_end_offset == 2                            # the batch of producer 2 (offsets 2-3) went
    assert {pid: e.last_seq for pid, e in lg.producer_state.producers.items()} == {1: 1}
    lg.truncate_fully_and_start_at(100)
    assert lg.producer_state.is_empty and snapshots(lg) == []
    lg.close()
    ref.close()


def test_retention_deletes_the_snapshots_of_deleted_segments(tmp_path):
    clock = FakeClock(T0)
    lg = open_log(tmp_path, clock=clock)
    fill(lg)
    lg.update_high_watermark(lg.log_end_offset)
    before = live_view(lg)
    start = lg.segments[2].base_offset
    lg.maybe_increment_log_start_offset(start)
    assert lg.delete_old_segments() == 2
    assert all(o >= start for o in snapshots(lg))
    assert live_view(lg) == before                            # producers stay known (Kafka 2.8)
    lg.close()


def test_idle_producers_expire(tmp_path):
    clock = FakeClock(T0)
    lg = open_log(tmp_path, clock=clock, producer_id_expiration_ms=60_000)
    lg.append_as_leader(pbatch(1, 0, 0, ts=T0), 0)
    lg.append_as_leader(pbatch(2, 0, 0, ts=T0 + 50_000), 0)
    clock.advance(59_999)
    assert lg.remove_expired_producers() == 0
    clock.advance(1)
    assert lg.remove_expired_producers() == 1
    assert set(lg.producer_state.producers) == {2}
    # an expired producer is unknown again: any sequence is accepted
    assert lg.append_as_leader(pbatch(1, 0, 17), 0).first_offset == 2
    lg.close()


def test_general_path_multi_batch_append_updates_each_producer(tmp_path):
    """Produce v0-v2 may carry several batches: each is checked against the ones before it."""
    lg = open_log(tmp_path, GENERAL)
    info = lg.append_as_leader(pbatch(1, 0, 0, 2) + pbatch(2, 0, 0, 3) + pbatch(1, 0, 2, 1), 0)
    assert (info.first_offset, info.last_offset) == (0, 5)
    ps = lg.producer_state
    # LogAppendTime: the retained timestamp is the append time (the fake clock)
    assert list(ps.last_entry(1).batches) == [BatchMetadata(1, 1, 1, T0), BatchMetadata(2, 5, 0, T0)]
    assert list(ps.last_entry(2).batches) == [BatchMetadata(2, 4, 2, T0)]
    with pytest.raises(OutOfOrderSequenceError):          # the second batch of 1 must follow the first
        lg.append_as_leader(pbatch(1, 0, 3, 1) + pbatch(1, 0, 5, 1), 0)
    assert lg.log_end_offset == 6
    # a re-send of the whole request is a duplicate: original offsets of the batch found
    info = lg.append_as_leader(pbatch(1, 0, 2, 1), 0)
    assert (info.first_offset, info.last_offset) == (5, 5) and lg.log_end_offset == 6


@LOG_SETTINGS
@given(plan=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5), st.booleans()), min_size=1, max_size=40),
       cut=st.integers(0, 1000), twice=st.booleans())
def test_truncation_matches_a_log_that_never_had_the_tail(tmp_path_factory, plan, cut, twice):
    """Whether trimmed in memory or rebuilt from a snapshot, the state after truncate_to equals (up to the
    narrower duplicate window) the state of a log that only ever received the remaining prefix."""
    d = tmp_path_factory.mktemp("trunc")
    lg = open_log(d / "a")
    epochs = {p: 0 for p in range(4)}
    seqs = {p: 0 for p in range(4)}
    appended = []                    # (pid, epoch, seq, n, first offset)
    for pid, n, bump in plan:
        if bump:
            epochs[pid] += 1
            seqs[pid] = 0
        info = lg.append_as_leader(pbatch(1000 + pid, epochs[pid], seqs[pid], n), 0)
        appended.append((1000 + pid, epochs[pid], seqs[pid], n, info.first_offset))
        seqs[pid] += n
    boundaries = sorted({a[4] for a in appended})
    targets = [boundaries[cut % len(boundaries)]]
    if twice:
        targets.append(boundaries[(cut // 7) % len(boundaries)])
    for target in targets:
        if target >= lg.log_end_offset:
            continue
        lg.truncate_to(target)
        ref = open_log(d / f"ref{target}")
        for pid, epoch, seq, n, first in appended:
            if first < target:
                ref.append_as_leader(pbatch(pid, epoch, seq, n), 0)
        assert ref.log_end_offset == lg.log_end_offset == target
        assert last_batches(lg) == last_batches(ref)
        for pid, e in lg.producer_state.producers.items():
            assert set(e.batches) <= set(ref.producer_state.last_entry(pid).batches)
        ref.close()
        appended = [a for a in appended if a[4] < target]
    lg.close()
