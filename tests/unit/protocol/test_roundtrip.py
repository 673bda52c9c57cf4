"""Round trips of every (API, version, request/response) with objects generated from the schemas,
fixed byte fixtures written by hand from the protocol description, and decode-error behaviour."""
from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkapy.protocol import header as hdr
from kafkapy.protocol.errors import ProtocolDecodeError
from kafkapy.protocol.frame import frame, next_frame
from kafkapy.protocol.messages import APIS, get_api
from kafkapy.protocol.schema import (
    BOOL, BYTES, FLOAT64, INT8, INT16, INT32, INT64, RECORDS, STRING, UINT16, UINT32, UUID,
    ArrayOf, Field, Struct,
)

_INTS = {
    INT8: st.integers(-(2**7), 2**7 - 1),
    INT16: st.integers(-(2**15), 2**15 - 1),
    UINT16: st.integers(0, 2**16 - 1),
    INT32: st.integers(-(2**31), 2**31 - 1),
    UINT32: st.integers(0, 2**32 - 1),
    INT64: st.integers(-(2**63), 2**63 - 1),
}


def type_strategy(t, version: int, flexible: bool) -> st.SearchStrategy:
    if t in _INTS:
        return _INTS[t]
    if t is BOOL:
        return st.booleans()
    if t is FLOAT64:
        return st.floats(allow_nan=False)
    if t is UUID:
        return st.uuids()
    if t is STRING:
        return st.text(max_size=12)
    if t is BYTES:
        return st.binary(max_size=12)
    if t is RECORDS:
        return st.binary(max_size=40)
    if isinstance(t, ArrayOf):
        return st.lists(type_strategy(t.element, version, flexible), max_size=3)
    if isinstance(t, Struct):
        return struct_strategy(t, version, flexible)
    raise AssertionError(f"no strategy for {t!r}")


def field_strategy(f: Field, version: int, flexible: bool) -> st.SearchStrategy:
    base = type_strategy(f.type, version, flexible)
    if f.nullable(version):
        return st.none() | base
    return base


_CACHE: dict = {}


def struct_strategy(s: Struct, version: int, flexible: bool) -> st.SearchStrategy:
    """Objects of ``s`` with every field present at ``version`` drawn at random; absent fields
    keep their defaults."""
    key = (id(s), version, flexible)
    if key not in _CACHE:
        fields = {f.name: field_strategy(f, version, flexible)
                  for f in s.fields if f.present(version) and (flexible or not f.tagged(version))}
        _CACHE[key] = st.builds(s.cls, **fields)
    return _CACHE[key]


CASES = [
    pytest.param(key, version, direction, id=f"{api.name}-v{version}-{direction}")
    for key, api in sorted(APIS.items())
    for version in api.versions
    for direction in ("request", "response")
]

