"""BrokerRegistration (key 62): a KRaft broker registers with the controller quorum. Controller-only."""
from __future__ import annotations

from kafkapy.protocol.schema import (
    INT16, INT32, INT64, STRING, UINT16, UUID, ApiSpec, ArrayOf, Field, Schema,
)

API = ApiSpec(
    key=62, name="BrokerRegistration", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("broker_id", INT32),
        Field("cluster_id", STRING),
        Field("incarnation_id", UUID),
        Field("listeners", ArrayOf(
            Field("name", STRING),
            Field("host", STRING),
            Field("port", UINT16),
            Field("security_protocol", INT16),
            name="Listener")),
        Field("features", ArrayOf(
            Field("name", STRING),
            Field("min_supported_version", INT16),
            Field("max_supported_version", INT16),
            name="Feature")),
        Field("rack", STRING, nullable_since=0),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("broker_epoch", INT64, default=-1),
    ),
)
