"""kafkapy's producer: asyncio ``Producer`` and the thread-backed ``SyncProducer`` facade.

Configuration uses the Java client's property names::

    async with Producer({"bootstrap.servers": "127.0.0.1:9092", "linger.ms": 5,
                         "compression.type": "lz4", "acks": "all"}) as producer:
        fut = await producer.send("orders", b"value", key=b"k")   # buffered
        md = await fut                                           # RecordMetadata once acknowledged
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kafkapy.clients.errors import KafkaTimeoutError, ProducerClosedError, RecordTooLargeForProducerError
from kafkapy.clients.metadata import KafkaClient
from kafkapy.clients.producer.accumulator import Callback, FutureRecordMetadata, RecordAccumulator, RecordMetadata
from kafkapy.clients.producer.idempotence import IdempotenceManager
from kafkapy.clients.producer.partitioner import DefaultPartitioner
from kafkapy.clients.producer.sender import Sender
from kafkapy.common.errors import ApiError
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.records import CompressionType

__all__ = ["Producer", "ProducerConfig", "parse_producer_config", "COMPRESSION_CODECS"]

log = logging.getLogger(__name__)

COMPRESSION_CODECS = {"none": CompressionType.NONE, "gzip": CompressionType.GZIP,
                      "snappy": CompressionType.SNAPPY, "lz4": CompressionType.LZ4,
                      "zstd": CompressionType.ZSTD}

_DEFAULTS: dict[str, Any] = {
    "bootstrap.servers": None,
    "client.id": "",
    "acks": "1",
    "batch.size": 16384,
    "linger.ms": 0,
    "compression.type": "none",
    "retries": 2147483647,
    "retry.backoff.ms": 100,
    "max.in.flight.requests.per.connection": 5,
    "request.timeout.ms": 30000,
    "delivery.timeout.ms": 120000,
    "max.block.ms": 60000,
    "max.request.size": 1048576,
    "buffer.memory": 33554432,
    "metadata.max.age.ms": 300000,
    "enable.idempotence": False,
}
_INT_KEYS = {"batch.size", "linger.ms", "retries", "retry.backoff.ms", "max.in.flight.requests.per.connection",
             "request.timeout.ms", "delivery.timeout.ms", "max.block.ms", "max.request.size", "buffer.memory",
             "metadata.max.age.ms"}


class ProducerConfig:
    """Typed view of the producer properties (unknown keys are logged and ignored)."""

    def __init__(self, props: Mapping[str, Any]) -> None:
        values = dict(_DEFAULTS)
        for k, v in props.items():
            if k not in _DEFAULTS:
                log.warning("The configuration '%s' was supplied but isn't a known config.", k)
            values[k] = v
        for k in _INT_KEYS:
            try:
                values[k] = int(values[k])
            except (TypeError, ValueError):
                raise ValueError(f"Invalid value {values[k]} for configuration {k}: Not a number of type INT") \
                    from None
        if not values["bootstrap.servers"]:
            raise ValueError('Missing required configuration "bootstrap.servers" which has no default value.')
        acks = str(values["acks"]).strip().lower()
        if acks == "all":
            acks = "-1"
        if acks not in ("0", "1", "-1"):
            raise ValueError(f'Invalid value {values["acks"]} for configuration acks: String must be one of: '
                             "all, -1, 0, 1")
        codec = str(values["compression.type"]).strip().lower()
        if codec not in COMPRESSION_CODECS:
            raise ValueError(f"Invalid value {values['compression.type']} for configuration compression.type: "
                             "String must be one of: none, gzip, snappy, lz4, zstd")
        idempotence = values["enable.idempotence"]
        if isinstance(idempotence, str):
            if idempotence.strip().lower() not in ("true", "false"):
                raise ValueError(f"Invalid value {idempotence} for configuration enable.idempotence: "
                                 "Expected value to be either true or false")
            idempotence = idempotence.strip().lower() == "true"
        self.enable_idempotence = bool(idempotence)
        if self.enable_idempotence:
            # Java's rules: acks defaults to all, and must be all; retries non-zero; at most 5 in flight
            if "acks" not in props:
                acks = "-1"
            elif acks != "-1":
                raise ValueError("Must set acks to all in order to use the idempotent producer. "
                                 "Otherwise we cannot guarantee idempotence.")
            if values["retries"] == 0:
                raise ValueError("Must set retries to non-zero when using the idempotent producer.")
            if values["max.in.flight.requests.per.connection"] > 5:
                raise ValueError("Must set max.in.flight.requests.per.connection to at most 5 "
                                 "to use the idempotent producer.")
        self.bootstrap_servers = values["bootstrap.servers"]
        self.client_id: str = str(values["client.id"]) or "producer-1"
        self.acks = int(acks)
        self.batch_size: int = max(values["batch.size"], 1)
        self.linger_ms: int = values["linger.ms"]
        self.compression = COMPRESSION_CODECS[codec]
        self.retries: int = values["retries"]
        self.retry_backoff_ms: int = values["retry.backoff.ms"]
        self.max_in_flight: int = max(values["max.in.flight.requests.per.connection"], 1)
        self.request_timeout_ms: int = values["request.timeout.ms"]
        self.delivery_timeout_ms: int = values["delivery.timeout.ms"]
        self.max_block_ms: int = values["max.block.ms"]
        self.max_request_size: int = values["max.request.size"]
        self.buffer_memory: int = values["buffer.memory"]
        self.metadata_max_age_ms: int = values["metadata.max.age.ms"]


def parse_producer_config(props: Mapping[str, Any]) -> ProducerConfig:
    return ProducerConfig(props)


def _to_bytes(x: bytes | bytearray | memoryview | str | None) -> bytes | None:
    if x is None or isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    return bytes(x)


class Producer:
    """Asynchronous Kafka producer; call ``start()`` (or use ``async with``) before sending."""

    def __init__(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        props = dict(config or {})
        props.update({k.replace("_", "."): v for k, v in kwargs.items()})
        self.config = ProducerConfig(props)
        c = self.config
        self.client = KafkaClient(c.bootstrap_servers, client_id=c.client_id,
                                  request_timeout_ms=c.request_timeout_ms)
        self.partitioner = DefaultPartitioner()
        self.accumulator: RecordAccumulator | None = None
        self.sender: Sender | None = None
        self._tasks = TaskSupervisor("producer")
        self._sender_task: asyncio.Task | None = None
        self._closed = False
        self._md_seen: object = None
        self._last_yield = 0.0
        self._topic_cache: dict[str, tuple[int, list[int]]] = {}

    async def start(self) -> None:
        c = self.config
        self.accumulator = RecordAccumulator(batch_size=c.batch_size, linger_ms=c.linger_ms,
                                             compression=c.compression, retry_backoff_ms=c.retry_backoff_ms,
                                             delivery_timeout_ms=c.delivery_timeout_ms,
                                             buffer_memory=c.buffer_memory)
        idempotence = None
        if c.enable_idempotence:
            idempotence = IdempotenceManager(self.client, c.client_id, retry_backoff_ms=c.retry_backoff_ms,
                                             request_timeout_ms=c.request_timeout_ms)
        self.sender = Sender(self.client, self.accumulator, acks=c.acks, retries=c.retries,
                             request_timeout_ms=c.request_timeout_ms, max_in_flight=c.max_in_flight,
                             max_request_size=c.max_request_size, retry_backoff_ms=c.retry_backoff_ms,
                             metadata_max_age_ms=c.metadata_max_age_ms, tasks=self._tasks,
                             idempotence=idempotence)
        await self.client.any_connection()
        self._sender_task = self._tasks.spawn("producer-sender", self.sender.run())

    async def __aenter__(self) -> Producer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def partitions_for(self, topic: str) -> list[int]:
        n = await self._wait_on_metadata(topic, self.config.max_block_ms)
        return list(range(n))

    async def _wait_on_metadata(self, topic: str, max_block_ms: int) -> int:
        assert self.sender is not None
        self.sender.topics.add(topic)
        n = self.client.metadata.partition_count(topic)
        if n is not None:
            return n
        try:
            t = await self.client.wait_for_topic(topic, max_block_ms, self.config.retry_backoff_ms)
        except KafkaTimeoutError:
            raise KafkaTimeoutError(f"Topic {topic} not present in metadata after {max_block_ms} ms.") from None
        return len(t.partitions)

    async def send(self, topic: str, value: bytes | str | None = None, key: bytes | str | None = None, *,
                   partition: int | None = None, timestamp_ms: int | None = None,
                   headers: Sequence[tuple[str, bytes | None]] = (),
                   callback: Callback | None = None) -> FutureRecordMetadata:
        """Buffer a record; returns an awaitable that resolves once the broker acknowledged it."""
        if self._closed or self.accumulator is None:
            raise ProducerClosedError("Cannot perform operation after producer has been closed")
        key_b, value_b = _to_bytes(key), _to_bytes(value)
        size = 61 + (len(key_b) if key_b else 0) + (len(value_b) if value_b else 0) + 21
        if size > self.config.max_request_size:
            raise RecordTooLargeForProducerError(
                f"The message is {size} bytes when serialized which is larger than {self.config.max_request_size}, "
                "which is the value of the max.request.size configuration.")
        md = self.client.metadata
        if md is not self._md_seen:                     # new snapshot: drop the per-topic caches
            self._md_seen = md
            self._topic_cache = {}
        cached = self._topic_cache.get(topic)
        if cached is None:
            n = await self._wait_on_metadata(topic, self.config.max_block_ms)
            md = self.client.metadata
            cached = (n, md.available_partitions(topic))
            if md is self._md_seen:
                self._topic_cache[topic] = cached
        n, available = cached
        acc = self.accumulator
        if acc.buffered_bytes >= acc.buffer_memory:
            await asyncio.wait_for(acc.wait_for_space(), self.config.max_block_ms / 1000)
        if partition is not None:
            if not 0 <= partition < n:
                raise ApiError(3, f"Invalid partition given with record: {partition} is not in the range [0...{n}).")
            p = partition
        elif key_b is None:
            p = self.partitioner.partition(topic, None, n, available)
        else:
            p = self.partitioner.partition(topic, key_b, n)
        ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        handle, new_batch = acc.append(TopicPartition(topic, p), ts, key_b, value_b, headers,
                                       abort_on_new_batch=key_b is None and partition is None)
        if handle is None:
            self.partitioner.on_new_batch(topic, n, available, p)
            p = self.partitioner.partition(topic, None, n, available)
            handle, new_batch = acc.append(TopicPartition(topic, p), ts, key_b, value_b, headers)
        assert handle is not None
        if callback is not None:
            handle.add_callback(callback)
        # The sender runs only when this task yields: do so when a full batch waits, and at least
        # every millisecond, so a caller that never awaits anything else cannot starve it.
        now = time.monotonic()
        if (new_batch and len(acc.batches[handle._batch.tp]) > 1) or now - self._last_yield > 0.001:
            self._last_yield = now
            await asyncio.sleep(0)
        return handle

    async def send_and_wait(self, topic: str, value: bytes | str | None = None, key: bytes | str | None = None,
                            **kwargs: Any) -> RecordMetadata:
        fut = await self.send(topic, value, key, **kwargs)
        return await fut

    async def flush(self, timeout_ms: int | None = None) -> None:
        """Make every buffered record sendable now and wait until all are acknowledged or failed."""
        acc = self.accumulator
        if acc is None:
            return
        acc.flushes_in_progress += 1
        acc.wakeup.set()
        try:
            pending = [b.future for dq in acc.batches.values() for b in dq] + \
                      [b.future for b in acc.in_flight_batches]
            if pending:
                await asyncio.wait(pending, timeout=None if timeout_ms is None else timeout_ms / 1000)
        finally:
            acc.flushes_in_progress -= 1

    async def close(self, timeout_ms: int | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        if self.sender is not None and self.accumulator is not None:
            self.sender.running = False
            self.accumulator.closing = True
            self.accumulator.wakeup.set()
            if self._sender_task is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(self._sender_task),
                                           None if timeout_ms is None else timeout_ms / 1000)
                except asyncio.TimeoutError:
                    self.sender.force_close = True
                    self.accumulator.abort_all(ProducerClosedError("Producer is closed forcefully."))
                    self.accumulator.wakeup.set()
        await self._tasks.close()
        await self.client.close()
