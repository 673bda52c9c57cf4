"""Log compaction for ``cleanup.policy=compact`` (and ``compact,delete``).

One pass over a log:

1. The cleanable section runs from the log start to the first uncleanable offset:
   the active segment's base, the high watermark, and the first segment younger
   than ``min.compaction.lag.ms``. The dirty part starts at the checkpointed first
   dirty offset (``cleaner-offset-checkpoint``).
2. A map key -> latest offset is built over the dirty part.
3. Every segment of the cleanable section is rewritten into ``<base>.log.cleaned``:
   a record is kept unless a later offset exists for its key in the map, and
   tombstones are dropped once their segment is older than ``delete.retention.ms``.
   Offsets never change; v2 batches keep their base offset and last offset delta.
   Unchanged batches are copied byte for byte; control batches are kept. The batch
   holding an active producer's last data offset is kept even when none of its
   records is (as an empty v2 batch, header only), so that its sequence and epoch
   survive and producer state rebuilt from the log still knows the producer.
4. The cleaned file is renamed ``.swap``, replaces the old segment in the log (the
   old one becomes ``.deleted``), and loses its suffix. The loader finishes an
   interrupted swap.

``prepare`` does the blocking file work (safe in an executor: it only reads
inactive segments) and ``apply`` swaps the result in on the loop after checking
that the log still holds the same segments.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from kafkapy.common.types import TopicPartition
from kafkapy.protocol.records import (
    MAGIC_V2,
    SimpleRecord,
    TimestampType,
    build_batch,
    build_empty_batch,
    build_message_set,
    iter_batches,
    read_entry,
    records_of,
)

from .checkpoint import CLEANER_OFFSET_CHECKPOINT_FILE, OffsetCheckpointFile
from .segment import CLEANED_FILE_SUFFIX, DELETED_FILE_SUFFIX, SWAP_FILE_SUFFIX, LogSegment

if TYPE_CHECKING:
    from .log import Log
    from .manager import LogManager

log = logging.getLogger("kafka.log.LogCleaner")


@dataclass(slots=True)
class CleanerStats:
    bytes_read: int = 0
    bytes_written: int = 0
    records_read: int = 0
    records_retained: int = 0
    segments: int = 0

    @property
    def bytes_freed(self) -> int:
        return self.bytes_read - self.bytes_written


@dataclass(slots=True)
class CleanResult:
    log: "Log"
    first_dirty_offset: int
    end_offset: int
    # (old segments with their sizes when cleaning started, the cleaned segment replacing them)
    replaced: list[tuple[list[tuple[LogSegment, int]], LogSegment]] = field(default_factory=list)
    stats: CleanerStats = field(default_factory=CleanerStats)


@dataclass(frozen=True, slots=True)
class LogToClean:
    tp: TopicPartition
    first_dirty_offset: int
    first_uncleanable_offset: int
    clean_bytes: int
    dirty_bytes: int

    @property
    def cleanable_ratio(self) -> float:
        total = self.clean_bytes + self.dirty_bytes
        return self.dirty_bytes / total if total else 0.0


def _segment_bytes(seg: LogSegment) -> bytes:
    return os.pread(seg.fd, seg.size, 0)


def first_uncleanable_offset(lg: "Log", now_ms: int) -> int:
    bound = min(lg.active_segment.base_offset, lg.high_watermark)
    lag = lg.config.min_compaction_lag_ms
    if lag > 0:
        for seg in lg.segments:
            if seg.base_offset >= bound:
                break
            if seg.largest_timestamp > now_ms - lag:
                bound = min(bound, seg.base_offset)
                break
    return bound


def cleanable_section(lg: "Log", checkpointed: int | None, now_ms: int) -> LogToClean:
    if checkpointed is not None and checkpointed > lg.log_end_offset:
        checkpointed = None  # the log was truncated below the checkpoint
    first_dirty = lg.log_start_offset if checkpointed is None else max(checkpointed, lg.log_start_offset)
    end = first_uncleanable_offset(lg, now_ms)
    if first_dirty > end:
        first_dirty = end
    clean = dirty = 0
    for seg in lg.segments:
        if seg.base_offset >= end:
            break
        nxt = lg.local.segments.next_segment(seg)
        seg_end = nxt.base_offset if nxt is not None else lg.log_end_offset
        if seg_end <= first_dirty:
            clean += seg.size
        else:
            dirty += seg.size
    return LogToClean(lg.topic_partition, first_dirty, end, clean, dirty)


def build_offset_map(lg: "Log", start: int, end: int) -> dict[bytes, int]:
    """key -> latest offset among records in [start, end)."""
    offsets: dict[bytes, int] = {}
    for seg in lg.local.segments.values(start, end):
        data = _segment_bytes(seg)
        for info in iter_batches(data):
            if info.last_offset < start or info.is_control:
                continue
            if info.base_offset >= end:
                break
            for r in records_of(data, info):
                if start <= r.offset < end and r.key is not None:
                    offsets[r.key] = r.offset
    return offsets


def _rewrite_entry(data, info, kept: list) -> bytes:
    if info.magic == MAGIC_V2:
        lat = info.max_timestamp if info.timestamp_type == TimestampType.LOG_APPEND_TIME else None
        recs = [SimpleRecord(r.key, r.value, r.headers, r.timestamp, r.offset - info.base_offset) for r in kept]
        return build_batch(recs, base_offset=info.base_offset, compression=info.compression,
                           timestamp_type=TimestampType.LOG_APPEND_TIME if lat is not None
                           else TimestampType.CREATE_TIME,
                           log_append_time=lat, producer_id=info.producer_id, producer_epoch=info.producer_epoch,
                           base_sequence=info.base_sequence, is_transactional=info.is_transactional,
                           partition_leader_epoch=info.partition_leader_epoch,
                           last_offset_delta=info.last_offset - info.base_offset)
    first = kept[0].offset
    recs = [SimpleRecord(r.key, r.value, (), r.timestamp, r.offset - first) for r in kept]
    ts_type = info.timestamp_type if info.timestamp_type >= 0 else TimestampType.CREATE_TIME
    return build_message_set(recs, magic=info.magic, compression=info.compression, base_offset=first,
                             timestamp_type=ts_type,
                             log_append_time=info.max_timestamp if ts_type == TimestampType.LOG_APPEND_TIME else None)


def group_segments_by_size(segments: list[LogSegment], max_size: int, max_index_size: int,
                           end_offset: int) -> list[list[LogSegment]]:
    """Runs of consecutive segments that fit together in one segment (size, index size, offset range)."""
    groups: list[list[LogSegment]] = []
    i = 0
    while i < len(segments):
        group = [segments[i]]
        size = segments[i].size
        index_size = segments[i].offset_index.size_in_bytes
        time_size = segments[i].time_index.size_in_bytes
        i += 1
        while i < len(segments):
            nxt = segments[i]
            upper = segments[i + 1].base_offset if i + 1 < len(segments) else end_offset
            if (size + nxt.size > max_size or index_size + nxt.offset_index.size_in_bytes > max_index_size
                    or time_size + nxt.time_index.size_in_bytes > max_index_size
                    or upper - 1 - group[0].base_offset > 0x7FFFFFFF):
                break
            group.append(nxt)
            size += nxt.size
            index_size += nxt.offset_index.size_in_bytes
            time_size += nxt.time_index.size_in_bytes
            i += 1
        groups.append(group)
    return groups


def clean_segments(lg: "Log", group: list[LogSegment], offsets: dict[bytes, int], end: int,
                   horizon_ms: int, stats: CleanerStats,
                   last_records_of_active_producers: dict[int, int] | None = None) -> LogSegment:
    """Write the retained entries of ``group`` into one ``.cleaned`` segment named after the first."""
    cfg = lg.config
    first = group[0]
    prefix = os.path.join(first.dir_path, f"{first.base_offset:020d}")
    for suffix in (".log", ".index", ".timeindex"):
        stale = prefix + suffix + CLEANED_FILE_SUFFIX
        if os.path.exists(stale):
            os.unlink(stale)
    out = LogSegment(first.dir_path, first.base_offset, cfg.index_interval_bytes, cfg.max_index_size,
                     file_suffix=CLEANED_FILE_SUFFIX, active=True)
    try:
        for seg in group:
            _clean_into(out, seg, offsets, end, seg.largest_timestamp < horizon_ms, stats,
                        last_records_of_active_producers or {})
        out.on_become_inactive_segment()
        out.flush()
    except BaseException:
        out.delete_if_exists()
        raise
    stats.bytes_written += out.size
    stats.segments += len(group)
    return out


def _clean_into(out: LogSegment, seg: LogSegment, offsets: dict[bytes, int], end: int, drop_tombstones: bool,
                stats: CleanerStats, last_records_of_active_producers: dict[int, int]) -> None:
    """Filter the entries of ``seg`` into ``out``.

    ``last_records_of_active_producers`` maps a producer id to the last offset of its last data batch:
    that batch is retained, empty if need be (Kafka's BatchRetention.RETAIN_EMPTY).
    """
    data = _segment_bytes(seg)
    stats.bytes_read += len(data)
    for info in iter_batches(data):
        if info.is_control:
            entry = memoryview(data)[info.position:info.end]
            out.append(info.last_offset, info.max_timestamp, info.last_offset, entry)
            continue
        records = list(records_of(data, info))
        stats.records_read += len(records)
        kept = []
        for r in records:
            if r.offset >= end:
                kept.append(r)
                continue
            latest = offsets.get(r.key) if r.key is not None else None
            if latest is not None and latest > r.offset:
                continue
            if r.value is None and drop_tombstones:
                continue
            kept.append(r)
        stats.records_retained += len(kept)
        if not kept:
            # the batch holding a producer's last sequence stays, empty (Kafka's isBatchLastRecordOfProducer)
            if info.magic != MAGIC_V2 or not info.has_producer_id or \
                    last_records_of_active_producers.get(info.producer_id) != info.last_offset:
                continue
            entry = build_empty_batch(info)
            out.append(info.last_offset, info.max_timestamp, info.last_offset, entry)
            continue
        if len(kept) == len(records):
            entry = memoryview(data)[info.position:info.end]
            max_ts, shallow_last = info.max_timestamp, info.last_offset
        else:
            entry = _rewrite_entry(data, info, kept)
            rewritten = read_entry(entry, 0)  # its max timestamp is that of the records kept
            max_ts, shallow_last = rewritten.max_timestamp, rewritten.last_offset
        out.append(shallow_last, max_ts, shallow_last, entry)


class LogCleaner:
    """Compaction driver owned by the LogManager (one log at a time)."""

    def __init__(self, manager: "LogManager", clock_ms: Callable[[], int] | None = None) -> None:
        self.manager = manager
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._in_progress: set[TopicPartition] = set()
        self._checkpoints: dict[TopicPartition, int] = {}
        for d in manager.log_dirs:
            path = os.path.join(d, CLEANER_OFFSET_CHECKPOINT_FILE)
            try:
                self._checkpoints.update(OffsetCheckpointFile(path).read())
            except ValueError as exc:
                log.warning("Ignoring unreadable cleaner checkpoint %s: %s", path, exc)

    def in_progress(self, tp: TopicPartition) -> bool:
        return tp in self._in_progress

    def forget(self, tp: TopicPartition) -> None:
        self._checkpoints.pop(tp, None)

    def maybe_truncate_checkpoint(self, tp: TopicPartition, offset: int) -> None:
        """After a truncation to ``offset`` the dirty section cannot start above it."""
        if tp in self._checkpoints and self._checkpoints[tp] > offset:
            self._checkpoints[tp] = offset

    def first_dirty_offset(self, tp: TopicPartition) -> int | None:
        return self._checkpoints.get(tp)

    def checkpoint_all(self) -> None:
        by_dir: dict[str, dict[TopicPartition, int]] = {d: {} for d in self.manager.log_dirs}
        for tp, off in self._checkpoints.items():
            d = self.manager.log_dir_of(tp)
            if d is not None:
                by_dir[d][tp] = off
        for d, entries in by_dir.items():
            OffsetCheckpointFile(os.path.join(d, CLEANER_OFFSET_CHECKPOINT_FILE)).write(entries)

    def grab_filthiest_log(self, now_ms: int) -> tuple["Log", LogToClean] | None:
        best = None
        for lg in self.manager.all_logs():
            if not lg.config.compact or lg.topic_partition in self._in_progress:
                continue
            section = cleanable_section(lg, self._checkpoints.get(lg.topic_partition), now_ms)
            if section.dirty_bytes == 0:
                continue
            forced = False
            if lg.config.max_compaction_lag_ms < 2**63 - 1:
                for seg in lg.segments:
                    if seg.base_offset >= section.first_uncleanable_offset:
                        break
                    if seg.base_offset >= section.first_dirty_offset and \
                            now_ms - seg.largest_timestamp > lg.config.max_compaction_lag_ms:
                        forced = True
                        break
            if not forced and section.cleanable_ratio < lg.config.min_cleanable_dirty_ratio:
                continue
            if best is None or section.cleanable_ratio > best[1].cleanable_ratio:
                best = (lg, section)
        return best

    def prepare(self, lg: "Log", now_ms: int | None = None,
                last_records_of_active_producers: dict[int, int] | None = None) -> CleanResult | None:
        """Build cleaned copies of the cleanable segments (*blocking*, reads inactive segments only).

        ``last_records_of_active_producers`` (``Log.last_records_of_active_producers()``) must be taken on
        the loop when ``prepare`` runs elsewhere; without it, it is taken here.
        """
        now = self._clock_ms() if now_ms is None else now_ms
        section = cleanable_section(lg, self._checkpoints.get(lg.topic_partition), now)
        end = section.first_uncleanable_offset
        if end <= section.first_dirty_offset or section.dirty_bytes == 0:
            return None
        if last_records_of_active_producers is None:
            last_records_of_active_producers = lg.last_records_of_active_producers()
        self._in_progress.add(lg.topic_partition)
        try:
            offsets = build_offset_map(lg, section.first_dirty_offset, end)
            result = CleanResult(lg, section.first_dirty_offset, end)
            horizon = now - lg.config.delete_retention_ms
            segs = [seg for seg in lg.local.segments.values(lg.log_start_offset, end) if seg.base_offset < end]
            nxt = lg.local.segments.higher_segment(segs[-1].base_offset) if segs else None
            upper = nxt.base_offset if nxt is not None else lg.log_end_offset
            for group in group_segments_by_size(segs, lg.config.segment_bytes, lg.config.max_index_size, upper):
                cleaned = clean_segments(lg, group, offsets, end, horizon, result.stats,
                                         last_records_of_active_producers)
                result.replaced.append(([(seg, seg.size) for seg in group], cleaned))
            return result
        except BaseException:
            self._in_progress.discard(lg.topic_partition)
            raise

    def apply(self, result: CleanResult) -> bool:
        """Swap cleaned segments into the log (on the loop); False if the log changed meanwhile."""
        lg = result.log
        tp = lg.topic_partition
        try:
            segments = lg.local.segments
            still_there = self.manager.get_log(tp) is lg and not lg.local.closed and all(
                old in segments and old.size == size for olds, _ in result.replaced for old, size in olds)
            if not still_there:
                log.info("Log %s changed during cleaning: discarding the cleaned segments", lg.name)
                for _, cleaned in result.replaced:
                    cleaned.delete_if_exists()
                return False
            for olds, cleaned in result.replaced:
                # .cleaned -> .swap, old files -> .deleted, .swap -> live: a crash in between is finished
                # by the loader, which completes the swap.
                cleaned.change_file_suffixes(CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX)
                for old, _ in olds:
                    segments.remove(old.base_offset)
                    old.change_file_suffixes("", DELETED_FILE_SUFFIX)
                    lg.local.schedule_delete(old)
                cleaned.change_file_suffixes(SWAP_FILE_SUFFIX, "")
                segments.add(cleaned)
            lg.invalidate_offset_metadata()
            self._checkpoints[tp] = result.end_offset
            s = result.stats
            log.info("Cleaned log %s (offsets %d..%d): %d segments, %d bytes read, %d written, "
                     "%d of %d records retained", lg.name, result.first_dirty_offset, result.end_offset,
                     s.segments, s.bytes_read, s.bytes_written, s.records_retained, s.records_read)
            return True
        finally:
            self._in_progress.discard(tp)

    def discard(self, result: CleanResult) -> None:
        """Drop a prepared result that will not be applied."""
        for _, cleaned in result.replaced:
            cleaned.delete_if_exists()
        self._in_progress.discard(result.log.topic_partition)

    def clean_log(self, lg: "Log", now_ms: int | None = None) -> CleanerStats | None:
        result = self.prepare(lg, now_ms)
        if result is None:
            return None
        self.apply(result)
        return result.stats

    def clean_one(self, now_ms: int | None = None) -> int:
        """Clean the filthiest eligible log; returns the bytes freed (0 when nothing was cleaned)."""
        now = self._clock_ms() if now_ms is None else now_ms
        choice = self.grab_filthiest_log(now)
        if choice is None:
            return 0
        stats = self.clean_log(choice[0], now)
        if stats is None:
            return 0
        self.checkpoint_all()
        return stats.bytes_freed
