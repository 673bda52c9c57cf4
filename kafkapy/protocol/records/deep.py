"""Deep (per-record) iteration over a buffer holding any mix of formats.

For clients, tools, the cleaner and tests; never the produce path.
"""
from __future__ import annotations

from typing import Iterator

from .batch import RecordBatch
from .compression import DEFAULT_MAX_DECOMPRESSED_BYTES
from .constants import MAGIC_V2
from .legacy import iter_legacy_records
from .record import Record
from .shallow import BatchInfo, iter_batches

__all__ = ["records_of", "iter_records"]


def records_of(buf, info: BatchInfo, max_size: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> Iterator[Record]:
    """Records of one entry found by the shallow walk."""
    if info.magic == MAGIC_V2:
        view = memoryview(buf)[info.position:info.end]
        return RecordBatch(info._replace(position=0), view).records(max_size)
    return iter_legacy_records(buf, info, max_size)


def iter_records(buf, start: int = 0, end: int | None = None,
                 max_size: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> Iterator[Record]:
    """Every record of every entry in ``buf[start:end]`` (stops at a truncated tail)."""
    for info in iter_batches(buf, start, end):
        yield from records_of(buf, info, max_size)
