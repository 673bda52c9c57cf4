"""Loading a partition directory at startup, with recovery after an unclean shutdown.

- ``.deleted`` and ``.cleaned`` leftovers and stray ``.tmp``/orphan index files are removed.
- A ``.swap`` segment (a cleaner or split that was being swapped in) is completed:
  the segments it replaces are deleted and the swap file renamed into place.
- Without a clean shutdown, every segment from the one holding the recovery point
  on is re-validated entry by entry and its indexes rebuilt; the log is cut at the
  first partial or corrupt entry and later segments are deleted.
- With a clean shutdown, indexes are sanity-checked and rebuilt when they fail.
Damage is logged at WARN with the file and position; loading never raises for it.
"""
from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass

from kafkapy.common.types import TopicPartition

from .config import LONG_MAX, LogConfig
from .epoch_cache import LeaderEpochFileCache
from .errors import LogError
from .offset_index import InvalidOffsetIndexError
from .segment import (
    CLEANED_FILE_SUFFIX,
    DELETED_FILE_SUFFIX,
    INDEX_FILE_SUFFIX,
    LOG_FILE_SUFFIX,
    SWAP_FILE_SUFFIX,
    TIME_INDEX_FILE_SUFFIX,
    TXN_INDEX_FILE_SUFFIX,
    LogOffsetMetadata,
    LogSegment,
    offset_from_filename,
)
from .segments import LogSegments

log = logging.getLogger(__name__)
_RNG = random.Random()

_INDEX_SUFFIXES = (INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX, TXN_INDEX_FILE_SUFFIX)


@dataclass(slots=True)
class LoadedLogOffsets:
    log_start_offset: int
    recovery_point: int
    next_offset_metadata: LogOffsetMetadata
    recovered_segments: int = 0
    truncated_bytes: int = 0


def _is_index_file(name: str) -> bool:
    return any(name.endswith(s) for s in _INDEX_SUFFIXES)


def _stem_is_offset(name: str) -> bool:
    """A segment file's name: 20 digits of an offset a Kafka log can hold (a 64-bit one)."""
    stem = name.split(".", 1)[0]
    return len(stem) == 20 and stem.isdigit() and int(stem) <= LONG_MAX


def _remove_temp_files_and_collect_swaps(dir_path: str) -> list[str]:
    swaps: list[str] = []
    cleaned_offsets: list[int] = []
    for name in sorted(os.listdir(dir_path)):
        path = os.path.join(dir_path, name)
        if not os.path.isfile(path):
            continue
        if name.endswith(DELETED_FILE_SUFFIX):
            log.debug("Deleting stray temporary file %s", path)
            os.unlink(path)
        elif name.endswith(CLEANED_FILE_SUFFIX):
            if _stem_is_offset(name):
                cleaned_offsets.append(offset_from_filename(name))
            log.info("Deleting stray .cleaned file %s", path)
            os.unlink(path)
        elif name.endswith(SWAP_FILE_SUFFIX):
            swaps.append(path)
        elif name.endswith(".tmp"):
            os.unlink(path)
    min_cleaned = min(cleaned_offsets) if cleaned_offsets else None
    kept = []
    for path in swaps:
        name = os.path.basename(path)
        if not _stem_is_offset(name):
            os.unlink(path)
            continue
        if min_cleaned is not None and offset_from_filename(name) >= min_cleaned:
            log.info("Deleting invalid swap file %s (min cleaned offset %d)", path, min_cleaned)
            os.unlink(path)
        elif _is_index_file(name[:-len(SWAP_FILE_SUFFIX)]):
            os.unlink(path)  # indexes of a swap segment are rebuilt
        else:
            kept.append(path)
    return kept


def _complete_swaps(dir_path: str, swap_logs: list[str], config: LogConfig) -> None:
    """Finish interrupted swaps: drop the segments a swap file replaces, then rename it into place."""
    for path in swap_logs:
        name = os.path.basename(path)
        base = offset_from_filename(name)
        seg = LogSegment(dir_path, base, config.index_interval_bytes, config.max_index_size,
                         file_suffix=SWAP_FILE_SUFFIX, active=False)
        try:
            seg.recover(config.max_message_bytes)
            next_offset = seg.read_next_offset()
        finally:
            seg.close_handlers()
        for other in sorted(os.listdir(dir_path)):
            if not other.endswith(LOG_FILE_SUFFIX) or not _stem_is_offset(other):
                continue
            off = offset_from_filename(other)
            if base <= off < next_offset:
                log.info("Deleting segment %s replaced by swap file %s", other, name)
                for suffix in (LOG_FILE_SUFFIX,) + _INDEX_SUFFIXES:
                    p = os.path.join(dir_path, f"{off:020d}{suffix}")
                    if os.path.exists(p):
                        os.unlink(p)
        for suffix in (LOG_FILE_SUFFIX,) + _INDEX_SUFFIXES:
            src = os.path.join(dir_path, f"{base:020d}{suffix}{SWAP_FILE_SUFFIX}")
            if os.path.exists(src):
                os.rename(src, src[:-len(SWAP_FILE_SUFFIX)])
        # Its indexes were built under the swap name: rebuild them from the renamed log.
        for suffix in (INDEX_FILE_SUFFIX, TIME_INDEX_FILE_SUFFIX):
            p = os.path.join(dir_path, f"{base:020d}{suffix}")
            if os.path.exists(p):
                os.unlink(p)


