"""AlterConfigs (key 33), v0-v2: replace the whole override set of topics or brokers
(``""`` = the dynamic cluster default) in ZooKeeper, plus a change notification."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.alter_configs import API
from kafkapy.server.admin_manager import admin_manager_for
from kafkapy.server.request import RequestContext

AlterConfigsResponse = API.response
AlterConfigsResourceResponse = API.response.struct("responses")


async def handle_alter_configs(ctx: RequestContext, request: Any, broker: Any) -> Any:
    manager = admin_manager_for(broker)
    resources = [(r.resource_type, r.resource_name, {c.name: c.value for c in r.configs})
                 for r in request.resources]
    done = await manager.alter_configs(resources, bool(request.validate_only))
    return AlterConfigsResponse(throttle_time_ms=0, responses=[
        AlterConfigsResourceResponse(error_code=r.error_code, error_message=r.error_message,
                                     resource_type=r.resource_type, resource_name=r.resource_name)
        for r in done])


def register(dispatcher: Any, broker: Any) -> None:
    admin_manager_for(broker)
    register_supported(ApiKey.ALTER_CONFIGS, 0, 2)
    dispatcher.register(ApiKey.ALTER_CONFIGS, lambda ctx, req: handle_alter_configs(ctx, req, broker))
