"""Checksums of the record formats.

- Magic 0 and 1 messages: CRC-32 (zlib polynomial), over magic..end of message.
- Magic 2 batches: CRC-32C (Castagnoli), over attributes..end of batch, computed by
  kafkapy's own C helper ``_crc32c`` when it was built (AVX-512 carry-less multiplication where
  the CPU has it, about 3x the crc32c package on 16 KiB), else by the ``crc32c`` package (SSE4.2).

Both functions accept any buffer (bytes, bytearray, memoryview) and never copy it.
"""
from __future__ import annotations

import zlib

from crc32c import crc32c as _package_crc32c

from kafkapy.common.native import native_enabled

__all__ = ["crc32", "crc32c", "HARDWARE_CRC32C", "CRC32C_IMPLEMENTATION"]

_native = None
if native_enabled():
    try:
        from . import _crc32c as _native
    except ImportError:  # not built (no C compiler at install time)
        _native = None

if _native is not None:
    _crc32c = _native.crc32c
    CRC32C_IMPLEMENTATION = "kafkapy " + _native.implementation()
    HARDWARE_CRC32C = _native.implementation() != "table"
else:
    _crc32c = _package_crc32c
    try:
        from crc32c import hardware_based as HARDWARE_CRC32C  # noqa: N812
    except ImportError:  # very old crc32c releases
        HARDWARE_CRC32C = False
    CRC32C_IMPLEMENTATION = "crc32c package " + ("sse4.2" if HARDWARE_CRC32C else "software")


def crc32(data, value: int = 0) -> int:
    """CRC-32 (IEEE 802.3 / zlib) of ``data``, continuing from ``value``."""
    return zlib.crc32(data, value) & 0xFFFFFFFF


# CRC-32C (Castagnoli) of ``data``, continuing from ``value``: crc32c(data, value=0) -> int.
# The C function itself, without a Python wrapper: the produce path calls it once per batch.
crc32c = _crc32c
