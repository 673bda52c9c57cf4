"""RecordAccumulator and ProducerBatch: exact batches, linger, size limits, sticky aborts, callbacks."""
from __future__ import annotations

import asyncio

import pytest

from kafkapy.clients.producer.accumulator import BatchResult, RecordAccumulator
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.records import CompressionType, RecordBatch, iter_batches, records_of, verify_crc

pytestmark = pytest.mark.timeout(20)

TP = TopicPartition("t", 0)


def _acc(**kw) -> RecordAccumulator:
    args = dict(batch_size=1024, linger_ms=0, compression=0, retry_backoff_ms=100, delivery_timeout_ms=120000,
                buffer_memory=1 << 20)
    args.update(kw)
    return RecordAccumulator(**args)


@pytest.mark.parametrize("codec", list(CompressionType))
def test_batch_bytes_decode_with_every_codec(codec: CompressionType) -> None:
    async def go() -> None:
        acc = _acc(compression=int(codec), batch_size=1 << 20)
        for i in range(50):
            acc.append(TP, 1_700_000_000_000 + i, None if i % 3 == 0 else b"k%d" % i, b"v" * i,
                       [("h", b"x")] if i % 5 == 0 else [])
        batches = acc.drain(lambda tp: 0, [0], 1 << 20, acc.now_ms(), False)[0]
        assert len(batches) == 1
        data = batches[0].built
        info = next(iter_batches(data))
        assert verify_crc(data, info)
        assert info.compression == int(codec)
        assert info.record_count == 50 and info.last_offset_delta == 49
        recs = list(records_of(data, info))
        assert [r.offset for r in recs] == list(range(50))
        assert recs[7].key == b"k7" and recs[7].value == b"v" * 7
        assert recs[0].key is None and recs[0].headers == (("h", b"x"),)
        assert [r.timestamp for r in recs] == [1_700_000_000_000 + i for i in range(50)]
        assert info.max_timestamp == 1_700_000_000_049
        assert RecordBatch.at(data, 0).is_valid()
    asyncio.run(go())


def test_batch_size_splits_and_abort_on_new_batch() -> None:
    async def go() -> None:
        acc = _acc(batch_size=300, linger_ms=1000)
        handles = []
        for _ in range(10):
            h, _new = acc.append(TP, 1, None, b"x" * 50)
            handles.append(h)
        sizes = [b.size for b in acc.batches[TP]]
        assert len(sizes) >= 2 and all(s <= 300 for s in sizes)
        # A record that needs a new batch is refused when the caller wants to switch partitions first.
        while acc.batches[TP][-1].size + 57 <= 300:      # one 50-byte record encodes to 57 bytes
            acc.append(TP, 1, None, b"x" * 50)
        h, new = acc.append(TP, 1, None, b"x" * 50, abort_on_new_batch=True)
        assert h is None and not new
        # A record larger than batch.size still gets its own batch.
        h, new = acc.append(TopicPartition("t", 1), 1, None, b"y" * 5000)
        assert h is not None and new
    asyncio.run(go())


def test_linger_ready_and_drain() -> None:
    async def go() -> None:
        acc = _acc(linger_ms=50)
        acc.append(TP, 1, None, b"a")
        now = acc.now_ms()
        nodes, wait, unknown = acc.ready(lambda tp: 0, now)
        assert nodes == set() and 0 < wait <= 50 and not unknown
        nodes, _wait, _ = acc.ready(lambda tp: 0, now + 60)
        assert nodes == {0}
        nodes, _wait, unknown = acc.ready(lambda tp: -1, now + 60)
        assert nodes == set() and unknown == {"t"}
        acc.flushes_in_progress += 1
        assert acc.ready(lambda tp: 0, now)[0] == {0}
    asyncio.run(go())


def test_drain_respects_max_request_size_and_muting() -> None:
    async def go() -> None:
        acc = _acc(batch_size=200)
        for p in range(4):
            acc.append(TopicPartition("t", p), 1, None, b"z" * 150)
        drained = acc.drain(lambda tp: 0, [0], 450, acc.now_ms(), True)[0]
        assert 1 <= len(drained) < 4
        assert sum(len(b.built) for b in drained) <= 450 or len(drained) == 1
        assert acc.muted == {b.tp for b in drained}
        acc.done(drained[0])
        assert drained[0].tp not in acc.muted
    asyncio.run(go())


def test_results_callbacks_and_failures() -> None:
    async def go() -> None:
        acc = _acc()
        got = []
        h1, _ = acc.append(TP, 10, b"k", b"v1")
        h2, _ = acc.append(TP, 11, None, b"v2")
        h2.add_callback(lambda md, exc: got.append((md, exc)))
        batch = acc.batches[TP][0]
        batch.complete(BatchResult(100, -1, 0))
        md1, md2 = await h1, await h2
        assert (md1.offset, md2.offset) == (100, 101)
        assert md1.serialized_key_size == 1 and md2.serialized_key_size == -1
        assert md2.timestamp == 11
        assert got and got[0][0].offset == 101 and got[0][1] is None
        h3, _ = acc.append(TopicPartition("t", 2), 1, None, b"v")
        errors = []
        h3.add_callback(lambda md, exc: errors.append(exc))
        acc.batches[TopicPartition("t", 2)][0].fail(RuntimeError("boom"))
        with pytest.raises(RuntimeError):
            await h3
        assert isinstance(errors[0], RuntimeError)
    asyncio.run(go())


def test_reenqueue_puts_batch_first_with_backoff() -> None:
    async def go() -> None:
        acc = _acc(retry_backoff_ms=100, linger_ms=0)
        acc.append(TP, 1, None, b"a")
        b = acc.drain(lambda tp: 0, [0], 1 << 20, acc.now_ms(), False)[0][0]
        acc.append(TP, 2, None, b"b")
        now = acc.now_ms()
        acc.reenqueue(b, now)
        assert acc.batches[TP][0] is b and b.attempts == 1
        assert acc.ready(lambda tp: 0, now + 10)[0] == set()
        assert acc.ready(lambda tp: 0, now + 150)[0] == {0}
    asyncio.run(go())


def test_expired_batches() -> None:
    async def go() -> None:
        acc = _acc(delivery_timeout_ms=10, linger_ms=1000)
        acc.append(TP, 1, None, b"a")
        assert acc.expired_batches(acc.now_ms()) == []
        assert len(acc.expired_batches(acc.now_ms() + 20)) == 1
    asyncio.run(go())
