"""Primitive readers and writers: round trips, exact encodings, and typed errors on bad input."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.protocol import primitives as P
from kafkapy.protocol.errors import ProtocolDecodeError, ProtocolEncodeError


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


FIXED = [
    (P.read_bool, P.write_bool, st.booleans()),
    (P.read_int8, P.write_int8, st.integers(-128, 127)),
    (P.read_int16, P.write_int16, st.integers(-(2**15), 2**15 - 1)),
    (P.read_uint16, P.write_uint16, st.integers(0, 2**16 - 1)),
    (P.read_int32, P.write_int32, st.integers(-(2**31), 2**31 - 1)),
    (P.read_uint32, P.write_uint32, st.integers(0, 2**32 - 1)),
    (P.read_int64, P.write_int64, st.integers(-(2**63), 2**63 - 1)),
    (P.read_float64, P.write_float64, st.floats(allow_nan=False)),
    (P.read_uuid, P.write_uuid, st.uuids()),
]


@pytest.mark.parametrize("read,write,values", FIXED, ids=lambda x: getattr(x, "__name__", ""))
def test_fixed_roundtrip_and_truncation(read, write, values) -> None:
    @given(values)
    @settings(max_examples=30, deadline=None)
    def run(v) -> None:
        data = write(v)
        assert read(b"\x00" + data, 1) == (v, len(data) + 1)
        for cut in range(len(data)):
            with pytest.raises(ProtocolDecodeError, match="truncated"):
                read(data[:cut], 0)
    run()


def test_fixed_encodings() -> None:
    assert P.write_int16(-2) == h("fffe")
    assert P.write_int32(1) == h("00000001")
    assert P.write_int64(-1) == h("ffffffffffffffff")
    assert P.write_uuid(uuid.UUID(int=1)) == bytes(15) + b"\x01"
    assert P.read_bool(b"\x02", 0) == (True, 1)  # any non-zero byte is true


STRINGS = [
    (P.read_string, P.write_string, False),
    (P.read_nullable_string, P.write_nullable_string, True),
    (P.read_compact_string, P.write_compact_string, False),
    (P.read_compact_nullable_string, P.write_compact_nullable_string, True),
]


@pytest.mark.parametrize("read,write,nullable", STRINGS, ids=lambda x: getattr(x, "__name__", ""))
def test_string_roundtrip(read, write, nullable) -> None:
    @given(st.text(max_size=200) | (st.none() if nullable else st.nothing()))
    @settings(max_examples=40, deadline=None)
    def run(s) -> None:
        data = write(s)
        assert read(memoryview(data), 0) == (s, len(data))
        for cut in range(len(data)):
            with pytest.raises(ProtocolDecodeError):
                read(data[:cut], 0)
    run()


def test_string_encodings() -> None:
    assert P.write_string("ab") == h("0002 6162")
    assert P.write_nullable_string(None) == h("ffff")
    assert P.write_compact_string("ab") == h("03 6162")
    assert P.write_compact_nullable_string(None) == h("00")
    assert P.write_compact_string("x" * 200)[:2] == h("c901")  # 201 as uvarint


def test_string_errors() -> None:
    with pytest.raises(ProtocolDecodeError, match="null length -1 for non-nullable string"):
        P.read_string(h("ffff"), 0)
    with pytest.raises(ProtocolDecodeError, match="negative length -2"):
        P.read_nullable_string(h("fffe"), 0)
    with pytest.raises(ProtocolDecodeError, match="exceeds"):
        P.read_string(h("0005 6161"), 0)
    with pytest.raises(ProtocolDecodeError, match="non-nullable compact string"):
        P.read_compact_string(h("00"), 0)
    with pytest.raises(ProtocolDecodeError, match="UTF-8"):
        P.read_compact_string(h("03 ff61"), 0)
    with pytest.raises(ProtocolDecodeError, match="UTF-8"):
        P.read_nullable_string(h("0001 80"), 0)
    with pytest.raises(ProtocolEncodeError):
        P.write_string("x" * 40000)


BYTES = [
    (P.read_bytes, lambda b, out: P.append_bytes(out, b, False), False),
    (P.read_nullable_bytes, lambda b, out: P.append_nullable_bytes(out, b, False), True),
    (P.read_compact_bytes, lambda b, out: P.append_bytes(out, b, True), False),
    (P.read_compact_nullable_bytes, lambda b, out: P.append_nullable_bytes(out, b, True), True),
]


@pytest.mark.parametrize("read,append,nullable", BYTES, ids=lambda x: getattr(x, "__name__", ""))
def test_bytes_roundtrip(read, append, nullable) -> None:
    @given(st.binary(max_size=1000) | (st.none() if nullable else st.nothing()))
    @settings(max_examples=40, deadline=None)
    def run(b) -> None:
        out: list = []
        append(b, out)
        data = b"".join(out)
        value, end = read(data, 0)
        assert (value, end) == (b, len(data))
        assert value is None or isinstance(value, bytes)
    run()


def test_bytes_writers_agree_with_appenders() -> None:
    for b in (b"", b"abc", bytes(700)):
        out: list = []
        P.append_bytes(out, b, False)
        assert b"".join(out) == P.write_bytes(b)
        out = []
        P.append_bytes(out, b, True)
        assert b"".join(out) == P.write_compact_bytes(b)
    assert P.write_nullable_bytes(None) == h("ffffffff")
    assert P.write_compact_nullable_bytes(None) == h("00")


def test_large_bytes_are_appended_without_copy() -> None:
    big = memoryview(bytearray(100_000))
    out: list = []
    P.append_bytes(out, big, True)
    assert out[1] is big


def test_records_are_views() -> None:
    data = bytearray(h("00000003 616263") + h("04 646566"))
    view, end = P.read_records(data, 0)
    assert isinstance(view, memoryview) and view == b"abc" and view.obj is data and end == 7
    view, end = P.read_compact_records(memoryview(data), 7)
    assert view == b"def" and end == 11
    assert P.read_records(h("ffffffff"), 0) == (None, 4)
    assert P.read_compact_records(h("00"), 0) == (None, 1)
    with pytest.raises(ProtocolDecodeError, match="records length 2147483647"):
        P.read_records(h("7fffffff 00"), 0)


def test_array_lengths() -> None:
    assert P.read_array_length(h("00000002 0000"), 0) == (2, 4)
    assert P.read_array_length(h("ffffffff"), 0, nullable=True) == (-1, 4)
    assert P.read_compact_array_length(h("03 0000"), 0) == (2, 1)
    assert P.read_compact_array_length(h("00"), 0, nullable=True) == (-1, 1)
    with pytest.raises(ProtocolDecodeError, match="null"):
        P.read_array_length(h("ffffffff"), 0)
    with pytest.raises(ProtocolDecodeError, match="exceeds the 2 remaining"):
        P.read_array_length(h("00000003 0000"), 0)
    with pytest.raises(ProtocolDecodeError, match="exceeds"):
        P.read_compact_array_length(h("ffffffff0f"), 0)
    assert P.write_array_length(None) == h("ffffffff")
    assert P.write_compact_array_length(None) == h("00")
    assert P.write_compact_array_length(2) == h("03")


def test_fixed_arrays() -> None:
    read = P.fixed_array_reader("i", compact=True, nullable=True)
    write = P.fixed_array_writer("i", compact=True)
    assert write([1, -1]) == h("03 00000001 ffffffff")
    assert read(write([1, -1]), 0) == ([1, -1], 9)
    assert read(h("00"), 0) == (None, 1)
    with pytest.raises(ProtocolDecodeError, match="truncated"):
        read(h("03 00000001 ffff"), 0)
    classic = P.fixed_array_reader("q", compact=False, nullable=False)
    assert classic(P.fixed_array_writer("q", compact=False)(list(range(300))), 0)[0] == list(range(300))


@pytest.mark.parametrize("value,encoded", [
    (0, "00"), (127, "7f"), (128, "8001"), (300, "ac02"), (16384, "808001"),
])
def test_uvarint_examples(value: int, encoded: str) -> None:
    assert P.write_uvarint(value) == h(encoded)
    assert P.read_uvarint(h(encoded), 0) == (value, len(h(encoded)))


def test_bad_uvarints() -> None:
    with pytest.raises(ProtocolDecodeError, match="truncated"):
        P.read_uvarint(b"", 0)
    with pytest.raises(ProtocolDecodeError, match="truncated"):
        P.read_uvarint(h("8080"), 0)
    with pytest.raises(ProtocolDecodeError, match="too long"):
        P.read_uvarint(h("8080808080 01"), 0)


def test_tagged_fields() -> None:
    section = P.write_tagged_fields([(3, b"\x07"), (0, P.write_int32(5))])
    assert section == h("02 00 04 00000005 03 01 07")
    values, end = P.read_tagged_fields(section, 0, {0: P.read_int32})
    assert values == {0: 5} and end == len(section)  # tag 3 unknown: skipped
    assert P.skip_tagged_fields(section, 0) == len(section)
    assert P.write_tagged_fields([]) == h("00")
    with pytest.raises(ProtocolDecodeError, match="out of order"):
        P.read_tagged_fields(h("02 03 01 07 00 01 07"), 0)
    with pytest.raises(ProtocolDecodeError, match="duplicate"):
        P.read_tagged_fields(h("02 01 01 07 01 01 07"), 0)
    with pytest.raises(ProtocolDecodeError, match="exceeds"):
        P.read_tagged_fields(h("01 00 09 0102"), 0)
    with pytest.raises(ProtocolDecodeError, match="used 4 of its 5 bytes"):
        P.read_tagged_fields(h("01 00 05 0000000100"), 0, {0: P.read_int32})
    with pytest.raises(ProtocolDecodeError, match="count"):
        P.read_tagged_fields(h("7f 00"), 0)
    with pytest.raises(ProtocolEncodeError, match="duplicate"):
        P.write_tagged_fields([(1, b""), (1, b"")])


def test_known_tag_reader_cannot_overrun_its_bytes() -> None:
    # tag 0 claims 2 bytes but the int32 reader needs 4: bounded by the tag's own size
    with pytest.raises(ProtocolDecodeError, match="truncated"):
        P.read_tagged_fields(h("01 00 02 0000 0000"), 0, {0: P.read_int32})

