"""The schema DSL and its compiled codecs: object model, version handling, tagged fields,
FileRegion chunks, encode errors."""
from __future__ import annotations

import uuid

import pytest

from kafkapy.protocol.errors import ProtocolDecodeError, ProtocolEncodeError, UnsupportedVersionError
from kafkapy.protocol.schema import (
    BOOL, BYTES, FLOAT64, INT8, INT16, INT32, INT64, RECORDS, STRING, UINT16, UINT32, UUID,
    ZERO_UUID, ApiSpec, ArrayOf, DataSpec, Field, Schema, Struct,
)


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


Item = Struct(
    Field("id", INT32),
    Field("label", STRING, nullable_since=1),
    name="Item",
)

SPEC = ApiSpec(
    key=1000, name="Test", min_version=0, max_version=3, flexible_since=2,
    request=Schema(
        Field("flag", BOOL, default=True),
        Field("small", INT8),
        Field("mid", INT16, since=1),
        Field("old", INT32, until=1, default=7),
        Field("big", INT64, default=-1),
        Field("ratio", FLOAT64),
        Field("port", UINT16),
        Field("crc", UINT32),
        Field("ident", UUID),
        Field("name", STRING),
        Field("blob", BYTES, nullable_since=1),
        Field("items", ArrayOf(Item)),
        Field("numbers", ArrayOf(INT32), nullable_since=1),
        Field("words", ArrayOf(STRING)),
        Field("inner", Struct(Field("x", INT16, default=-1), Field("y", STRING))),
        Field("records", RECORDS, nullable_since=0),
        Field("hint", STRING, since=2, tag=4, nullable_since=2, default=None),
        Field("epoch", INT64, since=2, tag=1, default=-1),
        Field("extras", ArrayOf(Field("k", STRING), Field("v", INT32)), since=2, tag=2),
    ),
    response=Schema(Field("error_code", INT16)),
)


def test_defaults_and_keyword_construction() -> None:
    obj = SPEC.request()
    assert obj.flag is True and obj.small == 0 and obj.old == 7 and obj.big == -1
    assert obj.ratio == 0.0 and obj.ident == ZERO_UUID and obj.name == "" and obj.blob == b""
    assert obj.items == [] and obj.words == [] and obj.records is None and obj.hint is None
    assert obj.inner == SPEC.request.struct("inner")(x=-1, y="")
    assert obj.extras == []
    other = SPEC.request()
    assert obj.items is not other.items  # fresh mutable defaults
    assert obj == other
    other.items.append(Item(id=1))
    assert obj != other
    with pytest.raises(TypeError):
        SPEC.request(no_such_field=1)
    with pytest.raises(TypeError):
        SPEC.request(1)  # keyword-only
    with pytest.raises(AttributeError):
        obj.no_such_field = 1  # __slots__


def test_repr_and_names() -> None:
    obj = SPEC.request(name="n", items=[Item(id=3)])
    text = repr(obj)
    assert text.startswith("TestRequest(flag=True, small=0,")
    assert "items=[Item(id=3, label='')]" in text
    assert SPEC.request.struct("extras").name == "Extras"
    assert SPEC.request.struct("inner").name == "Inner"
    assert type(obj).__name__ == "TestRequest" and SPEC.response.name == "TestResponse"


def test_equality_is_typed() -> None:
    a = Item(id=1)
    assert a == Item(id=1) and a != Item(id=2)
    assert a != (1, None)
    with pytest.raises(TypeError):
        hash(a)


