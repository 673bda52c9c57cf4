"""Compression codecs of Kafka's record formats (protocol.md §6.6).

``compress(codec, data, magic=...)`` and ``decompress(codec, data, magic=...,
max_size=...)`` for none (0), gzip (1), snappy (2), lz4 (3) and zstd (4).

- snappy: written in the xerial "snappy-java" stream framing (what the Java
  client writes); read in both xerial framing and as one raw snappy block
  (what librdkafka writes).
- lz4: the LZ4 frame format. For magic 0 the frame-descriptor checksum (HC) is
  written the way Kafka < 0.10 computed it (xxHash32 over the magic number
  too, KAFKA-3160), and any HC is accepted on read.
- zstd: streaming decompression, so frames without a content size are fine.

Decompression is bounded: more than ``max_size`` output bytes raises
``DecompressionLimitError`` before the excess is materialised.
"""
from __future__ import annotations

import gzip
import struct
import zlib

import lz4.frame as _lz4f
import snappy as _snappy
import zstandard as _zstd

from ..varint import decode_uvarint
from .constants import MAGIC_V0, MAGIC_V2, CompressionType
from .errors import CorruptRecordError, DecompressionLimitError, UnsupportedCompressionError

__all__ = [
    "compress",
    "decompress",
    "check_codec",
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "xxh32",
    "XERIAL_HEADER",
]

DEFAULT_MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024


# xerial snappy-java stream header: magic "\x82SNAPPY\0", version 1, compatible version 1.
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK_INPUT = 32 * 1024
_UINT32_BE = struct.Struct(">I")

_LZ4_MAGIC = b"\x04\x22\x4d\x18"


def check_codec(codec: int, magic: int) -> CompressionType:
    """Return the codec as an enum, or raise UnsupportedCompressionError."""
    try:
        ctype = CompressionType(codec)
    except ValueError:
        raise UnsupportedCompressionError(f"unknown compression codec id {codec}") from None
    if ctype is CompressionType.ZSTD and magic < MAGIC_V2:
        raise UnsupportedCompressionError(f"zstd compression is not allowed with magic {magic}")
    return ctype


def compress(codec: int, data, *, magic: int = MAGIC_V2, level: int | None = None) -> bytes:
    """Compress ``data`` (any buffer) with Kafka's framing for ``codec``."""
    ctype = check_codec(codec, magic)
    if ctype is CompressionType.NONE:
        return bytes(data)
    if ctype is CompressionType.GZIP:
        return gzip.compress(data, compresslevel=6 if level is None else level, mtime=0)
    if ctype is CompressionType.SNAPPY:
        return _xerial_compress(data)
    if ctype is CompressionType.LZ4:
        return _lz4_compress(data, magic, level)
    return _zstd.ZstdCompressor(level=3 if level is None else level).compress(data)


