"""DescribeConfigs (key 32), v0-v4: topic configs, broker configs (``""`` = the dynamic cluster
defaults) and broker logger levels, with Kafka's sources, synonyms (v1+, when asked) and
documentation (v3+, when asked). v0 has ``is_default`` instead of a source; Kafka 2.8 leaves it
false for every entry (it builds the answer with sources and never sets the v0 flag), and so do we."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.describe_configs import API
from kafkapy.server.admin_manager import admin_manager_for
from kafkapy.server.request import RequestContext

DescribeConfigsResponse = API.response
DescribeConfigsResult = API.response.struct("results")
DescribeConfigsResourceResult = API.response.struct("results", "configs")
DescribeConfigsSynonym = API.response.struct("results", "configs", "synonyms")


async def handle_describe_configs(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    manager = admin_manager_for(broker)
    include_synonyms = bool(request.include_synonyms) if version >= 1 else False
    include_doc = bool(request.include_documentation) if version >= 3 else False
    resources = [(r.resource_type, r.resource_name,
                  list(r.configuration_keys) if r.configuration_keys is not None else None)
                 for r in request.resources]
    done = await manager.describe_configs(resources, include_synonyms, include_doc)
    results = []
    for res in done:
        configs = [DescribeConfigsResourceResult(
            name=c.name, value=c.value, read_only=c.read_only, is_default=False, config_source=c.source,
            is_sensitive=c.is_sensitive,
            synonyms=[DescribeConfigsSynonym(name=s.name, value=s.value, source=s.source) for s in c.synonyms],
            config_type=c.config_type, documentation=c.documentation) for c in res.configs]
        results.append(DescribeConfigsResult(error_code=res.error_code, error_message=res.error_message,
                                             resource_type=res.resource_type, resource_name=res.resource_name,
                                             configs=configs))
    return DescribeConfigsResponse(throttle_time_ms=0, results=results)


def register(dispatcher: Any, broker: Any) -> None:
    admin_manager_for(broker)
    register_supported(ApiKey.DESCRIBE_CONFIGS, 0, 4)
    dispatcher.register(ApiKey.DESCRIBE_CONFIGS, lambda ctx, req: handle_describe_configs(ctx, req, broker))
