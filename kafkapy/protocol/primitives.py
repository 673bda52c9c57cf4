"""Readers and writers of the protocol's primitive types, classic and compact (flexible) forms.

Readers take ``(buf, pos)`` (``buf`` a memoryview or bytes-like object) and return
``(value, new_pos)``; every length is checked against the bytes that remain before anything is
allocated, and malformed input raises ``ProtocolDecodeError``. Writers return ``bytes``; the
``append_*`` variants add parts to a list without copying large payloads (bytes, records).

Tagged-field sections: ``read_tagged_fields`` skips unknown tags and rejects duplicate or
out-of-order ones; ``write_tagged_fields`` writes ``(tag, encoded value)`` pairs in ascending order.
"""
from __future__ import annotations

import struct
import uuid
from typing import Any, Callable

from kafkapy.protocol.errors import ProtocolDecodeError, ProtocolEncodeError
from kafkapy.protocol.varint import decode_uvarint, encode_uvarint

S_BOOL = struct.Struct(">?")
S_INT8 = struct.Struct(">b")
S_INT16 = struct.Struct(">h")
S_UINT16 = struct.Struct(">H")
S_INT32 = struct.Struct(">i")
S_UINT32 = struct.Struct(">I")
S_INT64 = struct.Struct(">q")
S_FLOAT64 = struct.Struct(">d")

_pack_h = S_INT16.pack
_pack_i = S_INT32.pack
_unpack_h = S_INT16.unpack_from
_unpack_i = S_INT32.unpack_from

NULL_INT16 = _pack_h(-1)
NULL_INT32 = _pack_i(-1)
_UVARINTS = [bytes((i,)) for i in range(128)]

Reader = Callable[[Any, int], tuple[Any, int]]


def _truncated(what: str, pos: int, need: int, have: int) -> ProtocolDecodeError:
    return ProtocolDecodeError(
        f"truncated buffer reading {what} at offset {pos}: need {need} bytes, {have} remain"
    )


def _fixed_reader(s: struct.Struct, what: str) -> Reader:
    unpack = s.unpack_from
    size = s.size

    def read(buf: Any, pos: int) -> tuple[Any, int]:
        try:
            return unpack(buf, pos)[0], pos + size
        except struct.error:
            raise _truncated(what, pos, size, max(len(buf) - pos, 0)) from None

    read.__name__ = "read_" + what
    return read


read_bool = _fixed_reader(S_BOOL, "bool")
read_int8 = _fixed_reader(S_INT8, "int8")
read_int16 = _fixed_reader(S_INT16, "int16")
read_uint16 = _fixed_reader(S_UINT16, "uint16")
read_int32 = _fixed_reader(S_INT32, "int32")
read_uint32 = _fixed_reader(S_UINT32, "uint32")
read_int64 = _fixed_reader(S_INT64, "int64")
read_float64 = _fixed_reader(S_FLOAT64, "float64")


def read_uuid(buf: Any, pos: int) -> tuple[uuid.UUID, int]:
    end = pos + 16
    if end > len(buf):
        raise _truncated("uuid", pos, 16, max(len(buf) - pos, 0))
    return uuid.UUID(bytes=bytes(buf[pos:end])), end


def read_uvarint(buf: Any, pos: int) -> tuple[int, int]:
    """Unsigned varint of at most 5 bytes (lengths, counts, tags)."""
    try:
        b = buf[pos]
    except IndexError:
        raise _truncated("uvarint", pos, 1, 0) from None
    if b < 0x80:
        return b, pos + 1
    try:
        return decode_uvarint(buf, pos)
    except ValueError as e:
        raise ProtocolDecodeError(f"bad uvarint at offset {pos}: {e}") from None


# ---------------------------------------------------------------- length prefixes

def _classic_len32(buf: Any, pos: int, what: str) -> tuple[int, int]:
    try:
        return _unpack_i(buf, pos)[0], pos + 4
    except struct.error:
        raise _truncated(what + " length", pos, 4, max(len(buf) - pos, 0)) from None


def _compact_len(buf: Any, pos: int) -> tuple[int, int]:
    """Compact length: uvarint N+1, 0 = null -> returns N (-1 for null)."""
    try:
        b = buf[pos]
    except IndexError:
        raise _truncated("compact length", pos, 1, 0) from None
    if b < 0x80:
        return b - 1, pos + 1
    try:
        n, pos = decode_uvarint(buf, pos)
    except ValueError as e:
        raise ProtocolDecodeError(f"bad compact length varint at offset {pos}: {e}") from None
    return n - 1, pos


