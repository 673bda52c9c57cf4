"""ControlledShutdown (key 7): a broker asks the controller to move leadership away before it stops.

Registered by the broker as ``partial(handle_controlled_shutdown, controller=...)``.
"""
from __future__ import annotations

import logging
from typing import Any, Protocol

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.messages.controlled_shutdown import API

__all__ = ["ControlledShutdownController", "handle_controlled_shutdown"]

log = logging.getLogger(__name__)


class ControlledShutdownController(Protocol):
    @property
    def is_active(self) -> bool: ...

    async def controlled_shutdown(self, broker_id: int, broker_epoch: int) -> set[TopicPartition]: ...


def _response(error_code: int, remaining: set[TopicPartition] = frozenset()) -> Any:
    remaining_cls = API.response.struct("remaining_partitions")
    return API.response(error_code=error_code, remaining_partitions=[
        remaining_cls(topic_name=tp.topic, partition_index=tp.partition) for tp in sorted(remaining)])


async def handle_controlled_shutdown(ctx: Any, request: Any, controller: ControlledShutdownController) -> Any:
    broker_epoch = request.broker_epoch if ctx.api_version >= 2 else -1
    if not controller.is_active:
        return _response(ErrorCode.NOT_CONTROLLER)
    try:
        remaining = await controller.controlled_shutdown(request.broker_id, broker_epoch)
    except ApiError as e:
        log.info("Controlled shutdown of broker %d failed: %s", request.broker_id, e)
        return _response(e.code)
    return _response(ErrorCode.NONE, remaining)
