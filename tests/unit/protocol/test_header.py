"""Request/response headers (versions, client_id encoding, KIP-511 fallback) and framing."""
from __future__ import annotations

import struct

import pytest

from kafkapy.protocol import header as hdr
from kafkapy.protocol.api_keys import (
    BROKER_SUPPORTED, ApiKey, api_versions_entries, register_supported, supported_range,
)
from kafkapy.protocol.errors import (
    ProtocolDecodeError, UnknownApiKeyError, UnsupportedVersionError,
)
from kafkapy.protocol.frame import (
    DEFAULT_MAX_REQUEST_BYTES, InvalidFrameError, frame, frame_chunks, next_frame,
)
from kafkapy.protocol.messages import APIS, get_api


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


@pytest.mark.parametrize("key,version,expected", [
    (7, 0, 0), (7, 1, 1), (7, 3, 2),
    (18, 0, 1), (18, 2, 1), (18, 3, 2), (18, 4, 2),  # v4 is unknown but "3+" is flexible
    (0, 8, 1), (0, 9, 2), (1, 11, 1), (1, 12, 2), (3, 8, 1), (3, 9, 2), (17, 1, 1),
])
def test_request_header_version(key: int, version: int, expected: int) -> None:
    assert hdr.request_header_version(key, version) == expected


def test_request_header_version_follows_every_spec() -> None:
    for key, api in APIS.items():
        for v in api.versions:
            expected = 0 if (key, v) == (7, 0) else (2 if api.is_flexible(v) else 1)
            assert hdr.request_header_version(key, v) == expected


@pytest.mark.parametrize("key,version,expected", [
    (18, 0, 0), (18, 3, 0), (0, 8, 0), (0, 9, 1), (1, 12, 1), (3, 9, 1), (17, 1, 0),
])
def test_response_header_version(key: int, version: int, expected: int) -> None:
    assert hdr.response_header_version(key, version) == expected


def test_header_v0_has_no_client_id() -> None:
    wire = h("0007 0000 0000002a 00000001")  # ControlledShutdown v0, broker_id 1
    header, body = hdr.decode_request(wire)
    assert header == hdr.RequestHeader(7, 0, 42, None, 0)
    assert body.broker_id == 1
    assert hdr.encode_request(7, 0, 42, "ignored", body) == wire


def test_header_v2_client_id_is_classic_and_tags_are_skipped() -> None:
    # Metadata v9: header v2 with client_id as int16 string, then one unknown tag (5, 2 bytes)
    body_bytes = h("01 01 00 00 00")  # topics [], allow auto, two bools, no tags
    wire = h("0003 0009 00000003 0003 616263 01 05 02 abcd") + body_bytes
    header, pos = hdr.parse_request_header(wire)
    assert header == hdr.RequestHeader(3, 9, 3, "abc", 2)
    assert wire[pos:] == body_bytes
    _, body = hdr.decode_request(wire)
    assert body.topics == [] and body.allow_auto_topic_creation is True


def test_null_client_id() -> None:
    wire = hdr.encode_request(12, 0, 9, None, get_api(12).request(group_id="g"))
    assert wire[8:10] == h("ffff")
    header, _ = hdr.decode_request(wire)
    assert header.client_id is None


def test_unknown_api_key_and_version() -> None:
    with pytest.raises(UnknownApiKeyError):
        hdr.parse_request_header(h("0063 0000 00000001 0000"))
    with pytest.raises(UnknownApiKeyError):
        hdr.parse_request_header(h("ffff 0000 00000001 0000"))
    with pytest.raises(UnsupportedVersionError) as e:
        hdr.decode_request(h("0000 000a 00000001 0000 00"))  # Produce v10 (header v2)
    assert (e.value.api_key, e.value.api_version, e.value.max_version) == (0, 10, 9)
    assert isinstance(e.value, ProtocolDecodeError)


def test_truncated_header() -> None:
    for cut in range(len(b"\x00\x03\x00\x01\x00\x00\x00\x01\x00\x02ab")):
        with pytest.raises(ProtocolDecodeError):
            hdr.parse_request_header(h("0003 0001 00000001 0002 6162")[:cut])