def _full(version: int):
    s = SPEC.request
    return s(
        flag=False, small=-3, mid=300 if version >= 1 else 0, old=9 if version <= 1 else 7,
        big=2**40, ratio=1.5, port=65535, crc=2**32 - 1, ident=uuid.UUID(int=12345),
        name="näme", blob=b"\x00\x01" if version == 0 else None,
        items=[Item(id=1, label=None if version else "a"), Item(id=2)],
        numbers=[1, 2, 3] if version != 1 else None, words=["x", ""],
        inner=s.struct("inner")(x=5, y="yy"), records=b"recs",
        hint="h" if version >= 2 else None, epoch=77 if version >= 2 else -1,
        extras=[s.struct("extras")(k="k", v=1)] if version >= 2 else [],
    )


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_roundtrip_all_types(version: int) -> None:
    codec = SPEC.request_codec(version)
    obj = _full(version)
    data = codec.encode(obj)
    back, end = codec.decode(data)
    assert end == len(data) and back == obj
    assert isinstance(back.records, memoryview) and isinstance(back.blob, (bytes, type(None)))


def test_absent_fields_are_ignored_and_decode_to_defaults() -> None:
    codec = SPEC.request_codec(0)
    obj = _full(0)
    obj.mid = 999  # not in v0
    back, _ = codec.decode(codec.encode(obj))
    assert back.mid == 0 and back.old == 9
    assert codec.encode(obj) == codec.encode(_full(0))


def test_exact_bytes_classic_and_flexible() -> None:
    small = Schema(
        Field("a", INT16), Field("b", INT32), Field("s", STRING),
        Field("arr", ArrayOf(INT16)),
        Field("t", INT32, since=1, tag=0, default=0),
        name="Small",
    )
    assert small.codec(0, False).encode(small(a=1, b=2, s="x", arr=[3])) == h(
        "0001 00000002 0001 78 00000001 0003")
    flex = small.codec(1, True)
    assert flex.encode(small(a=1, b=2, s="x", arr=[3])) == h("0001 00000002 02 78 02 0003 00")
    assert flex.encode(small(a=1, b=2, s="x", arr=[3], t=5)) == h(
        "0001 00000002 02 78 02 0003 01 00 04 00000005")


def test_tagged_fields_written_only_when_not_default_in_tag_order() -> None:
    codec = SPEC.request_codec(2)
    base = codec.encode(SPEC.request(hint=None, epoch=-1))
    assert base.endswith(b"\x00")
    obj = SPEC.request(hint="zz", epoch=3)
    data = codec.encode(obj)
    tail = data[len(base) - 1:]
    # count 2, then tag 1 (epoch, 8 bytes) before tag 4 (hint, compact string "zz")
    assert tail == h("02 01 08 0000000000000003 04 03 03 7a7a")
    assert codec.decode(data)[0] == obj


def test_unsupported_version() -> None:
    with pytest.raises(UnsupportedVersionError):
        SPEC.request_codec(4)
    with pytest.raises(UnsupportedVersionError):
        SPEC.response_codec(-1)


def test_codecs_are_cached() -> None:
    assert SPEC.request_codec(1) is SPEC.request_codec(1)
    assert SPEC.request_codec(1) is not SPEC.request_codec(0)
    assert "def _dec" in SPEC.request_codec(1).source


def test_encode_errors_are_typed() -> None:
    codec = SPEC.request_codec(0)
    with pytest.raises(ProtocolEncodeError, match="TestRequest v0"):
        codec.encode(SPEC.request(small=1000))
    with pytest.raises(ProtocolEncodeError):
        codec.encode(SPEC.request(name=None))  # not nullable
    with pytest.raises(ProtocolEncodeError):
        codec.encode(SPEC.request(blob=None))  # nullable only from v1
    with pytest.raises(ProtocolEncodeError):
        codec.encode(SPEC.request(numbers=None))
    SPEC.request_codec(1).encode(SPEC.request(numbers=None, blob=None))


