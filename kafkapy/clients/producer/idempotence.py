"""The idempotent producer's state: producer id, epoch and the next sequence number of each partition.

With ``enable.idempotence=true`` the producer asks a broker for a producer id (InitProducerId, no
transactional id) before its first send, and stamps every batch with that id, the epoch and the
partition's next sequence number when the batch is first drained. A retry resends the same bytes,
so a broker that already appended the batch (the leader, or a follower that became leader)
recognises the sequence and answers with the original offsets instead of appending it again.

The sender keeps one batch per partition in flight, so a batch never overtakes an earlier one
of its partition. When a broker answers OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID or
INVALID_PRODUCER_EPOCH (it lost or never had this producer's state), that batch fails and the
producer takes a new producer id before the next send: sequences restart at 0 and batches
still queued are stamped again under the new id.
"""
from __future__ import annotations

import asyncio
import logging
import struct
from typing import Any

from kafkapy.common.errors import ApiError, ErrorCode, error_for_code
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.records.crc import crc32c

__all__ = ["IdempotenceManager", "stamp_batch", "RESET_ERRORS"]

log = logging.getLogger(__name__)

_INIT = get_api(ApiKey.INIT_PRODUCER_ID)
_PRODUCER_FIELDS = struct.Struct(">qhi")     # producer id, producer epoch, base sequence
_PRODUCER_FIELDS_OFFSET = 43
_CRC = struct.Struct(">I")
_CRC_OFFSET = 17
_CRC_FROM = 21
_INT32_MAX = 0x7FFFFFFF

# Answers that mean the broker's state for this producer is gone or newer: take a new producer id.
RESET_ERRORS = frozenset({ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, ErrorCode.UNKNOWN_PRODUCER_ID,
                          ErrorCode.INVALID_PRODUCER_EPOCH})
# InitProducerId answers worth retrying (the broker is starting or moving its state).
_RETRY_INIT = frozenset({ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR,
                         ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS,
                         ErrorCode.REQUEST_TIMED_OUT})


def stamp_batch(built: bytes, producer_id: int, producer_epoch: int, base_sequence: int) -> bytes:
    """The v2 batch ``built`` with the producer fields set and its CRC-32C recomputed."""
    out = bytearray(built)
    _PRODUCER_FIELDS.pack_into(out, _PRODUCER_FIELDS_OFFSET, producer_id, producer_epoch, base_sequence)
    _CRC.pack_into(out, _CRC_OFFSET, crc32c(memoryview(out)[_CRC_FROM:]))
    return bytes(out)


class IdempotenceManager:
    def __init__(self, client: Any, client_id: str, *, retry_backoff_ms: int, request_timeout_ms: int,
                 transaction_timeout_ms: int = 60000) -> None:
        self.client = client
        self.client_id = client_id
        self.retry_backoff_ms = retry_backoff_ms
        self.request_timeout_ms = request_timeout_ms
        self.transaction_timeout_ms = transaction_timeout_ms
        self.producer_id = -1
        self.producer_epoch = -1
        self.generation = 0               # which producer id a batch's stamp belongs to
        self.reset_requested = False
        self._next_sequence: dict[TopicPartition, int] = {}

    @property
    def has_producer_id(self) -> bool:
        return self.producer_id >= 0 and not self.reset_requested

    def request_reset(self, tp: TopicPartition, code: int) -> None:
        if not self.reset_requested:
            log.warning("[Producer clientId=%s] Got error %s for %s-%d with producer id %d: a new producer id "
                        "will be requested and sequence numbers restart", self.client_id,
                        ErrorCode(code).name, tp.topic, tp.partition, self.producer_id)
        self.reset_requested = True

    async def init_producer_id(self, deadline: float | None = None) -> None:
        """Obtain a producer id (InitProducerId with no transactional id), retrying what is retriable."""
        loop = asyncio.get_running_loop()
        while True:
            request = _INIT.request(transactional_id=None, transaction_timeout_ms=self.transaction_timeout_ms,
                                    producer_id=-1, producer_epoch=-1)
            try:
                resp = await self.client.send(None, ApiKey.INIT_PRODUCER_ID, request,
                                              timeout_ms=self.request_timeout_ms)
                code = resp.error_code
            except (ApiError, OSError) as exc:
                if not getattr(exc, "retriable", True):
                    raise
                log.debug("InitProducerId failed: %s", exc)
                code = -1
            if code == ErrorCode.NONE:
                self.producer_id, self.producer_epoch = resp.producer_id, resp.producer_epoch
                self.generation += 1
                self.reset_requested = False
                self._next_sequence.clear()
                log.info("[Producer clientId=%s] ProducerId set to %d with epoch %d", self.client_id,
                         self.producer_id, self.producer_epoch)
                return
            if code != -1 and code not in _RETRY_INIT:
                cls = error_for_code(code)
                raise cls() if cls is not None else ApiError(code)
            if deadline is not None and loop.time() >= deadline:
                raise ApiError(ErrorCode.REQUEST_TIMED_OUT, "no producer id could be obtained in time")
            await asyncio.sleep(self.retry_backoff_ms / 1000)

    def stamp(self, batch: Any) -> None:
        """Give a drained batch its producer id and sequence (once per producer id; retries keep theirs)."""
        if batch.sequence_generation == self.generation:
            return
        tp = batch.tp
        sequence = self._next_sequence.get(tp, 0)
        self._next_sequence[tp] = (sequence + batch.record_count) & _INT32_MAX   # wraps like Kafka's
        batch.base_sequence = sequence
        batch.sequence_generation = self.generation
        batch.built = stamp_batch(batch.built, self.producer_id, self.producer_epoch, sequence)
