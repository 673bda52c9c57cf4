"""InitProducerId (key 22), v0-v4: a producer id and epoch for the idempotent producer.

Without a transactional id the broker answers a fresh producer id with epoch 0 (whatever
producer id and epoch a v3+ request carries, as Kafka does for idempotent producers). Ids come
from the broker's ProducerIdManager (blocks claimed in ZooKeeper).

Transactions are not supported: a request with a transactional id is answered
COORDINATOR_NOT_AVAILABLE, the same answer FindCoordinator gives for transaction
coordinators here (and the one a Kafka cluster whose transaction state topic cannot be
created gives). Failing to claim an id block (ZooKeeper unreachable) is answered the same way,
so clients retry.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.init_producer_id import API
from kafkapy.server.request import RequestContext
from kafkapy.zk.errors import ZkError

log = logging.getLogger(__name__)

InitProducerIdResponse = API.response
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1


def _error(code: int) -> Any:
    return InitProducerIdResponse(throttle_time_ms=0, error_code=code, producer_id=NO_PRODUCER_ID,
                                  producer_epoch=NO_PRODUCER_EPOCH)


async def handle_init_producer_id(ctx: RequestContext, request: Any, broker: Any) -> Any:
    if request.transactional_id is not None:
        return _error(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    manager = getattr(broker, "producer_id_manager", None)
    if manager is None:
        return _error(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    try:
        producer_id = await manager.generate_producer_id()
    except (ZkError, asyncio.TimeoutError) as exc:   # the client retries
        log.warning("Could not allocate a producer id for client %s: %r", ctx.client_id, exc)
        return _error(ErrorCode.COORDINATOR_NOT_AVAILABLE)
    return InitProducerIdResponse(throttle_time_ms=0, error_code=0, producer_id=producer_id, producer_epoch=0)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.INIT_PRODUCER_ID, 0, 4)
    dispatcher.register(ApiKey.INIT_PRODUCER_ID, lambda ctx, req: handle_init_producer_id(ctx, req, broker))
