"""DescribeUserScramCredentials (key 50): which SCRAM mechanisms and iteration counts users have."""
from __future__ import annotations

from kafkapy.protocol.schema import INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=50, name="DescribeUserScramCredentials", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("users", ArrayOf(
            Field("name", STRING),
            name="UserName"), nullable_since=0),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable_since=0),
        Field("results", ArrayOf(
            Field("user", STRING),
            Field("error_code", INT16),
            Field("error_message", STRING, nullable_since=0),
            Field("credential_infos", ArrayOf(
                Field("mechanism", INT8),
                Field("iterations", INT32),
                name="CredentialInfo")),
            name="DescribeUserScramCredentialsResult")),
    ),
)
