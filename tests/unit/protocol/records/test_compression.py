"""Compression codecs: round trips, Kafka framing details, interop with kafka-python's codecs, limits."""
from __future__ import annotations

import gzip
import os
import struct

import lz4.frame
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st
from kafka import codec as kcodec

from kafkapy.protocol.records import (
    CorruptRecordError,
    DecompressionLimitError,
    UnsupportedCompressionError,
    compress,
    decompress,
)
from kafkapy.protocol.records.compression import XERIAL_HEADER, xxh32

from .strategies import SETTINGS

LEGAL = [(c, m) for c in range(5) for m in range(3) if not (c == 4 and m < 2)]
SAMPLE = os.urandom(3000) + b"abc" * 40000 + os.urandom(100)   # crosses 32 KiB and 64 KiB block sizes


@pytest.mark.parametrize("codec,magic", LEGAL)
def test_round_trip_large(codec, magic):
    packed = compress(codec, SAMPLE, magic=magic)
    assert decompress(codec, packed, magic=magic) == SAMPLE
    assert decompress(codec, memoryview(packed), magic=magic) == SAMPLE


@SETTINGS
@given(data=st.binary(max_size=5000), codec_magic=st.sampled_from(LEGAL))
def test_round_trip_any_bytes(data, codec_magic):
    codec, magic = codec_magic
    assert decompress(codec, compress(codec, data, magic=magic), magic=magic) == data


def test_gzip_is_standard_and_accepts_concatenated_members():
    packed = compress(1, SAMPLE)
    assert gzip.decompress(packed) == SAMPLE
    assert decompress(1, gzip.compress(b"one") + gzip.compress(b"two")) == b"onetwo"
    assert decompress(1, kcodec.gzip_encode(SAMPLE)) == SAMPLE


