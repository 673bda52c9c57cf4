"""Shallow walk, CRC verification and in-place patches over fixed byte vectors (protocol.md §6.8)."""
from __future__ import annotations

import struct
import zlib

import crc32c as crc32c_pkg
import pytest

from kafkapy.protocol.records import (
    BatchInfo,
    CorruptRecordError,
    CrcMismatchError,
    ensure_valid,
    iter_batches,
    read_entry,
    scan_valid_prefix,
    set_base_offset,
    set_log_append_time,
    set_partition_leader_epoch,
    verify_crc,
)


def hx(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", "").replace("|", ""))


V2_HELLO = hx("0000000000000000 0000003d ffffffff 02 2b96c458 0000 00000000 00000174876e8000 00000174876e8000 "
              "ffffffffffffffff ffff ffffffff 00000001 | 16 00 00 00 01 0a 68656c6c6f 00")
V2_COMMIT = hx("0000000000000005 00000042 ffffffff 02 96c63b43 0030 00000000 00000174876e8000 00000174876e8000 "
               "00000000000003e8 0000 ffffffff 00000001 | 20 00 00 00 08 00000001 0c 000000000000 00")
V1_HELLO = hx("0000000000000000 0000001b 61df48e7 01 00 00000174876e8000 ffffffff 00000005 68656c6c6f")
V0_HELLO = hx("0000000000000000 00000013 87a77ab2 00 00 ffffffff 00000005 68656c6c6f")
MIXED = V2_HELLO + V1_HELLO + V0_HELLO + V2_COMMIT


def test_worked_example_sizes():
    assert (len(V2_HELLO), len(V2_COMMIT), len(V1_HELLO), len(V0_HELLO)) == (73, 78, 39, 31)


def test_iter_batches_decodes_every_header():
    infos = list(iter_batches(MIXED))
    assert [i.magic for i in infos] == [2, 1, 0, 2]
    assert [i.position for i in infos] == [0, 73, 112, 143]
    assert [i.size for i in infos] == [73, 39, 31, 78]
    v2, v1, v0, commit = infos
    assert v2 == BatchInfo(0, 73, 2, 0, 0, -1, 0, 0x2B96C458, 1600000000000, 1600000000000, -1, -1, -1, 1)
    assert v1.first_timestamp == v1.max_timestamp == 1600000000000 and v1.timestamp_type == 0
    assert v0.timestamp_type == -1 and v0.max_timestamp == -1 and v0.record_count == 1
    assert commit.is_control and commit.is_transactional and commit.producer_id == 1000
    assert commit.base_offset == commit.last_offset == 5 and commit.producer_epoch == 0
    assert not v2.is_control and not v2.is_transactional and v2.compression == 0
    assert all(verify_crc(MIXED, i) for i in infos)


def test_crc_fields_match_independent_computations():
    for info in iter_batches(MIXED):
        entry = MIXED[info.position:info.end]
        if info.magic == 2:
            assert info.crc == crc32c_pkg.crc32c(entry[21:])
        else:
            assert info.crc == zlib.crc32(entry[16:])


def test_last_sequence_wraps_like_kafka():
    info = BatchInfo(0, 100, 2, 10, 14, -1, 0, 0, 0, 0, 7, 0, 0x7FFFFFFE, 5)
    assert info.last_sequence == 2  # 0x7FFFFFFE, 0x7FFFFFFF, 0, 1, 2
    assert BatchInfo(0, 100, 2, 10, 14, -1, 0, 0, 0, 0, 7, 0, 3, 5).last_sequence == 7
    assert BatchInfo(0, 100, 2, 10, 14, -1, 0, 0, 0, 0, -1, -1, -1, 5).last_sequence == -1


def test_impossible_size_raises():
    bad = bytearray(V2_HELLO)
    struct.pack_into(">i", bad, 8, 5)
    with pytest.raises(CorruptRecordError):
        list(iter_batches(bad))
    small_v2 = bytearray(V2_HELLO)
    struct.pack_into(">i", small_v2, 8, 30)  # >= 14 but below the v2 header
    with pytest.raises(CorruptRecordError):
        list(iter_batches(small_v2))


def test_unknown_magic_raises():
    bad = bytearray(V2_HELLO)
    bad[16] = 3
    with pytest.raises(CorruptRecordError):
        read_entry(bad, 0)


def test_max_size_limit():
    with pytest.raises(CorruptRecordError):
        list(iter_batches(MIXED, max_size=50))


def test_truncation_at_every_byte_stops_cleanly_at_an_entry_boundary():
    ends = [i.end for i in iter_batches(MIXED)]
    for cut in range(len(MIXED) + 1):
        prefix = MIXED[:cut]
        infos = list(iter_batches(prefix))
        expected = [e for e in ends if e <= cut]
        assert [i.end for i in infos] == expected
        scan = scan_valid_prefix(prefix)
        assert scan.valid_end == (expected[-1] if expected else 0)
        assert (scan.error is None) == (cut in ends or cut == 0)


def test_random_bit_flips_never_escape_as_other_errors():
    import random
    rnd = random.Random(1234)
    ends = [i.end for i in iter_batches(MIXED)]
    for _ in range(2000):
        buf = bytearray(MIXED)
        pos = rnd.randrange(len(buf))
        buf[pos] ^= 1 << rnd.randrange(8)
        try:
            list(iter_batches(buf))
        except CorruptRecordError:
            pass
        scan = scan_valid_prefix(buf)
        # every byte of an entry is covered by size, magic or CRC checks except
        # the offset and partition leader epoch fields (not under the CRC).
        first_bad = next(e for e in ends if pos < e)
        start_of_bad = ([0] + ends)[ends.index(first_bad)]
        rel = pos - start_of_bad
        uncovered = rel < 8 or (MIXED[start_of_bad + 16] == 2 and 12 <= rel < 16)
        if uncovered:
            assert scan.valid_end == len(buf) and scan.error is None
        else:
            assert scan.valid_end <= start_of_bad and scan.error


def test_scan_valid_prefix_stops_at_bad_crc():
    buf = bytearray(MIXED)
    buf[112 + 25] ^= 0xFF  # inside the magic 0 message value
    scan = scan_valid_prefix(buf)
    assert scan.valid_end == 112 and len(scan.batches) == 2 and "crc" in scan.error
    info = read_entry(buf, 112)
    with pytest.raises(CrcMismatchError):
        ensure_valid(buf, info)


def test_patches_keep_or_fix_crc():
    buf = bytearray(V2_HELLO + V2_COMMIT)
    set_base_offset(buf, 0, 1234)
    set_partition_leader_epoch(buf, 0, 9)
    info = read_entry(buf, 0)
    assert (info.base_offset, info.partition_leader_epoch, info.crc) == (1234, 9, 0x2B96C458)
    assert verify_crc(buf, info)
    set_log_append_time(buf, 73, 1700000000000)
    c = read_entry(buf, 73)
    assert c.timestamp_type == 1 and c.max_timestamp == 1700000000000 and c.first_timestamp == 1600000000000
    assert verify_crc(buf, c) and c.attributes == 0x38
    assert buf[73 + 61:] == V2_COMMIT[61:]


def test_works_over_memoryview_slices():
    view = memoryview(b"xx" + MIXED)
    infos = list(iter_batches(view, start=2))
    assert [i.position for i in infos] == [2, 75, 114, 145]
    assert scan_valid_prefix(view, start=2).valid_end == len(view)


# --- generated multi-entry buffers -------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kafkapy.protocol.records import SimpleRecord, build_batch, build_message_set, iter_records  # noqa: E402

from .strategies import SETTINGS  # noqa: E402

_FORMATS = [(m, c) for m in range(3) for c in range(5) if not (c == 4 and m < 2)]


@st.composite
def entry_buffers(draw):
    entries = []
    offset = 0
    for _ in range(draw(st.integers(1, 4))):
        magic, codec = draw(st.sampled_from(_FORMATS))
        n = draw(st.integers(1, 4))
        recs = [SimpleRecord(b"k%d" % i, draw(st.binary(max_size=40)), (), 1600000000000 + i) for i in range(n)]
        if magic == 2:
            entries.append(build_batch(recs, base_offset=offset, compression=codec))
        else:
            entries.append(build_message_set(recs, magic=magic, compression=codec, base_offset=offset))
        offset += n
    return entries, offset


@SETTINGS
@given(spec=entry_buffers(), data=st.data())
def test_generated_buffers_truncate_and_flip_cleanly(spec, data):
    entries, total = spec
    buf = b"".join(entries)
    assert [r.offset for r in iter_records(buf)] == list(range(total))
    ends = [i.end for i in iter_batches(buf)]
    assert ends[-1] == len(buf)
    cut = data.draw(st.integers(0, len(buf)))
    complete = [e for e in ends if e <= cut]
    assert [i.end for i in iter_batches(buf[:cut])] == complete
    assert scan_valid_prefix(buf[:cut]).valid_end == (max(complete) if complete else 0)
    flipped = bytearray(buf)
    at = data.draw(st.integers(0, len(buf) - 1))
    flipped[at] ^= 1 << data.draw(st.integers(0, 7))
    scan = scan_valid_prefix(flipped)
    assert scan.valid_end <= len(buf)
    entry_start = ([0] + ends)[next(i for i, e in enumerate(ends) if at < e)]
    assert scan.valid_end >= min(entry_start, scan.valid_end)
    assert all(verify_crc(flipped, i) for i in scan.batches)
    if scan.valid_end <= at:
        assert scan.error
