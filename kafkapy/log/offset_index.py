"""The ``.index`` file: sparse map from offset to position in the segment's ``.log``.

Each 8-byte entry is ``relative_offset int32`` (offset - base_offset) then
``position int32``; entries are strictly increasing in both fields.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import CorruptRecordError, LogSegmentOffsetOverflowError
from .index import AbstractIndex

_ENTRY = struct.Struct(">ii")
_PACK_ENTRY = _ENTRY.pack_into
_INT32 = struct.Struct(">i")
_UNPACK_INT32 = _INT32.unpack_from
_WARM_ENTRIES = 1024  # 8 KiB of entries, as Kafka's warm section
_INT32_MAX = 0x7FFFFFFF


@dataclass(frozen=True, slots=True)
class OffsetPosition:
    offset: int
    position: int


class InvalidOffsetIndexError(CorruptRecordError):
    """An entry appended out of order, or an index whose content fails the checks."""


class OffsetIndex(AbstractIndex):
    ENTRY_SIZE = 8
    __slots__ = ()   # the last entry is kept in IndexCore

    def __init__(self, path: str, base_offset: int, max_index_size: int = 10 * 1024 * 1024,
                 writable: bool = True) -> None:
        super().__init__(path, base_offset, max_index_size, writable)
        self._last_offset = self._read_last_offset()

    def _read_last_offset(self) -> int:
        if self.entries == 0:
            return self.base_offset
        return self.base_offset + _INT32.unpack_from(self._mm, (self.entries - 1) * 8)[0]

    @property
    def last_offset(self) -> int:
        """The offset of the last entry, or the base offset when empty."""
        return self._last_offset

    def entry(self, slot: int) -> OffsetPosition:
        rel, pos = _ENTRY.unpack_from(self._mm, slot * 8)
        return OffsetPosition(self.base_offset + rel, pos)

    def entries_list(self) -> list[OffsetPosition]:
        if self.entries == 0:
            return []
        base = self.base_offset
        return [OffsetPosition(base + r, p)
                for r, p in _ENTRY.iter_unpack(self._mm[:self.entries * 8])]

    def _rel(self, slot: int) -> int:
        return _INT32.unpack_from(self._mm, slot * 8)[0]

    def _pos(self, slot: int) -> int:
        return _INT32.unpack_from(self._mm, slot * 8 + 4)[0]

    def relative_offset(self, offset: int) -> int:
        rel = offset - self.base_offset
        if rel < 0 or rel > _INT32_MAX:
            raise LogSegmentOffsetOverflowError(
                f"offset {offset} does not fit in index {self.path} with base offset {self.base_offset}")
        return rel

    def can_append_offset(self, offset: int) -> bool:
        return 0 <= offset - self.base_offset <= _INT32_MAX

    def append(self, offset: int, position: int) -> None:
        entries = self.entries
        if entries and offset <= self._last_offset:
            raise InvalidOffsetIndexError(
                f"attempt to append offset {offset} to {self.path} whose last offset is {self._last_offset}")
        if entries >= self.max_entries:
            raise InvalidOffsetIndexError(f"attempt to append to the full index {self.path}")
        rel = offset - self.base_offset
        if rel < 0 or rel > _INT32_MAX:
            raise LogSegmentOffsetOverflowError(
                f"offset {offset} does not fit in index {self.path} with base offset {self.base_offset}")
        if self._mm is None:
            self.ensure_mapped()
        _PACK_ENTRY(self._mm, entries * 8, rel, position)
        self.entries = entries + 1
        self._last_offset = offset

    def append_unchecked(self, offset: int, position: int) -> None:
        """`append` for a caller that guarantees order, room, range and the mapping (the armed fast path)."""
        entries = self.entries
        _PACK_ENTRY(self._mm, entries * 8, offset - self.base_offset, position)
        self.entries = entries + 1
        self._last_offset = offset

    def _floor_slot(self, target: int, field: int) -> int:
        """Slot of the last entry whose field (0: relative offset, 4: position) is <= target, or -1.

        Lookups mostly ask for recent data, so the last ``_WARM_ENTRIES`` entries are searched
        first (Kafka's "warm section"), which keeps those pages hot and the search short.
        """
        n = self.entries
        if n == 0:
            return -1
        mm = self._mm
        lo, hi = 0, n - 1
        if n > _WARM_ENTRIES:
            warm = n - _WARM_ENTRIES
            if _UNPACK_INT32(mm, warm * 8 + field)[0] <= target:
                lo = warm
        if lo == 0 and _UNPACK_INT32(mm, field)[0] > target:
            return -1
        while lo < hi:
            mid = (lo + hi + 1) >> 1
            if _UNPACK_INT32(mm, mid * 8 + field)[0] <= target:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def lookup(self, target_offset: int) -> OffsetPosition:
        """Largest entry with offset <= target, or (base_offset, 0)."""
        slot = self._floor_slot(target_offset - self.base_offset, 0)
        if slot < 0:
            return OffsetPosition(self.base_offset, 0)
        rel, pos = _ENTRY.unpack_from(self._mm, slot * 8)
        return OffsetPosition(self.base_offset + rel, pos)

    def lookup_by_position(self, position: int) -> OffsetPosition:
        """Largest entry with position <= target position, or (base_offset, 0)."""
        slot = self._floor_slot(position, 4)
        if slot < 0:
            return OffsetPosition(self.base_offset, 0)
        rel, pos = _ENTRY.unpack_from(self._mm, slot * 8)
        return OffsetPosition(self.base_offset + rel, pos)

    def truncate_to(self, offset: int) -> None:
        """Remove every entry with offset >= ``offset``."""
        slot = self._smallest_upper_bound(self._rel, offset - self.base_offset)
        if slot >= 0:
            self.entries = slot
        self._last_offset = self._read_last_offset()

    def truncate(self) -> None:
        self.entries = 0
        self._last_offset = self.base_offset

    def reset(self) -> None:
        super().reset()
        self._last_offset = self.base_offset

    def sanity_check(self, log_size: int | None = None) -> None:
        """Raise InvalidOffsetIndexError when the index cannot belong to its segment."""
        if self._length % self.ENTRY_SIZE:
            raise InvalidOffsetIndexError(f"index file {self.path} has length {self._length}, "
                                          f"not a multiple of {self.ENTRY_SIZE}")
        if self.entries and self._last_offset <= self.base_offset and self.entries > 1:
            raise InvalidOffsetIndexError(f"index file {self.path} has last offset {self._last_offset} "
                                          f"not above base offset {self.base_offset}")
        if self.entries and log_size is not None and self._pos(self.entries - 1) >= max(log_size, 1):
            raise InvalidOffsetIndexError(f"index file {self.path} points past the end of its log "
                                          f"({self._pos(self.entries - 1)} >= {log_size})")

    def full_check(self, log_size: int, next_offset: int | None) -> None:
        """Check every entry: increasing offsets and positions, within the log (and below ``next_offset``)."""
        self.sanity_check(log_size)
        prev_rel, prev_pos = -1, -1
        limit_rel = _INT32_MAX + 1 if next_offset is None else next_offset - self.base_offset
        for rel, pos in _ENTRY.iter_unpack(self._mm[:self.entries * 8]) if self.entries else ():
            if rel <= prev_rel or pos <= prev_pos or rel >= limit_rel or pos >= log_size or rel < 0:
                raise InvalidOffsetIndexError(
                    f"index file {self.path} has an invalid entry ({self.base_offset + rel}, {pos})")
            prev_rel, prev_pos = rel, pos
