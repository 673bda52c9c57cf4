"""CRC-32C: kafkapy's C helper (each implementation this CPU has) against a bitwise reference written
from the definition, and against the crc32c package; CRC-32 against zlib's."""
from __future__ import annotations

import os
import random

import crc32c as crc32c_package
import pytest

from kafkapy.common.native import native_enabled
from kafkapy.protocol.records import crc as crc_module

try:
    from kafkapy.protocol.records import _crc32c as native
except ImportError:
    native = None

needs_native = pytest.mark.skipif(native is None, reason="kafkapy.protocol.records._crc32c is not built")
IMPLEMENTATIONS = ("table", "sse4.2", "avx512-vpclmulqdq")


def reference_crc32c(data: bytes, value: int = 0) -> int:
    """CRC-32C from its definition: reflected polynomial 0x82F63B78, register inverted in and out."""
    c = value ^ 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF


def test_reference_matches_the_published_check_value():
    # the check value of CRC-32C (the CRC of the nine ASCII digits), from the catalogue of CRC models
    assert reference_crc32c(b"123456789") == 0xE3069283


def test_the_helper_is_built_unless_switched_off():
    """`make` installs a C compiler and Python's headers; a missing helper means a broken install."""
    if not native_enabled():
        pytest.skip("KAFKAPY_NATIVE=0")
    assert native is not None, "kafkapy.protocol.records._crc32c was not built: run `pip install -e .` with gcc"
    assert crc_module.crc32c is native.crc32c


@needs_native
@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_each_implementation_matches_the_reference(impl):
    saved = native.implementation()
    if not native.select(impl):
        pytest.skip(f"this CPU has no {impl}")
    try:
        rnd = random.Random(impl)
        # every length up to 1100 (all tails and block boundaries of the 16-, 64-, 192- and 256-byte
        # steps), then the sizes around the larger blocks, each at several alignments
        lengths = list(range(0, 1100)) + [3071, 3072, 3073, 4095, 4096, 16205, 65536 + 17]
        data = os.urandom(max(lengths) + 8)
        for n in lengths:
            off = rnd.randrange(8)
            chunk = memoryview(data)[off:off + n]
            want = reference_crc32c(chunk) if n <= 4096 else crc32c_package.crc32c(chunk)
            assert native.crc32c(chunk) == want, (impl, n, off)
            value = rnd.getrandbits(32)
            assert native.crc32c(chunk, value) == crc32c_package.crc32c(chunk, value), (impl, n, off, value)
        big = os.urandom(3 << 20)   # past the size where the GIL is released
        assert native.crc32c(big) == crc32c_package.crc32c(big)
    finally:
        native.select(saved)


@needs_native
def test_the_helper_takes_any_buffer_and_refuses_other_arguments():
    data = bytearray(b"kafka" * 100)
    want = reference_crc32c(bytes(data))
    assert native.crc32c(data) == native.crc32c(bytes(data)) == native.crc32c(memoryview(data)) == want
    with pytest.raises(TypeError):
        native.crc32c("text")
    with pytest.raises(TypeError):
        native.crc32c()
    with pytest.raises(TypeError):
        native.crc32c(b"", 0, 1)


def test_crc32c_continues_from_a_value_like_one_pass():
    data = os.urandom(5000)
    assert crc_module.crc32c(data[3000:], crc_module.crc32c(data[:3000])) == crc_module.crc32c(data)
    assert crc_module.crc32c(b"123456789") == 0xE3069283


def test_crc32_is_zlibs():
    import zlib
    data = os.urandom(1000)
    assert crc_module.crc32(data) == zlib.crc32(data)
    assert crc_module.crc32(b"123456789") == 0xCBF43926
