"""One log segment: a ``.log`` file of record batches plus its offset and time indexes.

The ``.log`` holds entries (v2 batches or legacy messages) exactly as in the wire
format, with final offsets. Appends go through ``os.pwrite`` on the segment's
descriptor; reads return positions inside the file (``FileRegion``) and never copy
record bytes. Entry headers are parsed from small ``pread`` chunks.
"""
from __future__ import annotations

import logging
import mmap
import os
import struct
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from kafkapy.common.types import NO_TIMESTAMP, FileRegion
from kafkapy.protocol.records import (
    CorruptRecordError as RecordsCorruptError,
    read_entry,
    verify_crc,
)

from .config import LONG_MAX
from .core import SegmentCore
from .errors import CorruptRecordError, LogSegmentOffsetOverflowError
from .offset_index import InvalidOffsetIndexError, OffsetIndex
from .time_index import TimeIndex, TimestampOffset

log = logging.getLogger(__name__)

LOG_FILE_SUFFIX = ".log"
INDEX_FILE_SUFFIX = ".index"
TIME_INDEX_FILE_SUFFIX = ".timeindex"
TXN_INDEX_FILE_SUFFIX = ".txnindex"
DELETED_FILE_SUFFIX = ".deleted"
CLEANED_FILE_SUFFIX = ".cleaned"
SWAP_FILE_SUFFIX = ".swap"

_INT32_MAX = 0x7FFFFFFF
_PREFIX = struct.Struct(">qi")
_INT32 = struct.Struct(">i")
_INT64 = struct.Struct(">q")
_HEADER_READ = 8192       # bytes read at once when walking entry headers
_MAX_HEADER = 61          # enough for every field the walk needs in any magic
_PACK_OFFSET_ENTRY = struct.Struct(">ii").pack_into    # .index entry: relative offset, position
_PACK_TIME_ENTRY = struct.Struct(">qi").pack_into      # .timeindex entry: timestamp, relative offset


def filename_prefix_from_offset(offset: int) -> str:
    return f"{offset:020d}"


def offset_from_filename(name: str) -> int:
    return int(name.split(".", 1)[0])


def log_file_path(dir_path: str, base_offset: int, suffix: str = "") -> str:
    return os.path.join(dir_path, filename_prefix_from_offset(base_offset) + LOG_FILE_SUFFIX + suffix)


def index_file_path(dir_path: str, base_offset: int, suffix: str = "") -> str:
    return os.path.join(dir_path, filename_prefix_from_offset(base_offset) + INDEX_FILE_SUFFIX + suffix)


def time_index_file_path(dir_path: str, base_offset: int, suffix: str = "") -> str:
    return os.path.join(dir_path, filename_prefix_from_offset(base_offset) + TIME_INDEX_FILE_SUFFIX + suffix)


@dataclass(frozen=True, slots=True)
class LogOffsetMetadata:
    """An offset plus, when known, where it sits on disk (segment base offset, byte position)."""

    message_offset: int
    segment_base_offset: int = -1
    relative_position_in_segment: int = -1

    @property
    def message_offset_only(self) -> bool:
        return self.segment_base_offset < 0

    def on_older_segment(self, other: "LogOffsetMetadata") -> bool:
        return self.segment_base_offset < other.segment_base_offset

    def on_same_segment(self, other: "LogOffsetMetadata") -> bool:
        return self.segment_base_offset == other.segment_base_offset

    def position_diff(self, other: "LogOffsetMetadata") -> int:
        """Bytes between two positions in the same segment (self - other)."""
        return self.relative_position_in_segment - other.relative_position_in_segment


UNKNOWN_OFFSET_METADATA = LogOffsetMetadata(-1)


@dataclass(frozen=True, slots=True)
class FetchDataInfo:
    """What a read returns: where the data starts and a region of whole entries."""

    fetch_offset_metadata: LogOffsetMetadata
    records: FileRegion
    first_entry_incomplete: bool = False

    @property
    def size(self) -> int:
        return self.records.size


@dataclass(frozen=True, slots=True)
class EntryHeader:
    """The few header fields the log needs from one entry (v2 batch or legacy message)."""

    position: int
    size: int
    magic: int
    base_offset: int
    last_offset: int
    max_timestamp: int
    partition_leader_epoch: int

    @property
    def end(self) -> int:
        return self.position + self.size


