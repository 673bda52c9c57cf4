"""The C append (kafkapy.log._append) against the Python fast path it mirrors.

Two logs get the same batches, one through the C helper and one with it hidden; every answer
(LogAppendInfo or the error), every byte on disk, every index entry and the state kept beside them
must be equal after every step. Batches the helper must leave to Python (bad CRC, producer ids,
offsets already set, other magics, codecs the topic refuses, read-only buffers, a new epoch, a
segment not armed) are mixed in, and the helper must change nothing when it declines.
"""
from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import HealthCheck
from hypothesis import strategies as st

from kafkapy.common.errors import ApiError
from kafkapy.common.native import native_enabled
from kafkapy.common.types import TopicPartition
from kafkapy.log import log as log_module
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log
from kafkapy.log.validator import LogAppendInfo
from kafkapy.protocol.records import SimpleRecord, build_message_set

from .helpers import FakeClock, batch, check_log_invariants
from .test_fast_append import layout

NATIVE = log_module._native_append_v2
needs_native = pytest.mark.skipif(NATIVE is None, reason="kafkapy.log._append is not built (or KAFKAPY_NATIVE=0)")
T0 = 1_600_000_000_000


def test_the_helper_is_built_unless_switched_off():
    """`make` installs a C compiler and Python's headers; a missing helper means a broken install."""
    if not native_enabled():
        pytest.skip("KAFKAPY_NATIVE=0")
    assert NATIVE is not None, "kafkapy.log._append was not built: run `pip install -e .` with gcc"


class Counting:
    """The helper, counting the appends it took and the ones it left to Python."""

    def __init__(self) -> None:
        self.taken = 0
        self.declined = 0

    def __call__(self, seg, records, *args):
        before = bytes(records) if records is not None else None
        info = NATIVE(seg, records, *args)
        if info is None:
            self.declined += 1
            assert bytes(records) == before, "the helper declined but changed the batch"
        else:
            self.taken += 1
        return info


def make_batch(kind: str, count: int, size: int, ts: int, codec: int) -> bytearray | bytes:
    if kind == "legacy":
        return bytearray(build_message_set([SimpleRecord(None, b"v" * size, timestamp=ts)], magic=1))
    data = batch(count, ts=ts, value_size=size, compression=codec)
    if kind == "bad_crc":
        data[-1] ^= 0x55
    elif kind == "producer_id":
        struct.pack_into(">qhi", data, 43, 7, 0, 0)      # producer id 7, epoch 0, sequence 0
        from kafkapy.protocol.records import crc32c
        struct.pack_into(">I", data, 17, crc32c(memoryview(data)[21:]))
    elif kind == "offset_set":
        struct.pack_into(">q", data, 0, 5)
    elif kind == "readonly":
        return bytes(data)
    elif kind == "truncated":
        return data[:-3]
    return data


append_op = st.tuples(
    st.just("append"),
    st.sampled_from(["ok"] * 8 + ["bad_crc", "producer_id", "offset_set", "legacy", "readonly", "truncated"]),
    st.integers(1, 8),                         # records
    st.integers(0, 3000),                      # value size
    st.integers(-2000, 5000),                  # timestamp step (batches may go back in time)
    st.sampled_from([0, 0, 0, 1, 3, 4]),       # codec: none, gzip, lz4, zstd
    st.booleans(),                             # allow_zstd (the request's version)
)
op = st.one_of(
    *[append_op] * 10,
    st.tuples(st.just("epoch")),
    st.tuples(st.just("roll")),
    st.tuples(st.just("truncate"), st.integers(0, 200)),
    st.tuples(st.just("config"), st.sampled_from(["producer", "lz4", "uncompressed"]),
              st.sampled_from([0, 100, 4096]), st.sampled_from([64 * 1024, 1 << 20])),
)


@needs_native
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=10, max_size=60), interval=st.sampled_from([0, 100, 4096]),
       index_bytes=st.sampled_from([64, 256] + [10 * 1024 * 1024] * 4))   # small: few armed appends
