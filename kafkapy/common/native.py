"""Whether kafkapy uses its optional C helpers.

Two small extensions are built by ``setup.py`` when a C compiler and Python's headers are at
hand: ``kafkapy.protocol.records._crc32c`` (CRC-32C with the widest instructions the CPU has) and
``kafkapy.log._append`` (the leader's append of one plain v2 batch in one call). Each has a
pure-Python equivalent that gives the same results; the modules that use them fall back to it when
the extension is missing or when ``KAFKAPY_NATIVE=0`` is set (tests run both ways).
"""
from __future__ import annotations

import os

ENV_VAR = "KAFKAPY_NATIVE"


def native_enabled() -> bool:
    """False when ``KAFKAPY_NATIVE`` is 0, off, false or no; the helpers are then never imported."""
    return os.environ.get(ENV_VAR, "1").strip().lower() not in ("0", "off", "false", "no")
