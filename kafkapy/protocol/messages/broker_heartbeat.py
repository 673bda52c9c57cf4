"""BrokerHeartbeat (key 63): a KRaft broker's liveness and fencing handshake. Controller-only."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT16, INT32, INT64, ApiSpec, Field, Schema

API = ApiSpec(
    key=63, name="BrokerHeartbeat", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("broker_id", INT32),
        Field("broker_epoch", INT64, default=-1),
        Field("current_metadata_offset", INT64),
        Field("want_fence", BOOL),
        Field("want_shut_down", BOOL),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("is_caught_up", BOOL, default=False),
        Field("is_fenced", BOOL, default=True),
        Field("should_shut_down", BOOL),
    ),
)
