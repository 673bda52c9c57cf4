"""UpdateFeatures (key 57): change cluster-wide finalized feature levels (KIP-584)."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=57, name="UpdateFeatures", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("timeout_ms", INT32, default=60000),
        Field("feature_updates", ArrayOf(
            Field("feature", STRING),
            Field("max_version_level", INT16),
            Field("allow_downgrade", BOOL),
            name="FeatureUpdateKey")),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable_since=0),
        Field("results", ArrayOf(
            Field("feature", STRING),
            Field("error_code", INT16),
            Field("error_message", STRING, nullable_since=0),
            name="UpdatableFeatureResult")),
    ),
)
