"""The ``.timeindex`` file: sparse map from timestamp to offset.

Each 12-byte entry is ``timestamp int64`` then ``relative_offset int32``. Entries
hold the segment's running maximum timestamp, so timestamps are increasing.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from kafkapy.common.types import NO_TIMESTAMP

from .errors import LogSegmentOffsetOverflowError
from .index import AbstractIndex
from .offset_index import InvalidOffsetIndexError

_ENTRY = struct.Struct(">qi")
_PACK_ENTRY = _ENTRY.pack_into
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_INT32_MAX = 0x7FFFFFFF


@dataclass(frozen=True, slots=True)
class TimestampOffset:
    timestamp: int
    offset: int


class TimeIndex(AbstractIndex):
    ENTRY_SIZE = 12
    __slots__ = ()   # the last entry is kept in IndexCore

    def __init__(self, path: str, base_offset: int, max_index_size: int = 10 * 1024 * 1024,
                 writable: bool = True) -> None:
        super().__init__(path, base_offset, max_index_size, writable)
        self._set_last(self._read_last_entry())

    def _set_last(self, entry: TimestampOffset) -> None:
        self._last_ts = entry.timestamp
        self._last_off = entry.offset

    @property
    def is_full(self) -> bool:
        # Keep one slot free for the final entry written when the segment turns inactive.
        return self.entries >= self.max_entries - 1

    def _read_last_entry(self) -> TimestampOffset:
        if self.entries == 0:
            return TimestampOffset(NO_TIMESTAMP, self.base_offset)
        return self.entry(self.entries - 1)

    @property
    def last_entry(self) -> TimestampOffset:
        return TimestampOffset(self._last_ts, self._last_off)

    def entry(self, slot: int) -> TimestampOffset:
        ts, rel = _ENTRY.unpack_from(self._mm, slot * 12)
        return TimestampOffset(ts, self.base_offset + rel)

    def entries_list(self) -> list[TimestampOffset]:
        if self.entries == 0:
            return []
        base = self.base_offset
        return [TimestampOffset(t, base + r)
                for t, r in _ENTRY.iter_unpack(self._mm[:self.entries * 12])]

    def _ts(self, slot: int) -> int:
        return _INT64.unpack_from(self._mm, slot * 12)[0]

    def _rel(self, slot: int) -> int:
        return _INT32.unpack_from(self._mm, slot * 12 + 8)[0]

    def maybe_append(self, timestamp: int, offset: int, skip_full_check: bool = False) -> bool:
        """Append (timestamp, offset) if timestamp is above the last entry's; returns whether it did."""
        entries = self.entries
        if not skip_full_check and entries >= self.max_entries - 1:
            raise InvalidOffsetIndexError(f"attempt to append to the full time index {self.path}")
        last_ts = self._last_ts
        if entries:
            if offset < self._last_off:
                raise InvalidOffsetIndexError(
                    f"attempt to append offset {offset} to {self.path} whose last offset is {self._last_off}")
            if timestamp < last_ts:
                raise InvalidOffsetIndexError(
                    f"attempt to append timestamp {timestamp} to {self.path} whose last is {last_ts}")
        if timestamp <= last_ts:
            return False
        rel = offset - self.base_offset
        if rel < 0 or rel > _INT32_MAX:
            raise LogSegmentOffsetOverflowError(f"offset {offset} does not fit in time index {self.path}")
        if entries >= self.max_entries:
            self.resize((entries + 1) * self.ENTRY_SIZE)
        if self._mm is None:
            self.ensure_mapped()
        _PACK_ENTRY(self._mm, entries * 12, timestamp, rel)
        self.entries = entries + 1
        self._last_ts = timestamp
        self._last_off = offset
        return True

    def lookup(self, target_timestamp: int) -> TimestampOffset:
        """Last entry with timestamp <= target, or (NO_TIMESTAMP, base_offset)."""
        slot = self._largest_lower_bound(self._ts, target_timestamp)
        if slot < 0:
            return TimestampOffset(NO_TIMESTAMP, self.base_offset)
        return self.entry(slot)

    def truncate_to(self, offset: int) -> None:
        """Remove every entry with offset >= ``offset``."""
        slot = self._smallest_upper_bound(self._rel, offset - self.base_offset)
        if slot >= 0:
            self.entries = slot
        self._set_last(self._read_last_entry())

    def truncate(self) -> None:
        self.entries = 0
        self._set_last(TimestampOffset(NO_TIMESTAMP, self.base_offset))

    def reset(self) -> None:
        super().reset()
        self._set_last(TimestampOffset(NO_TIMESTAMP, self.base_offset))

    def sanity_check(self, next_offset: int | None = None) -> None:
        if self._length % self.ENTRY_SIZE:
            raise InvalidOffsetIndexError(f"time index file {self.path} has length {self._length}, "
                                          f"not a multiple of {self.ENTRY_SIZE}")
        last = self.last_entry
        if self.entries and last.offset < self.base_offset:
            raise InvalidOffsetIndexError(f"time index file {self.path} has last offset {last.offset} "
                                          f"below base offset {self.base_offset}")
        if self.entries and next_offset is not None and last.offset >= max(next_offset, self.base_offset + 1):
            raise InvalidOffsetIndexError(f"time index file {self.path} points past the log end")

    def full_check(self, next_offset: int) -> None:
        self.sanity_check(next_offset)
        prev_ts, prev_rel = None, -1
        limit_rel = next_offset - self.base_offset
        for ts, rel in _ENTRY.iter_unpack(self._mm[:self.entries * 12]) if self.entries else ():
            if (prev_ts is not None and ts <= prev_ts) or rel < prev_rel or rel < 0 or rel >= limit_rel:
                raise InvalidOffsetIndexError(
                    f"time index file {self.path} has an invalid entry ({ts}, {self.base_offset + rel})")
            prev_ts, prev_rel = ts, rel
