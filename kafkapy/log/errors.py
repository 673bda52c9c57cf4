"""Typed errors raised by the log layer, each carrying Kafka's numeric error code.

The broker turns them into per-partition error codes (see STYLE.md "Errors").
When ``kafkapy.common.errors`` provides ``ApiError`` the classes below derive
from it, so a handler catching ``ApiError`` also catches these.
"""
from __future__ import annotations

try:  # the shared error table, when present
    from kafkapy.common.errors import ApiError as _Base
except ImportError:  # pragma: no cover - depends on what the common package offers
    class _Base(Exception):  # type: ignore[no-redef]
        """Stand-in for ``kafkapy.common.errors.ApiError``: an error with a Kafka code."""

        def __init__(self, code: int, message: str = "") -> None:
            super().__init__(message)
            self.code = code
            self.message = message

# Kafka's error codes used by the log (never renumbered).
UNKNOWN_SERVER_ERROR = -1
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
MESSAGE_TOO_LARGE = 10
RECORD_LIST_TOO_LARGE = 18
INVALID_TIMESTAMP = 32
KAFKA_STORAGE_ERROR = 56
UNSUPPORTED_COMPRESSION_TYPE = 76
INVALID_RECORD = 87


class LogError(_Base):
    """Base of every typed log error; ``code`` is Kafka's error code."""

    CODE = UNKNOWN_SERVER_ERROR

    def __init__(self, message: str = "") -> None:
        try:
            super().__init__(self.CODE, message)
        except TypeError:  # an ApiError whose constructor takes only a message
            super().__init__(message)
        self.code = self.CODE
        self.message = message

    def __str__(self) -> str:
        return self.message


class OffsetOutOfRangeError(LogError):
    CODE = OFFSET_OUT_OF_RANGE


class CorruptRecordError(LogError):
    CODE = CORRUPT_MESSAGE


class RecordTooLargeError(LogError):
    CODE = MESSAGE_TOO_LARGE


class RecordBatchTooLargeError(LogError):
    CODE = RECORD_LIST_TOO_LARGE


class InvalidTimestampError(LogError):
    CODE = INVALID_TIMESTAMP


class UnsupportedCompressionTypeError(LogError):
    CODE = UNSUPPORTED_COMPRESSION_TYPE


class InvalidRecordError(LogError):
    CODE = INVALID_RECORD


class KafkaStorageError(LogError):
    CODE = KAFKA_STORAGE_ERROR


class UnexpectedAppendOffsetError(LogError):
    """A follower append whose offsets go backwards or overlap the log (a bug or a race)."""

    CODE = UNKNOWN_SERVER_ERROR


class LogSegmentOffsetOverflowError(LogError):
    """An offset that does not fit in a segment's int32 relative offset."""

    CODE = UNKNOWN_SERVER_ERROR


class CheckpointError(LogError):
    """A checkpoint file that cannot be parsed."""

    CODE = KAFKA_STORAGE_ERROR


class InconsistentBrokerMetadataError(LogError):
    """meta.properties disagrees with the configured broker id or cluster id."""

    CODE = UNKNOWN_SERVER_ERROR
