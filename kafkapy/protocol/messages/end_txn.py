"""EndTxn (key 26): commit or abort a transaction."""
from __future__ import annotations

from kafkapy.protocol.schema import BOOL, INT16, INT32, INT64, STRING, ApiSpec, Field, Schema

API = ApiSpec(
    key=26, name="EndTxn", min_version=0, max_version=3, flexible_since=3,
    request=Schema(
        Field("transactional_id", STRING),
        Field("producer_id", INT64),
        Field("producer_epoch", INT16),
        Field("committed", BOOL),
    ),
    response=Schema(
        Field("throttle_time_ms", INT32),
        Field("error_code", INT16),
    ),
)
