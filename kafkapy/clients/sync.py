"""Blocking facades over the asyncio clients: one private event loop in a daemon thread.

    producer = SyncProducer({"bootstrap.servers": bs})
    fut = producer.send("orders", b"v", key=b"k")        # concurrent.futures.Future[RecordMetadata]
    producer.flush()
    producer.close()

Every call is marshalled to the loop with ``run_coroutine_threadsafe``; the asyncio objects
are only touched from the loop thread.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from kafkapy.clients.admin import AdminClient
from kafkapy.clients.consumer import Consumer, ConsumerRecord
from kafkapy.clients.producer import Producer, RecordMetadata
from kafkapy.common.types import TopicPartition

__all__ = ["LoopThread", "SyncProducer", "SyncConsumer", "SyncAdminClient"]

T = TypeVar("T")


class LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        return self.submit(coro).result(timeout_s)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()


class SyncProducer:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self._lt = LoopThread("kafkapy-producer")
        self._producer = Producer(config)
        self._lt.call(self._producer.start())
        self._last_enqueued: asyncio.Future[None] | None = None     # touched on the loop thread only

    def send(self, topic: str, value: bytes | str | None = None, key: bytes | str | None = None,
             **kwargs: Any) -> concurrent.futures.Future[RecordMetadata]:
        """Records are appended in the order of the calls, as with Java's send() from one thread: each
        call's task waits until the one before has handed its record to the producer. (Each call is a
        task of its own; one waiting for a new topic's metadata was overtaken by later ones.)"""
        async def go() -> RecordMetadata:
            before = self._last_enqueued
            mine = self._last_enqueued = asyncio.get_running_loop().create_future()
            try:
                if before is not None and not before.done():
                    await asyncio.shield(before)
                handle = await self._producer.send(topic, value, key, **kwargs)
            finally:
                mine.set_result(None)
                if self._last_enqueued is mine:
                    self._last_enqueued = None
            return await handle
        return self._lt.submit(go())

    def flush(self, timeout_s: float | None = None) -> None:
        self._lt.call(self._producer.flush(), timeout_s)

    def close(self) -> None:
        try:
            self._lt.call(self._producer.close())
        finally:
            self._lt.stop()

    def __enter__(self) -> SyncProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SyncConsumer:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self._lt = LoopThread("kafkapy-consumer")
        self._consumer = Consumer(config)
        self._lt.call(self._consumer.start())

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        tps = list(partitions)

        async def go() -> None:
            self._consumer.assign(tps)
        self._lt.call(go())

    def seek(self, tp: TopicPartition, offset: int) -> None:
        async def go() -> None:
            self._consumer.seek(tp, offset)
        self._lt.call(go())

    def seek_to_beginning(self, partitions: Sequence[TopicPartition] | None = None) -> None:
        async def go() -> None:
            self._consumer.seek_to_beginning(partitions)
        self._lt.call(go())

    def seek_to_end(self, partitions: Sequence[TopicPartition] | None = None) -> None:
        async def go() -> None:
            self._consumer.seek_to_end(partitions)
        self._lt.call(go())

    def position(self, tp: TopicPartition) -> int:
        return self._lt.call(self._consumer.position(tp))

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> list[ConsumerRecord]:
        return self._lt.call(self._consumer.poll(timeout_ms, max_records))

    def close(self) -> None:
        try:
            self._lt.call(self._consumer.close())
        finally:
            self._lt.stop()

    def __enter__(self) -> SyncConsumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SyncAdminClient:
    """Every AdminClient coroutine method, called synchronously: ``admin.create_topics([...])``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._lt = LoopThread("kafkapy-admin")
        self._admin = AdminClient(config)
        self._lt.call(self._admin.start())

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._admin, name)
        if not asyncio.iscoroutinefunction(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._lt.call(method(*args, **kwargs))
        return call

    def close(self) -> None:
        try:
            self._lt.call(self._admin.close())
        finally:
            self._lt.stop()

    def __enter__(self) -> SyncAdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
