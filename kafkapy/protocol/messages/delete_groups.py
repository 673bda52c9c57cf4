"""DeleteGroups (key 42): delete empty consumer groups and their committed offsets."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=42, name="DeleteGroups", min_version=0, max_version=2, flexible_since=2,
    request=Schema(
        Field("groups_names", ArrayOf(STRING)),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("results", ArrayOf(
            Field("group_id", STRING),
            Field("error_code", INT16),
            name="DeletableGroupResult")),
    ),
)
