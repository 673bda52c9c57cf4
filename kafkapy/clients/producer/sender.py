"""The producer's sender: drains ready batches by leader and sends Produce requests.

One background task loops: find nodes with a ready batch, drain up to max.request.size per
node while fewer than max.in.flight.requests.per.connection requests are in flight there,
send each request from its own task (the connection pipelines them) and handle the
responses: complete, retry after retry.backoff.ms, refresh metadata on invalid-metadata
errors, expire batches past delivery.timeout.ms.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from kafkapy.clients.errors import KafkaTimeoutError
from kafkapy.clients.metadata import KafkaClient
from kafkapy.clients.net import BrokerConnection
from kafkapy.clients.producer.accumulator import BatchResult, ProducerBatch, RecordAccumulator
from kafkapy.clients.producer.idempotence import RESET_ERRORS, IdempotenceManager
from kafkapy.common.errors import ApiError, ErrorCode, NetworkError, error_for_code
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.messages import get_api

__all__ = ["Sender"]

log = logging.getLogger(__name__)

_PRODUCE = get_api(ApiKey.PRODUCE)
_TOPIC_DATA = _PRODUCE.request.struct("topic_data")
_PARTITION_DATA = _PRODUCE.request.struct("topic_data", "partition_data")


class Sender:
    def __init__(self, client: KafkaClient, accumulator: RecordAccumulator, *, acks: int, retries: int,
                 request_timeout_ms: int, max_in_flight: int, max_request_size: int,
                 retry_backoff_ms: int, metadata_max_age_ms: int, tasks: TaskSupervisor,
                 idempotence: IdempotenceManager | None = None) -> None:
        self.client = client
        self.idempotence = idempotence
        self.accumulator = accumulator
        self.acks = acks
        self.retries = retries
        self.request_timeout_ms = request_timeout_ms
        self.max_in_flight = max_in_flight
        self.max_request_size = max_request_size
        self.retry_backoff_ms = retry_backoff_ms
        self.metadata_max_age_ms = metadata_max_age_ms
        self.tasks = tasks
        self.in_flight: dict[int, int] = {}
        self.running = True
        self.force_close = False
        self._metadata_wanted = False
        self._metadata_task: asyncio.Task | None = None
        self._last_metadata_ms = 0
        self.topics: set[str] = set()

    def request_metadata_update(self) -> None:
        self._metadata_wanted = True
        self.accumulator.wakeup.set()

    def _leader_of(self, tp) -> int:                                          # type: ignore[no-untyped-def]
        return self.client.metadata.leader_for(tp)

    async def _refresh_metadata(self) -> None:
        try:
            await self.client.refresh_metadata(sorted(self.topics))
        except (ApiError, OSError) as exc:
            log.warning("metadata refresh failed: %s", exc)
            await asyncio.sleep(self.retry_backoff_ms / 1000)
            self._metadata_wanted = True
        finally:
            self._last_metadata_ms = self.accumulator.now_ms()
            self._metadata_task = None
            self.accumulator.wakeup.set()

    async def run(self) -> None:
        acc = self.accumulator
        while True:
            if not self.running and (self.force_close or not acc.has_incomplete()):
                break
            now = acc.now_ms()
            for batch in acc.expired_batches(now):
                acc.release(batch)
                batch.fail(KafkaTimeoutError(
                    f"Expiring {batch.record_count} record(s) for {batch.tp.topic}-{batch.tp.partition}: "
                    f"{now - batch.created_ms} ms has passed since batch creation"))
            nodes, next_ms, unknown = acc.ready(self._leader_of, now)
            if unknown or now - self._last_metadata_ms >= self.metadata_max_age_ms:
                self._metadata_wanted = True
            if self._metadata_wanted and self._metadata_task is None and self.topics:
                self._metadata_wanted = False
                self._metadata_task = self.tasks.spawn("producer-metadata", self._refresh_metadata())
            idem = self.idempotence
            if idem is not None and nodes and not idem.has_producer_id:
                if not (idem.reset_requested and acc.in_flight_batches):
                    # (after a reset: once the batches sent under the old id are answered)
                    await self._init_producer_id(now)
                    continue
            sendable = [n for n in nodes if self.in_flight.get(n, 0) < self.max_in_flight]
            if idem is not None and idem.reset_requested:
                sendable = []
            if sendable:
                # idempotence: one batch in flight per partition, so sequences arrive in order
                drained = acc.drain(self._leader_of, sendable, self.max_request_size, now,
                                    self.max_in_flight == 1 or idem is not None)
                for node, batches in drained.items():
                    if idem is not None:
                        for b in batches:
                            idem.stamp(b)
                    # Connect here, in the sender loop: a request task must never wait for the
                    # connection, or a later request could be written before an earlier one.
                    try:
                        conn = await self.client.connection(node)
                    except (NetworkError, KafkaTimeoutError, OSError, ApiError) as exc:
                        log.debug("cannot connect to broker %d: %s", node, exc)
                        self.request_metadata_update()
                        for b in batches:
                            self._fail_or_retry(b, exc)
                        continue
                    self.in_flight[node] = self.in_flight.get(node, 0) + 1
                    self.tasks.spawn(f"produce-to-{node}", self._send(node, conn, batches))
                if drained:
                    continue
            acc.wakeup.clear()
            timeout = None
            if acc.has_undrained():
                timeout = max(next_ms, 1) / 1000 if next_ms < (1 << 30) else self.retry_backoff_ms / 1000
            try:
                await asyncio.wait_for(acc.wakeup.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    async def _init_producer_id(self, now_ms: int) -> None:
        """InitProducerId before the first send (or after a reset). Until the earliest delivery deadline
        of the waiting batches; if no producer id comes, they fail (later sends try again)."""
        assert self.idempotence is not None
        acc = self.accumulator
        deadlines = [b.delivery_deadline_ms for dq in acc.batches.values() for b in dq]
        budget_ms = max(min(deadlines) - now_ms, 0) if deadlines else self.request_timeout_ms
        try:
            await self.idempotence.init_producer_id(asyncio.get_running_loop().time() + budget_ms / 1000)
        except (ApiError, OSError) as exc:
            log.error("The idempotent producer could not get a producer id: %s", exc)
            acc.abort_all(exc)

    async def _send(self, node: int, conn: BrokerConnection, batches: Sequence[ProducerBatch]) -> None:
        """Write the request first thing (tasks start in creation order), then await its response."""
        acc = self.accumulator
        by_topic: dict[str, list] = {}
        for b in batches:
            by_topic.setdefault(b.tp.topic, []).append(_PARTITION_DATA(index=b.tp.partition, records=b.built))
        request = _PRODUCE.request(transactional_id=None, acks=self.acks, timeout_ms=self.request_timeout_ms,
                                   topic_data=[_TOPIC_DATA(name=t, partition_data=ps) for t, ps in by_topic.items()])
        try:
            if self.acks == 0:
                await conn.send_no_response(ApiKey.PRODUCE, request)
                for b in batches:
                    acc.done(b)
                    b.complete(BatchResult(-1))
                return
            resp = await conn.send(ApiKey.PRODUCE, request, timeout_ms=self.request_timeout_ms + 5000)
        except (NetworkError, KafkaTimeoutError, OSError, ApiError) as exc:
            log.debug("produce request to broker %d failed: %s", node, exc)
            self.request_metadata_update()
            for b in batches:
                self._fail_or_retry(b, exc)
            return
        finally:
            self.in_flight[node] -= 1
            acc.wakeup.set()
        results: dict[tuple[str, int], object] = {}
        for t in resp.responses:
            for p in t.partition_responses:
                results[(t.name, p.index)] = p
        for b in batches:
            p = results.get((b.tp.topic, b.tp.partition))
            if p is None:
                self._fail_or_retry(b, NetworkError(f"no response for partition {b.tp.topic}-{b.tp.partition}"))
                continue
            code = p.error_code                                               # type: ignore[attr-defined]
            if code == ErrorCode.DUPLICATE_SEQUENCE_NUMBER and self.idempotence is not None:
                acc.done(b)             # stored earlier; a broker that says so gives no offset
                b.complete(BatchResult(-1))
                continue
            if code in RESET_ERRORS and self.idempotence is not None:
                self.idempotence.request_reset(b.tp, code)
            if code == ErrorCode.NONE:
                acc.done(b)
                b.complete(BatchResult(p.base_offset, p.log_append_time_ms,  # type: ignore[attr-defined]
                                       p.log_start_offset))                  # type: ignore[attr-defined]
                continue
            cls = error_for_code(code)
            assert cls is not None
            message = getattr(p, "error_message", None)
            exc = cls(message) if message else cls()
            if exc.invalid_metadata:
                self.request_metadata_update()
            self._fail_or_retry(b, exc)

    def _fail_or_retry(self, batch: ProducerBatch, exc: BaseException) -> None:
        acc = self.accumulator
        now = acc.now_ms()
        retriable = bool(getattr(exc, "retriable", False))
        if retriable and batch.attempts < self.retries and now < batch.delivery_deadline_ms \
                and not self.force_close:
            log.warning("Got error produce response on topic-partition %s-%d, retrying (%d attempts left). "
                        "Error: %s", batch.tp.topic, batch.tp.partition, self.retries - batch.attempts - 1,
                        type(exc).__name__)
            acc.muted.discard(batch.tp)
            acc.reenqueue(batch, now)
            return
        acc.done(batch)
        batch.fail(exc)
