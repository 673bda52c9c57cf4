"""Client-side errors that carry no Kafka error code (the coded ones live in common.errors)."""
from __future__ import annotations

from kafkapy.common.errors import ApiError

__all__ = ["KafkaClientError", "KafkaTimeoutError", "ProducerClosedError", "IllegalStateError",
           "RecordTooLargeForProducerError"]


class KafkaClientError(Exception):
    """Base class of client-only failures."""

    retriable = False
    invalid_metadata = False


class KafkaTimeoutError(KafkaClientError):
    """An operation did not finish within its time budget (Java's TimeoutException)."""

    retriable = True


class ProducerClosedError(KafkaClientError):
    """The producer was closed before the record could be sent."""


class IllegalStateError(KafkaClientError):
    """The client was used in a way its state does not allow (e.g. poll without assignment)."""


class RecordTooLargeForProducerError(KafkaClientError):
    """A single record is larger than max.request.size or buffer.memory."""


def is_retriable(exc: BaseException) -> bool:
    return bool(getattr(exc, "retriable", False)) or not isinstance(exc, (ApiError, KafkaClientError))