def _body(buf: Any, pos: int, n: int, nullable: bool, what: str, at: int) -> None:
    """Validate a decoded length ``n`` for a body starting at ``pos``."""
    if n < 0:
        if n == -1 and nullable:
            return
        raise ProtocolDecodeError(f"{'negative' if n != -1 else 'null'} length {n} for "
                                  f"non-nullable {what} at offset {at}")
    have = len(buf) - pos
    if n > have:
        raise ProtocolDecodeError(
            f"{what} length {n} at offset {at} exceeds the {max(have, 0)} remaining bytes"
        )


# ---------------------------------------------------------------- strings, bytes, records
# Each reader inlines its fast path (short lengths); odd cases go through the checked helpers.

def read_string(buf: Any, pos: int) -> tuple[str, int]:
    try:
        n = _unpack_h(buf, pos)[0]
    except struct.error:
        raise _truncated("string length", pos, 2, max(len(buf) - pos, 0)) from None
    p = pos + 2
    end = p + n
    if n < 0 or end > len(buf):
        _body(buf, p, n, False, "string", pos)
    try:
        return str(buf[p:end], "utf-8"), end
    except UnicodeDecodeError as e:
        raise ProtocolDecodeError(f"invalid UTF-8 in string at offset {pos}: {e.reason}") from None


def read_nullable_string(buf: Any, pos: int) -> tuple[str | None, int]:
    try:
        n = _unpack_h(buf, pos)[0]
    except struct.error:
        raise _truncated("string length", pos, 2, max(len(buf) - pos, 0)) from None
    p = pos + 2
    if n == -1:
        return None, p
    end = p + n
    if n < 0 or end > len(buf):
        _body(buf, p, n, True, "string", pos)
    try:
        return str(buf[p:end], "utf-8"), end
    except UnicodeDecodeError as e:
        raise ProtocolDecodeError(f"invalid UTF-8 in string at offset {pos}: {e.reason}") from None


def read_compact_string(buf: Any, pos: int) -> tuple[str, int]:
    try:
        b = buf[pos]
    except IndexError:
        raise _truncated("compact string length", pos, 1, 0) from None
    if 0 < b < 0x80:
        n, p = b - 1, pos + 1
    else:
        n, p = _compact_len(buf, pos)
    end = p + n
    if n < 0 or end > len(buf):
        _body(buf, p, n, False, "compact string", pos)
    try:
        return str(buf[p:end], "utf-8"), end
    except UnicodeDecodeError as e:
        raise ProtocolDecodeError(f"invalid UTF-8 in string at offset {pos}: {e.reason}") from None


def read_compact_nullable_string(buf: Any, pos: int) -> tuple[str | None, int]:
    try:
        b = buf[pos]
    except IndexError:
        raise _truncated("compact string length", pos, 1, 0) from None
    if b == 0:
        return None, pos + 1
    if b < 0x80:
        n, p = b - 1, pos + 1
    else:
        n, p = _compact_len(buf, pos)
        if n == -1:
            return None, p
    end = p + n
    if n < 0 or end > len(buf):
        _body(buf, p, n, True, "compact string", pos)
    try:
        return str(buf[p:end], "utf-8"), end
    except UnicodeDecodeError as e:
        raise ProtocolDecodeError(f"invalid UTF-8 in string at offset {pos}: {e.reason}") from None


def read_bytes(buf: Any, pos: int) -> tuple[bytes, int]:
    n, p = _classic_len32(buf, pos, "bytes")
    _body(buf, p, n, False, "bytes", pos)
    return bytes(buf[p:p + n]), p + n


def read_nullable_bytes(buf: Any, pos: int) -> tuple[bytes | None, int]:
    n, p = _classic_len32(buf, pos, "bytes")
    if n == -1:
        return None, p
    _body(buf, p, n, True, "bytes", pos)
    return bytes(buf[p:p + n]), p + n


def read_compact_bytes(buf: Any, pos: int) -> tuple[bytes, int]:
    n, p = _compact_len(buf, pos)
    _body(buf, p, n, False, "compact bytes", pos)
    return bytes(buf[p:p + n]), p + n


