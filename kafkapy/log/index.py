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

log = logging.getLogger(__name__)


class AbstractIndex:
    ENTRY_SIZE = 0

    __slots__ = ("path", "base_offset", "max_index_size", "_fd", "_mm", "_length", "entries", "max_entries")

    def __init__(self, path: str, base_offset: int, max_index_size: int = 10 * 1024 * 1024,
                 writable: bool = True) -> None:
        self.path = path
        self.base_offset = base_offset
        self.max_index_size = max_index_size
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        existing = os.fstat(self._fd).st_size
        self.entries = existing // self.ENTRY_SIZE
        if writable:
            self._set_length(max(self._round(max_index_size), self.entries * self.ENTRY_SIZE))
        else:
            self._length = existing
            self._mm: mmap.mmap | None = None
            self._map()
        self.max_entries = self._length // self.ENTRY_SIZE

    # -- file and mapping -------------------------------------------------------------
    def _round(self, size: int) -> int:
        return size - size % self.ENTRY_SIZE

    def _map(self) -> None:
        self._mm = mmap.mmap(self._fd, self._length) if self._length > 0 else None

    def _unmap(self) -> None:
        if self._mm is not None:
            self._mm.close()
            self._mm = None

    def _set_length(self, length: int) -> None:
        if getattr(self, "_mm", None) is not None:
            self._unmap()
        os.ftruncate(self._fd, length)
        self._length = length
        self._map()
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
        if self._fd < 0:
            return
        self.trim_to_valid_size()
        self._unmap()
        os.close(self._fd)
        self._fd = -1

    def close_handler(self) -> None:
        """Release the mapping and descriptor without trimming (the file is being deleted)."""
        if self._fd < 0:
            return
        self._unmap()
        os.close(self._fd)
        self._fd = -1

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
