"""DescribeCluster (key 60): cluster id, controller and brokers (KIP-700)."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT16, INT32, STRING, ApiSpec, ArrayOf, Field, Schema

API = ApiSpec(
    key=60, name="DescribeCluster", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("include_cluster_authorized_operations", BOOL),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
        Field("error_message", STRING, nullable_since=0, default=None),
        Field("cluster_id", STRING),
        Field("controller_id", INT32, default=-1),
        Field("brokers", ArrayOf(
            Field("broker_id", INT32),
            Field("host", STRING),
            Field("port", INT32),
            Field("rack", STRING, nullable_since=0, default=None),
            name="DescribeClusterBroker")),
        Field("cluster_authorized_operations", INT32, default=-2147483648),
    ),
)
