from __future__ import annotations

from hypothesis import HealthCheck, settings

from kafkapy.log.log import Log
from kafkapy.protocol.records import SimpleRecord, build_batch, iter_batches, records_of

# Applied per test (never as a global profile, which would change other packages' tests).
LOG_SETTINGS = settings(max_examples=60, deadline=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


class FakeClock:
    def __init__(self, now_ms: int = 1_600_000_000_000) -> None:
        self.now = now_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def batch(n: int = 1, *, ts: int = 1_600_000_000_000, value_size: int = 10, key: bytes | None = None,
          compression: int = 0, start: int = 0, keys=None, values=None) -> bytearray:
    recs = []
    for i in range(n):
        k = keys[i] if keys is not None else key
        v = values[i] if values is not None else bytes([65 + (start + i) % 26]) * value_size
        recs.append(SimpleRecord(k, v, timestamp=ts + i))
    return bytearray(build_batch(recs, compression=compression))


def scan(data) -> list:
    return list(iter_batches(data))


def all_records(log: Log) -> list:
    """Every record of the log, read back through the segment files."""
    out = []
    for seg in log.segments:
        with open(seg.log_path, "rb") as f:
            data = f.read()[:seg.size]  # a preallocated active segment has zeros after its data
        for info in iter_batches(data):
            out.extend(records_of(data, info))
    return out


def entries_on_disk(log: Log) -> list:
    out = []
    for seg in log.segments:
        with open(seg.log_path, "rb") as f:
            data = f.read()[:seg.size]
        out.extend((seg.base_offset, b) for b in iter_batches(data))
    return out




def check_log_invariants(log, dense: bool = True) -> None:
    """Entries in order (dense unless compacted), LEO right after the last one, indexes agree with a scan."""
    from kafkapy.protocol.records import iter_batches as _iter

    prev_last = None
    segs = log.segments
    for i, seg in enumerate(segs):
        with open(seg.log_path, "rb") as f:
            data = f.read()
        if seg.preallocate and seg is segs[-1]:
            assert not any(data[seg.size:])
            data = data[:seg.size]
        assert len(data) == seg.size, (seg, len(data))
        entries = list(_iter(data))
        assert (entries[-1].end if entries else 0) == len(data)
        for e in entries:
            first_offset = e.base_offset
            if e.magic < 2 and e.is_compressed:  # a legacy wrapper carries its last inner offset
                first_offset = next(iter(records_of(data, e))).offset
            assert first_offset >= seg.base_offset
            if i + 1 < len(segs):
                assert e.last_offset < segs[i + 1].base_offset
            if prev_last is not None:
                if dense:
                    assert first_offset == prev_last + 1, (prev_last, e)
                else:
                    assert first_offset > prev_last
            prev_last = e.last_offset
        positions = {e.position: e for e in entries}
        idx = seg.offset_index.entries_list()
        for a, b in zip(idx, idx[1:]):
            assert a.offset < b.offset and a.position < b.position
        for ent in idx:
            assert ent.position in positions, (seg, ent)
            assert positions[ent.position].last_offset <= ent.offset
            # the entry containing ent.offset starts at or after the indexed position
            holder = next(e for e in entries if e.last_offset >= ent.offset)
            assert holder.position >= ent.position
        tidx = seg.time_index.entries_list()
        for a, b in zip(tidx, tidx[1:]):
            assert a.timestamp < b.timestamp and a.offset <= b.offset
        for ent in tidx:
            running = max((e.max_timestamp for e in entries if e.last_offset <= ent.offset), default=-1)
            assert running == ent.timestamp, (seg, ent, running)
        true_max = max((e.max_timestamp for e in entries), default=-1)
        assert seg.max_timestamp_so_far == true_max, (seg, seg.max_timestamp_so_far, true_max)
    expected_end = prev_last + 1 if prev_last is not None else log.active_segment.base_offset
    assert log.log_end_offset >= expected_end
    if log.active_segment.size:
        assert log.log_end_offset == expected_end
    assert log.log_start_offset <= log.log_end_offset
    assert log.high_watermark <= log.log_end_offset
