"""SaslAuthenticate (key 36): one round of a SASL exchange, framed as a Kafka request."""
from __future__ import annotations

from kafkapy.protocol.schema import BYTES, INT16, INT64, STRING, ApiSpec, Field, Schema

API = ApiSpec(
    key=36, name="SaslAuthenticate", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("auth_bytes", BYTES),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("error_message", STRING, nullable_since=0),
        Field("auth_bytes", BYTES),
        Field("session_lifetime_ms", INT64, since=1, default=0, ignorable=True),
    ),
)
