"""ExpireDelegationToken (key 40): set a delegation token's expiry (now, or later)."""
from __future__ import annotations

from kafkapy.protocol.schema import BYTES, INT16, INT32, INT64, ApiSpec, Field, Schema

API = ApiSpec(
    key=40, name="ExpireDelegationToken", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("hmac", BYTES),
        Field("expiry_time_period_ms", INT64),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("expiry_timestamp_ms", INT64),
        Field("throttle_time_ms", INT32),
    ),
)
