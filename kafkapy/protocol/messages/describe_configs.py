"""DescribeConfigs (key 32): read topic, broker or broker-logger configs with their sources."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT8, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=32, name="DescribeConfigs", min_version=0, max_version=4, flexible_since=4,
    request=Schema(
        Field("resources", ArrayOf(
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            Field("configuration_keys", ArrayOf(STRING), nullable_since=0),
            name="DescribeConfigsResource")),
        Field("include_synonyms", BOOL, since=1, default=False),
        Field("include_documentation", BOOL, since=3, default=False),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("results", ArrayOf(
            Field("error_code", INT16),
            Field("error_message", STRING, nullable_since=0),
            Field("resource_type", INT8),
            Field("resource_name", STRING),
            Field("configs", ArrayOf(
                Field("name", STRING),
                Field("value", STRING, nullable_since=0),
                Field("read_only", BOOL),
                Field("is_default", BOOL, until=0),
                Field("config_source", INT8, since=1, default=-1, ignorable=True),
                Field("is_sensitive", BOOL),
                Field("synonyms", ArrayOf(
                    Field("name", STRING, since=1),
                    Field("value", STRING, since=1, nullable_since=0),
                    Field("source", INT8, since=1),
                    name="DescribeConfigsSynonym"), since=1, ignorable=True),
                Field("config_type", INT8, since=3, default=0, ignorable=True),
                Field("documentation", STRING, since=3, nullable_since=0, ignorable=True),
                name="DescribeConfigsResourceResult")),
            name="DescribeConfigsResult")),
    ),
)
