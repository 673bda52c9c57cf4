"""CreatePartitions (key 37), v0-v3: grow topics with Kafka's add-partitions assignment and wait
for the new partitions' leaders. Only the controller serves it; a topic listed twice answers
INVALID_REQUEST."""
from __future__ import annotations

from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.create_partitions import API
from kafkapy.server.admin_manager import NewPartitions, TopicResult, admin_manager_for, duplicates
from kafkapy.server.request import RequestContext

CreatePartitionsResponse = API.response
CreatePartitionsTopicResult = API.response.struct("results")


async def handle_create_partitions(ctx: RequestContext, request: Any, broker: Any) -> Any:
    manager = admin_manager_for(broker)
    names = [t.name for t in request.topics]
    dupes = duplicates(names)
    if not manager.is_controller():
        code = int(ErrorCode.NOT_CONTROLLER)
        results = [TopicResult(n, code, None) for n in dict.fromkeys(names)]   # no message, as Kafka
    else:
        wanted = [NewPartitions(t.name, t.count,
                                None if t.assignments is None else [list(a.broker_ids) for a in t.assignments])
                  for t in request.topics if t.name not in dupes]
        done = {r.name: r for r in await manager.create_partitions(wanted, request.timeout_ms,
                                                                   bool(request.validate_only))}
        results = [done[n] if n not in dupes else
                   TopicResult(n, int(ErrorCode.INVALID_REQUEST), "Duplicate topic in request.")
                   for n in dict.fromkeys(names)]
    return CreatePartitionsResponse(throttle_time_ms=0, results=[
        CreatePartitionsTopicResult(name=r.name, error_code=r.error_code, error_message=r.error_message)
        for r in results])


def register(dispatcher: Any, broker: Any) -> None:
    admin_manager_for(broker)
    register_supported(ApiKey.CREATE_PARTITIONS, 0, 3)
    dispatcher.register(ApiKey.CREATE_PARTITIONS, lambda ctx, req: handle_create_partitions(ctx, req, broker))
