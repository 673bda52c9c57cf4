"""Leader epoch cache: which offset each leader epoch started at (``leader-epoch-checkpoint``)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from kafkapy.common.types import UNKNOWN_OFFSET

from .checkpoint import LeaderEpochCheckpointFile

log = logging.getLogger(__name__)

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


@dataclass(frozen=True, slots=True)
class EpochEntry:
    epoch: int
    start_offset: int


class LeaderEpochFileCache:
    """Ordered (epoch, start_offset) entries, persisted on every change.

    ``log_end_offset`` is a callable returning the log's current end offset, used to
    answer the end offset of the latest epoch.
    """

    def __init__(self, checkpoint: LeaderEpochCheckpointFile | None, log_end_offset,
                 sync: bool = True) -> None:
        self._checkpoint = checkpoint
        self._log_end_offset = log_end_offset
        self._sync = sync
        self._entries: list[EpochEntry] = []
        # Checkpoint writes may be deferred (`assign(..., flush=False)`) and done by an executor thread:
        # every mutation gets a version, and a write never replaces a newer one already on disk.
        self._write_lock = threading.Lock()
        self._version = 0
        self._written_version = 0
        if checkpoint is not None:
            for epoch, start in checkpoint.read():
                self._entries.append(EpochEntry(epoch, start))
        self.latest_epoch: int = self._entries[-1].epoch if self._entries else UNDEFINED_EPOCH

    @property
    def entries(self) -> list[EpochEntry]:
        return list(self._entries)


    @property
    def earliest_entry(self) -> EpochEntry | None:
        return self._entries[0] if self._entries else None

    def is_defined(self) -> bool:
        return bool(self._entries)

    def _flush(self, defer: bool = False) -> None:
        # every mutation ends here: refresh the plain attribute the produce path reads
        self.latest_epoch = self._entries[-1].epoch if self._entries else UNDEFINED_EPOCH
        self._version += 1
        if self._checkpoint is not None and not defer:
            self._write(self._version, [(e.epoch, e.start_offset) for e in self._entries])

    def _write(self, version: int, entries: list[tuple[int, int]]) -> None:
        assert self._checkpoint is not None
        with self._write_lock:
            if version <= self._written_version:
                return          # a newer state is on disk already
            self._checkpoint.write(entries, self._sync)
            self._written_version = version

    def pending_write(self) -> Callable[[], None] | None:
        """A deferred change, snapshotted now, as a function that writes it (for an executor thread);
        None when the checkpoint is up to date."""
        if self._checkpoint is None or self._version == self._written_version:
            return None
        version, entries = self._version, [(e.epoch, e.start_offset) for e in self._entries]
        return lambda: self._write(version, entries)

    def assign(self, epoch: int, start_offset: int, flush: bool = True) -> bool:
        """Record that ``epoch`` starts at ``start_offset``; returns whether the cache changed.

        ``flush=False`` leaves the checkpoint write to `pending_write` (the caller runs it off the loop
        and waits for it before answering)."""
        if epoch < 0:
            return False
        if self._entries:
            last = self._entries[-1]
            if epoch == last.epoch and start_offset >= last.start_offset:
                return False
            if epoch < last.epoch:
                log.warning("Not assigning leader epoch %d at offset %d: latest epoch is %d",
                            epoch, start_offset, last.epoch)
                return False
        # Drop entries that conflict: same or higher epoch, or a start offset >= the new one.
        removed = [e for e in self._entries if e.epoch >= epoch or e.start_offset >= start_offset]
        if removed:
            log.debug("Leader epoch entries %s removed by new entry (%d, %d)", removed, epoch, start_offset)
        self._entries = [e for e in self._entries if e.epoch < epoch and e.start_offset < start_offset]
        self._entries.append(EpochEntry(epoch, start_offset))
        self._flush(defer=not flush)
        return True

    def end_offset_for(self, requested_epoch: int) -> tuple[int, int]:
        """(epoch, end offset) answering OffsetsForLeaderEpoch for ``requested_epoch``.

        The end offset is the start offset of the first epoch above the requested one,
        or the log end offset when the requested epoch is the latest.
        """
        if requested_epoch == UNDEFINED_EPOCH or not self._entries:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if requested_epoch == self.latest_epoch:
            return requested_epoch, self._log_end_offset()
        higher = [e for e in self._entries if e.epoch > requested_epoch]
        if not higher:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        lower = [e for e in self._entries if e.epoch <= requested_epoch]
        if not lower:
            return requested_epoch, higher[0].start_offset
        return lower[-1].epoch, higher[0].start_offset

    def epoch_for_offset(self, offset: int) -> int:
        epoch = UNDEFINED_EPOCH
        for e in self._entries:
            if e.start_offset <= offset:
                epoch = e.epoch
            else:
                break
        return epoch

    def truncate_from_end(self, end_offset: int) -> None:
        """Remove entries starting at or after ``end_offset`` (log truncated to it)."""
        if end_offset >= 0 and self._entries and self._entries[-1].start_offset >= end_offset:
            self._entries = [e for e in self._entries if e.start_offset < end_offset]
            self._flush()

    def truncate_from_start(self, start_offset: int) -> None:
        """Forget epochs wholly below ``start_offset``; the epoch covering it now starts there."""
        if start_offset == UNKNOWN_OFFSET or not self._entries:
            return
        keep = [e for e in self._entries if e.start_offset > start_offset]
        covering = [e for e in self._entries if e.start_offset <= start_offset]
        if not covering:
            return
        new = [EpochEntry(covering[-1].epoch, start_offset)] + keep
        if new != self._entries:
            self._entries = new
            self._flush()

    def clear_and_flush(self) -> None:
        self._entries = []
        self._flush()
