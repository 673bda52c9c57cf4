"""IncrementalAlterConfigs (key 44), v0-v1: SET / DELETE / APPEND / SUBTRACT on topic or broker
overrides (written to ZooKeeper with a change notification) and SET / DELETE on broker logger
levels (applied at once, not persisted)."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.incremental_alter_configs import API
from kafkapy.server.admin_manager import admin_manager_for
from kafkapy.server.request import RequestContext

IncrementalAlterConfigsResponse = API.response
AlterConfigsResourceResponse = API.response.struct("responses")


async def handle_incremental_alter_configs(ctx: RequestContext, request: Any, broker: Any) -> Any:
    manager = admin_manager_for(broker)
    resources = [(r.resource_type, r.resource_name, [(c.name, c.config_operation, c.value) for c in r.configs])
                 for r in request.resources]
    done = await manager.incremental_alter_configs(resources, bool(request.validate_only))
    return IncrementalAlterConfigsResponse(throttle_time_ms=0, responses=[
        AlterConfigsResourceResponse(error_code=r.error_code, error_message=r.error_message,
                                     resource_type=r.resource_type, resource_name=r.resource_name)
        for r in done])


def register(dispatcher: Any, broker: Any) -> None:
    admin_manager_for(broker)
    register_supported(ApiKey.INCREMENTAL_ALTER_CONFIGS, 0, 1)
    dispatcher.register(ApiKey.INCREMENTAL_ALTER_CONFIGS,
                        lambda ctx, req: handle_incremental_alter_configs(ctx, req, broker))
