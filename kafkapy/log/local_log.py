"""LocalLog: the segments of one partition directory (append, roll, read, truncate, delete, flush).

Kafka-specific state above the files (log start offset, high watermark, leader
epochs, retention) lives in ``log.Log``; this class only knows about segments.
All methods run synchronously on the caller's thread (the event loop); the few
that block on the disk for long (``flush``, ``delete_pending_files``, ``delete``)
are the ones the broker hands to an executor.
"""
from __future__ import annotations

import logging
import os
import random
import re
import shutil
import threading
import time
import uuid
from typing import Callable

from kafkapy.common.types import FileRegion, TopicPartition

from .config import LogConfig
from .errors import KafkaStorageError, OffsetOutOfRangeError
from .segment import (
    DELETED_FILE_SUFFIX,
    FetchDataInfo,
    LogOffsetMetadata,
    LogSegment,
)
from .segments import LogSegments

log = logging.getLogger(__name__)

DELETE_DIR_SUFFIX = "-delete"
FUTURE_DIR_SUFFIX = "-future"
_DELETE_DIR_RE = re.compile(r"^(\S+)-(\d+)\.(\S+)-delete$")
_FUTURE_DIR_RE = re.compile(r"^(\S+)-(\d+)\.(\S+)-future$")


def parse_topic_partition_name(name: str) -> TopicPartition:
    """``<topic>-<partition>`` (also ``.<uuid>-delete``/``-future`` names); topics may contain '-'."""
    base = name
    if base.endswith(DELETE_DIR_SUFFIX) or base.endswith(FUTURE_DIR_SUFFIX):
        base = base[:base.rindex(".")]
    dash = base.rfind("-")
    if dash <= 0 or not base[dash + 1:].isdigit():
        raise ValueError(f"found directory {name!r}, which is not in the form <topic>-<partition>")
    return TopicPartition(base[:dash], int(base[dash + 1:]))


def log_dir_name(tp: TopicPartition) -> str:
    return f"{tp.topic}-{tp.partition}"


def log_delete_dir_name(tp: TopicPartition) -> str:
    suffix = f".{uuid.uuid4().hex}{DELETE_DIR_SUFFIX}"
    prefix = log_dir_name(tp)
    room = 255 - len(suffix)
    if len(prefix) > room:
        tail = f"-{tp.partition}"
        prefix = tp.topic[:room - len(tail)] + tail
    return prefix + suffix


