"""Variable-length integers of the Kafka protocol and record format.

- uvarint: unsigned LEB128 (flexible-version lengths, tagged fields).
- varint / varlong: zig-zag signed values (fields inside v2 records).

Decoders take a buffer (bytes, bytearray or memoryview) and a position and return
``(value, new_position)``. They raise ``ValueError`` on a truncated or overlong
encoding; callers translate that into their own typed error.
"""
from __future__ import annotations

_MAX_UVARINT32_BYTES = 5
_MAX_UVARINT64_BYTES = 10


def encode_uvarint(value: int) -> bytes:
    if value < 0:
        raise ValueError(f"uvarint cannot encode negative value {value}")
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_uvarint(buf, pos: int, max_bytes: int = _MAX_UVARINT32_BYTES) -> tuple[int, int]:
    try:
        b = buf[pos]
    except IndexError:
        raise ValueError("truncated varint") from None
    if b < 0x80:
        return b, pos + 1
    result = b & 0x7F
    shift = 7
    end = pos + max_bytes
    pos += 1
    while True:
        if pos >= end:
            raise ValueError("varint is too long")
        try:
            b = buf[pos]
        except IndexError:
            raise ValueError("truncated varint") from None
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def zigzag_encode(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def zigzag_decode(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def encode_varint(value: int) -> bytes:
    """Zig-zag varint (32-bit) or varlong (64-bit): the bytes are the same for the same value."""
    return encode_uvarint(zigzag_encode(value) & 0xFFFFFFFFFFFFFFFF)


def decode_varint(buf, pos: int) -> tuple[int, int]:
    raw, pos = decode_uvarint(buf, pos, _MAX_UVARINT32_BYTES)
    return (raw >> 1) ^ -(raw & 1), pos


def decode_varlong(buf, pos: int) -> tuple[int, int]:
    raw, pos = decode_uvarint(buf, pos, _MAX_UVARINT64_BYTES)
    return (raw >> 1) ^ -(raw & 1), pos


def sizeof_uvarint(value: int) -> int:
    n = 1
    while value >= 0x80:
        value >>= 7
        n += 1
    return n


def sizeof_varint(value: int) -> int:
    return sizeof_uvarint(zigzag_encode(value) & 0xFFFFFFFFFFFFFFFF)
