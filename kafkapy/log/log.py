"""Log: one partition's replica log (Kafka's ``Log``).

Adds to ``LocalLog`` the state Kafka keeps per log: log start offset, high
watermark, leader epoch cache, record validation and offset assignment,
retention, and timestamp lookups. Appends and reads are synchronous and meant to
run on the event loop; ``flush``, ``delete_pending_files`` and ``delete`` block
on the disk and are what the broker runs in its executor.
"""
from __future__ import annotations

import logging
import os
import struct
import time
from dataclasses import dataclass
from typing import Callable

from kafkapy.common.native import native_enabled
from kafkapy.common.types import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, NO_TIMESTAMP, TopicPartition
from kafkapy.protocol.records import RecordsError, crc32c, read_entry, records_of

from .checkpoint import LEADER_EPOCH_CHECKPOINT_FILE, LeaderEpochCheckpointFile
from .config import LONG_MAX, LogConfig
from .epoch_cache import UNDEFINED_EPOCH, LeaderEpochFileCache
from .errors import CheckpointError, CorruptRecordError, OffsetOutOfRangeError, RecordBatchTooLargeError
from .loader import load_segments
from .local_log import LocalLog, parse_topic_partition_name
from .producer_state import (
    DEFAULT_PRODUCER_ID_EXPIRATION_MS,
    ProducerBatch,
    ProducerStateManager,
    increment_sequence,
    producer_batches_in_file,
)
from .segment import FetchDataInfo, LogOffsetMetadata, LogSegment
from .validator import COMPRESSION_CODECS, LogAppendInfo, analyze_follower_records, validate_and_assign_offsets

# base offset, length, magic, crc, attributes, last offset delta, max timestamp, producer id,
# record count (partition leader epoch, first timestamp, producer epoch and base sequence skipped;
# batches with a producer id take _try_fast_idempotent_append, which checks the producer state)
_UNPACK_V2_FIELDS = struct.Struct(">qi4xbIhi8xqq6xi").unpack_from
_PACK_PATCH = struct.Struct(">qii").pack_into  # base_offset, batch_length (unchanged), partition_leader_epoch
_INT32_MAX = 0x7FFFFFFF
_new_tuple = tuple.__new__
_crc32c = crc32c
_UNPACK_PRODUCER = struct.Struct(">hi").unpack_from   # producer epoch and base sequence, at byte 51

# The C twin of the inline fast path plus LogSegment.append_armed (src/append_module.c), when built.
_native_append_v2 = None
if native_enabled():
    try:
        from ._append import append_v2 as _native_append_v2
    except ImportError:  # not built: the Python fast path below does the same
        _native_append_v2 = None

log = logging.getLogger(__name__)


class _Prefixed(logging.LoggerAdapter):
    """Prefixes every message with the log's identity, as Kafka's loggers do."""

    def process(self, msg, kwargs):
        return f"{self.extra['prefix']}{msg}", kwargs


@dataclass(frozen=True, slots=True)
class TimestampAndOffset:
    timestamp: int
    offset: int
    leader_epoch: int = UNDEFINED_EPOCH


def _first_record_at(data: bytes, timestamp: int, start_offset: int) -> tuple[int, int] | None:
    info = read_entry(data, 0)
    if info is None:
        return None
    try:
        for r in records_of(data, info):
            if r.timestamp >= timestamp and r.offset >= start_offset:
                return r.timestamp, r.offset
    except RecordsError as exc:
        raise CorruptRecordError(f"cannot read the records of the entry at offset {info.base_offset}: {exc}") \
            from None
    return None


