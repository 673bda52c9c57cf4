"""Memory-mapped, fixed-entry-size index files shared by the offset and time indexes.

The file of a writable (active) index is preallocated to ``max_index_size`` bytes,
rounded down to whole entries, and memory-mapped; ``entries`` counts the valid
ones. ``trim_to_valid_size`` cuts the file to the valid entries (on roll and close),
``resize`` grows it again when a segment becomes active after a truncation.
An index opened from an existing file takes its entry count from the file length.
"""
from __future__ import annotations

import logging
import mmap
import os
from typing import Callable

from .core import IndexCore

log = logging.getLogger(__name__)


class AbstractIndex(IndexCore):
    """``entries`` (and the subclasses' last entry) live in `IndexCore`, a C struct when the append
    helper is built (see `kafkapy.log.core`).

    Descriptors: none is kept open. The mapping holds its own duplicate of the file's descriptor, and an
    index without entries is not mapped until its first entry (a broker with thousands of idle replicas
    would otherwise hold two descriptors per index, where Kafka's mapped buffers hold none)."""

    ENTRY_SIZE = 0

    __slots__ = ("path", "base_offset", "max_index_size", "_open", "_mm", "_length", "max_entries")

    def __init__(self, path: str, base_offset: int, max_index_size: int = 10 * 1024 * 1024,
                 writable: bool = True) -> None:
        self.path = path
        self.base_offset = base_offset
        self.max_index_size = max_index_size
        self._mm: mmap.mmap | None = None
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            existing = os.fstat(fd).st_size
            self.entries = existing // self.ENTRY_SIZE
            self._length = existing
            if writable:
                length = max(self._round(max_index_size), self.entries * self.ENTRY_SIZE)
                if length != existing:
                    os.ftruncate(fd, length)
                self._length = length
            if self.entries:
                self._mm = mmap.mmap(fd, self._length)
        finally:
            os.close(fd)
        self._open = True
        self.max_entries = self._length // self.ENTRY_SIZE

    # -- file and mapping -------------------------------------------------------------
    def _round(self, size: int) -> int:
        return size - size % self.ENTRY_SIZE

    def ensure_mapped(self) -> None:
        """Map the file (before the first entry is written); no-op when mapped or of length 0."""
        if self._mm is None and self._length > 0 and self._open:
            fd = os.open(self.path, os.O_RDWR)
            try:
                self._mm = mmap.mmap(fd, self._length)
            finally:
                os.close(fd)

    def _unmap(self) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None

    def _set_length(self, length: int) -> None:
        mapped = self._mm is not None
        self._unmap()
        fd = os.open(self.path, os.O_RDWR)
        try:
            os.ftruncate(fd, length)
            self._length = length
            if mapped and length > 0:
                self._mm = mmap.mmap(fd, length)
        finally:
            os.close(fd)
        self.max_entries = length // self.ENTRY_SIZE

    def resize(self, new_size: int) -> bool:
        """Grow or shrink the file to ``new_size`` (rounded down, never below the entries)."""
        length = max(self._round(new_size), self.entries * self.ENTRY_SIZE)
        if length == self._length:
            return False
        self._set_length(length)
        return True

    def trim_to_valid_size(self) -> None:
        self.resize(self.entries * self.ENTRY_SIZE)

    @property
    def size_in_bytes(self) -> int:
        return self.entries * self.ENTRY_SIZE

    @property
    def file_length(self) -> int:
        return self._length

    @property
    def is_full(self) -> bool:
        return self.entries >= self.max_entries

    def flush(self) -> None:
        if self._mm is not None:
            self._mm.flush()

    def close(self) -> None:
        if not self._open:
            return
        self.trim_to_valid_size()
        self._unmap()
        self._open = False

    def close_handler(self) -> None:
        """Release the mapping without trimming (the file is being deleted)."""
        if not self._open:
            return
        self._unmap()
        self._open = False

    def rename_to(self, new_path: str) -> None:
        os.rename(self.path, new_path)
        self.path = new_path

    def delete_if_exists(self) -> bool:
        self.close_handler()
        try:
            os.unlink(self.path)
            return True
        except FileNotFoundError:
            return False

    def reset(self) -> None:
        """Drop every entry and grow the file back to its maximum size."""
        self.entries = 0
        self.resize(self.max_index_size)

    # -- search -----------------------------------------------------------------------
    def _largest_lower_bound(self, key: Callable[[int], int], target: int) -> int:
        """Slot of the last entry whose key is <= target, or -1."""
        lo, hi = 0, self.entries - 1
        if hi < 0 or key(0) > target:
            return -1
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if key(mid) <= target:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _smallest_upper_bound(self, key: Callable[[int], int], target: int) -> int:
        """Slot of the first entry whose key is >= target, or -1."""
        lo, hi = 0, self.entries - 1
        if hi < 0 or key(hi) < target:
            return -1
        while lo < hi:
            mid = (lo + hi) >> 1
            if key(mid) >= target:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, entries={self.entries})"
