"""ListGroups (key 16): the groups this coordinator knows (v4+: filtered by state)."""
from kafkapy.protocol.schema import INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=16, name="ListGroups", min_version=0, max_version=4, flexible_since=3,
    request=Schema(
        Field("states_filter", ArrayOf(STRING), since=4),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=1, ignorable=True),
        Field("error_code", INT16),
        Field("groups", ArrayOf(
            Field("group_id", STRING),
            Field("protocol_type", STRING),
            Field("group_state", STRING, since=4, ignorable=True),
            name="ListedGroup")),
    ),
)
