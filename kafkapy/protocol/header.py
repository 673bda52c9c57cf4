"""Request and response headers.

Request header v0 (api_key, api_version, correlation_id) is used only by ControlledShutdown v0;
v1 adds client_id (always a classic int16 nullable string, even in v2); v2 (flexible request
versions) adds a tagged-field section. Response header v0 is the correlation id; v1 (flexible
response versions) adds a tagged-field section, except that ApiVersions always uses v0 (KIP-511).

Parsing peeks at api_key/api_version first. ``parse_request_header`` knows only the API key;
``decode_request`` also checks the version against the schema and decodes the body. For an
ApiVersions request at an unknown version, answer with ``api_versions_fallback_response``.
"""
from __future__ import annotations

import struct
from typing import Any, NamedTuple

from kafkapy.protocol.api_keys import BROKER_SUPPORTED, ApiKey
from kafkapy.protocol.errors import ProtocolDecodeError, UnsupportedVersionError
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.primitives import (
    read_nullable_string, skip_tagged_fields, write_nullable_string,
)
from kafkapy.protocol.schema import INT16, INT32, STRING, DataSpec, Field, Schema

# The header layouts, declared in the DSL so the spec cross-check covers them.
REQUEST_HEADER = DataSpec(
    name="RequestHeader", min_version=0, max_version=2, flexible_since=2,
    schema=Schema(
        Field("request_api_key", INT16),
        Field("request_api_version", INT16),
        Field("correlation_id", INT32),
        Field("client_id", STRING, since=1, nullable_since=1, ignorable=True, never_compact=True),
    ),
)
RESPONSE_HEADER = DataSpec(
    name="ResponseHeader", min_version=0, max_version=1, flexible_since=1,
    schema=Schema(Field("correlation_id", INT32)),
)

_PEEK = struct.Struct(">hhi")
_INT32 = struct.Struct(">i")