class LocalLog:
    def __init__(self, dir_path: str, config: LogConfig, segments: LogSegments, recovery_point: int,
                 next_offset_metadata: LogOffsetMetadata, topic_partition: TopicPartition,
                 clock_ms: Callable[[], int] | None = None) -> None:
        self.dir_path = dir_path
        self.config = config
        self.segments = segments
        self.recovery_point = recovery_point
        self.log_end_offset = next_offset_metadata.message_offset
        self.topic_partition = topic_partition
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._rng = random.Random()
        self.pending_deletes: list[tuple[int, LogSegment]] = []
        self._pending_lock = threading.Lock()  # the loop adds, the executor's delete job removes
        self.last_flush_ms = self._clock_ms()
        self.closed = False
        self._empty_fetch: tuple[int, LogSegment, int, FetchDataInfo] | None = None   # see empty_fetch
        # Called with the new active segment's base offset after every roll (producer snapshots).
        self.roll_listener: Callable[[int], None] | None = None

    # -- basic state ------------------------------------------------------------------
    def now_ms(self) -> int:
        return self._clock_ms()

    @property
    def name(self) -> str:
        return os.path.basename(self.dir_path)

    @property
    def next_offset_metadata(self) -> LogOffsetMetadata:
        """The log end offset and where it sits (always at the end of the active segment)."""
        seg = self.active_segment
        return LogOffsetMetadata(self.log_end_offset, seg.base_offset, seg.size)

    @property
    def active_segment(self) -> LogSegment:
        seg = self.segments.last_segment
        assert seg is not None, "a log always has an active segment"
        return seg

    @property
    def size_in_bytes(self) -> int:
        return self.segments.size_in_bytes

    @property
    def unflushed_messages(self) -> int:
        return self.log_end_offset - self.recovery_point

    def update_log_end_offset(self, end_offset: int) -> None:
        self.log_end_offset = end_offset
        if self.recovery_point > end_offset:
            self.recovery_point = end_offset

    def update_config(self, config: LogConfig) -> None:
        self.config = config

    def _check_open(self) -> None:
        if self.closed:
            raise KafkaStorageError(f"the log for partition {self.topic_partition} is closed")

    def new_segment(self, base_offset: int, active: bool = True) -> LogSegment:
        c = self.config
        return LogSegment(self.dir_path, base_offset, c.index_interval_bytes, c.max_index_size,
                          c.random_segment_jitter(self._rng), preallocate=c.preallocate,
                          init_file_size=c.segment_bytes if c.preallocate else 0, active=active,
                          now_ms=self.now_ms())

    # -- append and roll ----------------------------------------------------------------
    def append(self, last_offset: int, largest_timestamp: int, offset_of_max_timestamp: int, records) -> None:
        self.segments.last_segment.append(last_offset, largest_timestamp, offset_of_max_timestamp, records)
        self.log_end_offset = last_offset + 1

    def roll(self, expected_next_offset: int | None = None) -> LogSegment:
        """Start a new active segment at max(expected_next_offset, log end offset)."""
        self._check_open()
        start = time.monotonic()
        new_offset = max(expected_next_offset or 0, self.log_end_offset)
        active = self.active_segment
        if self.segments.contains(new_offset):
            if active.base_offset == new_offset and active.size == 0:
                log.warning("Trying to roll a new log segment with start offset %d of %s, which equals the "
                            "empty active segment: reusing it", new_offset, self.name)
                return active
            raise KafkaStorageError(f"trying to roll a new segment for {self.topic_partition} at offset "
                                    f"{new_offset}, which already exists")
        if new_offset < active.base_offset:
            raise KafkaStorageError(f"trying to roll a new segment for {self.topic_partition} at offset "
                                    f"{new_offset}, below the active segment's base {active.base_offset}")
        for path in (os.path.join(self.dir_path, f"{new_offset:020d}{ext}")
                     for ext in (".log", ".index", ".timeindex", ".txnindex")):
            if os.path.exists(path):
                log.warning("Newly rolled segment file %s already exists; deleting it first", path)
                os.unlink(path)
        active.on_become_inactive_segment()
        seg = self.new_segment(new_offset)
        self.segments.add(seg)
        self.update_log_end_offset(self.log_end_offset)
        if self.roll_listener is not None:
            self.roll_listener(new_offset)
        log.info("Rolled new log segment at offset %d in %.1f ms (%s)", new_offset,
                 (time.monotonic() - start) * 1000, self.name)
        return seg

    # -- reads ----------------------------------------------------------------------------
    def empty_fetch(self, offset: int) -> FetchDataInfo:
        """An empty read at ``offset`` (the log end). Kept while the log does not move: idle followers and
        consumers ask for it over and over, and its three frozen objects cost more than the rest of a read."""
        seg = self.active_segment
        cached = self._empty_fetch
        if cached is not None and cached[0] == offset and cached[1] is seg and cached[2] == seg.size:
            return cached[3]
        info = FetchDataInfo(LogOffsetMetadata(offset, seg.base_offset, seg.size), FileRegion(seg.fd, seg.size, 0))
        self._empty_fetch = (offset, seg, seg.size, info)
        return info

    def read(self, start_offset: int, max_length: int, max_offset: int | None, min_one_message: bool,
             log_start_offset: int, max_offset_metadata: LogOffsetMetadata | None = None) -> FetchDataInfo:
        """Whole entries from the one holding ``start_offset``; ``max_offset`` (exclusive) bounds the data,
        ``max_offset_metadata`` (its position, when the caller knows it) saves translating it again."""
        self._check_open()
        leo = self.log_end_offset
        if start_offset == leo:
            return self.empty_fetch(start_offset)
        if start_offset > leo or start_offset < log_start_offset:
            raise OffsetOutOfRangeError(
                f"received request for offset {start_offset} for partition {self.topic_partition}, but we "
                f"only have log segments in the range {log_start_offset} to {leo}")
        seg = self.segments.floor_segment(start_offset)
        if seg is None:
            raise OffsetOutOfRangeError(f"no segment holds offset {start_offset} of {self.topic_partition}")
        if max_offset is not None and max_offset >= leo:
            max_offset = None
        while seg is not None:
            nxt = self.segments.higher_segment(seg.base_offset)
            max_position = None
            if max_offset is not None:
                if max_offset < seg.base_offset:
                    break
                if nxt is None or max_offset < nxt.base_offset:
                    meta = max_offset_metadata
                    if meta is not None and meta.message_offset == max_offset \
                            and meta.segment_base_offset == seg.base_offset:
                        max_position = meta.relative_position_in_segment
                    else:
                        pos = seg.translate_offset(max_offset, seg.offset_index.lookup(max_offset).position)
                        max_position = seg.size if pos is None else pos.position
            fetch = seg.read(start_offset, max_length, max_position, min_one_message)
            if fetch is not None:
                return fetch
            seg = nxt
        return self.empty_fetch(start_offset)

    def offset_metadata(self, offset: int) -> LogOffsetMetadata:
        """Where ``offset`` sits on disk (for delayed-fetch byte accounting)."""
        if offset >= self.log_end_offset:
            return self.next_offset_metadata if offset == self.log_end_offset else LogOffsetMetadata(offset)
        seg = self.segments.floor_segment(offset)
        if seg is None:
            return LogOffsetMetadata(offset)
        pos = seg.translate_offset(offset, seg.offset_index.lookup(offset).position)
        return LogOffsetMetadata(offset, seg.base_offset, seg.size if pos is None else pos.position)

    # -- truncation and deletion -------------------------------------------------------
    def truncate_to(self, target_offset: int) -> list[LogSegment]:
        """Remove data at and after ``target_offset``; returns the segments scheduled for deletion."""
        self._check_open()
        doomed = [s for s in self.segments if s.base_offset > target_offset]
        self.remove_and_delete_segments(doomed, async_delete=True)
        active = self.active_segment
        active.truncate_to(target_offset)
        active.resize_indexes(self.config.max_index_size)
        end = active.read_next_offset() if active.size else active.base_offset
        self.update_log_end_offset(min(end, target_offset) if active.size else active.base_offset)
        return doomed

    def truncate_fully_and_start_at(self, new_offset: int) -> None:
        self._check_open()
        doomed = list(self.segments)
        self.remove_and_delete_segments(doomed, async_delete=True)  # renamed first: the new files may reuse names
        self.segments.add(self.new_segment(new_offset))
        self.log_end_offset = new_offset
        self.recovery_point = new_offset

    def remove_and_delete_segments(self, segments: list[LogSegment], async_delete: bool) -> None:
        """Drop segments from the map and rename their files ``.deleted``; remove them now or later."""
        for seg in segments:
            self.segments.remove(seg.base_offset)
        for seg in segments:
            try:
                seg.change_file_suffixes("", DELETED_FILE_SUFFIX)
            except FileNotFoundError:
                log.warning("Segment files of %s already gone", seg.log_path)
            if async_delete:
                self.schedule_delete(seg)
            else:
                seg.delete_if_exists()

    def schedule_delete(self, seg: LogSegment) -> None:
        """Remove a (``.deleted``) segment's files after ``file.delete.delay.ms``; its fd stays open till then."""
        with self._pending_lock:
            self.pending_deletes.append((self.now_ms() + self.config.file_delete_delay_ms, seg))

    def delete_pending_files(self, now_ms: int | None = None, force: bool = False) -> int:
        """Remove ``.deleted`` segments whose delay has passed (blocking file work); returns how many."""
        now = self.now_ms() if now_ms is None else now_ms
        with self._pending_lock:
            due = [(t, s) for t, s in self.pending_deletes if force or t <= now]
            if not due:
                return 0
            self.pending_deletes = [(t, s) for t, s in self.pending_deletes if not (force or t <= now)]
        for _, seg in due:
            seg.delete_if_exists()
        return len(due)

    # -- flush and close -------------------------------------------------------------------
    def flush(self, offset: int) -> bool:
        """fsync every segment holding offsets in [recovery_point, offset); returns whether it did."""
        if offset <= self.recovery_point:
            return False
        for seg in self.segments.values(self.recovery_point, offset):
            if not seg.closed:
                seg.flush()
        if offset > self.recovery_point:
            self.recovery_point = offset
        self.last_flush_ms = self.now_ms()
        return True

    def close(self) -> None:
        if self.closed:
            return
        for seg in self.segments:
            seg.close()
        self.closed = True

    def close_handlers(self) -> None:
        for seg in self.segments:
            seg.close_handlers()
        self.closed = True

    def delete_all_files(self) -> None:
        """Close and remove the whole partition directory (blocking)."""
        for seg in self.segments:
            seg.close_handlers()
        self.delete_pending_files(force=True)
        self.segments.clear()
        self.closed = True
        shutil.rmtree(self.dir_path, ignore_errors=True)

    def rename_dir(self, name: str) -> None:
        new_path = os.path.join(os.path.dirname(self.dir_path), name)
        os.rename(self.dir_path, new_path)
        self.dir_path = new_path
        for seg in self.segments:
            seg.dir_path = new_path
            seg.log_path = os.path.join(new_path, os.path.basename(seg.log_path))
            seg.offset_index.path = os.path.join(new_path, os.path.basename(seg.offset_index.path))
            seg.time_index.path = os.path.join(new_path, os.path.basename(seg.time_index.path))
        for _, seg in self.pending_deletes:
            seg.dir_path = new_path
            seg.log_path = os.path.join(new_path, os.path.basename(seg.log_path))
            seg.offset_index.path = os.path.join(new_path, os.path.basename(seg.offset_index.path))
            seg.time_index.path = os.path.join(new_path, os.path.basename(seg.time_index.path))
