"""Typed errors raised by the log layer.

They are the shared ``kafkapy.common.errors`` classes (each carries Kafka's error
code, so the broker maps them per partition), plus a few log-specific subclasses.
"""
from __future__ import annotations

from kafkapy.common.errors import (
    ApiError,
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    KafkaStorageError,
    OffsetOutOfRangeError,
    RecordBatchTooLargeError,
    RecordTooLargeError,
    UnknownServerError,
    UnsupportedCompressionTypeError,
)

LogError = ApiError

__all__ = [
    "LogError", "OffsetOutOfRangeError", "CorruptRecordError", "RecordTooLargeError", "RecordBatchTooLargeError",
    "InvalidTimestampError", "UnsupportedCompressionTypeError", "InvalidRecordError", "KafkaStorageError",
    "UnexpectedAppendOffsetError", "LogSegmentOffsetOverflowError", "CheckpointError",
    "InconsistentBrokerMetadataError",
]


class UnexpectedAppendOffsetError(UnknownServerError):
    """A follower append whose offsets go backwards or overlap the log (a bug or a race)."""


class LogSegmentOffsetOverflowError(UnknownServerError):
    """An offset that does not fit in a segment's int32 relative offset."""


class CheckpointError(KafkaStorageError):
    """A checkpoint file that cannot be parsed."""


class InconsistentBrokerMetadataError(UnknownServerError):
    """meta.properties disagrees with the configured broker id or cluster id."""
