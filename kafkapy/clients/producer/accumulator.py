"""The producer's record accumulator: per-partition queues of open and closed batches.

Records are encoded into their batch as they are appended (the v2 record bytes), so the
size check is exact and closing a batch only compresses the payload and writes the
61-byte header. ``FutureRecordMetadata`` is a light handle on its batch's single future:
one future per batch, not per record.
"""
from __future__ import annotations

import asyncio
import collections
import struct
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kafkapy.common.types import TopicPartition
from kafkapy.protocol.records import RECORD_BATCH_OVERHEAD, compress
from kafkapy.protocol.records.batch import attributes_for, encode_record
from kafkapy.protocol.records.crc import crc32c
from kafkapy.protocol.records.shallow import V2_HEADER

__all__ = ["RecordMetadata", "FutureRecordMetadata", "ProducerBatch", "RecordAccumulator", "BatchResult",
           "Callback"]

_UINT32 = struct.Struct(">I")
_CRC_OFFSET = 17
_ATTRIBUTES_OFFSET = 21
_RECORD_OVERHEAD_ESTIMATE = 21          # varints of one record, a conservative upper bound

Callback = Callable[["RecordMetadata | None", "BaseException | None"], Any]


@dataclass(frozen=True, slots=True)
class RecordMetadata:
    topic: str
    partition: int
    offset: int
    timestamp: int
    serialized_key_size: int
    serialized_value_size: int
    log_start_offset: int = -1

    @property
    def topic_partition(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class BatchResult:
    base_offset: int
    log_append_time_ms: int = -1
    log_start_offset: int = -1


class FutureRecordMetadata:
    """Awaitable result of one ``send``: resolves to RecordMetadata or raises the send error."""

    __slots__ = ("_batch", "_index", "_timestamp", "_key_size", "_value_size")

    def __init__(self, batch: ProducerBatch, index: int, timestamp: int, key_size: int, value_size: int) -> None:
        self._batch = batch
        self._index = index
        self._timestamp = timestamp
        self._key_size = key_size
        self._value_size = value_size

    def _metadata(self, r: BatchResult) -> RecordMetadata:
        tp = self._batch.tp
        offset = r.base_offset + self._index if r.base_offset >= 0 else -1
        ts = r.log_append_time_ms if r.log_append_time_ms >= 0 else self._timestamp
        return RecordMetadata(tp.topic, tp.partition, offset, ts, self._key_size, self._value_size,
                              r.log_start_offset)

    def __await__(self) -> Generator[Any, None, RecordMetadata]:
        result = yield from self._batch.future.__await__()
        return self._metadata(result)

    def done(self) -> bool:
        return self._batch.future.done()

    def result(self) -> RecordMetadata:
        return self._metadata(self._batch.future.result())

    def exception(self) -> BaseException | None:
        return self._batch.future.exception()

    def add_callback(self, callback: Callback) -> None:
        """``callback(metadata, None)`` on success, ``callback(None, exc)`` on failure."""
        self._batch.add_callback(self, callback)


class ProducerBatch:
    """One batch for one partition; records encoded on append."""

    __slots__ = ("tp", "created_ms", "first_timestamp", "max_timestamp", "parts", "size", "record_count",
                 "future", "callbacks", "attempts", "last_attempt_ms", "closed", "built", "retry",
                 "delivery_deadline_ms", "capacity", "base_sequence", "sequence_generation")

    def __init__(self, tp: TopicPartition, now_ms: int, capacity: int, delivery_timeout_ms: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.tp = tp
        self.created_ms = now_ms
        self.first_timestamp = -1
        self.max_timestamp = -1
        self.parts: list[bytes] = []
        self.size = RECORD_BATCH_OVERHEAD
        self.record_count = 0
        self.future: asyncio.Future[BatchResult] = loop.create_future()
        self.callbacks: list[tuple[FutureRecordMetadata, Callback]] | None = None
        self.attempts = 0
        self.last_attempt_ms = now_ms
        self.closed = False
        self.built: bytes | None = None
        self.retry = False
        self.delivery_deadline_ms = now_ms + delivery_timeout_ms
        self.capacity = capacity
        self.base_sequence = -1          # idempotent producer: set when first drained
        self.sequence_generation = 0

    def try_append(self, timestamp: int, key: bytes | None, value: bytes | None,
                   headers: Sequence[tuple[str, bytes | None]]) -> FutureRecordMetadata | None:
        """Append if it fits (a first record always fits); None when the batch is full."""
        if self.record_count == 0:
            self.first_timestamp = timestamp
        rec = encode_record(self.record_count, timestamp - self.first_timestamp, key, value, headers)
        if self.record_count and self.size + len(rec) > self.capacity:
            return None
        self.parts.append(rec)
        self.size += len(rec)
        if timestamp > self.max_timestamp:
            self.max_timestamp = timestamp
        index = self.record_count
        self.record_count += 1
        return FutureRecordMetadata(self, index, timestamp, -1 if key is None else len(key),
                                    -1 if value is None else len(value))

    def is_full(self) -> bool:
        return self.size + _RECORD_OVERHEAD_ESTIMATE >= self.capacity

    def build(self, compression: int) -> bytes:
        """The batch bytes (built once; retries resend the same bytes)."""
        if self.built is None:
            payload = b"".join(self.parts)
            if compression:
                payload = compress(compression, payload)
            out = bytearray(RECORD_BATCH_OVERHEAD + len(payload))
            V2_HEADER.pack_into(out, 0, 0, len(out) - 12, -1, 2, 0, attributes_for(compression),
                                self.record_count - 1, self.first_timestamp, self.max_timestamp, -1, -1, -1,
                                self.record_count)
            out[RECORD_BATCH_OVERHEAD:] = payload
            _UINT32.pack_into(out, _CRC_OFFSET, crc32c(memoryview(out)[_ATTRIBUTES_OFFSET:]))
            self.built = bytes(out)
            self.parts = []
        return self.built

    def add_callback(self, handle: FutureRecordMetadata, callback: Callback) -> None:
        if self.future.done():
            self._run_callback(handle, callback)
            return
        if self.callbacks is None:
            self.callbacks = []
        self.callbacks.append((handle, callback))

    def _run_callback(self, handle: FutureRecordMetadata, callback: Callback) -> None:
        exc = self.future.exception()
        if exc is None:
            callback(handle._metadata(self.future.result()), None)
        else:
            callback(None, exc)

    def complete(self, result: BatchResult) -> None:
        if self.future.done():
            return
        self.future.set_result(result)
        self._fire()

    def fail(self, exc: BaseException) -> None:
        if self.future.done():
            return
        self.future.set_exception(exc)
        if not self.callbacks:
            self.future.exception()         # mark retrieved: the records' handles re-raise it
        self._fire()

    def _fire(self) -> None:
        callbacks, self.callbacks = self.callbacks, None
        if callbacks:
            for handle, cb in callbacks:
                self._run_callback(handle, cb)


class RecordAccumulator:
    """Queues of batches per partition; the sender drains ready ones by leader."""

    def __init__(self, *, batch_size: int, linger_ms: int, compression: int, retry_backoff_ms: int,
                 delivery_timeout_ms: int, buffer_memory: int) -> None:
        self.batch_size = batch_size
        self.linger_ms = linger_ms
        self.compression = compression
        self.retry_backoff_ms = retry_backoff_ms
        self.delivery_timeout_ms = delivery_timeout_ms
        self.buffer_memory = buffer_memory
        self.batches: dict[TopicPartition, collections.deque[ProducerBatch]] = {}
        self.muted: set[TopicPartition] = set()
        self.in_flight_batches: set[ProducerBatch] = set()
        self.buffered_bytes = 0
        self.flushes_in_progress = 0
        self.closing = False
        self.wakeup = asyncio.Event()
        self._space = asyncio.Event()

    @staticmethod
    def now_ms() -> int:
        return int(time.monotonic() * 1000)

    def append(self, tp: TopicPartition, timestamp: int, key: bytes | None, value: bytes | None,
               headers: Sequence[tuple[str, bytes | None]] = (), abort_on_new_batch: bool = False
               ) -> tuple[FutureRecordMetadata | None, bool]:
        """Append one record; returns its handle and whether a new batch was opened.

        With `abort_on_new_batch`, a record that needs a new batch is not appended: (None, False)
        tells the sticky partitioner to move on first (KIP-480).
        """
        dq = self.batches.get(tp)
        if dq is None:
            dq = self.batches[tp] = collections.deque()
        if dq and not dq[-1].closed:
            last = dq[-1]
            before = last.size
            handle = last.try_append(timestamp, key, value, headers)
            if handle is not None:
                self.buffered_bytes += last.size - before
                if last.is_full() or len(dq) > 1:
                    self.wakeup.set()
                return handle, False
            if abort_on_new_batch:
                return None, False
            last.closed = True
        elif abort_on_new_batch:
            return None, False
        batch = ProducerBatch(tp, self.now_ms(), self.batch_size, self.delivery_timeout_ms,
                              asyncio.get_running_loop())
        handle = batch.try_append(timestamp, key, value, headers)
        assert handle is not None
        dq.append(batch)
        self.buffered_bytes += batch.size
        new_batch = True
        self.wakeup.set()           # the sender must learn of the new batch (and its linger deadline)
        return handle, new_batch

    async def wait_for_space(self) -> None:
        """Block the appender while more than buffer.memory bytes are buffered."""
        while self.buffered_bytes >= self.buffer_memory:
            self._space.clear()
            await self._space.wait()

    def release(self, batch: ProducerBatch) -> None:
        self.buffered_bytes -= batch.size
        if self.buffered_bytes < self.buffer_memory:
            self._space.set()

    def _batch_ready(self, dq: collections.deque[ProducerBatch], now_ms: int) -> tuple[bool, int]:
        first = dq[0]
        if first.retry:
            wait = first.last_attempt_ms + self.retry_backoff_ms - now_ms
            if wait > 0:
                return False, wait
            return True, 0
        if len(dq) > 1 or first.closed or first.is_full() or self.flushes_in_progress or self.closing:
            return True, 0
        wait = first.created_ms + self.linger_ms - now_ms
        return (wait <= 0), max(wait, 0)

    def ready(self, leader_of: Callable[[TopicPartition], int], now_ms: int
              ) -> tuple[set[int], int, set[str]]:
        """(nodes with a sendable batch, ms until the next batch may become ready, topics without a leader)."""
        nodes: set[int] = set()
        next_ms = 1 << 30
        unknown: set[str] = set()
        for tp, dq in self.batches.items():
            if not dq or tp in self.muted:
                continue
            leader = leader_of(tp)
            if leader < 0:
                unknown.add(tp.topic)
                continue
            ok, wait = self._batch_ready(dq, now_ms)
            if ok:
                nodes.add(leader)
            else:
                next_ms = min(next_ms, wait)
        return nodes, next_ms, unknown

    def drain(self, leader_of: Callable[[TopicPartition], int], nodes: Iterable[int], max_request_size: int,
              now_ms: int, guarantee_order: bool) -> dict[int, list[ProducerBatch]]:
        wanted = set(nodes)
        out: dict[int, list[ProducerBatch]] = {}
        sizes: dict[int, int] = {}
        for tp, dq in self.batches.items():
            if not dq or tp in self.muted:
                continue
            leader = leader_of(tp)
            if leader not in wanted:
                continue
            first = dq[0]
            if first.retry and first.last_attempt_ms + self.retry_backoff_ms > now_ms:
                continue
            ok, _ = self._batch_ready(dq, now_ms)
            if not ok:
                continue
            size = sizes.get(leader, 0)
            if size and size + first.size > max_request_size:
                continue
            dq.popleft()
            first.closed = True
            first.build(self.compression)
            sizes[leader] = size + len(first.built or b"")
            out.setdefault(leader, []).append(first)
            self.in_flight_batches.add(first)
            if guarantee_order:
                self.muted.add(tp)
        return out

    def reenqueue(self, batch: ProducerBatch, now_ms: int) -> None:
        batch.retry = True
        batch.attempts += 1
        batch.last_attempt_ms = now_ms
        self.in_flight_batches.discard(batch)
        dq = self.batches.setdefault(batch.tp, collections.deque())
        dq.appendleft(batch)
        self.wakeup.set()

    def done(self, batch: ProducerBatch) -> None:
        self.in_flight_batches.discard(batch)
        self.muted.discard(batch.tp)
        self.release(batch)

    def expired_batches(self, now_ms: int) -> list[ProducerBatch]:
        expired = []
        for dq in self.batches.values():
            while dq and dq[0].delivery_deadline_ms <= now_ms:
                expired.append(dq.popleft())
        return expired

    def abort_all(self, exc: BaseException) -> None:
        for dq in self.batches.values():
            while dq:
                b = dq.popleft()
                self.release(b)
                b.fail(exc)

    def has_undrained(self) -> bool:
        return any(self.batches.values())

    def has_incomplete(self) -> bool:
        return self.has_undrained() or bool(self.in_flight_batches)