@dataclass(frozen=True, slots=True)
class LogOffsetPosition:
    offset: int      # last offset of the entry found
    position: int
    size: int


def parse_header(buf, pos: int, file_position: int) -> EntryHeader:
    """Parse the header at ``buf[pos:]`` (which must hold at least the fixed part)."""
    base_offset, length = _PREFIX.unpack_from(buf, pos)
    if length < 14:
        raise CorruptRecordError(f"entry at position {file_position} has an impossible size {length}")
    magic = buf[pos + 16]
    if magic == 2:
        if length + 12 < 61:
            raise CorruptRecordError(f"record batch at position {file_position} is smaller than its header")
        delta = _INT32.unpack_from(buf, pos + 23)[0]
        return EntryHeader(file_position, length + 12, 2, base_offset, base_offset + delta,
                           _INT64.unpack_from(buf, pos + 35)[0], _INT32.unpack_from(buf, pos + 12)[0])
    if magic == 1:
        if length < 22:
            raise CorruptRecordError(f"message at position {file_position} is smaller than its header")
        return EntryHeader(file_position, length + 12, 1, base_offset, base_offset,
                           _INT64.unpack_from(buf, pos + 18)[0], -1)
    if magic == 0:
        return EntryHeader(file_position, length + 12, 0, base_offset, base_offset, NO_TIMESTAMP, -1)
    raise CorruptRecordError(f"entry at position {file_position} has unknown magic {magic}")


def walk_headers(fd: int, start: int, end: int) -> Iterator[EntryHeader]:
    """Yield the header of every whole entry in ``[start, end)`` of the file behind ``fd``."""
    pos = start
    chunk = b""
    chunk_pos = start
    while pos + 12 <= end:
        off = pos - chunk_pos
        if off < 0 or off + _MAX_HEADER > len(chunk):
            chunk = os.pread(fd, min(_HEADER_READ, end - pos), pos)
            chunk_pos = pos
            off = 0
            if len(chunk) < 12:
                return
        avail = len(chunk) - off
        if avail < 17:
            return
        magic = chunk[off + 16]
        if avail < (61 if magic == 2 else 26 if magic == 1 else 17):
            return  # a header cut short by the end of the range
        header = parse_header(chunk, off, pos)
        if header.end > end:
            return
        yield header
        pos = header.end


