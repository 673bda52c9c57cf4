"""CreateDelegationToken (key 38): issue a delegation token for the authenticated principal."""
from __future__ import annotations

from kafkapy.protocol.schema import BYTES, INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=38, name="CreateDelegationToken", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("renewers", ArrayOf(
            Field("principal_type", STRING),
            Field("principal_name", STRING),
            name="CreatableRenewers")),
        Field("max_lifetime_ms", INT64),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("principal_type", STRING),
        Field("principal_name", STRING),
        Field("issue_timestamp_ms", INT64),
        Field("expiry_timestamp_ms", INT64),
        Field("max_timestamp_ms", INT64),
        Field("token_id", STRING),
        Field("hmac", BYTES),
        Field("throttle_time_ms", INT32),
    ),
)
