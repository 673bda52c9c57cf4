"""ApiVersions (key 18): the API versions this broker serves, from `protocol.api_keys.BROKER_SUPPORTED`.

Any version is answered: versions above 3 get the KIP-511 fallback from the dispatcher; v3
checks the client software name and version and answers INVALID_REQUEST (at v3) when either
does not match Kafka's pattern, after which librdkafka retries at v0.
"""
from __future__ import annotations

import re
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.protocol.api_keys import ApiKey, api_versions_entries, register_supported
from kafkapy.protocol.messages.api_versions import API
from kafkapy.server.request import RequestContext

_SOFTWARE_PATTERN = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?")

ApiVersionsResponse = API.response


def valid_software_field(value: str | None) -> bool:
    return value is not None and _SOFTWARE_PATTERN.fullmatch(value) is not None


def handle_api_versions(ctx: RequestContext, request: Any, broker: Any = None) -> Any:
    if ctx.api_version >= 3 and not (valid_software_field(request.client_software_name)
                                     and valid_software_field(request.client_software_version)):
        return ApiVersionsResponse(error_code=ErrorCode.INVALID_REQUEST, api_keys=[], throttle_time_ms=0)
    return ApiVersionsResponse(error_code=0, api_keys=api_versions_entries(), throttle_time_ms=0)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.API_VERSIONS, 0, 3)
    dispatcher.register(ApiKey.API_VERSIONS, lambda ctx, req: handle_api_versions(ctx, req, broker))