def test_the_c_append_does_what_the_python_fast_path_does(tmp_path_factory, ops, interval, index_bytes):
    tmp = tmp_path_factory.mktemp("native")
    clock = FakeClock(T0)

    def config(compression="producer", interval=interval, segment_bytes=1 << 20):
        return LogConfig(segment_bytes=segment_bytes, index_interval_bytes=interval,
                         segment_index_bytes=index_bytes, compression_type=compression)

    # the same topic in two directories: error messages name the log
    logs = {impl: Log(str(tmp / impl / "t-0"), config(), clock_ms=clock, topic_partition=TopicPartition("t", 0),
                      sync_checkpoints=False) for impl in ("c", "py")}
    counting = Counting()
    epoch, ts = 0, T0
    saved = log_module._native_append_v2
    try:
        for lg in logs.values():      # the epoch's first batch, which Python records, and the first roll decision
            lg.append_as_leader(batch(1, ts=ts), epoch)
        for o in ops:
            if o[0] == "append":
                _, kind, count, size, dt, codec, allow_zstd = o
                ts += dt
                clock.now = max(clock.now, ts)
                answers = []
                for impl, lg in logs.items():
                    log_module._native_append_v2 = counting if impl == "c" else None
                    try:
                        answers.append(lg.append_as_leader(make_batch(kind, count, size, ts, codec), epoch,
                                                           allow_zstd=allow_zstd))
                    except ApiError as e:
                        answers.append((type(e), str(e)))
                    finally:
                        log_module._native_append_v2 = saved
                assert answers[0] == answers[1]
                if isinstance(answers[0], LogAppendInfo):
                    assert type(answers[0]) is type(answers[1]) is LogAppendInfo
            elif o[0] == "epoch":
                epoch += 1
            elif o[0] == "roll":
                for lg in logs.values():
                    lg.roll()
            elif o[0] == "truncate":
                target = min(o[1], logs["c"].log_end_offset)
                for lg in logs.values():
                    lg.truncate_to(target)
            else:
                _, compression, new_interval, segment_bytes = o
                for lg in logs.values():
                    lg.update_config(config(compression, new_interval, segment_bytes))
            assert layout(logs["c"]) == layout(logs["py"])
        check_log_invariants(logs["c"])
        import sys; print("DBG", counting.taken, counting.declined, file=sys.stderr)
    finally:
        for lg in logs.values():
            lg.close()


@needs_native
def test_most_plain_batches_take_the_c_append(make_log, clock, monkeypatch):
    """A check that the comparison above compares something: after the first append of an epoch
    (Python records the epoch) and the first of a segment (Python decides the roll and arms it)
    every plain batch goes through C."""
    counting = Counting()
    monkeypatch.setattr(log_module, "_native_append_v2", counting)
    lg = make_log(LogConfig(index_interval_bytes=100))
    for i in range(50):
        lg.append_as_leader(batch(3, ts=T0 + i, value_size=200), 0)
    assert (counting.taken, counting.declined) == (49, 0)      # the new epoch's first batch: not asked
    lg.roll()
    for i in range(10):
        lg.append_as_leader(batch(3, ts=T0 + 50 + i, value_size=200), 0)
    assert (counting.taken, counting.declined) == (58, 1)      # the new segment's first batch: declined
    assert lg.log_end_offset == 180
    check_log_invariants(lg)


@needs_native
def test_a_declined_batch_changes_nothing(make_log):
    lg = make_log(LogConfig(index_interval_bytes=0))
    lg.append_as_leader(batch(2, ts=T0), 0)        # arms the segment
    seg = lg.active_segment
    before = layout(lg)
    for kind in ("bad_crc", "producer_id", "offset_set", "legacy", "readonly", "truncated"):
        data = make_batch(kind, 2, 100, T0 + 1, 0)
        copy = bytes(data)
        args = (lg.log_end_offset, 0, lg._fast_mask, lg._fast_max_size, lg.log_start_offset, LogAppendInfo)
        assert NATIVE(seg, data, *args) is None, kind
        assert bytes(data) == copy, kind
        assert layout(lg) == before, kind
    # a codec the topic does not take, and a batch over max.message.bytes
    args = (lg.log_end_offset, 0, 1 << 0, lg._fast_max_size, lg.log_start_offset, LogAppendInfo)
    assert NATIVE(seg, batch(2, ts=T0, compression=3), *args) is None
    args = (lg.log_end_offset, 0, lg._fast_mask, 100, lg.log_start_offset, LogAppendInfo)
    assert NATIVE(seg, batch(2, ts=T0, value_size=200), *args) is None
    # a segment whose limits are not armed, and objects that are not kafkapy's segments
    seg.disarm_fast_append()
    args = (lg.log_end_offset, 0, lg._fast_mask, lg._fast_max_size, lg.log_start_offset, LogAppendInfo)
    assert NATIVE(seg, batch(2, ts=T0), *args) is None
    assert NATIVE(object(), batch(2, ts=T0), *args) is None
    assert layout(lg) == before


@needs_native
def test_a_failed_write_raises_and_leaves_the_log_as_it_was(make_log):
    lg = make_log(LogConfig())
    lg.append_as_leader(batch(2, ts=T0), 0)
    seg = lg.active_segment
    before = (lg.log_end_offset, seg.size, seg.bytes_since_last_index_entry)
    saved_fd = seg.fd
    read_only = os.open(seg.log_path, os.O_RDONLY)
    seg.fd = read_only                               # pwrite gets EBADF
    try:
        with pytest.raises(OSError):
            lg.append_as_leader(batch(2, ts=T0 + 1), 0)
    finally:
        seg.fd = saved_fd
        os.close(read_only)
    assert (lg.log_end_offset, seg.size, seg.bytes_since_last_index_entry) == before
    lg.append_as_leader(batch(2, ts=T0 + 2), 0)
    assert lg.log_end_offset == 4
    check_log_invariants(lg)


@needs_native
def test_wrong_arguments_are_type_errors(make_log):
    lg = make_log(LogConfig())
    with pytest.raises(TypeError):
        NATIVE(lg.active_segment, batch(1))
    with pytest.raises(TypeError):
        NATIVE(lg.active_segment, batch(1), 0, 0, 1, 1 << 20, 0, dict)
