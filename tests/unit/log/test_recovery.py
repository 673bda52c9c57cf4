"""Crash tests: damaged segments and indexes are recovered to the longest valid prefix."""
from __future__ import annotations

import logging
import os

from hypothesis import given
from hypothesis import strategies as st

from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log
from kafkapy.protocol.records import iter_batches

from .helpers import LOG_SETTINGS, FakeClock, all_records, batch, check_log_invariants

CFG = LogConfig(segment_bytes=4000, index_interval_bytes=300, segment_index_bytes=4096)


def open_log(path, **kw) -> Log:
    return Log(str(path), CFG, clock_ms=FakeClock(), topic_partition=TopicPartition("t", 0),
               sync_checkpoints=False, **kw)


def build(path, n_batches: int = 40, codec_cycle=(0, 0, 1)) -> list[tuple[int, bytes]]:
    log = open_log(path)
    for i in range(n_batches):
        log.append_as_leader(batch(1 + i % 4, value_size=30 + (i * 37) % 200, start=i,
                                   compression=codec_cycle[i % len(codec_cycle)]), i // 10)
    recs = [(r.offset, r.value) for r in all_records(log)]
    log.close()
    return recs


def segment_files(path) -> list[str]:
    return sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".log"))


def expected_after_damage(path, seg_path: str, damaged_at: int) -> list[tuple[int, bytes]]:
    """Records of every entry wholly before ``damaged_at`` in ``seg_path`` and of every earlier segment."""
    out = []
    for p in segment_files(path):
        with open(p, "rb") as f:
            data = f.read()
        for info in iter_batches(data):
            if p == seg_path and info.end > damaged_at:
                break
            out.append(info)
        if p == seg_path:
            break
    return [(i.base_offset, i.last_offset) for i in out]


def offsets_kept(recs, spans) -> list[tuple[int, bytes]]:
    last = spans[-1][1] if spans else -1
    return [r for r in recs if r[0] <= last]