class Log:
    """The replica log of one partition, stored in ``dir_path`` (``<topic>-<partition>``)."""

    def __init__(self, dir_path: str, config: LogConfig, *, log_start_offset: int = 0, recovery_point: int = 0,
                 had_clean_shutdown: bool = True, high_watermark: int | None = None,
                 clock_ms: Callable[[], int] | None = None, topic_partition: TopicPartition | None = None,
                 sync_checkpoints: bool = True,
                 producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS) -> None:
        os.makedirs(dir_path, exist_ok=True)
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        tp = topic_partition or parse_topic_partition_name(os.path.basename(dir_path))
        self.topic_partition = tp
        self.logger = _Prefixed(log, {"prefix": f"[Log partition={tp}, dir={os.path.dirname(dir_path)}] "})
        self.config = config
        start = time.monotonic()
        epoch_file = LeaderEpochCheckpointFile(os.path.join(dir_path, LEADER_EPOCH_CHECKPOINT_FILE))
        rebuild_epochs = False
        try:
            self.leader_epoch_cache = LeaderEpochFileCache(epoch_file, lambda: self.log_end_offset,
                                                           sync=sync_checkpoints)
        except CheckpointError as exc:
            self.logger.warning("Unreadable leader epoch checkpoint of %s (%s): rebuilding it from the log",
                        os.path.basename(dir_path), exc)
            os.unlink(epoch_file.path)
            epoch_file = LeaderEpochCheckpointFile(epoch_file.path)
            self.leader_epoch_cache = LeaderEpochFileCache(epoch_file, lambda: self.log_end_offset,
                                                           sync=sync_checkpoints)
            rebuild_epochs = True
        segments, loaded = load_segments(dir_path, tp, config, log_start_offset, recovery_point,
                                         had_clean_shutdown, self.leader_epoch_cache, self._clock_ms())
        if rebuild_epochs:
            cache = self.leader_epoch_cache
            cache.clear_and_flush()
            for seg in segments:
                for h in seg.headers():
                    if h.magic == 2 and h.partition_leader_epoch > cache.latest_epoch:
                        cache.assign(h.partition_leader_epoch, h.base_offset)
        self.local = LocalLog(dir_path, config, segments, loaded.recovery_point, loaded.next_offset_metadata,
                              tp, self._clock_ms)
        self._log_start_offset = loaded.log_start_offset
        hw = loaded.next_offset_metadata.message_offset if high_watermark is None else high_watermark
        self._high_watermark = min(max(hw, self._log_start_offset), self.log_end_offset)
        self._compute_fast_path()
        self._offset_metadata_cache: LogOffsetMetadata | None = None
        self.producer_state = ProducerStateManager(tp, lambda: self.local.dir_path, producer_id_expiration_ms)
        self._load_producer_state(recovery_point, had_clean_shutdown)
        self.local.roll_listener = self._on_roll
        self.logger.info("Loaded log %s with %d segments, log start offset %d and log end offset %d in %.0f ms"
                 "%s", self.name, len(segments), self._log_start_offset, self.log_end_offset,
                 (time.monotonic() - start) * 1000,
                 f" (recovered {loaded.recovered_segments} segments, truncated {loaded.truncated_bytes} bytes)"
                 if loaded.recovered_segments else "")

    # -- state -----------------------------------------------------------------------------
    @property
    def dir_path(self) -> str:
        return self.local.dir_path

    @property
    def name(self) -> str:
        return os.path.basename(self.local.dir_path)

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self.local.log_end_offset

    @property
    def log_end_offset_metadata(self) -> LogOffsetMetadata:
        return self.local.next_offset_metadata

    @property
    def high_watermark(self) -> int:
        return self._high_watermark

    @property
    def last_stable_offset(self) -> int:
        """Without transaction tracking the last stable offset is the high watermark."""
        return self._high_watermark

    @property
    def recovery_point(self) -> int:
        return self.local.recovery_point

    @property
    def size_in_bytes(self) -> int:
        return self.local.size_in_bytes

    @property
    def num_segments(self) -> int:
        return len(self.local.segments)

    @property
    def segments(self) -> list[LogSegment]:
        return list(self.local.segments)

    @property
    def active_segment(self) -> LogSegment:
        return self.local.active_segment

    @property
    def latest_epoch(self) -> int:
        return self.leader_epoch_cache.latest_epoch

    @property
    def last_flush_ms(self) -> int:
        return self.local.last_flush_ms

    @property
    def unflushed_messages(self) -> int:
        return self.local.unflushed_messages

    def update_config(self, config: LogConfig) -> None:
        self.config = config
        self.local.update_config(config)
        self._compute_fast_path()
        active = self.local.segments.last
        if active is not None:
            active.disarm_fast_append()   # segment.bytes / segment.ms may have changed

    def update_high_watermark(self, hw: int) -> int:
        """Set the high watermark (clamped to [log start offset, log end offset]); returns it."""
        self._high_watermark = min(max(hw, self._log_start_offset), self.log_end_offset)
        return self._high_watermark

    def maybe_increment_high_watermark(self, hw: int) -> bool:
        if hw > self._high_watermark:
            self.update_high_watermark(hw)
            return True
        return False

    def offset_metadata(self, offset: int) -> LogOffsetMetadata:
        """Where ``offset`` sits on disk; the last answer is cached (delayed fetches ask for the HW often)."""
        cached = self._offset_metadata_cache
        if cached is not None and cached.message_offset == offset:
            return cached
        meta = self.local.offset_metadata(offset)
        if offset < self.local.log_end_offset:
            self._offset_metadata_cache = meta
        return meta

    def invalidate_offset_metadata(self) -> None:
        """Positions moved (truncation, compaction): forget the cached offset metadata."""
        self._offset_metadata_cache = None

    # -- appends ----------------------------------------------------------------------------
    def _compute_fast_path(self) -> None:
        c = self.config
        self._fast_path = (c.record_version == 2 and not c.log_append_time and not c.compact
                           and c.message_timestamp_difference_max_ms >= LONG_MAX)
        self._fast_codec = -1 if c.compression_type == "producer" else COMPRESSION_CODECS[c.compression_type]
        # codec values (attributes & 7) a batch may carry on the fast path, control bit (0x20) clear
        codecs = range(5) if self._fast_codec < 0 else (self._fast_codec,)
        # bit x set: attribute bits x allowed (the Python fast paths and the C append read the same masks)
        self._fast_mask = sum(1 << x for x in codecs)
        self._fast_mask_no_zstd = sum(1 << x for x in codecs if x != 4)
        self._fast_max_size = min(c.max_message_bytes, c.segment_bytes)

    def append_as_leader(self, records, leader_epoch: int, require_single_v2_batch: bool = False,
                         allow_zstd: bool = True, from_client: bool = True) -> LogAppendInfo:
        """Validate ``records`` (a writable buffer, patched in place), assign offsets and append.

        The flags may be given by position (no ``*``): the produce path does, since binding keyword
        arguments costs CPython more than the rest of this call's Python work."""
        if self._fast_path and from_client:
            # The common produce, inline: one v2 batch stored as it came. Header checks, CRC-32C, two
            # patched fields, one write. Anything unusual falls through to the general path below.
            # The C helper does all of it in one call when the segment is armed for the append and
            # the epoch is not new; None means it changed nothing and the Python code decides.
            if _native_append_v2 is not None and leader_epoch <= self.leader_epoch_cache.latest_epoch:
                local = self.local
                info = _native_append_v2(local.segments.last, records, local.log_end_offset, leader_epoch,
                                         self._fast_mask if allow_zstd else self._fast_mask_no_zstd,
                                         self._fast_max_size, self._log_start_offset, LogAppendInfo)
                if info is not None:
                    local.log_end_offset = info[1] + 1
                    return info
            view = records if records.__class__ is memoryview else memoryview(records)
            n = len(view)
            if 61 <= n <= self._fast_max_size and not view.readonly:
                base, length, magic, crc, attrs, lod, max_ts, pid, count = _UNPACK_V2_FIELDS(view, 0)
                # attrs & 0x27: codec and control bit; the allowed values are precomputed per config
                if (not base and length + 12 == n and magic == 2 and 0 < count == lod + 1
                        and (self._fast_mask if allow_zstd else self._fast_mask_no_zstd) >> (attrs & 0x27) & 1
                        and pid < 0 and _crc32c(view[21:]) == crc):
                    first = self._store_checked_batch(view, n, length, lod, max_ts, leader_epoch)
                    last = first + lod
                    codec = attrs & 7
                    # tuple.__new__ skips the NamedTuple's Python-level constructor (same value, less time)
                    return _new_tuple(LogAppendInfo, (
                        first, last, max_ts, last, NO_TIMESTAMP, self._log_start_offset, count, n, 1, codec,
                        codec, True, leader_epoch, ((leader_epoch, first),) if leader_epoch >= 0 else ()))
            info = self._try_fast_idempotent_append(view, leader_epoch, allow_zstd)
            if info is not None:
                return info
        now = self._clock_ms()
        pending: list[tuple[int, int, int, int, int]] = []

        def check_producers(batches) -> LogAppendInfo | None:
            return self._check_producer_batches(batches, from_client, pending)

        result = validate_and_assign_offsets(
            records, self.log_end_offset, now, self.config, leader_epoch,
            require_single_v2_batch=require_single_v2_batch, allow_zstd=allow_zstd,
            log_start_offset=self._log_start_offset, from_client=from_client, before_assign=check_producers)
        info = result.info
        if info.shallow_count == 0 or not len(result.records):
            return info   # nothing to write, or a duplicate (its original offsets)
        self._append(result.records, info, info.first_offset, now)
        if pending:
            self._update_producers_after_leader_append(pending, info)
        return info

    def _store_checked_batch(self, view: memoryview, n: int, length: int, lod: int, max_ts: int,
                             leader_epoch: int) -> int:
        """Append one batch the fast paths checked: offsets and epoch patched in place, one write; returns
        its first offset."""
        local = self.local
        first = local.log_end_offset
        last = first + lod
        seg = local.segments.last
        _PACK_PATCH(view, 0, first, length, leader_epoch)
        if leader_epoch > self.leader_epoch_cache.latest_epoch:
            self.leader_epoch_cache.assign(leader_epoch, first)
        if seg.size + n <= seg.fast_limit_size and last <= seg.fast_limit_offset \
                and max_ts <= seg.fast_limit_timestamp:
            seg.append_armed(last, max_ts, view, n)
        else:
            self._append_and_arm(seg, view, n, first, last, max_ts)
        local.log_end_offset = last + 1
        return first

    def _append_and_arm(self, seg: LogSegment, view: memoryview, n: int, first: int, last: int,
                        max_ts: int) -> None:
        """The fast path outside the limits armed by the last roll decision: decide again, append, re-arm."""
        c = self.config
        if seg.should_roll(c.segment_bytes, c.segment_ms, n, max_ts, last, self._clock_ms()):
            seg = self.local.roll(first)
        seg.append(last, max_ts, last, view)
        seg.arm_fast_append(c.segment_bytes, c.segment_ms)

    # -- producer state (idempotent producers) ------------------------------------------------
    def _try_fast_idempotent_append(self, view: memoryview, leader_epoch: int,
                                    allow_zstd: bool) -> LogAppendInfo | None:
        """The fast path's twin for one plain batch of an idempotent producer: the same header checks and
        CRC, then the producer checks (a duplicate answers the original offsets), the same append, and
        the producer state update. None sends the batch to the general path."""
        n = len(view)
        if n < 61 or n > self._fast_max_size or view.readonly:
            return None
        base, length, magic, crc, attrs, lod, max_ts, pid, count = _UNPACK_V2_FIELDS(view, 0)
        # attrs & 0x37: codec, transactional and control bits (only plain codecs are allowed here)
        if (pid < 0 or base or length + 12 != n or magic != 2 or not 0 < count == lod + 1
                or not (self._fast_mask if allow_zstd else self._fast_mask_no_zstd) >> (attrs & 0x37) & 1):
            return None
        epoch, bseq = _UNPACK_PRODUCER(view, 51)
        if bseq < 0 or _crc32c(view[21:]) != crc:
            return None
        codec = attrs & 7
        dup = self.producer_state.check_batch(pid, epoch, bseq, increment_sequence(bseq, lod))
        if dup is not None:
            return LogAppendInfo(dup.first_offset, dup.last_offset, dup.timestamp, dup.last_offset, dup.timestamp,
                                 self._log_start_offset, count, n, 1, codec, codec)
        first = self._store_checked_batch(view, n, length, lod, max_ts, leader_epoch)
        last = first + lod
        self.producer_state.update_leader_batch(pid, epoch, bseq, first, last, max_ts)
        return _new_tuple(LogAppendInfo, (
            first, last, max_ts, last, NO_TIMESTAMP, self._log_start_offset, count, n, 1, codec, codec, True,
            leader_epoch, ((leader_epoch, first),) if leader_epoch >= 0 else ()))

    def _check_producer_batches(self, batches, from_client: bool,
                                pending: list[tuple[int, int, int, int, int]]) -> LogAppendInfo | None:
        """Before offsets are assigned: fence, order and de-duplicate the batches with a producer id.

        Fills ``pending`` with (index, producer id, epoch, base sequence, max timestamp) of each;
        returns the info of the original append when a batch duplicates a retained one.
        """
        staged: dict[int, tuple[int, int]] = {}
        ps = self.producer_state
        for i, b in enumerate(batches):
            pid = b.producer_id
            if pid < 0 or b.magic != 2 or b.attributes & 0x20:
                continue
            if from_client:
                lod = b.last_offset - b.base_offset
                dup = ps.check_batch(pid, b.producer_epoch, b.base_sequence,
                                     increment_sequence(b.base_sequence, lod), staged)
                if dup is not None:
                    self.logger.debug("Duplicate batch of producer %d (epoch %d, sequences %d-%d): answering with "
                                      "offsets %d-%d", pid, b.producer_epoch, dup.first_seq, dup.last_seq,
                                      dup.first_offset, dup.last_offset)
                    return LogAppendInfo(dup.first_offset, dup.last_offset, dup.timestamp, dup.last_offset,
                                         dup.timestamp, self._log_start_offset, lod + 1, b.size, 1,
                                         b.attributes & 7, b.attributes & 7)
            pending.append((i, pid, b.producer_epoch, b.base_sequence, b.max_timestamp))
        return None

    def _update_producers_after_leader_append(self, pending: list[tuple[int, int, int, int, int]],
                                              info: LogAppendInfo) -> None:
        append_time = info.log_append_time
        ps = self.producer_state
        if len(pending) == 1 and info.shallow_count == 1:
            _, pid, epoch, seq, ts = pending[0]
            ps.update(ProducerBatch(pid, epoch, seq, info.first_offset, info.last_offset,
                                    append_time if append_time != NO_TIMESTAMP else ts))
            return
        # several batches (Produce v0-v2): recover each batch's offsets from the stored bytes
        for b in self._producer_batches_from(info.first_offset, info.last_offset + 1):
            ps.update(b)

    def _producer_batches_from(self, start_offset: int, end_offset: int | None = None):
        """Producer batches stored at offsets >= ``start_offset`` (and below ``end_offset``), from the files."""
        for seg in self.local.segments:
            nxt = self.local.segments.higher_segment(seg.base_offset)
            if nxt is not None and nxt.base_offset <= start_offset:
                continue
            if end_offset is not None and seg.base_offset >= end_offset:
                break
            start_pos = 0
            if seg.base_offset < start_offset:
                start_pos = seg.offset_index.lookup(start_offset).position
            for b in producer_batches_in_file(seg.fd, start_pos, seg.size, start_offset):
                if end_offset is not None and b.first_offset >= end_offset:
                    return
                yield b

    def _load_producer_state(self, recovery_point: int, had_clean_shutdown: bool) -> None:
        """Latest snapshot at or below the recovery point (the log end after a clean shutdown), then replay."""
        ps = self.producer_state
        leo = self.log_end_offset
        ps.delete_snapshots_above(leo)
        first = self.local.segments.first_segment
        if first is not None:
            ps.delete_snapshots_below(first.base_offset)
        latest = ps.latest_snapshot_offset()
        if latest is None and had_clean_shutdown:
            # No snapshot from a clean shutdown: a log written before producer state existed (Kafka skips the
            # full scan the same way). Start empty and snapshot the log end.
            ps.take_snapshot(leo, sync=False)
            return
        limit = leo if had_clean_shutdown else min(recovery_point, leo)
        loaded = ps.load_latest_snapshot(limit, self._clock_ms())
        start = loaded if loaded is not None else self._log_start_offset
        if start < leo:
            replayed = 0
            for b in self._producer_batches_from(start):
                ps.update(b)
                replayed += 1
            self.logger.info("Producer state of %s rebuilt from %s (offset %d) with %d batches to offset %d",
                             self.name, "a snapshot" if loaded is not None else "the log start", start, replayed,
                             leo)
        ps.remove_expired_producers(self._clock_ms())

    def _reload_producer_state(self) -> None:
        """After a truncation: trim the retained batches when that is exact, else the newest snapshot at or
        below the new log end and a replay of the batch headers after it."""
        ps = self.producer_state
        leo = self.log_end_offset
        ps.delete_snapshots_above(leo)
        if ps.truncate_in_memory(leo):
            return
        loaded = ps.load_latest_snapshot(leo)
        start = loaded if loaded is not None else self._log_start_offset
        if start < leo:
            for b in self._producer_batches_from(start):
                ps.update(b)

    def _on_roll(self, new_offset: int) -> None:
        # The state covers every offset below the new segment; no fsync (a torn snapshot fails its CRC
        # and recovery falls back to an older one).
        self.producer_state.take_snapshot(new_offset, sync=False)

    def last_records_of_active_producers(self) -> dict[int, int]:
        """Producer id -> last offset of its last data batch, for every producer with one (on the loop).

        The cleaner keeps these batches, empty if need be, so that their sequence numbers survive compaction.
        """
        return {pid: e.batches[-1].last_offset for pid, e in self.producer_state.producers.items() if e.batches}

    def remove_expired_producers(self, now_ms: int | None = None) -> int:
        """Forget producers idle for ``producer.id.expiration.ms`` (the periodic check)."""
        return self.producer_state.remove_expired_producers(self._clock_ms() if now_ms is None else now_ms)

    def take_producer_snapshot(self, sync: bool = True) -> bool:
        return self.producer_state.take_snapshot(self.log_end_offset, sync)

    def append_as_follower(self, records) -> LogAppendInfo:
        """Append entries that already carry offsets and epochs (replication); offsets must increase.

        The producer state learns the batches without checks, so a new leader recognises re-sends.
        """
        producer_batches: list = []
        view, info = analyze_follower_records(records, self.log_end_offset, self.config.max_message_bytes,
                                              self._log_start_offset, producer_batches)
        if info.shallow_count == 0:
            return info
        first = read_entry(view, 0)
        roll_base = info.first_offset if first is not None and (first.magic == 2 or not first.is_compressed) \
            else self.log_end_offset
        self._append(view, info, roll_base, self._clock_ms())
        if producer_batches:
            update = self.producer_state.update
            for b in producer_batches:
                update(ProducerBatch(b.producer_id, b.producer_epoch, b.base_sequence, b.base_offset,
                                     b.last_offset, b.max_timestamp))
        return info

    def _append(self, data, info: LogAppendInfo, roll_base: int, now: int) -> None:
        size = len(data)
        if size > self.config.segment_bytes:
            raise RecordBatchTooLargeError(
                f"message batch size is {size} bytes in append to partition {self.topic_partition}, which "
                f"exceeds the maximum configured segment size of {self.config.segment_bytes}")
        for epoch, start in info.epoch_starts:
            if epoch > self.leader_epoch_cache.latest_epoch:
                self.leader_epoch_cache.assign(epoch, start)
        seg = self.local.active_segment
        if seg.should_roll(self.config.segment_bytes, self.config.segment_ms, size, info.max_timestamp,
                           info.last_offset, now):
            self.local.roll(roll_base)
        self.local.append(info.last_offset, info.max_timestamp, info.offset_of_max_timestamp, data)

    def roll(self) -> LogSegment:
        return self.local.roll()

    def maybe_assign_epoch_start_offset(self, leader_epoch: int, start_offset: int, flush: bool = True) -> None:
        """``flush=False``: the leader-epoch checkpoint is written by `pending_epoch_checkpoint`'s function."""
        self.leader_epoch_cache.assign(leader_epoch, start_offset, flush)

    def pending_epoch_checkpoint(self) -> Callable[[], None] | None:
        """The write of a deferred leader-epoch checkpoint change, to run off the event loop (or None)."""
        return self.leader_epoch_cache.pending_write()

    def end_offset_for_epoch(self, leader_epoch: int) -> tuple[int, int]:
        return self.leader_epoch_cache.end_offset_for(leader_epoch)

    # -- reads ------------------------------------------------------------------------------
    def read(self, start_offset: int, max_length: int, max_offset: int | None = None,
             min_one_message: bool = True) -> FetchDataInfo:
        """Whole entries from the one holding ``start_offset``, within ``max_length`` bytes and below ``max_offset``.

        The first entry is returned whole even beyond ``max_length`` when ``min_one_message``.
        Raises OffsetOutOfRangeError outside [log start offset, log end offset].
        """
        meta = None
        if max_offset is not None and max_offset < self.local.log_end_offset:
            meta = self.offset_metadata(max_offset)  # the HW's position, cached between fetches
        return self.local.read(start_offset, max_length, max_offset, min_one_message, self._log_start_offset,
                               meta)

    def fetch_offset_by_timestamp(self, target_timestamp: int) -> TimestampAndOffset | None:
        """ListOffsets: earliest (-2), latest (-1), or the first offset with timestamp >= target."""
        if target_timestamp == EARLIEST_TIMESTAMP:
            return TimestampAndOffset(NO_TIMESTAMP, self._log_start_offset,
                                      self.leader_epoch_cache.epoch_for_offset(self._log_start_offset))
        if target_timestamp == LATEST_TIMESTAMP:
            return TimestampAndOffset(NO_TIMESTAMP, self.log_end_offset, self.leader_epoch_cache.latest_epoch)
        for seg in self.local.segments:
            if seg.size == 0 or seg.largest_timestamp < target_timestamp:
                continue
            found = seg.find_offset_by_timestamp(target_timestamp, self._log_start_offset, _first_record_at)
            if found is not None:
                ts, offset = found
                return TimestampAndOffset(ts, offset, self.leader_epoch_cache.epoch_for_offset(offset))
        return None

    # -- truncation -----------------------------------------------------------------------
    def truncate_to(self, target_offset: int) -> bool:
        """Remove every offset >= ``target_offset`` (follower truncation); returns whether anything went."""
        if target_offset < 0:
            raise ValueError(f"cannot truncate partition {self.topic_partition} to a negative offset "
                             f"({target_offset})")
        if target_offset >= self.log_end_offset:
            return False
        first = self.local.segments.first_segment
        self.logger.info("Truncating %s to offset %d", self.name, target_offset)
        if first is not None and first.base_offset > target_offset:
            self.truncate_fully_and_start_at(target_offset)
            return True
        self.local.truncate_to(target_offset)
        self._offset_metadata_cache = None
        self.leader_epoch_cache.truncate_from_end(self.log_end_offset)
        self._log_start_offset = min(self._log_start_offset, self.log_end_offset)
        self._high_watermark = min(self._high_watermark, self.log_end_offset)
        self._reload_producer_state()
        return True

    def truncate_fully_and_start_at(self, new_offset: int) -> None:
        self.logger.info("Truncating %s fully and starting at offset %d", self.name, new_offset)
        self.local.truncate_fully_and_start_at(new_offset)
        self._offset_metadata_cache = None
        self.leader_epoch_cache.clear_and_flush()
        self._log_start_offset = new_offset
        self._high_watermark = new_offset
        self.producer_state.clear()
        self.producer_state.delete_snapshots_above(-1)

    # -- log start offset and retention --------------------------------------------------
    def maybe_increment_log_start_offset(self, new_log_start_offset: int, reason: str = "") -> bool:
        if new_log_start_offset > self._high_watermark:
            raise OffsetOutOfRangeError(
                f"cannot increment the log start offset of {self.topic_partition} to {new_log_start_offset}: "
                f"it is above the high watermark {self._high_watermark}")
        if new_log_start_offset <= self._log_start_offset:
            return False
        self.logger.info("Incremented log start offset of %s to %d%s", self.name, new_log_start_offset,
                 f" due to {reason}" if reason else "")
        self._log_start_offset = new_log_start_offset
        self.leader_epoch_cache.truncate_from_start(new_log_start_offset)
        return True

    def delete_records_before(self, offset: int) -> int:
        """DeleteRecords: advance the log start offset (segments go with the next retention check)."""
        self.maybe_increment_log_start_offset(offset, "delete records")
        return self._log_start_offset

    def _deletable_segments(self, predicate: Callable[[LogSegment, LogSegment | None], bool]) -> list[LogSegment]:
        out: list[LogSegment] = []
        segs = list(self.local.segments)
        hw = self._high_watermark
        for i, seg in enumerate(segs):
            nxt = segs[i + 1] if i + 1 < len(segs) else None
            upper = nxt.base_offset if nxt is not None else self.log_end_offset
            last_and_empty = nxt is None and seg.size == 0
            if hw >= upper and not last_and_empty and predicate(seg, nxt):
                out.append(seg)
            else:
                break
        return out

    def _delete_segments(self, deletable: list[LogSegment], reason: str) -> int:
        if not deletable:
            return 0
        if len(deletable) == len(self.local.segments):
            self.local.roll()
        for seg in deletable:
            self.logger.info("Deleting segment %s of %s: %s", seg.base_offset, self.name, reason)
        self.local.remove_and_delete_segments(deletable, async_delete=True)
        first = self.local.segments.first_segment
        assert first is not None
        if first.base_offset > self._log_start_offset:
            self._log_start_offset = first.base_offset
            self.leader_epoch_cache.truncate_from_start(first.base_offset)
        # The deleted segments' snapshots go with them; the producers stay known (as in Kafka 2.8).
        self.producer_state.delete_snapshots_below(first.base_offset)
        return len(deletable)

    def delete_old_segments(self, now_ms: int | None = None) -> int:
        """Apply retention (time, size, log start offset); returns the number of segments deleted."""
        now = self._clock_ms() if now_ms is None else now_ms
        deleted = 0
        cfg = self.config
        if cfg.delete and cfg.retention_ms >= 0:
            retention_ms = cfg.retention_ms
            deleted += self._delete_segments(
                self._deletable_segments(lambda s, _n: now - s.largest_timestamp > retention_ms),
                f"retention time {retention_ms} ms breached")
        if cfg.delete and cfg.retention_bytes >= 0:
            diff = self.size_in_bytes - cfg.retention_bytes
            if diff > 0:
                state = {"diff": diff}

                def size_breached(seg: LogSegment, _n) -> bool:
                    if state["diff"] - seg.size >= 0:
                        state["diff"] -= seg.size
                        return True
                    return False
                deleted += self._delete_segments(self._deletable_segments(size_breached),
                                                 f"retention size {cfg.retention_bytes} breached")
        start = self._log_start_offset
        deleted += self._delete_segments(
            self._deletable_segments(lambda s, n: n is not None and n.base_offset <= start),
            f"log start offset {start} breached")
        return deleted

    def delete_pending_files(self, now_ms: int | None = None) -> int:
        return self.local.delete_pending_files(now_ms)

    # -- flush, close, delete --------------------------------------------------------------
    def flush(self, offset: int | None = None) -> bool:
        """fsync segments up to ``offset`` (default: the log end) and move the recovery point."""
        return self.local.flush(self.log_end_offset if offset is None else offset)

    def close(self) -> None:
        if not self.local.closed:
            pending = self.pending_epoch_checkpoint()
            if pending is not None:
                pending()
            try:
                self.take_producer_snapshot(sync=True)
            except OSError as exc:
                self.logger.warning("Could not write the producer snapshot of %s at close: %s", self.name, exc)
        self.local.close()

    def delete(self) -> None:
        """Close and remove every file of this log (blocking)."""
        self.local.delete_all_files()

    def __repr__(self) -> str:
        return (f"Log({self.name}, start={self._log_start_offset}, end={self.log_end_offset}, "
                f"hw={self._high_watermark}, segments={len(self.local.segments)})")