def decompress(codec: int, data, *, magic: int = MAGIC_V2,
               max_size: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> bytes:
    """Decompress ``data``; raises CorruptRecordError on bad input and
    DecompressionLimitError when the output would exceed ``max_size`` bytes."""
    ctype = check_codec(codec, magic)
    if ctype is CompressionType.NONE:
        if len(data) > max_size:
            raise DecompressionLimitError(f"{len(data)} bytes exceed the limit of {max_size}")
        return bytes(data)
    try:
        if ctype is CompressionType.GZIP:
            return _gzip_decompress(data, max_size)
        if ctype is CompressionType.SNAPPY:
            return _snappy_decompress(data, max_size)
        if ctype is CompressionType.LZ4:
            return _lz4_decompress(data, magic, max_size)
        return _zstd_decompress(data, max_size)
    except (CorruptRecordError, UnsupportedCompressionError):
        raise
    except (zlib.error, _zstd.ZstdError, RuntimeError, ValueError, EOFError, OSError) as exc:
        raise CorruptRecordError(f"cannot decompress {ctype.kafka_name} data: {exc}") from exc


def _too_big(max_size: int) -> DecompressionLimitError:
    return DecompressionLimitError(f"decompressed data exceeds the limit of {max_size} bytes")


# --- gzip -------------------------------------------------------------------

def _gzip_decompress(data, max_size: int) -> bytes:
    out = bytearray()
    view = memoryview(data)
    while True:
        d = zlib.decompressobj(wbits=31)
        pending = view
        while True:
            chunk = d.decompress(pending, max_size + 1 - len(out))
            out += chunk
            if len(out) > max_size:
                raise _too_big(max_size)
            if d.eof:
                break
            pending = d.unconsumed_tail
            if not pending:
                if not chunk:
                    raise CorruptRecordError("truncated gzip stream")
                # output was capped by max_length and no input is left; keep draining
                continue
        rest = d.unused_data
        # Concatenated gzip members are legal (java.util.zip.GZIPInputStream reads them all).
        if len(rest) >= 2 and rest[:2] == b"\x1f\x8b":
            view = memoryview(rest)
            continue
        return bytes(out)


# --- snappy -----------------------------------------------------------------

def _xerial_compress(data) -> bytes:
    view = memoryview(data).cast("B")
    parts = [XERIAL_HEADER]
    for start in range(0, len(view), _XERIAL_BLOCK_INPUT):
        block = _snappy.compress(view[start:start + _XERIAL_BLOCK_INPUT])
        parts.append(_UINT32_BE.pack(len(block)))
        parts.append(block)
    return b"".join(parts)


def _raw_snappy_decompress(block, budget: int, max_size: int) -> bytes:
    try:
        expected, _ = decode_uvarint(block, 0)
    except ValueError as exc:
        raise CorruptRecordError(f"bad snappy block preamble: {exc}") from None
    if expected > budget:
        raise _too_big(max_size)
    try:
        return _snappy.uncompress(block)
    except _snappy.UncompressError as exc:
        raise CorruptRecordError(f"corrupt snappy block: {exc}") from None


def _snappy_decompress(data, max_size: int) -> bytes:
    view = memoryview(data).cast("B")
    if len(view) >= 16 and view[:8] == _XERIAL_MAGIC:
        out = bytearray()
        pos = 16
        n = len(view)
        while pos < n:
            if n - pos < 4:
                raise CorruptRecordError("truncated xerial snappy block length")
            (length,) = _UINT32_BE.unpack_from(view, pos)
            pos += 4
            if length > n - pos:
                raise CorruptRecordError("truncated xerial snappy block")
            out += _raw_snappy_decompress(view[pos:pos + length], max_size - len(out), max_size)
            pos += length
        return bytes(out)
    return _raw_snappy_decompress(view, max_size, max_size)


# --- lz4 --------------------------------------------------------------------

_P1, _P2, _P3, _P4, _P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
_M32 = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M32


def xxh32(data, seed: int = 0) -> int:
    """xxHash32 (used for the LZ4 frame-descriptor checksum; inputs are a few bytes)."""
    data = bytes(data)
    n = len(data)
    i = 0
    if n >= 16:
        v1 = (seed + _P1 + _P2) & _M32
        v2 = (seed + _P2) & _M32
        v3 = seed & _M32
        v4 = (seed - _P1) & _M32
        while i + 16 <= n:
            a, b, c, d = struct.unpack_from("<4I", data, i)
            v1 = (_rotl((v1 + a * _P2) & _M32, 13) * _P1) & _M32
            v2 = (_rotl((v2 + b * _P2) & _M32, 13) * _P1) & _M32
            v3 = (_rotl((v3 + c * _P2) & _M32, 13) * _P1) & _M32
            v4 = (_rotl((v4 + d * _P2) & _M32, 13) * _P1) & _M32
            i += 16
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M32
    else:
        h = (seed + _P5) & _M32
    h = (h + n) & _M32
    while i + 4 <= n:
        (w,) = struct.unpack_from("<I", data, i)
        h = (_rotl((h + w * _P3) & _M32, 17) * _P4) & _M32
        i += 4
    while i < n:
        h = (_rotl((h + data[i] * _P5) & _M32, 11) * _P1) & _M32
        i += 1
    h ^= h >> 15
    h = (h * _P2) & _M32
    h ^= h >> 13
    h = (h * _P3) & _M32
    h ^= h >> 16
    return h


def _lz4_descriptor_end(frame) -> int:
    """Position of the HC byte of an LZ4 frame (4 magic bytes + FLG + BD + options)."""
    if len(frame) < 7 or bytes(frame[:4]) != _LZ4_MAGIC:
        raise CorruptRecordError("not an LZ4 frame (bad magic number)")
    flg = frame[4]
    end = 6
    if flg & 0x08:   # content size present
        end += 8
    if flg & 0x01:   # dictionary id present
        end += 4
    if len(frame) <= end:
        raise CorruptRecordError("truncated LZ4 frame descriptor")
    return end


def _lz4_compress(data, magic: int, level: int | None) -> bytes:
    frame = _lz4f.compress(
        data,
        compression_level=0 if level is None else level,
        block_size=_lz4f.BLOCKSIZE_MAX64KB,
        block_linked=False,
        content_checksum=False,
        block_checksum=False,
        store_size=False,
    )
    if magic == MAGIC_V0:
        hc_pos = _lz4_descriptor_end(frame)
        broken = (xxh32(frame[:hc_pos]) >> 8) & 0xFF
        frame = frame[:hc_pos] + bytes((broken,)) + frame[hc_pos + 1:]
    return frame


def _lz4_decompress(data, magic: int, max_size: int) -> bytes:
    if magic == MAGIC_V0:
        # Accept any HC: rewrite it to the correct value before decoding.
        hc_pos = _lz4_descriptor_end(data)
        fixed = bytearray(data)
        fixed[hc_pos] = (xxh32(fixed[4:hc_pos]) >> 8) & 0xFF
        data = fixed
    d = _lz4f.LZ4FrameDecompressor()
    out = bytearray()
    pending = data
    while True:
        chunk = d.decompress(pending, max_length=max_size + 1 - len(out))
        out += chunk
        if len(out) > max_size:
            raise _too_big(max_size)
        if d.eof:
            return bytes(out)
        if d.needs_input:
            raise CorruptRecordError("truncated LZ4 frame")
        pending = b""


# --- zstd -------------------------------------------------------------------

# RLE blocks let one compressed byte stand for up to ~32 KiB of output, so feeding the
# decoder at most budget/32768 input bytes at a time bounds the overshoot.
_ZSTD_MAX_RATIO = 32768


def _zstd_decompress(data, max_size: int) -> bytes:
    view = memoryview(data).cast("B")
    n = len(view)
    if n == 0:
        raise CorruptRecordError("empty zstd data")
    dctx = _zstd.ZstdDecompressor()
    out = bytearray()
    pos = 0
    while pos < n:                          # one zstd frame per round (concatenation is legal)
        d = dctx.decompressobj()
        while not d.eof:
            if pos >= n:
                raise CorruptRecordError("truncated zstd frame")
            step = max(64, (max_size - len(out)) // _ZSTD_MAX_RATIO)
            chunk = view[pos:pos + step]
            out += d.decompress(chunk)
            pos += len(chunk)
            if len(out) > max_size:
                raise _too_big(max_size)
        pos -= len(d.unused_data)
    return bytes(out)
