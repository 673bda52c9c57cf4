"""Checksums of the record formats.

- Magic 0 and 1 messages: CRC-32 (zlib polynomial), over magic..end of message.
- Magic 2 batches: CRC-32C (Castagnoli), over attributes..end of batch, computed
  by the ``crc32c`` package (hardware instructions when the CPU has them).

Both functions accept any buffer (bytes, bytearray, memoryview) and never copy it.
"""
from __future__ import annotations

import zlib

from crc32c import crc32c as _crc32c

__all__ = ["crc32", "crc32c", "HARDWARE_CRC32C"]

try:
    from crc32c import hardware_based as HARDWARE_CRC32C  # noqa: N812
except ImportError:  # very old crc32c releases
    HARDWARE_CRC32C = False


def crc32(data, value: int = 0) -> int:
    """CRC-32 (IEEE 802.3 / zlib) of ``data``, continuing from ``value``."""
    return zlib.crc32(data, value) & 0xFFFFFFFF


# CRC-32C (Castagnoli) of ``data``, continuing from ``value``: crc32c(data, value=0) -> int.
# The package's function itself, without a Python wrapper: the produce path calls it once per batch.
crc32c = _crc32c
