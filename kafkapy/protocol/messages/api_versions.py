"""ApiVersions (key 18): which API versions the broker supports. Its response header is always v0."""
from kafkapy.protocol.schema import INT16, INT32, INT64, STRING, ApiSpec, ArrayOf, Field, Schema, Struct

ApiVersion = Struct(
    Field("api_key", INT16),
    Field("min_version", INT16),
    Field("max_version", INT16),
    name="ApiVersion",
)

API = ApiSpec(
    key=18, name="ApiVersions", min_version=0, max_version=3, flexible_since=3,
    request=Schema(
        Field("client_software_name", STRING, since=3, ignorable=True),
        Field("client_software_version", STRING, since=3, ignorable=True),
    ),
    response=Schema(
        Field("error_code", INT16),
        Field("api_keys", ArrayOf(ApiVersion)),
        Field("throttle_time_ms", INT32, since=1, ignorable=True),
        Field("supported_features", ArrayOf(
            Field("name", STRING, since=3),
            Field("min_version", INT16, since=3),
            Field("max_version", INT16, since=3),
            name="SupportedFeatureKey",
        ), since=3, tag=0, tagged_since=3),
        Field("finalized_features_epoch", INT64, since=3, tag=1, tagged_since=3, default=-1,
              ignorable=True),
        Field("finalized_features", ArrayOf(
            Field("name", STRING, since=3),
            Field("max_version_level", INT16, since=3),
            Field("min_version_level", INT16, since=3),
            name="FinalizedFeatureKey",
        ), since=3, tag=2, tagged_since=3),
    ),
)
