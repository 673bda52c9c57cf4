"""UpdateMetadata (key 6), v0-v7, broker side: replace the metadata cache snapshot.

Checks, as Kafka: a broker epoch older than ours → STALE_BROKER_EPOCH; a controller epoch
older than the cache's → STALE_CONTROLLER_EPOCH. Partitions the request deletes (leader -2)
are passed to the broker's metadata listeners (group coordinator, delayed topic operations).
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ControllerMovedError, ErrorCode
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.update_metadata import API
from kafkapy.server.apis.leader_and_isr import is_broker_epoch_stale
from kafkapy.server.request import RequestContext

log = logging.getLogger(__name__)

UpdateMetadataResponse = API.response


def handle_update_metadata(ctx: RequestContext, request: Any, broker: Any) -> Any:
    if is_broker_epoch_stale(broker, request.broker_epoch):
        log.info("Received UpdateMetadata request with broker epoch %d smaller than the current broker epoch %d",
                 request.broker_epoch, broker.broker_epoch)
        return UpdateMetadataResponse(error_code=ErrorCode.STALE_BROKER_EPOCH)
    try:
        deleted = broker.metadata_cache.update_metadata(ctx.correlation_id, request, ctx.api_version)
    except ControllerMovedError:
        return UpdateMetadataResponse(error_code=ErrorCode.STALE_CONTROLLER_EPOCH)
    broker.on_metadata_updated(deleted)
    return UpdateMetadataResponse(error_code=0)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.UPDATE_METADATA, 0, 7)
    dispatcher.register(ApiKey.UPDATE_METADATA, lambda ctx, req: handle_update_metadata(ctx, req, broker))