def read_compact_nullable_bytes(buf: Any, pos: int) -> tuple[bytes | None, int]:
    n, p = _compact_len(buf, pos)
    if n == -1:
        return None, p
    _body(buf, p, n, True, "compact bytes", pos)
    return bytes(buf[p:p + n]), p + n


def read_records(buf: Any, pos: int) -> tuple[memoryview | None, int]:
    """Classic RECORDS (nullable int32-length bytes) as a zero-copy memoryview slice."""
    n, p = _classic_len32(buf, pos, "records")
    if n == -1:
        return None, p
    _body(buf, p, n, True, "records", pos)
    return memoryview(buf)[p:p + n], p + n


def read_compact_records(buf: Any, pos: int) -> tuple[memoryview | None, int]:
    n, p = _compact_len(buf, pos)
    if n == -1:
        return None, p
    _body(buf, p, n, True, "compact records", pos)
    return memoryview(buf)[p:p + n], p + n


def read_non_null_records(buf: Any, pos: int) -> tuple[memoryview, int]:
    """RECORDS in a version where the field is not nullable."""
    n, p = _classic_len32(buf, pos, "records")
    _body(buf, p, n, False, "records", pos)
    return memoryview(buf)[p:p + n], p + n


def read_compact_non_null_records(buf: Any, pos: int) -> tuple[memoryview, int]:
    n, p = _compact_len(buf, pos)
    _body(buf, p, n, False, "compact records", pos)
    return memoryview(buf)[p:p + n], p + n


# ---------------------------------------------------------------- arrays

def read_array_length(buf: Any, pos: int, nullable: bool = False) -> tuple[int, int]:
    """Classic array count (int32); -1 (null) only when ``nullable``. The count may not exceed
    the remaining bytes (every element takes at least one byte)."""
    n, p = _classic_len32(buf, pos, "array")
    _body(buf, p, n, nullable, "array", pos)
    return n, p


def read_compact_array_length(buf: Any, pos: int, nullable: bool = False) -> tuple[int, int]:
    n, p = _compact_len(buf, pos)
    _body(buf, p, n, nullable, "compact array", pos)
    return n, p


def fixed_array_reader(fmt: str, compact: bool, nullable: bool) -> Reader:
    """Reader of an array of one fixed-width primitive (struct code ``fmt``) -> list."""
    size = struct.calcsize(">" + fmt)
    cache: dict[int, struct.Struct] = {}
    alen = read_compact_array_length if compact else read_array_length

    def read(buf: Any, pos: int) -> tuple[list | None, int]:
        n, pos = alen(buf, pos, nullable)
        if n < 0:
            return None, pos
        s = cache.get(n)
        if s is None:
            s = struct.Struct(f">{n}{fmt}")
            if n <= 256:
                cache[n] = s
        try:
            return list(s.unpack_from(buf, pos)), pos + n * size
        except struct.error:
            raise _truncated(f"array of {n} {fmt!r}", pos, n * size, max(len(buf) - pos, 0)) from None

    return read


def fixed_array_writer(fmt: str, compact: bool) -> Callable[[Any], bytes]:
    """Writer of a non-null array of a fixed-width primitive: length prefix + elements."""
    cache: dict[int, struct.Struct] = {}

    def write(values: Any) -> bytes:
        n = len(values)
        s = cache.get(n)
        if s is None:
            s = struct.Struct(f">{n}{fmt}")
            if n <= 256:
                cache[n] = s
        if compact:
            return (_UVARINTS[n + 1] if n < 127 else encode_uvarint(n + 1)) + s.pack(*values)
        return _pack_i(n) + s.pack(*values)

    return write


# ---------------------------------------------------------------- tagged fields

def read_tagged_fields(buf: Any, pos: int,
                       known: dict[int, Reader] | None = None) -> tuple[dict[int, Any], int]:
    """Read a tagged-field section; returns ``{tag: value}`` for the ``known`` tags (each
    decoded from exactly its own bytes) and skips the others."""
    count, pos = read_uvarint(buf, pos)
    out: dict[int, Any] = {}
    if count == 0:
        return out, pos
    if count > len(buf) - pos:
        raise ProtocolDecodeError(f"tagged field count {count} exceeds the remaining bytes")
    last = -1
    for _ in range(count):
        at = pos
        tag, pos = read_uvarint(buf, pos)
        if tag <= last:
            raise ProtocolDecodeError(
                f"tagged field {tag} at offset {at} is {'duplicate' if tag == last else 'out of order'}"
                f" (after tag {last})"
            )
        last = tag
        size, pos = read_uvarint(buf, pos)
        _body(buf, pos, size, False, f"tagged field {tag}", at)
        end = pos + size
        reader = known.get(tag) if known else None
        if reader is not None:
            sub = memoryview(buf)[pos:end]
            value, used = reader(sub, 0)
            if used != size:
                raise ProtocolDecodeError(
                    f"tagged field {tag} at offset {at}: value used {used} of its {size} bytes"
                )
            out[tag] = value
        pos = end
    return out, pos