_SETTINGS = settings(max_examples=6, deadline=None, derandomize=False,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("key,version,direction", CASES)
@given(data=st.data())
@_SETTINGS
def test_roundtrip(key: int, version: int, direction: str, data) -> None:
    api = APIS[key]
    schema = api.request if direction == "request" else api.response
    codec = api.request_codec(version) if direction == "request" else api.response_codec(version)
    obj = data.draw(struct_strategy(schema, version, api.is_flexible(version)))
    encoded = codec.encode(obj)
    decoded, end = codec.decode(encoded)
    assert end == len(encoded)
    assert decoded == obj
    assert codec.encode(decoded) == encoded
    # the field-by-field decoder that explains fast-path failures agrees
    assert codec.checked_decode(memoryview(encoded), 0) == (obj, len(encoded))
    # a prefix in the buffer is skipped by pos
    decoded2, end2 = codec.decode(b"\xab\xcd" + encoded, 2)
    assert decoded2 == obj and end2 == len(encoded) + 2


def test_every_version_is_covered() -> None:
    assert len(CASES) == 2 * sum(len(api.versions) for api in APIS.values())
    assert {c.values[0] for c in CASES} == set(range(65))


# ---------------------------------------------------------------- fixed fixtures (hand written)

def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


def test_api_versions_v0_request_fixture() -> None:
    wire = h("00000011 0012 0000 00000001 0007 72646b61666b61")
    payload, end = next_frame(wire)
    assert end == len(wire)
    header, body = hdr.decode_request(payload)
    assert (header.api_key, header.api_version, header.correlation_id) == (18, 0, 1)
    assert header.client_id == "rdkafka" and header.header_version == 1
    assert body == get_api(18).request()
    assert frame(hdr.encode_request(18, 0, 1, "rdkafka", body)) == wire


def test_api_versions_v3_request_fixture() -> None:
    wire = h("00000024 0012 0003 00000001 0007 72646b61666b61 00 0b 6c696272646b61666b61"
             " 06 322e332e30 00")
    payload, _ = next_frame(wire)
    header, body = hdr.decode_request(payload)
    assert header.header_version == 2 and header.client_id == "rdkafka"
    assert body.client_software_name == "librdkafka"
    assert body.client_software_version == "2.3.0"
    assert frame(hdr.encode_request(18, 3, 1, "rdkafka", body)) == wire


def test_api_versions_v3_response_fixture() -> None:
    wire = h("0000001a 00000001 0000 03 0000 0000 0009 00 0012 0000 0003 00 00000000 00")
    api = get_api(18)
    entry = api.response.struct("api_keys")
    body = api.response(api_keys=[entry(api_key=0, min_version=0, max_version=9),
                                  entry(api_key=18, min_version=0, max_version=3)])
    assert frame(hdr.encode_response(18, 3, 1, body)) == wire
    payload, _ = next_frame(wire)
    assert hdr.decode_response(payload, 18, 3) == (1, body)


def test_api_versions_v0_response_fixture() -> None:
    wire = h("00000010 00000001 0000 00000001 0003 0000 000b")
    api = get_api(18)
    body = api.response(api_keys=[api.response.struct("api_keys")(api_key=3, max_version=11)])
    assert frame(hdr.encode_response(18, 0, 1, body)) == wire
    assert hdr.decode_response(next_frame(wire)[0], 18, 0) == (1, body)


def test_api_versions_fallback_fixture() -> None:
    assert frame(hdr.api_versions_fallback_response(1)) == h(
        "00000010 00000001 0023 00000001 0012 0000 0003")


def test_metadata_v0_request_fixture() -> None:
    # header v1: api_key 3, version 0, correlation 7, client "c"; body: topics ["foo", "ba"]
    wire = h("0003 0000 00000007 0001 63  00000002 0003 666f6f 0002 6261")
    header, body = hdr.decode_request(wire)
    assert header.correlation_id == 7 and header.client_id == "c"
    assert [t.name for t in body.topics] == ["foo", "ba"]
    assert hdr.encode_request(3, 0, 7, "c", body) == wire


def test_produce_v3_request_records_are_zero_copy() -> None:
    records = bytes(range(256)) * 4
    api = get_api(0)
    req = api.request(transactional_id=None, acks=-1, timeout_ms=30000, topic_data=[
        api.request.struct("topic_data")(name="t", partition_data=[
            api.request.struct("topic_data", "partition_data")(index=0, records=records)])])
    wire = bytearray(hdr.encode_request(0, 3, 5, "p", req))
    # body: nullable transactional id (-1), acks, timeout, 1 topic "t", 1 partition, records
    expected_body = h("ffff ffff 00007530 00000001 0001 74 00000001 00000000 00000400") + records
    assert wire.endswith(expected_body)
    header, body = hdr.decode_request(memoryview(wire))
    view = body.topic_data[0].partition_data[0].records
    assert isinstance(view, memoryview) and view == records
    assert view.obj is wire  # a slice of the frame buffer, not a copy


# ---------------------------------------------------------------- decode errors

def _sample(api_key: int, version: int, direction: str):
    api = get_api(api_key)
    schema = api.request if direction == "request" else api.response
    codec = api.request_codec(version) if direction == "request" else api.response_codec(version)
    return codec, schema


def _metadata_v9_response():
    codec, schema = _sample(3, 9, "response")
    broker = schema.struct("brokers")
    topic = schema.struct("topics")
    part = schema.struct("topics", "partitions")
    obj = schema(throttle_time_ms=1, brokers=[broker(node_id=1, host="h", port=9092, rack="r")],
                 cluster_id="c", controller_id=1,
                 topics=[topic(name="tópico", partitions=[
                     part(partition_index=i, leader_id=1, replica_nodes=[1, 2], isr_nodes=[1])
                     for i in range(2)])])
    return codec, obj


def _fetch_v12_response():
    codec, schema = _sample(1, 12, "response")
    topic = schema.struct("responses")
    part = schema.struct("responses", "partition_responses")
    p = part(partition=0, high_watermark=10, record_set=b"abcdef",
             current_leader=part.field("current_leader").type(leader_id=1, leader_epoch=2),
             aborted_transactions=None)
    return codec, schema(session_id=3, responses=[topic(topic="t", partition_responses=[p])])


def _produce_v8_request():
    codec, schema = _sample(0, 8, "request")
    topic = schema.struct("topic_data")
    part = schema.struct("topic_data", "partition_data")
    return codec, schema(transactional_id="tx", acks=-1, timeout_ms=1000, topic_data=[
        topic(name="t", partition_data=[part(index=0, records=b"x" * 30), part(index=1)])])


@pytest.mark.parametrize("make", [_metadata_v9_response, _fetch_v12_response, _produce_v8_request],
                         ids=["metadata-v9", "fetch-v12", "produce-v8"])
def test_truncation_at_every_position_raises_decode_error(make) -> None:
    codec, obj = make()
    wire = codec.encode(obj)
    assert codec.decode(wire)[0] == obj
    for cut in range(len(wire)):
        with pytest.raises(ProtocolDecodeError):
            codec.decode(wire[:cut])


def test_error_message_names_api_version_and_field() -> None:
    codec, obj = _metadata_v9_response()
    wire = codec.encode(obj)
    with pytest.raises(ProtocolDecodeError) as e:
        codec.decode(wire[:-12])
    msg = str(e.value)
    assert msg.startswith("MetadataResponse v9:") and "topics[0].partitions[1]" in msg


def test_absurd_lengths_fail_before_allocating() -> None:
    codec = get_api(3).request_codec(0)
    with pytest.raises(ProtocolDecodeError, match="exceeds"):
        codec.decode(h("7fffffff"))  # array count 2^31-1
    with pytest.raises(ProtocolDecodeError, match="exceeds"):
        codec.decode(h("00000001 7fff 61"))  # string length 32767, 1 byte left
    with pytest.raises(ProtocolDecodeError, match="negative"):
        codec.decode(h("00000001 fffe"))
    with pytest.raises(ProtocolDecodeError, match="null"):
        codec.decode(h("ffffffff"))  # null topics is not allowed in v0
    produce = get_api(0).request_codec(3)
    with pytest.raises(ProtocolDecodeError, match="records length 2147483647"):
        produce.decode(h("ffff ffff 00000000 00000001 0001 74 00000001 00000000 7fffffff 00"))
    flexible = get_api(3).request_codec(9)
    with pytest.raises(ProtocolDecodeError, match="exceeds"):
        flexible.decode(h("ffffffff07"))  # compact array count 2^32-2


def test_bad_varints() -> None:
    codec = get_api(3).request_codec(9)
    with pytest.raises(ProtocolDecodeError, match="too long"):
        codec.decode(h("ffffffffff01"))
    with pytest.raises(ProtocolDecodeError, match="truncated"):
        codec.decode(h("ff"))


def test_invalid_utf8() -> None:
    codec = get_api(3).request_codec(0)
    with pytest.raises(ProtocolDecodeError, match="UTF-8"):
        codec.decode(h("00000001 0002 c328"))


def test_tag_order_and_duplicates() -> None:
    codec = get_api(18).response_codec(3)
    base = h("0000 01 00000000")
    ok = base + h("02 00 01 01 01 08 0000000000000005")
    assert codec.decode(ok)[0].finalized_features_epoch == 5
    with pytest.raises(ProtocolDecodeError, match="out of order"):
        codec.decode(base + h("02 01 08 0000000000000005 00 01 00"))
    with pytest.raises(ProtocolDecodeError, match="duplicate"):
        codec.decode(base + h("02 01 08 0000000000000005 01 08 0000000000000006"))
    # unknown tags are skipped
    assert codec.decode(base + h("01 07 03 aabbcc"))[0] == get_api(18).response()


@given(st.binary(max_size=64))
@settings(max_examples=150, deadline=None)
def test_random_bytes_only_raise_decode_errors(data: bytes) -> None:
    for key, version, direction in ((3, 9, "response"), (1, 12, "response"), (0, 8, "request"),
                                    (11, 7, "request"), (18, 3, "response")):
        codec, _ = _sample(key, version, direction)
        try:
            codec.decode(data)
        except ProtocolDecodeError:
            pass


def test_struct_error_is_not_leaked_for_short_fixed_fields() -> None:
    codec = get_api(12).response_codec(1)
    with pytest.raises(ProtocolDecodeError, match="truncated"):
        codec.decode(struct.pack(">i", 0))


# ---------------------------------------------------------------- interop with a real client

def _kafka_python_classes() -> list:
    """kafka-python's hand-written message classes (kafka.protocol.old), an independent encoder."""
    import importlib
    import inspect
    import pkgutil
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # kafka-python's resource loading
        try:
            import kafka.protocol.old as old
            from kafka.protocol.old.api import Request, Response
        except ImportError:
            return []
        modules = [importlib.import_module(f"{old.__name__}.{m.name}")
                   for m in pkgutil.iter_modules(old.__path__)]
    found = []
    for mod in modules:
        for c in vars(mod).values():
            if (inspect.isclass(c) and issubclass(c, (Request, Response))
                    and c.__module__ == mod.__name__ and c not in (Request, Response)
                    and isinstance(getattr(c, "API_KEY", None), int)
                    and isinstance(getattr(c, "API_VERSION", None), int)):
                found.append(c)
    return sorted(found, key=lambda c: (c.API_KEY, c.API_VERSION, c.__name__))


# Classes whose kafka-python schema differs in shape from Kafka's, not on the wire.
_KAFKA_PYTHON_SHAPES = {
    "MetadataRequest": "topics is an array of strings, not of {name} structs",
    "DescribeGroupsResponse_v3": "authorized_operations is a bit set",
    "DescribeGroupsResponse_v4": "authorized_operations is a bit set",
    "MetadataResponse_v8": "authorized_operations is a bit set",
    "CreatePartitionsRequest": "assignments modelled as an array of arrays",
    "DescribeLogDirsRequest": "topics modelled differently",
}


def _to_values(obj, s: Struct, version: int) -> list:
    out = []
    for f in s.fields:
        if not f.present(version) or f.tagged(version):
            continue
        val = getattr(obj, f.name)
        t = f.type
        if isinstance(t, ArrayOf) and isinstance(t.element, Struct) and val is not None:
            val = [tuple(_to_values(x, t.element, version)) for x in val]
        elif isinstance(t, Struct):
            val = tuple(_to_values(val, t, version))
        elif isinstance(val, memoryview):
            val = bytes(val)
        out.append(val)
    return out


@pytest.mark.parametrize("cls", _kafka_python_classes(), ids=lambda c: c.__name__)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_same_bytes_as_kafka_python(cls) -> None:
    from kafka.protocol.old.api import Request

    api = APIS.get(cls.API_KEY)
    version = cls.API_VERSION
    reason = next((r for k, r in _KAFKA_PYTHON_SHAPES.items() if cls.__name__.startswith(k)), None)
    if reason:
        pytest.skip(f"kafka-python's {cls.__name__}: {reason}")
    if api is None or version > api.max_version:
        pytest.skip(f"{cls.__name__} is beyond Kafka 2.8")
    if api.is_flexible(version):
        pytest.skip("kafka-python's old classes do not encode flexible versions")
    is_request = issubclass(cls, Request)
    schema = api.request if is_request else api.response
    codec = api.request_codec(version) if is_request else api.response_codec(version)

    @given(struct_strategy(schema, version, False))
    @settings(max_examples=3, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    def run(obj) -> None:
        theirs = bytes(cls(*_to_values(obj, schema, version)).encode())
        assert codec.encode(obj) == theirs
        assert codec.decode(theirs)[0] == obj

    run()


def _kafka_python_flexible_cases() -> list:
    """(api key, version, direction, kafka-python class) for flexible versions kafka-python's
    JSON-driven classes (kafka.protocol.*, outside .old) also know."""
    import importlib
    import inspect
    import pkgutil
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import kafka.protocol as kp
            from kafka.protocol.api_message import ApiMessage
        except ImportError:
            return []
        classes = {}
        for m in pkgutil.walk_packages(kp.__path__, kp.__name__ + "."):
            if ".old" in m.name or m.name.endswith("generate_stubs"):
                continue
            mod = importlib.import_module(m.name)
            for c in vars(mod).values():
                if inspect.isclass(c) and issubclass(c, ApiMessage) and c is not ApiMessage:
                    classes[c.__name__] = c
    cases = []
    for key, api in sorted(APIS.items()):
        for direction in ("request", "response"):
            cls = classes.get(api.name + direction.capitalize())
            for version in api.versions:
                if cls is not None and api.is_flexible(version) and version <= cls.max_version:
                    cases.append(pytest.param(key, version, direction, cls,
                                              id=f"{api.name}-v{version}-{direction}"))
    return cases


@pytest.mark.parametrize("key,version,direction,cls", _kafka_python_flexible_cases())
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_kafka_python_reads_and_rewrites_our_flexible_bytes(key, version, direction, cls) -> None:
    """kafka-python decodes what we encode and re-encodes the very same bytes (compact types,
    tagged fields, nested tag sections)."""
    api = APIS[key]
    schema = api.request if direction == "request" else api.response
    codec = api.request_codec(version) if direction == "request" else api.response_codec(version)

    @given(struct_strategy(schema, version, True))
    @settings(max_examples=3, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    def run(obj) -> None:
        if key == 18 and direction == "response":
            obj.error_code = 0  # kafka-python reads any failed ApiVersions reply as v0
        ours = codec.encode(obj)
        theirs = cls.decode(ours, version=version)
        theirs._header = None  # its decoder leaves the slot unset; encode() reads it
        assert bytes(theirs.encode(version=version)) == ours

    run()
