"""AlterUserScramCredentials (key 51): add, replace or delete users' SCRAM credentials."""
from __future__ import annotations

from kafkapy.protocol.schema import BYTES, INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=51, name="AlterUserScramCredentials", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("deletions", ArrayOf(
            Field("name", STRING),
            Field("mechanism", INT8),
            name="ScramCredentialDeletion")),
        Field("upsertions", ArrayOf(
            Field("name", STRING),
            Field("mechanism", INT8),
            Field("iterations", INT32),
            Field("salt", BYTES),
            Field("salted_password", BYTES),
            name="ScramCredentialUpsertion")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("results", ArrayOf(
            Field("user", STRING),
            Field("error_code", INT16),
            Field("error_message", STRING, nullable_since=0),
            name="AlterUserScramCredentialsResult")),
    ),
)
