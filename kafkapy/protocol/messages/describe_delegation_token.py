"""DescribeDelegationToken (key 41): list delegation tokens, optionally by owner."""
from __future__ import annotations

from kafkapy.protocol.schema import BYTES, INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=41, name="DescribeDelegationToken", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("owners", ArrayOf(
            Field("principal_type", STRING),
            Field("principal_name", STRING),
            name="DescribeDelegationTokenOwner"), nullable_since=0),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("tokens", ArrayOf(
            Field("principal_type", STRING),
            Field("principal_name", STRING),
            Field("issue_timestamp", INT64),
            Field("expiry_timestamp", INT64),
            Field("max_timestamp", INT64),
            Field("token_id", STRING),
            Field("hmac", BYTES),
            Field("renewers", ArrayOf(
                Field("principal_type", STRING),
                Field("principal_name", STRING),
                name="DescribedDelegationTokenRenewer")),
            name="DescribedDelegationToken")),
        Field("throttle_time_ms", INT32),
    ),
)