def test_snappy_writes_xerial_framing_in_32k_blocks():
    packed = compress(2, SAMPLE)
    assert packed[:16] == XERIAL_HEADER == b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    pos, blocks = 16, 0
    while pos < len(packed):
        (length,) = struct.unpack_from(">i", packed, pos)
        pos += 4 + length
        blocks += 1
    assert pos == len(packed)
    assert blocks == -(-len(SAMPLE) // 32768)
    assert kcodec.snappy_decode(packed) == SAMPLE


def test_snappy_reads_raw_and_xerial_from_kafka_python():
    assert decompress(2, kcodec.snappy_encode(SAMPLE, xerial_compatible=False)) == SAMPLE
    assert decompress(2, kcodec.snappy_encode(SAMPLE, xerial_compatible=True)) == SAMPLE


def _lz4_hc(frame: bytes) -> tuple[int, int, int]:
    """(stored HC, correct HC, Kafka<0.10 'broken' HC) of a frame without optional fields."""
    assert frame[:4] == b"\x04\x22\x4d\x18"
    return frame[6], (xxh32(frame[4:6]) >> 8) & 0xFF, (xxh32(frame[0:6]) >> 8) & 0xFF


def test_xxh32_matches_reference_implementation():
    xxhash = pytest.importorskip("xxhash", reason="xxhash package not installed")
    for n in range(0, 80):
        data = os.urandom(n)
        assert xxh32(data) == xxhash.xxh32(data).intdigest()
    assert xxh32(b"") == 0x02CC5D05


def test_lz4_frame_layout_and_header_checksums():
    v1 = compress(3, SAMPLE, magic=1)
    v0 = compress(3, SAMPLE, magic=0)
    assert v1[4:6] == v0[4:6] == b"\x60\x40"      # independent blocks, 64 KiB max block
    stored, correct, broken = _lz4_hc(v1)
    assert stored == correct
    stored0, correct0, broken0 = _lz4_hc(v0)
    assert stored0 == broken0 and correct0 == correct
    assert broken0 != correct0  # for FLG 0x60 BD 0x40 the two checksums differ
    assert lz4.frame.decompress(v1) == SAMPLE
    with pytest.raises(RuntimeError):
        lz4.frame.decompress(v0)   # a strict decoder rejects the broken HC


def test_lz4_interop_with_kafka_python_old_and_new():
    pytest.importorskip("xxhash", reason="kafka-python's old-Kafka lz4 codec needs xxhash")
    assert kcodec.lz4_decode_old_kafka(compress(3, SAMPLE, magic=0)) == SAMPLE
    assert decompress(3, kcodec.lz4_encode_old_kafka(SAMPLE), magic=0) == SAMPLE
    assert decompress(3, kcodec.lz4_encode(SAMPLE), magic=2) == SAMPLE
    assert kcodec.lz4_decode(compress(3, SAMPLE, magic=2)) == SAMPLE


@pytest.mark.parametrize("hc", [0, 0x11, 0xFF])
def test_lz4_magic0_accepts_any_header_checksum(hc):
    frame = bytearray(compress(3, SAMPLE, magic=0))
    frame[6] = hc
    assert decompress(3, bytes(frame), magic=0) == SAMPLE


def test_lz4_magic1_rejects_a_wrong_header_checksum():
    frame = bytearray(compress(3, SAMPLE, magic=1))
    frame[6] ^= 0x5A
    with pytest.raises(CorruptRecordError):
        decompress(3, bytes(frame), magic=1)


@pytest.mark.parametrize("magic", [0, 1, 2])
def test_lz4_tolerates_content_size_and_checksums(magic):
    frame = lz4.frame.compress(SAMPLE, store_size=True, content_checksum=True, block_checksum=True,
                               block_linked=True)
    if magic == 0:
        frame = bytearray(frame)
        hc_pos = 4 + 2 + 8
        frame[hc_pos] = (xxh32(frame[:hc_pos]) >> 8) & 0xFF   # an old writer's broken HC
        frame = bytes(frame)
    assert decompress(3, frame, magic=magic) == SAMPLE


def test_zstd_frames_without_content_size_and_concatenated():
    cctx = zstandard.ZstdCompressor(write_content_size=False)
    chunks = cctx.compressobj()
    frame = chunks.compress(SAMPLE) + chunks.flush()
    assert zstandard.get_frame_parameters(frame).content_size == zstandard.CONTENTSIZE_UNKNOWN
    assert decompress(4, frame) == SAMPLE
    assert decompress(4, frame + cctx.compress(b"tail")) == SAMPLE + b"tail"
    assert decompress(4, kcodec.zstd_encode(SAMPLE)) == SAMPLE


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_decompression_is_bounded(codec):
    bomb = compress(codec, b"\0" * 4_000_000)
    with pytest.raises(DecompressionLimitError):
        decompress(codec, bomb, max_size=1_000_000)
    exact = compress(codec, b"\0" * 1_000_000)
    assert len(decompress(codec, exact, max_size=1_000_000)) == 1_000_000
    with pytest.raises(DecompressionLimitError):
        decompress(codec, exact, max_size=999_999)


def test_snappy_limit_checked_before_decompressing_a_raw_block():
    # a raw block whose preamble claims 2 GB: rejected on the preamble alone
    with pytest.raises(DecompressionLimitError):
        decompress(2, b"\x80\x80\x80\x80\x08" + b"\0" * 10, max_size=1000)


@pytest.mark.parametrize("codec,magic", [(1, 2), (2, 2), (3, 2), (3, 0), (4, 2)])
def test_truncated_input_is_corrupt(codec, magic):
    packed = compress(codec, SAMPLE, magic=magic)
    for cut in (0, 1, 5, 17, len(packed) // 2, len(packed) - 1):
        with pytest.raises(CorruptRecordError):
            decompress(codec, packed[:cut], magic=magic)


@SETTINGS
@given(garbage=st.binary(max_size=300), codec_magic=st.sampled_from([c for c in LEGAL if c[0]]))
def test_garbage_raises_only_corrupt_record_error(garbage, codec_magic):
    codec, magic = codec_magic
    try:
        decompress(codec, garbage, magic=magic, max_size=100_000)
    except CorruptRecordError:
        pass


def test_codec_rules():
    with pytest.raises(UnsupportedCompressionError):
        compress(4, b"x", magic=1)
    with pytest.raises(UnsupportedCompressionError):
        decompress(4, b"x", magic=0)
    with pytest.raises(UnsupportedCompressionError):
        compress(5, b"x")
    with pytest.raises(UnsupportedCompressionError):
        decompress(7, b"x")