def skip_tagged_fields(buf: Any, pos: int) -> int:
    """Skip a tagged-field section (validating its structure); returns the new position."""
    if pos < len(buf) and buf[pos] == 0:
        return pos + 1
    return read_tagged_fields(buf, pos, None)[1]


# ---------------------------------------------------------------- writers

def write_uvarint(value: int) -> bytes:
    if 0 <= value < 128:
        return _UVARINTS[value]
    return encode_uvarint(value)


def write_bool(v: bool) -> bytes:
    return S_BOOL.pack(v)


def write_int8(v: int) -> bytes:
    return S_INT8.pack(v)


def write_int16(v: int) -> bytes:
    return _pack_h(v)


def write_uint16(v: int) -> bytes:
    return S_UINT16.pack(v)


def write_int32(v: int) -> bytes:
    return _pack_i(v)


def write_uint32(v: int) -> bytes:
    return S_UINT32.pack(v)


def write_int64(v: int) -> bytes:
    return S_INT64.pack(v)


def write_float64(v: float) -> bytes:
    return S_FLOAT64.pack(v)


def write_uuid(v: uuid.UUID) -> bytes:
    return v.bytes


def write_string(s: str) -> bytes:
    b = s.encode()
    if len(b) > 0x7FFF:
        raise ProtocolEncodeError(f"string of {len(b)} bytes is longer than 32767")
    return _pack_h(len(b)) + b


def write_nullable_string(s: str | None) -> bytes:
    return NULL_INT16 if s is None else write_string(s)


def write_compact_string(s: str) -> bytes:
    b = s.encode()
    n = len(b) + 1
    return (_UVARINTS[n] if n < 128 else encode_uvarint(n)) + b


def write_compact_nullable_string(s: str | None) -> bytes:
    return b"\x00" if s is None else write_compact_string(s)


def write_bytes(b: Any) -> bytes:
    return _pack_i(len(b)) + bytes(b)


def write_nullable_bytes(b: Any) -> bytes:
    return NULL_INT32 if b is None else write_bytes(b)


def write_compact_bytes(b: Any) -> bytes:
    return write_uvarint(len(b) + 1) + bytes(b)


def write_compact_nullable_bytes(b: Any) -> bytes:
    return b"\x00" if b is None else write_compact_bytes(b)


def write_array_length(n: int | None) -> bytes:
    """Classic array count; None writes the null array (-1)."""
    return NULL_INT32 if n is None else _pack_i(n)


def write_compact_array_length(n: int | None) -> bytes:
    return b"\x00" if n is None else write_uvarint(n + 1)


_SMALL_COPY = 512


def append_bytes(out: list, b: Any, compact: bool) -> None:
    """Append a non-null BYTES/RECORDS value with its length prefix; large values (and
    FileRegions) are appended as separate parts, not copied."""
    n = len(b)
    prefix = (_UVARINTS[n + 1] if n < 127 else encode_uvarint(n + 1)) if compact else _pack_i(n)
    if n <= _SMALL_COPY and isinstance(b, bytes):
        out.append(prefix + b)
    else:
        out.append(prefix)
        out.append(b)


def append_nullable_bytes(out: list, b: Any, compact: bool) -> None:
    if b is None:
        out.append(b"\x00" if compact else NULL_INT32)
    else:
        append_bytes(out, b, compact)


def write_tagged_fields(fields: list[tuple[int, bytes]]) -> bytes:
    """A tagged-field section from ``(tag, encoded value)`` pairs (sorted here by tag)."""
    if not fields:
        return b"\x00"
    fields = sorted(fields)
    parts = [write_uvarint(len(fields))]
    last = -1
    for tag, value in fields:
        if tag == last:
            raise ProtocolEncodeError(f"duplicate tagged field {tag}")
        last = tag
        parts.append(write_uvarint(tag))
        parts.append(write_uvarint(len(value)))
        parts.append(value)
    return b"".join(parts)
