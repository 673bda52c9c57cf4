"""Per-record value objects shared by the v2 and legacy code."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

Header = tuple[str, "bytes | None"]


class Record(NamedTuple):
    """One record as a reader sees it (absolute offset, effective timestamp).

    An immutable NamedTuple rather than a frozen dataclass: deep iteration builds one per
    record, and a tuple is built in a third of the time (measured ~0.3 us against ~0.9 us).
    """

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = ()


@dataclass(frozen=True, slots=True)
class SimpleRecord:
    """Builder input: one record to write.

    ``timestamp`` None means "now". ``offset_delta`` None means "the next one";
    explicit deltas let the cleaner write batches with gaps.
    """

    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[Header, ...] = ()
    timestamp: int | None = None
    offset_delta: int | None = None
