"""An ordered map of base offset -> LogSegment with floor/higher lookups."""
from __future__ import annotations

import bisect
from typing import Iterator

from .segment import LogSegment


class LogSegments:
    __slots__ = ("_bases", "_segments", "last")

    def __init__(self) -> None:
        self._bases: list[int] = []
        self._segments: dict[int, LogSegment] = {}
        self.last: LogSegment | None = None  # the active segment, kept as a plain attribute for the hot path

    def _update_last(self) -> None:
        self.last = self._segments[self._bases[-1]] if self._bases else None

    def add(self, segment: LogSegment) -> LogSegment | None:
        """Insert (or replace) the segment with this base offset; returns the replaced one."""
        base = segment.base_offset
        old = self._segments.get(base)
        if old is None:
            bisect.insort(self._bases, base)
        self._segments[base] = segment
        self._update_last()
        return old

    def remove(self, base_offset: int) -> LogSegment | None:
        seg = self._segments.pop(base_offset, None)
        if seg is not None:
            del self._bases[bisect.bisect_left(self._bases, base_offset)]
            self._update_last()
        return seg

    def clear(self) -> None:
        self._bases.clear()
        self._segments.clear()
        self.last = None

    def contains(self, base_offset: int) -> bool:
        return base_offset in self._segments

    def get(self, base_offset: int) -> LogSegment | None:
        return self._segments.get(base_offset)

    def __len__(self) -> int:
        return len(self._bases)

    def __bool__(self) -> bool:
        return bool(self._bases)

    def __iter__(self) -> Iterator[LogSegment]:
        return (self._segments[b] for b in list(self._bases))

    def __contains__(self, segment: LogSegment) -> bool:
        return self._segments.get(segment.base_offset) is segment

    @property
    def base_offsets(self) -> list[int]:
        return list(self._bases)

    @property
    def first_segment(self) -> LogSegment | None:
        return self._segments[self._bases[0]] if self._bases else None

    @property
    def last_segment(self) -> LogSegment | None:
        return self.last

    active_segment = last_segment

    def floor_segment(self, offset: int) -> LogSegment | None:
        """The segment with the largest base offset <= offset."""
        i = bisect.bisect_right(self._bases, offset)
        return self._segments[self._bases[i - 1]] if i else None

    def higher_segment(self, offset: int) -> LogSegment | None:
        """The segment with the smallest base offset > offset."""
        i = bisect.bisect_right(self._bases, offset)
        return self._segments[self._bases[i]] if i < len(self._bases) else None

    def lower_segment(self, offset: int) -> LogSegment | None:
        """The segment with the largest base offset < offset."""
        i = bisect.bisect_left(self._bases, offset)
        return self._segments[self._bases[i - 1]] if i else None

    def next_segment(self, segment: LogSegment) -> LogSegment | None:
        return self.higher_segment(segment.base_offset)

    def values(self, from_offset: int, to_offset: int) -> list[LogSegment]:
        """Segments that may hold offsets in [from_offset, to_offset): the floor of from_offset on."""
        if from_offset >= to_offset:
            return []
        start = bisect.bisect_right(self._bases, from_offset)
        start = start - 1 if start else 0
        end = bisect.bisect_left(self._bases, to_offset)
        return [self._segments[b] for b in self._bases[start:end]]

    def higher_segments(self, offset: int) -> list[LogSegment]:
        i = bisect.bisect_right(self._bases, offset)
        return [self._segments[b] for b in self._bases[i:]]

    @property
    def size_in_bytes(self) -> int:
        return sum(s.size for s in self._segments.values())
