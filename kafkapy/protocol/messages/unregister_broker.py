"""UnregisterBroker (key 64): remove a KRaft broker's registration."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, Field, Schema

API = ApiSpec(
    key=64, name="UnregisterBroker", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("broker_id", INT32),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable_since=0),
    ),
)
