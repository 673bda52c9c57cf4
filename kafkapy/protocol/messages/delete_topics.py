"""DeleteTopics (key 20): delete topics by name (v0-5) or by name or topic id (v6+)."""
from __future__ import annotations

from kafkapy.protocol.schema import INT16, INT32, STRING, UUID, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=20, name="DeleteTopics", min_version=0, max_version=6, flexible_since=4,
    request=Schema(
        Field("topics", ArrayOf(
            Field("name", STRING, since=6, nullable_since=6),
            Field("topic_id", UUID, since=6),
            name="DeleteTopicState"), since=6),
        Field("topic_names", ArrayOf(STRING), until=5, ignorable=True),
        Field("timeout_ms", INT32),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32, since=1, ignorable=True),
        Field("responses", ArrayOf(
            Field("name", STRING, nullable_since=6),
            Field("topic_id", UUID, since=6, ignorable=True),
            Field("error_code", INT16),
            Field("error_message", STRING, since=5, nullable_since=5, default=None, ignorable=True),
            name="DeletableTopicResult")),
    ),
)