class LogSegment(SegmentCore):
    """A segment of a partition log, named by its base offset.

    fd, size, base_offset, index_interval_bytes, bytes_since_last_index_entry, max_timestamp_so_far,
    offset_of_max_timestamp_so_far and the fast_limit_* numbers live in `SegmentCore` (a C struct
    when the append helper is built: see `kafkapy.log.core`)."""

    __slots__ = ("dir_path", "max_index_size", "rolling_jitter_ms", "preallocate", "log_path", "offset_index",
                 "time_index", "created_ms", "rolling_based_timestamp", "closed")

    def __init__(self, dir_path: str, base_offset: int, index_interval_bytes: int = 4096,
                 max_index_size: int = 10 * 1024 * 1024, rolling_jitter_ms: int = 0,
                 file_suffix: str = "", preallocate: bool = False, init_file_size: int = 0,
                 active: bool = True, now_ms: int | None = None) -> None:
        self.dir_path = dir_path
        self.base_offset = base_offset
        self.index_interval_bytes = index_interval_bytes
        self.max_index_size = max_index_size
        self.rolling_jitter_ms = rolling_jitter_ms
        self.preallocate = preallocate
        self.log_path = log_file_path(dir_path, base_offset, file_suffix)
        self.fd = os.open(self.log_path, os.O_RDWR | os.O_CREAT, 0o644)
        self.size = os.fstat(self.fd).st_size
        if preallocate and self.size == 0 and init_file_size > 0:
            os.ftruncate(self.fd, init_file_size)
        self.offset_index = OffsetIndex(index_file_path(dir_path, base_offset, file_suffix), base_offset,
                                        max_index_size, writable=active)
        self.time_index = TimeIndex(time_index_file_path(dir_path, base_offset, file_suffix), base_offset,
                                    max_index_size, writable=active)
        self.bytes_since_last_index_entry = 0
        last = self.time_index.last_entry
        self.max_timestamp_so_far = last.timestamp
        self.offset_of_max_timestamp_so_far = last.offset if last.timestamp != NO_TIMESTAMP else -1
        self.created_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.rolling_based_timestamp: int | None = None
        self.closed = False
        self.disarm_fast_append()

    # -- properties -----------------------------------------------------------------
    @property
    def largest_timestamp(self) -> int:
        """The largest timestamp in the segment, or the file's modification time when none."""
        if self.max_timestamp_so_far >= 0:
            return self.max_timestamp_so_far
        return self.last_modified_ms

    @property
    def last_modified_ms(self) -> int:
        return int(os.stat(self.log_path).st_mtime * 1000)

    def set_last_modified_ms(self, ms: int) -> None:
        os.utime(self.log_path, (ms / 1000, ms / 1000))

    @property
    def suffix(self) -> str:
        name = os.path.basename(self.log_path)
        return name[name.index(LOG_FILE_SUFFIX) + len(LOG_FILE_SUFFIX):]

    def can_convert_to_relative_offset(self, offset: int) -> bool:
        return 0 <= offset - self.base_offset <= _INT32_MAX

    # -- append -----------------------------------------------------------------------
    def append(self, largest_offset: int, largest_timestamp: int, offset_of_max_timestamp: int,
               records) -> None:
        """Append whole entries whose last offset is ``largest_offset``."""
        n = len(records)
        if n == 0:
            return
        if not 0 <= largest_offset - self.base_offset <= _INT32_MAX:
            raise LogSegmentOffsetOverflowError(
                f"offset {largest_offset} cannot be stored in segment {self.log_path} "
                f"(base offset {self.base_offset})")
        position = self.size
        if self.rolling_based_timestamp is None and position == 0:
            self.rolling_based_timestamp = largest_timestamp
        written = os.pwrite(self.fd, records, position)
        while written < n:  # rare: short write
            written += os.pwrite(self.fd, memoryview(records)[written:], position + written)
        self.size = position + n
        if largest_timestamp > self.max_timestamp_so_far:
            self.max_timestamp_so_far = largest_timestamp
            self.offset_of_max_timestamp_so_far = offset_of_max_timestamp
        if self.bytes_since_last_index_entry > self.index_interval_bytes:
            self.offset_index.append(largest_offset, position)
            self.time_index.maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far)
            self.bytes_since_last_index_entry = 0
        self.bytes_since_last_index_entry += n

    # -- the produce fast path ------------------------------------------------------------
    # A roll decision (should_roll) costs more than the rest of an append. After one that says
    # "no roll", `arm_fast_append` turns the conditions into three limits that stay valid for the
    # appends that follow: the size the segment may reach (segment.bytes, and the index entries
    # left: an entry is added at most once per index.interval.bytes appended, so the free index
    # slots bound the bytes that can follow), the largest offset a relative offset can hold, and
    # the largest timestamp before segment.ms (from the first batch) is reached. An append whose
    # end stays within all three needs no roll check and no per-index bound check. Whatever else
    # changes the segment (truncation, index resizes, turning inactive, closing) disarms it.
    def disarm_fast_append(self) -> None:
        self.fast_limit_size = -1
        self.fast_limit_offset = -1
        self.fast_limit_timestamp = -1

    def arm_fast_append(self, segment_bytes: int, segment_ms: int) -> None:
        t = self.rolling_based_timestamp
        if self.size == 0 or t is None or t < 0 or self.closed:
            self.disarm_fast_append()   # the time rule needs the first batch's timestamp
            return
        oi = self.offset_index
        ti = self.time_index
        room = min(oi.max_entries - oi.entries, ti.max_entries - 1 - ti.entries) - 1
        if room <= 0:
            self.disarm_fast_append()
            return
        oi.ensure_mapped()         # the armed path writes the mappings directly
        ti.ensure_mapped()
        by_index = self.size + (room - 1) * (self.index_interval_bytes + 1)
        self.fast_limit_size = min(segment_bytes, by_index)
        self.fast_limit_offset = self.base_offset + _INT32_MAX
        self.fast_limit_timestamp = min(t + segment_ms - self.rolling_jitter_ms, LONG_MAX)   # a 64-bit field

    def append_armed(self, largest_offset: int, largest_timestamp: int, records, n: int) -> None:
        """`append` of one entry ending at ``largest_offset`` within the armed limits (no checks)."""
        position = self.size
        written = os.pwrite(self.fd, records, position)
        while written < n:  # rare: short write
            written += os.pwrite(self.fd, memoryview(records)[written:], position + written)
        self.size = position + n
        if largest_timestamp > self.max_timestamp_so_far:
            self.max_timestamp_so_far = largest_timestamp
            self.offset_of_max_timestamp_so_far = largest_offset
        if self.bytes_since_last_index_entry > self.index_interval_bytes:
            # the index entries, written in place: order, room and range hold by the armed limits
            base = self.base_offset
            oi = self.offset_index
            e = oi.entries
            _PACK_OFFSET_ENTRY(oi._mm, e * 8, largest_offset - base, position)
            oi.entries = e + 1
            oi._last_offset = largest_offset
            ti = self.time_index
            ts = self.max_timestamp_so_far
            if ts > ti._last_ts:
                e = ti.entries
                off = self.offset_of_max_timestamp_so_far
                _PACK_TIME_ENTRY(ti._mm, e * 12, ts, off - base)
                ti.entries = e + 1
                ti._last_ts = ts
                ti._last_off = off
            self.bytes_since_last_index_entry = n
        else:
            self.bytes_since_last_index_entry += n

    # -- offset translation and reads ---------------------------------------------------
    def headers(self, start_position: int = 0, end_position: int | None = None) -> Iterator[EntryHeader]:
        return walk_headers(self.fd, start_position, self.size if end_position is None else end_position)

    def translate_offset(self, offset: int, starting_position: int = 0) -> LogOffsetPosition | None:
        """The first entry at or after ``starting_position`` whose last offset is >= ``offset``."""
        for h in walk_headers(self.fd, starting_position, self.size):
            if h.last_offset >= offset:
                return LogOffsetPosition(h.last_offset, h.position, h.size)
        return None

    def _boundary_at_most(self, start: int, limit: int) -> int:
        """The end of the last whole entry that starts at ``start`` or later and ends <= ``limit``."""
        hint = self.offset_index.lookup_by_position(limit).position
        pos = hint if hint > start else start
        for h in walk_headers(self.fd, pos, limit):
            pos = h.end
        return pos

    def read(self, start_offset: int, max_size: int, max_position: int | None = None,
             min_one_message: bool = False) -> FetchDataInfo | None:
        """Whole entries from the one holding ``start_offset`` on; None when beyond the segment."""
        if max_size < 0:
            raise ValueError(f"invalid max size {max_size} for log read from segment {self.log_path}")
        start = self.translate_offset(start_offset, self.offset_index.lookup(start_offset).position)
        if start is None:
            return None
        if max_position is None:
            max_position = self.size
        metadata = LogOffsetMetadata(start_offset, self.base_offset, start.position)
        adjusted = max(max_size, start.size) if min_one_message else max_size
        if adjusted == 0 or max_position <= start.position:
            return FetchDataInfo(metadata, FileRegion(self.fd, start.position, 0))
        limit = start.position + adjusted
        end = max_position if limit >= max_position else self._boundary_at_most(start.position, limit)
        return FetchDataInfo(metadata, FileRegion(self.fd, start.position, end - start.position))

    def read_next_offset(self) -> int:
        """The offset after the last entry, or the base offset when empty."""
        start = self.offset_index.lookup_by_position(self.size).position if self.offset_index.entries else 0
        last = None
        for h in walk_headers(self.fd, start, self.size):
            last = h
        return self.base_offset if last is None else last.last_offset + 1

    def last_entry_header(self) -> EntryHeader | None:
        start = self.offset_index.lookup_by_position(self.size).position if self.offset_index.entries else 0
        last = None
        for h in walk_headers(self.fd, start, self.size):
            last = h
        return last

    def find_offset_by_timestamp(self, timestamp: int, start_offset: int,
                                 first_record_at: Callable[[bytes, int, int], int | None]) -> tuple[int, int] | None:
        """(timestamp, offset) of the first entry at/after ``start_offset`` with max timestamp >= target.

        ``first_record_at(entry_bytes, timestamp, start_offset)`` picks the record inside the entry.
        """
        entry = self.time_index.lookup(timestamp)
        position = self.offset_index.lookup(max(entry.offset, start_offset)).position
        for h in walk_headers(self.fd, position, self.size):
            if h.last_offset < start_offset or h.max_timestamp < timestamp:
                continue
            data = os.pread(self.fd, h.size, h.position)
            found = first_record_at(data, timestamp, start_offset)
            if found is not None:
                return found
        return None

    # -- roll decisions ---------------------------------------------------------------
    def _load_first_batch_timestamp(self) -> None:
        if self.rolling_based_timestamp is None and self.size > 0:
            for h in walk_headers(self.fd, 0, self.size):
                self.rolling_based_timestamp = h.max_timestamp
                break

    def time_waited_for_roll(self, now_ms: int, message_timestamp: int) -> int:
        self._load_first_batch_timestamp()
        t = self.rolling_based_timestamp
        if t is not None and t >= 0:
            return message_timestamp - t
        return now_ms - self.created_ms

    def should_roll(self, segment_bytes: int, segment_ms: int, messages_size: int, max_timestamp: int,
                    max_offset: int, now_ms: int) -> bool:
        size = self.size
        if size > segment_bytes - messages_size:
            return True
        if size > 0:
            t = self.rolling_based_timestamp
            if t is None:
                self._load_first_batch_timestamp()
                t = self.rolling_based_timestamp
            waited = max_timestamp - t if t is not None and t >= 0 else now_ms - self.created_ms
            if waited > segment_ms - self.rolling_jitter_ms:
                return True
        oi = self.offset_index
        ti = self.time_index
        return (oi.entries >= oi.max_entries or ti.entries >= ti.max_entries - 1
                or not 0 <= max_offset - self.base_offset <= _INT32_MAX)

    def on_become_inactive_segment(self) -> None:
        """Write the final time-index entry and trim files to their real size (on roll)."""
        self.disarm_fast_append()
        if self.max_timestamp_so_far >= 0:
            self.time_index.maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far,
                                         skip_full_check=True)
        self.offset_index.trim_to_valid_size()
        self.time_index.trim_to_valid_size()
        if self.preallocate:
            os.ftruncate(self.fd, self.size)

    def resize_indexes(self, size: int) -> None:
        self.disarm_fast_append()
        self.offset_index.resize(size)
        self.time_index.resize(size)

    # -- recovery and truncation ---------------------------------------------------------
    def recover(self, max_message_size: int | None = None,
                on_entry: Callable[[object], None] | None = None) -> int:
        """Re-validate every entry, rebuild both indexes, cut the file at the first bad entry.

        ``on_entry(BatchInfo)`` sees every valid entry (leader epochs). Returns the number
        of bytes truncated.
        """
        self.offset_index.reset()
        self.time_index.reset()
        file_size = os.fstat(self.fd).st_size
        valid = 0
        last_index_entry = 0
        max_ts, offset_of_max = NO_TIMESTAMP, -1
        prev_last = self.base_offset - 1
        reason = None
        if file_size > 0:
            mm = mmap.mmap(self.fd, file_size, access=mmap.ACCESS_READ)
            try:
                while valid < file_size:
                    try:
                        info = read_entry(mm, valid, file_size, max_message_size)
                    except RecordsCorruptError as exc:
                        reason = str(exc)
                        break
                    if info is None:
                        if any(mm[valid:file_size]):  # a preallocated tail of zeros is not damage
                            reason = f"truncated entry at position {valid}"
                        break
                    if not verify_crc(mm, info):
                        reason = f"entry at position {valid} has a bad crc"
                        break
                    if info.last_offset <= prev_last or info.base_offset > info.last_offset \
                            or not self.can_convert_to_relative_offset(info.last_offset):
                        reason = (f"entry at position {valid} has offsets {info.base_offset}..{info.last_offset} "
                                  f"out of order after offset {prev_last}")
                        break
                    if info.max_timestamp > max_ts:
                        max_ts, offset_of_max = info.max_timestamp, info.last_offset
                    if valid - last_index_entry > self.index_interval_bytes:
                        self.offset_index.append(info.last_offset, valid)
                        self.time_index.maybe_append(max_ts, offset_of_max)
                        last_index_entry = valid
                    if on_entry is not None:
                        on_entry(info)
                    prev_last = info.last_offset
                    valid += info.size
            finally:
                mm.close()
        truncated = file_size - valid
        if truncated > 0:
            if reason is not None:
                log.warning("Found invalid data in %s at byte position %d (%s): truncating %d bytes",
                            self.log_path, valid, reason, truncated)
            os.ftruncate(self.fd, valid)
        self.size = valid
        self.bytes_since_last_index_entry = valid - last_index_entry if valid else 0
        self.max_timestamp_so_far = max_ts
        self.offset_of_max_timestamp_so_far = offset_of_max
        self.offset_index.trim_to_valid_size()
        if max_ts >= 0:
            self.time_index.maybe_append(max_ts, offset_of_max, skip_full_check=True)
        self.time_index.trim_to_valid_size()
        self.rolling_based_timestamp = None
        return truncated

    def sanity_check(self, full: bool = False, upper_offset: int | None = None) -> None:
        """Raise when an index cannot belong to this segment (the caller then recovers it).

        The cheap check looks at the file sizes and the last entries (``upper_offset``: the
        next segment's base offset); ``full`` checks every entry against the log.
        """
        if full:
            self.offset_index.full_check(self.size, None)
            next_offset = self.read_next_offset()
            self.offset_index.full_check(self.size, next_offset)
            self.time_index.full_check(next_offset)
            self._check_offset_index_against_log()
            self._check_time_index_against_log()
        else:
            self.offset_index.sanity_check(self.size)
            self.time_index.sanity_check(upper_offset)
            oi = self.offset_index
            if oi.entries and upper_offset is not None and oi.last_offset >= upper_offset:
                raise InvalidOffsetIndexError(f"index file {oi.path} has last offset {oi.last_offset} beyond "
                                              f"the next segment's base offset {upper_offset}")
            if oi.entries > 1:
                a, b = oi.entry(oi.entries - 2), oi.entry(oi.entries - 1)
                if not (a.offset < b.offset and a.position < b.position):
                    raise InvalidOffsetIndexError(f"index file {oi.path} has unordered last entries")
            ti = self.time_index
            if ti.entries == 0 and self.size > 0:
                for h in walk_headers(self.fd, 0, self.size):
                    if h.max_timestamp >= 0:
                        raise InvalidOffsetIndexError(f"time index file {ti.path} is empty but its segment "
                                                      f"holds timestamps")
                    break
            if ti.entries > 1:
                a2, b2 = ti.entry(ti.entries - 2), ti.entry(ti.entries - 1)
                if not (a2.timestamp < b2.timestamp and a2.offset <= b2.offset):
                    raise InvalidOffsetIndexError(f"time index file {ti.path} has unordered last entries")

    def _check_offset_index_against_log(self) -> None:
        """Every offset-index entry points at the start of a log entry whose last offset it names, as
        `append` writes them (an entry overwritten with other plausible numbers passes the order checks)."""
        oi = self.offset_index
        for entry in oi.entries_list():
            header = None
            if entry.position + 17 <= self.size:
                raw = os.pread(self.fd, min(_MAX_HEADER, self.size - entry.position), entry.position)
                magic = raw[16] if len(raw) > 16 else -1
                if len(raw) >= (61 if magic == 2 else 26 if magic == 1 else 17):
                    try:
                        header = parse_header(raw, 0, entry.position)
                    except (CorruptRecordError, RecordsCorruptError, struct.error):
                        header = None
            if header is None or header.last_offset != entry.offset:
                raise InvalidOffsetIndexError(f"index file {oi.path} has entry ({entry.offset}, {entry.position}) "
                                              f"that does not match the log")

    def _check_time_index_against_log(self) -> None:
        """Every time-index entry names an entry of the log with that max timestamp, and the last
        one holds the segment's largest timestamp (the final entry written on roll and close)."""
        ti = self.time_index
        if ti.entries == 0:
            for h in walk_headers(self.fd, 0, self.size):
                if h.max_timestamp >= 0:
                    raise InvalidOffsetIndexError(f"time index file {ti.path} is empty but its segment holds "
                                                  f"timestamps")
                break
            return
        for entry in ti.entries_list():
            pos = self.offset_index.lookup(entry.offset).position
            holder = None
            for h in walk_headers(self.fd, pos, self.size):
                if h.last_offset >= entry.offset:
                    holder = h
                    break
            if holder is None or holder.base_offset > entry.offset or holder.max_timestamp != entry.timestamp:
                raise InvalidOffsetIndexError(f"time index file {ti.path} has entry ({entry.timestamp}, "
                                              f"{entry.offset}) that does not match the log")
        last = ti.last_entry
        for h in walk_headers(self.fd, self.offset_index.lookup(last.offset).position, self.size):
            if h.last_offset > last.offset and h.max_timestamp > last.timestamp:
                raise InvalidOffsetIndexError(f"time index file {ti.path} lacks the segment's largest "
                                              f"timestamp {h.max_timestamp}")

    def truncate_to(self, offset: int) -> int:
        """Drop every entry whose last offset is >= ``offset``; returns the bytes removed."""
        self.disarm_fast_append()
        mapping = self.translate_offset(offset, self.offset_index.lookup(offset).position)
        self.offset_index.truncate_to(offset)
        self.time_index.truncate_to(offset)
        self.offset_index.resize(self.max_index_size)
        self.time_index.resize(self.max_index_size)
        if mapping is None:
            return 0
        removed = self.size - mapping.position
        os.ftruncate(self.fd, mapping.position)
        self.size = mapping.position
        self.bytes_since_last_index_entry = 0
        if self.size == 0:
            self.created_ms = int(time.time() * 1000)
            self.rolling_based_timestamp = None
        self._reload_max_timestamp()
        return removed

    def _reload_max_timestamp(self) -> None:
        last: TimestampOffset = self.time_index.last_entry
        max_ts = last.timestamp
        offset_of_max = last.offset if max_ts != NO_TIMESTAMP else -1
        start = self.offset_index.lookup_by_position(self.size).position if self.offset_index.entries else 0
        for h in walk_headers(self.fd, start, self.size):
            if h.max_timestamp > max_ts:
                max_ts, offset_of_max = h.max_timestamp, h.last_offset
        self.max_timestamp_so_far = max_ts
        self.offset_of_max_timestamp_so_far = offset_of_max

    # -- files ------------------------------------------------------------------------------
    def flush(self) -> None:
        os.fsync(self.fd)
        self.offset_index.flush()
        self.time_index.flush()

    def close(self) -> None:
        """Write the final time-index entry, trim the indexes and close every file."""
        if self.closed:
            return
        self.disarm_fast_append()
        if self.max_timestamp_so_far >= 0:
            self.time_index.maybe_append(self.max_timestamp_so_far, self.offset_of_max_timestamp_so_far,
                                         skip_full_check=True)
        self.offset_index.close()
        self.time_index.close()
        if self.preallocate:
            os.ftruncate(self.fd, self.size)
        os.close(self.fd)
        self.closed = True

    def close_handlers(self) -> None:
        """Close descriptors without touching the files."""
        if self.closed:
            return
        self.offset_index.close_handler()
        self.time_index.close_handler()
        os.close(self.fd)
        self.closed = True

    def change_file_suffixes(self, old_suffix: str, new_suffix: str) -> None:
        def renamed(path: str) -> str:
            stem = path[:-len(old_suffix)] if old_suffix and path.endswith(old_suffix) else path
            return stem + new_suffix
        txn = self._txn_index_path()
        new_log = renamed(self.log_path)
        os.rename(self.log_path, new_log)
        self.log_path = new_log
        self.offset_index.rename_to(renamed(self.offset_index.path))
        self.time_index.rename_to(renamed(self.time_index.path))
        if os.path.exists(txn):  # written by Kafka for aborted transactions; kept alongside its segment
            os.rename(txn, renamed(txn))

    def _txn_index_path(self) -> str:
        stem = self.log_path[:self.log_path.rindex(LOG_FILE_SUFFIX)]
        return stem + TXN_INDEX_FILE_SUFFIX + self.suffix

    def delete_if_exists(self) -> None:
        """Close and remove the segment's files (missing files are fine)."""
        txn = self._txn_index_path()
        self.close_handlers()
        for path in (self.log_path, self.offset_index.path, self.time_index.path, txn):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def __repr__(self) -> str:
        return f"LogSegment(base_offset={self.base_offset}, size={self.size}, path={self.log_path!r})"