@LOG_SETTINGS
@given(st.data())
def test_cut_segment_at_random_position(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("cut") / "t-0"
    recs = build(path)
    segs = segment_files(path)
    seg = data.draw(st.sampled_from(segs))
    size = os.path.getsize(seg)
    cut = data.draw(st.integers(0, max(size - 1, 0)))
    spans = expected_after_damage(path, seg, cut)
    with open(seg, "rb") as f:
        content = f.read()
    entries = list(iter_batches(content))
    boundary = cut in {0} | {e.end for e in entries}
    os.truncate(seg, cut)
    log = open_log(path, had_clean_shutdown=False)
    try:
        got = [(r.offset, r.value) for r in all_records(log)]
        if boundary:
            # a cut between entries is invisible (as in Kafka): only the cut-off entries are gone
            lost = {o for e in entries if e.end > cut for o in range(e.base_offset, e.last_offset + 1)}
            assert got == [r for r in recs if r[0] not in lost]
        else:
            assert got == offsets_kept(recs, spans)
        check_log_invariants(log, dense=not boundary)
        log.append_as_leader(batch(2), 9)
        check_log_invariants(log, dense=not boundary)
    finally:
        log.close()


@LOG_SETTINGS
@given(st.data())
def test_flip_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("flip") / "t-0"
    recs = build(path)
    segs = segment_files(path)
    seg = data.draw(st.sampled_from(segs))
    with open(seg, "rb") as f:
        content = bytearray(f.read())
    entries = list(iter_batches(content))
    target = data.draw(st.sampled_from(entries))
    # any byte the checksum covers, or the magic byte, or the size field
    pos = data.draw(st.sampled_from([target.position + 8, target.position + 16]) |
                    st.integers(target.position + 17, target.end - 1))
    content[pos] ^= data.draw(st.integers(1, 255))
    spans = expected_after_damage(path, seg, target.position + 1)
    with open(seg, "wb") as f:
        f.write(content)
    log = open_log(path, had_clean_shutdown=False)
    try:
        assert [(r.offset, r.value) for r in all_records(log)] == offsets_kept(recs, spans)
        check_log_invariants(log)
    finally:
        log.close()


@LOG_SETTINGS
@given(st.data(), st.sampled_from(["truncate", "garbage", "delete", "zeros", "grow"]), st.booleans())
def test_damaged_indexes_are_rebuilt(tmp_path_factory, data, how, clean):
    path = tmp_path_factory.mktemp("idx") / "t-0"
    recs = build(path)
    idx_files = sorted(os.path.join(path, f) for f in os.listdir(path)
                       if f.endswith(".index") or f.endswith(".timeindex"))
    victim = data.draw(st.sampled_from(idx_files))
    size = os.path.getsize(victim)
    if how == "truncate":
        entry = 8 if victim.endswith(".index") else 12
        cut = data.draw(st.integers(0, max(size - 1, 0)))
        if clean and cut % entry == 0:
            # whole entries cut from an inactive index are invisible to the cheap checks of a clean
            # start (as in Kafka); an empty or ragged file is not
            cut = 0 if cut < entry else cut - 1
        os.truncate(victim, cut)
    elif how == "garbage":
        with open(victim, "r+b") as f:
            f.write(data.draw(st.binary(min_size=8, max_size=64)))
    elif how == "delete":
        os.unlink(victim)
    elif how == "zeros":
        with open(victim, "wb") as f:
            f.write(b"\0" * 4096)
    else:
        with open(victim, "ab") as f:
            f.write(data.draw(st.binary(min_size=1, max_size=40)))
    if clean and how == "garbage":
        clean = False  # a clean shutdown only sanity-checks inactive indexes, as Kafka does
    log = open_log(path, had_clean_shutdown=clean, recovery_point=10**9)
    try:
        assert [(r.offset, r.value) for r in all_records(log)] == recs
        check_log_invariants(log)
        for off in range(0, log.log_end_offset, 5):
            fetch = log.read(off, 400)
            first = next(iter_batches(fetch.records.read()))
            assert first.base_offset <= off <= first.last_offset or first.base_offset == off
    finally:
        log.close()


def test_damage_is_logged_with_file_and_position(tmp_path, caplog):
    path = tmp_path / "t-0"
    build(path, n_batches=5)
    seg = segment_files(path)[0]
    size = os.path.getsize(seg)
    os.truncate(seg, size - 3)
    with caplog.at_level(logging.WARNING, logger="kafkapy.log"):
        log = open_log(path, had_clean_shutdown=False)
    log.close()
    assert any(seg in rec.getMessage() and "position" in rec.getMessage() for rec in caplog.records)


def test_leftover_files_are_handled(tmp_path):
    path = tmp_path / "t-0"
    recs = build(path, n_batches=30)
    segs = segment_files(path)
    assert len(segs) >= 3
    # a .deleted segment and a .cleaned one are removed; a stray index without log too
    with open(os.path.join(path, "00000000000000009999.log.deleted"), "wb") as f:
        f.write(b"junk")
    with open(os.path.join(path, "00000000000000009998.log.cleaned"), "wb") as f:
        f.write(b"junk")
    with open(os.path.join(path, "00000000000000007777.index"), "wb") as f:
        f.write(b"\0" * 8)
    # a .swap that replaces the first two segments with their own concatenation
    first, second = segs[0], segs[1]
    with open(first, "rb") as f1, open(second, "rb") as f2:
        merged = f1.read() + f2.read()
    base = os.path.basename(first).split(".")[0]
    with open(os.path.join(path, base + ".log.swap"), "wb") as f:
        f.write(merged)
    log = open_log(path, had_clean_shutdown=True)
    try:
        names = os.listdir(path)
        assert not [n for n in names if n.endswith((".deleted", ".cleaned", ".swap"))]
        assert "00000000000000007777.index" not in names
        assert os.path.basename(second) not in names
        assert [(r.offset, r.value) for r in all_records(log)] == recs
        check_log_invariants(log)
    finally:
        log.close()


def test_unreadable_leader_epoch_checkpoint_is_rebuilt(tmp_path):
    path = tmp_path / "t-0"
    build(path, n_batches=40)
    good = (path / "leader-epoch-checkpoint").read_text()
    assert good.startswith("0\n4\n0 0\n")
    (path / "leader-epoch-checkpoint").write_text("0\n7\n0 0\n")
    log = open_log(path, had_clean_shutdown=True)
    try:
        assert [e.epoch for e in log.leader_epoch_cache.entries] == [0, 1, 2, 3]
        assert (path / "leader-epoch-checkpoint").read_text() == good
    finally:
        log.close()


def test_preallocated_segments_reopen_clean_and_unclean(tmp_path):
    cfg = LogConfig(segment_bytes=5000, preallocate=True, index_interval_bytes=300)
    path = tmp_path / "t-0"
    log = Log(str(path), cfg, clock_ms=FakeClock(), topic_partition=TopicPartition("t", 0), sync_checkpoints=False)
    for i in range(30):
        log.append_as_leader(batch(2, value_size=100), 0)
    active = log.active_segment
    assert os.path.getsize(active.log_path) == 5000 > active.size  # preallocated
    expected = [(r.offset, r.value) for r in all_records(log)]
    log.local.close_handlers()  # crash: files stay preallocated, indexes untrimmed
    log = Log(str(path), cfg, clock_ms=FakeClock(), topic_partition=TopicPartition("t", 0),
              sync_checkpoints=False, had_clean_shutdown=False)
    assert [(r.offset, r.value) for r in all_records(log)] == expected
    check_log_invariants(log)
    log.close()
    assert all(os.path.getsize(s.log_path) == s.size for s in log.segments)
    log = Log(str(path), cfg, clock_ms=FakeClock(), topic_partition=TopicPartition("t", 0), sync_checkpoints=False)
    assert [(r.offset, r.value) for r in all_records(log)] == expected
    check_log_invariants(log)
    log.close()


def test_a_segment_name_beyond_a_64_bit_offset_is_ignored_with_a_warning(tmp_path, caplog):
    """Kafka names segments by a 64-bit offset; a 20-digit name past that is no segment of ours (Kafka's own
    parse of it would fail): it is skipped with a warning and the log loads."""
    path = tmp_path / "t-0"
    recs = build(path, n_batches=3)
    for suffix in (".log", ".index", ".timeindex"):
        (path / f"99999999999999999999{suffix}").write_bytes(b"")
    with caplog.at_level("WARNING"):
        log = open_log(path, had_clean_shutdown=False, recovery_point=0)
    try:
        assert [(r.offset, r.value) for r in all_records(log)] == recs
        assert [s.base_offset for s in log.segments] == [0]
        check_log_invariants(log)
    finally:
        log.close()
    assert "99999999999999999999.log: its offset 99999999999999999999 is beyond the largest" in caplog.text
