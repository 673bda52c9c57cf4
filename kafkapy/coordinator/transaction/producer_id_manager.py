"""ProducerIdManager: hands out producer ids from blocks claimed in ZooKeeper.

Each broker claims blocks of consecutive ids from ``/latest_producer_id_block`` (a
conditional write on the znode version, done by the ZooKeeper client) and serves ids from
its current block until it runs out, then claims the next one. Ids are therefore unique
across the cluster and across restarts (a restarted broker claims a fresh block).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

log = logging.getLogger(__name__)


class ProducerIdBlockLike(Protocol):
    broker_id: int
    block_start: int
    block_end: int   # inclusive


class ProducerIdBlockStore(Protocol):
    async def claim_producer_id_block(self, broker_id: int) -> ProducerIdBlockLike: ...


class ProducerIdManager:
    def __init__(self, broker_id: int, store: ProducerIdBlockStore) -> None:
        self.broker_id = broker_id
        self._store = store
        self._next = 0
        self._end = -1          # inclusive end of the current block; -1: no block yet
        self._claiming: asyncio.Future | None = None

    @property
    def current_block(self) -> tuple[int, int] | None:
        return (self._next, self._end) if self._end >= 0 else None

    async def generate_producer_id(self) -> int:
        """The next unused producer id (claims a new block when the current one is used up)."""
        while self._next > self._end:
            if self._claiming is None:
                self._claiming = asyncio.ensure_future(self._claim())
            claiming = self._claiming
            try:
                await asyncio.shield(claiming)
            finally:
                if self._claiming is claiming and claiming.done():
                    self._claiming = None
        pid = self._next
        self._next += 1
        return pid

    async def _claim(self) -> None:
        block = await self._store.claim_producer_id_block(self.broker_id)
        if block.block_end < block.block_start:
            raise ValueError(f"empty producer id block {block}")
        log.info("[ProducerIdManager %d] Acquired new producerId block (%d, %d)", self.broker_id,
                 block.block_start, block.block_end)
        self._next, self._end = block.block_start, block.block_end
