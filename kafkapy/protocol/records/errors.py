"""Typed errors raised by the record-format code.

Every error derives from ``ValueError`` so callers that only care about "bad
bytes" can catch one class; the broker maps them to Kafka error codes:
``CorruptRecordError`` -> CORRUPT_MESSAGE (2), ``InvalidRecordError`` ->
INVALID_RECORD (87), ``UnsupportedCompressionError`` ->
UNSUPPORTED_COMPRESSION_TYPE (76).
"""
from __future__ import annotations


class RecordsError(ValueError):
    """Base class of every record-format error."""


class CorruptRecordError(RecordsError):
    """The bytes cannot be a valid entry: impossible size or magic, bad CRC,
    truncated record inside a batch, undecodable compressed data."""


class CrcMismatchError(CorruptRecordError):
    """The stored checksum does not match the bytes it covers."""

    def __init__(self, message: str, stored: int, computed: int) -> None:
        super().__init__(message)
        self.stored = stored
        self.computed = computed


class DecompressionLimitError(CorruptRecordError):
    """Decompressed data would exceed the allowed size (decompression bomb guard)."""


class InvalidRecordError(RecordsError):
    """Well-formed bytes (or builder input) that break a format rule, e.g. zstd in
    magic 0/1, a control batch with the wrong shape, a nested wrapper message."""


class UnsupportedCompressionError(InvalidRecordError):
    """An unknown compression codec id, or a codec not allowed for this magic."""