def test_api_versions_fallback() -> None:
    # kafka-python sends ApiVersions v4: header read as v2, body not parsed.
    wire = h("0012 0004 00000001 0002 6b70 00") + b"whatever the v4 body is"
    header, _ = hdr.parse_request_header(wire)
    assert hdr.is_unsupported_api_versions(header)
    with pytest.raises(UnsupportedVersionError):
        hdr.decode_request(wire)
    reply = hdr.api_versions_fallback_response(header.correlation_id)
    corr, body = hdr.decode_response(reply, 18, 0)
    assert corr == 1 and body.error_code == 35
    assert [(k.api_key, k.min_version, k.max_version) for k in body.api_keys] == [(18, 0, 3)]
    assert not hdr.is_unsupported_api_versions(hdr.RequestHeader(18, 3, 1, None, 2))
    assert not hdr.is_unsupported_api_versions(hdr.RequestHeader(0, 99, 1, None, 1))


def test_api_versions_v3_response_uses_header_v0() -> None:
    body = get_api(18).response(api_keys=api_versions_entries())
    wire = hdr.encode_response(18, 3, 77, body)
    assert wire[:4] == struct.pack(">i", 77)
    assert wire[4:6] == h("0000")  # error code right after the correlation id, no tag byte
    assert hdr.decode_response(wire, 18, 3) == (77, body)


def test_flexible_response_header_has_tags() -> None:
    body = get_api(12).response(error_code=27)
    wire = hdr.encode_response(12, 4, 5, body)
    assert wire == h("00000005 00 00000000 001b 00")
    assert hdr.decode_response(wire, 12, 4) == (5, body)
    # unknown tags in the response header are skipped
    assert hdr.decode_response(h("00000005 01 00 01 ff 00000000 001b 00"), 12, 4) == (5, body)


def test_encode_response_chunks_with_file_region(file_region) -> None:
    api = get_api(1)
    part = api.response.struct("responses", "partition_responses")
    topic = api.response.struct("responses")
    records = b"R" * 1000
    region = file_region(records, prefix=b"junk")
    region2 = file_region(b"S" * 10)
    body = api.response(responses=[topic(topic="t", partition_responses=[
        part(partition=0, high_watermark=5, record_set=region),
        part(partition=1, high_watermark=6, record_set=region2)])])
    chunks = hdr.encode_response_chunks(1, 11, 3, body)
    assert [type(c).__name__ for c in chunks] == ["bytes", "FileRegion", "bytes", "FileRegion"]
    assert chunks[1] is region and chunks[3] is region2
    flat = b"".join(c.read() if not isinstance(c, bytes) else c for c in chunks)
    assert flat == hdr.encode_response(1, 11, 3, body)
    assert hdr.decode_response(flat, 1, 11)[1].responses[0].partition_responses[0].record_set == records
    framed = frame_chunks(chunks)
    assert struct.unpack(">i", framed[0][:4])[0] == len(flat)


# ---------------------------------------------------------------- api_keys

def test_api_key_names() -> None:
    assert len(ApiKey) == 65 and [int(k) for k in ApiKey] == list(range(65))
    assert ApiKey.LIST_OFFSETS.module_name == "list_offsets"
    assert ApiKey.API_VERSIONS.api_name == "ApiVersions"
    for key in ApiKey:
        assert get_api(key).name == key.api_name


def test_register_supported_and_entries(monkeypatch) -> None:
    monkeypatch.setattr("kafkapy.protocol.api_keys.BROKER_SUPPORTED", dict(BROKER_SUPPORTED))
    register_supported(ApiKey.METADATA, 0, 11)
    register_supported(ApiKey.PRODUCE, 3, 9)
    assert supported_range(0) == (3, 9) and supported_range(99) is None
    entries = api_versions_entries()
    assert [(e.api_key, e.min_version, e.max_version) for e in entries][:2] == [(0, 3, 9), (3, 0, 11)]
    with pytest.raises(ValueError):
        register_supported(ApiKey.PRODUCE, 0, 10)


# ---------------------------------------------------------------- framing

def test_next_frame() -> None:
    data = frame(b"hello") + frame(b"") + h("000000")
    f1, pos = next_frame(data)
    assert bytes(f1) == b"hello" and pos == 9
    f2, pos = next_frame(data, pos)
    assert bytes(f2) == b"" and pos == 13
    assert next_frame(data, pos) == (None, 4)
    assert next_frame(h("00000005 6865"), 0) == (None, 9)


def test_frame_size_limits() -> None:
    with pytest.raises(InvalidFrameError, match="negative"):
        next_frame(h("ffffffff"))
    with pytest.raises(InvalidFrameError, match="larger"):
        next_frame(struct.pack(">i", DEFAULT_MAX_REQUEST_BYTES + 1))
    with pytest.raises(InvalidFrameError):
        next_frame(struct.pack(">i", 100) + b"x" * 100, max_bytes=99)
    assert next_frame(struct.pack(">i", 100), max_bytes=100) == (None, 104)