class RequestHeader(NamedTuple):
    """A parsed request header. Immutable; a NamedTuple rather than a frozen dataclass because
    one is built per request and a frozen dataclass costs ~1 us more to construct."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    header_version: int


_NEVER = 1 << 15
_FLEX_SINCE: dict[int, int] = {}  # api_key -> first flexible version (_NEVER when none)


def _flexible_since(api_key: int) -> int:
    fs = _FLEX_SINCE.get(api_key)
    if fs is None:
        spec = get_api(api_key)  # UnknownApiKeyError for keys we do not know
        fs = _FLEX_SINCE[api_key] = _NEVER if spec.flexible_since is None else spec.flexible_since
    return fs


def request_header_version(api_key: int, api_version: int) -> int:
    """2 for flexible request versions, 1 otherwise, 0 for ControlledShutdown v0.
    Versions above the known maximum follow the flexible rule ("N+" is open-ended)."""
    fs = _FLEX_SINCE.get(api_key)
    if fs is None:
        fs = _flexible_since(api_key)
    if api_version >= fs:
        return 2
    if api_key == 7 and api_version == 0:  # ControlledShutdown v0 has no client id
        return 0
    return 1


def response_header_version(api_key: int, api_version: int) -> int:
    """1 for flexible response versions, 0 otherwise; always 0 for ApiVersions."""
    if api_key == 18:  # ApiVersions: always v0 (KIP-511)
        return 0
    return 1 if api_version >= _flexible_since(api_key) else 0


def parse_request_header(buf: Any, pos: int = 0) -> tuple[RequestHeader, int]:
    """Header of a request frame (``buf`` excludes the size prefix). Returns the header and the
    position of the body. Raises UnknownApiKeyError or ProtocolDecodeError; does not check the
    version range (see ``decode_request``)."""
    try:
        api_key, api_version, correlation_id = _PEEK.unpack_from(buf, pos)
    except struct.error:
        raise ProtocolDecodeError(
            f"truncated request header: {max(len(buf) - pos, 0)} bytes, need at least 8"
        ) from None
    hv = request_header_version(api_key, api_version)
    pos += 8
    client_id = None
    if hv >= 1:
        client_id, pos = read_nullable_string(buf, pos)
        if hv == 2:
            pos = skip_tagged_fields(buf, pos)
    return RequestHeader(api_key, api_version, correlation_id, client_id, hv), pos


def decode_request(buf: Any, pos: int = 0) -> tuple[RequestHeader, Any]:
    """Header and body of a request frame. Raises UnknownApiKeyError, UnsupportedVersionError
    (versions the schema does not know; for ApiVersions, answer with the fallback) or
    ProtocolDecodeError."""
    if buf.__class__ is not memoryview:
        buf = memoryview(buf)
    header, pos = parse_request_header(buf, pos)
    body, _end = get_api(header.api_key).request_codec(header.api_version).decode(buf, pos)
    return header, body


def encode_request_header(api_key: int, api_version: int, correlation_id: int,
                          client_id: str | None) -> bytes:
    hv = request_header_version(api_key, api_version)
    head = _PEEK.pack(api_key, api_version, correlation_id)
    if hv == 0:
        return head
    head += write_nullable_string(client_id)
    return head + b"\x00" if hv == 2 else head


def encode_request(api_key: int, api_version: int, correlation_id: int, client_id: str | None,
                   body: Any) -> bytes:
    """Header + body of a request (no size prefix; see frame.py)."""
    codec = get_api(api_key).request_codec(api_version)
    return encode_request_header(api_key, api_version, correlation_id, client_id) + codec.encode(body)


def encode_response_header(api_key: int, api_version: int, correlation_id: int) -> bytes:
    head = _INT32.pack(correlation_id)
    return head + b"\x00" if response_header_version(api_key, api_version) == 1 else head


def parse_response_header(buf: Any, api_key: int, api_version: int, pos: int = 0) -> tuple[int, int]:
    """(correlation_id, body position) of a response to a request of (api_key, api_version)."""
    try:
        (correlation_id,) = _INT32.unpack_from(buf, pos)
    except struct.error:
        raise ProtocolDecodeError("truncated response header") from None
    pos += 4
    if response_header_version(api_key, api_version) == 1:
        pos = skip_tagged_fields(buf, pos)
    return correlation_id, pos


def encode_response(api_key: int, api_version: int, correlation_id: int, body: Any) -> bytes:
    """Header + body of a response (no size prefix)."""
    codec = get_api(api_key).response_codec(api_version)
    return encode_response_header(api_key, api_version, correlation_id) + codec.encode(body)


def encode_response_chunks(api_key: int, api_version: int, correlation_id: int,
                           body: Any) -> list:
    """Like ``encode_response`` but as chunks; FileRegion records stay separate elements."""
    codec = get_api(api_key).response_codec(api_version)
    chunks = codec.encode_chunks(body)
    head = encode_response_header(api_key, api_version, correlation_id)
    if chunks and isinstance(chunks[0], bytes):
        chunks[0] = head + chunks[0]
    else:
        chunks.insert(0, head)
    return chunks


def decode_response(buf: Any, api_key: int, api_version: int, pos: int = 0) -> tuple[int, Any]:
    """(correlation_id, body) of a response frame (client side)."""
    if buf.__class__ is not memoryview:
        buf = memoryview(buf)
    correlation_id, pos = parse_response_header(buf, api_key, api_version, pos)
    body, _end = get_api(api_key).response_codec(api_version).decode(buf, pos)
    return correlation_id, body


def is_unsupported_api_versions(header: RequestHeader) -> bool:
    """True for an ApiVersions request at a version the schema does not know (KIP-511 case)."""
    if header.api_key != ApiKey.API_VERSIONS:
        return False
    spec = get_api(ApiKey.API_VERSIONS)
    return not spec.min_version <= header.api_version <= spec.max_version


def api_versions_fallback_response(correlation_id: int) -> bytes:
    """Header v0 + ApiVersions v0 body: error 35 UNSUPPORTED_VERSION and only ApiVersions' own
    entry (KIP-511), for a request at an unsupported ApiVersions version. No size prefix."""
    spec = get_api(ApiKey.API_VERSIONS)
    lo, hi = BROKER_SUPPORTED.get(ApiKey.API_VERSIONS, (spec.min_version, spec.max_version))
    from kafkapy.protocol.messages.api_versions import ApiVersion

    body = spec.response(
        error_code=35,
        api_keys=[ApiVersion(api_key=int(ApiKey.API_VERSIONS), min_version=lo, max_version=hi)],
    )
    return _INT32.pack(correlation_id) + spec.response_codec(0).encode(body)


__all__ = [
    "REQUEST_HEADER", "RESPONSE_HEADER", "RequestHeader", "request_header_version",
    "response_header_version", "parse_request_header", "decode_request", "encode_request_header",
    "encode_request", "encode_response_header", "parse_response_header", "encode_response",
    "encode_response_chunks", "decode_response", "is_unsupported_api_versions",
    "api_versions_fallback_response", "UnsupportedVersionError",
]
