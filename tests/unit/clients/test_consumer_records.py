"""The consumer's handling of fetched partition data: every format, mid-batch fetch offsets,
control batches, truncated tails, errors and positions (no broker: fetch responses built here)."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from kafkapy.clients.consumer import Consumer
from kafkapy.clients.consumer.consumer import _PartitionState
from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.records import (
    CompressionType,
    SimpleRecord,
    build_batch,
    build_empty_batch,
    build_message_set,
    read_entry,
)
from kafkapy.protocol.records.control import ControlRecordType, build_end_txn_marker_batch

pytestmark = pytest.mark.timeout(20)
TP = TopicPartition("t", 0)


def _recs(start: int, n: int) -> list[SimpleRecord]:
    return [SimpleRecord(b"k%d" % i, b"v%d" % i, (), 1_000 + i) for i in range(start, start + n)]


def _partition(data: bytes, code: int = 0, hw: int = 100) -> SimpleNamespace:
    return SimpleNamespace(error_code=code, high_watermark=hw, log_start_offset=0, record_set=memoryview(data))


def _consumer(**props) -> tuple[Consumer, _PartitionState]:
    c = Consumer({"bootstrap.servers": "127.0.0.1:1", **props})
    c.assign([TP])
    st = c._assignment[TP]
    return c, st


@pytest.mark.parametrize("fmt", ["v0", "v1", "v2"])
@pytest.mark.parametrize("codec", [CompressionType.NONE, CompressionType.GZIP, CompressionType.SNAPPY,
                                   CompressionType.LZ4])
def test_every_format_from_the_middle_of_a_batch(fmt: str, codec: CompressionType) -> None:
    async def go() -> None:
        if fmt == "v2":
            data = build_batch(_recs(10, 5), base_offset=10, compression=int(codec)) + \
                build_batch(_recs(15, 5), base_offset=15, compression=int(codec))
        else:
            magic = 0 if fmt == "v0" else 1
            data = build_message_set(_recs(10, 5), magic=magic, compression=int(codec), base_offset=10) + \
                build_message_set(_recs(15, 5), magic=magic, compression=int(codec), base_offset=15)
        c, st = _consumer()
        c.seek(TP, 12)                      # a compressed wrapper / batch starts before the position
        assert c._handle_partition(TP, st, _partition(data))
        out = c._drain(100)
        assert [r.offset for r in out] == list(range(12, 20))
        assert out[0].key == b"k12" and out[-1].value == b"v19"
        if fmt == "v0":
            assert all(r.timestamp == -1 for r in out)
        else:
            assert [r.timestamp for r in out] == [1_000 + i for i in range(12, 20)]
        assert await c.position(TP) == 20 and st.fetch_position == 20 and st.high_watermark == 100
        await c.close()
    asyncio.run(go())


def test_control_batches_are_skipped_and_advance_the_position() -> None:
    async def go() -> None:
        data = build_batch(_recs(0, 3), base_offset=0, producer_id=7, producer_epoch=0, base_sequence=0,
                           is_transactional=True) + \
            build_end_txn_marker_batch(ControlRecordType.COMMIT, producer_id=7, producer_epoch=0,
                                       coordinator_epoch=1, base_offset=3)
        c, st = _consumer()
        c.seek(TP, 0)
        c._handle_partition(TP, st, _partition(data))
        assert [r.offset for r in c._drain(10)] == [0, 1, 2]
        assert st.fetch_position == 4
        marker_only = build_end_txn_marker_batch(ControlRecordType.ABORT, producer_id=7, producer_epoch=0,
                                                 coordinator_epoch=1, base_offset=4)
        c._handle_partition(TP, st, _partition(marker_only))
        assert c._drain(10) == [] and await c.position(TP) == 5
        await c.close()
    asyncio.run(go())


def test_empty_batches_left_by_the_cleaner_are_skipped_and_advance_the_position() -> None:
    """A compacted log keeps an idempotent producer's last batch without records (header only)."""
    async def go() -> None:
        def empty(base: int, last: int) -> bytes:
            full = build_batch(_recs(base, last - base + 1), base_offset=base, producer_id=3, producer_epoch=1,
                               base_sequence=base)
            return build_empty_batch(read_entry(full, 0))
        data = empty(0, 2) + build_batch(_recs(3, 2), base_offset=3) + empty(5, 9)
        c, st = _consumer()
        c.seek(TP, 1)
        assert c._handle_partition(TP, st, _partition(data))
        assert [r.offset for r in c._drain(10)] == [3, 4]
        assert st.fetch_position == 10
        assert not c._handle_partition(TP, st, _partition(empty(10, 10)))   # a response with only an empty batch
        assert c._drain(10) == [] and await c.position(TP) == 11
        await c.close()
    asyncio.run(go())


def test_truncated_tail_is_left_for_the_next_fetch() -> None:
    async def go() -> None:
        whole = build_batch(_recs(0, 4), base_offset=0)
        partial = build_batch(_recs(4, 4), base_offset=4)
        c, st = _consumer()
        c.seek(TP, 0)
        c._handle_partition(TP, st, _partition(whole + partial[: len(partial) // 2]))
        assert [r.offset for r in c._drain(10)] == [0, 1, 2, 3]
        assert st.fetch_position == 4
        await c.close()
    asyncio.run(go())


def test_out_of_range_resets_or_raises() -> None:
    async def go() -> None:
        c, st = _consumer(**{"auto.offset.reset": "earliest"})
        c.seek(TP, 50)
        c._handle_partition(TP, st, _partition(b"", code=ErrorCode.OFFSET_OUT_OF_RANGE))
        assert st.position is None and st.reset_to == -2
        await c.close()
        c, st = _consumer(**{"auto.offset.reset": "none"})
        c.seek(TP, 50)
        c._handle_partition(TP, st, _partition(b"", code=ErrorCode.OFFSET_OUT_OF_RANGE))
        from kafkapy.common.errors import OffsetOutOfRangeError
        with pytest.raises(OffsetOutOfRangeError):
            c._drain(10)
        await c.close()
    asyncio.run(go())


def test_stale_responses_after_seek_are_dropped_and_invalid_metadata_refreshes() -> None:
    async def go() -> None:
        c, st = _consumer()
        c.seek(TP, 0)
        c._handle_partition(TP, st, _partition(build_batch(_recs(0, 2))))
        c.seek(TP, 1)                        # clears what was buffered for the old position
        assert c._drain(10) == []
        c._metadata_stale = False
        c._handle_partition(TP, st, _partition(b"", code=ErrorCode.NOT_LEADER_OR_FOLLOWER))
        assert c._metadata_stale
        await c.close()
    asyncio.run(go())


def test_max_records_and_pause() -> None:
    async def go() -> None:
        c, st = _consumer()
        c.seek(TP, 0)
        c._handle_partition(TP, st, _partition(build_batch(_recs(0, 10))))
        assert [r.offset for r in c._drain(4)] == [0, 1, 2, 3]
        c.pause([TP])
        assert c._drain(4) == []
        c.resume([TP])
        assert [r.offset for r in c._drain(100)] == list(range(4, 10))
        assert await c.position(TP) == 10
        await c.close()
    asyncio.run(go())