def load_segments(dir_path: str, tp: TopicPartition, config: LogConfig, log_start_offset: int,
                  recovery_point: int, had_clean_shutdown: bool,
                  epoch_cache: LeaderEpochFileCache | None = None,
                  now_ms: int | None = None) -> tuple[LogSegments, LoadedLogOffsets]:
    """Open (and if needed recover) every segment of one partition directory."""
    swaps = _remove_temp_files_and_collect_swaps(dir_path)
    if swaps:
        _complete_swaps(dir_path, swaps, config)
    names = sorted(os.listdir(dir_path))
    log_bases = []
    for name in names:
        path = os.path.join(dir_path, name)
        if not _stem_is_offset(name):
            stem = name.split(".", 1)[0]
            if len(stem) == 20 and stem.isdigit():
                log.warning("Ignoring %s: its offset %s is beyond the largest a log can hold", path, stem)
            continue
        if name.endswith(LOG_FILE_SUFFIX):
            log_bases.append(offset_from_filename(name))
        elif _is_index_file(name):
            if not os.path.exists(os.path.join(dir_path, name.split(".", 1)[0] + LOG_FILE_SUFFIX)):
                log.warning("Found an orphaned index file %s, with no corresponding log file", path)
                os.unlink(path)
    segments = LogSegments()
    missing_index: set[int] = set()
    for base in sorted(log_bases):
        prefix = os.path.join(dir_path, f"{base:020d}")
        if not (os.path.exists(prefix + INDEX_FILE_SUFFIX) and os.path.exists(prefix + TIME_INDEX_FILE_SUFFIX)):
            missing_index.add(base)
        seg = LogSegment(dir_path, base, config.index_interval_bytes, config.max_index_size,
                         config.random_segment_jitter(_RNG), preallocate=config.preallocate,
                         active=False, now_ms=now_ms)
        segments.add(seg)

    recovered = 0
    truncated_total = 0

    def assign_epoch(info) -> None:
        if epoch_cache is not None and info.magic == 2 and info.partition_leader_epoch >= 0 \
                and info.partition_leader_epoch > epoch_cache.latest_epoch:
            epoch_cache.assign(info.partition_leader_epoch, info.base_offset)

    segs = list(segments)
    cut_after: int | None = None
    for i, seg in enumerate(segs):
        if cut_after is not None:
            break
        need = seg.base_offset in missing_index
        last = i == len(segs) - 1
        next_seg_base = segs[i + 1].base_offset if not last else None
        unflushed = not had_clean_shutdown and (next_seg_base is None or next_seg_base > recovery_point)
        if not need and not unflushed:
            try:
                seg.sanity_check(full=last or not had_clean_shutdown, upper_offset=next_seg_base)
            except (InvalidOffsetIndexError, LogError, ValueError, OSError) as exc:
                log.warning("Found a corrupted index of %s (%s): rebuilding it", seg.log_path, exc)
                need = True
        elif need:
            log.warning("Found a missing index of segment %s: rebuilding it", seg.log_path)
        if need or unflushed:
            if unflushed and not need:
                log.info("Recovering unflushed segment %s", seg.log_path)
            truncated = seg.recover(config.max_message_bytes, assign_epoch)
            recovered += 1
            if truncated > 0:
                truncated_total += truncated
                cut_after = i
        else:
            # Epochs of data the cache may not know yet are only recovered for unflushed segments.
            pass
    if cut_after is not None:
        for seg in segs[cut_after + 1:]:
            log.warning("Deleting segment %s: it follows data truncated by recovery", seg.log_path)
            segments.remove(seg.base_offset)
            seg.delete_if_exists()

    if not segments:
        seg = LogSegment(dir_path, log_start_offset, config.index_interval_bytes, config.max_index_size,
                         preallocate=config.preallocate,
                         init_file_size=config.segment_bytes if config.preallocate else 0, now_ms=now_ms)
        segments.add(seg)
    active = segments.last_segment
    assert active is not None
    active.resize_indexes(config.max_index_size)
    next_offset = active.read_next_offset() if active.size else active.base_offset
    first = segments.first_segment
    assert first is not None
    start = max(log_start_offset, first.base_offset)
    if start > next_offset:
        start = next_offset
    if not had_clean_shutdown or recovery_point > next_offset:
        recovery_point = next_offset if not had_clean_shutdown else min(recovery_point, next_offset)
    if epoch_cache is not None:
        epoch_cache.truncate_from_end(next_offset)
        epoch_cache.truncate_from_start(start)
    return segments, LoadedLogOffsets(start, recovery_point,
                                      LogOffsetMetadata(next_offset, active.base_offset, active.size),
                                      recovered, truncated_total)
