"""Envelope (key 58): a broker forwards a client request, with its principal, to the controller."""
from __future__ import annotations

from kafkapy.protocol.schema import BYTES, INT16, ApiSpec, Field, Schema

API = ApiSpec(
    key=58, name="Envelope", min_version=0, max_version=0, flexible_since=0,
    request=Schema(
        Field("request_data", BYTES),
        Field("request_principal", BYTES, nullable_since=0),
        Field("client_host_address", BYTES),
    ),
    response=Schema(
        Field("response_data", BYTES, nullable_since=0, default=None),
        Field("error_code", INT16),
    ),
)