def test_file_region_records(file_region) -> None:
    codec = SPEC.request_codec(3)
    region = file_region(b"0123456789", prefix=b"xx")
    obj = SPEC.request(records=region, name="n")
    plain = codec.encode(obj)  # plain encode reads the region
    expected = codec.encode(SPEC.request(records=b"0123456789", name="n"))
    assert plain == expected
    chunks = codec.encode_chunks(obj)
    assert len(chunks) == 3 and chunks[1] is region
    assert isinstance(chunks[0], bytes) and isinstance(chunks[2], bytes)
    assert chunks[0].endswith(b"\x0b")  # compact length prefix (10 + 1) precedes the region
    assert chunks[0] + region.read() + chunks[2] == expected
    assert codec.encode_chunks(SPEC.request(records=b"abc")) == [
        codec.encode(SPEC.request(records=b"abc"))]
    big = memoryview(bytes(range(256)) * 256)
    chunks = codec.encode_chunks(SPEC.request(records=big))
    assert len(chunks) == 3 and chunks[1] is big  # large payloads are not copied
    assert b"".join(chunks) == codec.encode(SPEC.request(records=big))


def test_declaration_errors() -> None:
    with pytest.raises(ValueError, match="nullable"):
        Field("x", STRING, default=None)
    with pytest.raises(ValueError, match="until"):
        Field("x", INT32, since=3, until=2)
    with pytest.raises(ValueError, match="duplicate field"):
        Struct(Field("a", INT32), Field("a", INT16))
    with pytest.raises(ValueError, match="duplicate tag"):
        Struct(Field("a", INT32, tag=0), Field("b", INT16, tag=0))
    with pytest.raises(TypeError):
        Field("x", int)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ArrayOf(ArrayOf(INT32))


def test_shared_struct_and_paths() -> None:
    shared = Struct(Field("p", INT32), name="Shared")
    s = Schema(Field("a", ArrayOf(shared)), Field("b", ArrayOf(shared)), name="Two")
    assert s.struct("a") is s.struct("b") is shared
    with pytest.raises(KeyError):
        s.struct("zzz")
    assert s.codec(0, False).decode(s.codec(0, False).encode(s(a=[shared(p=1)])))[0].a == [shared(p=1)]


def test_data_spec() -> None:
    d = DataSpec(name="Blob", min_version=0, max_version=1, flexible_since=1,
                 schema=Schema(Field("v", STRING)))
    assert d.schema.name == "Blob"
    assert d.codec(0).encode(d.schema(v="a")) == h("0001 61")
    assert d.codec(1).encode(d.schema(v="a")) == h("02 61 00")
    with pytest.raises(UnsupportedVersionError):
        d.codec(2)


@pytest.mark.parametrize("count", [0, 1, 126, 127, 128, 300])
@pytest.mark.parametrize("flexible", [False, True])
def test_long_arrays(count: int, flexible: bool) -> None:
    s = Schema(Field("ints", ArrayOf(INT32)), Field("longs", ArrayOf(INT64), nullable_since=0),
               Field("items", ArrayOf(Item)), Field("words", ArrayOf(STRING)), name="Long")
    obj = s(ints=list(range(-count, count, 2)), longs=list(range(count)),
            items=[Item(id=i) for i in range(count)], words=[str(i) for i in range(count)])
    codec = s.codec(0, flexible)
    data = codec.encode(obj)
    assert codec.decode(data) == (obj, len(data))
    assert codec.checked_decode(memoryview(data), 0) == (obj, len(data))


def test_non_nullable_records() -> None:
    s = Schema(Field("r", RECORDS), name="Rec")
    for flexible, null, value in ((False, "ffffffff", "00000002 6162"), (True, "00", "03 6162 00")):
        codec = s.codec(0, flexible)
        with pytest.raises(ProtocolEncodeError):
            codec.encode(s())  # the default (None) is not encodable here
        with pytest.raises(ProtocolDecodeError, match="null"):
            codec.decode(h(null) + (b"\x00" if flexible else b""))
        obj, _ = codec.decode(h(value))
        assert isinstance(obj.r, memoryview) and obj.r == b"ab"
        assert codec.encode(obj) == h(value)
