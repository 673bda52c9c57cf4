"""Producer state of one partition: what the idempotent producer needs the log to remember.

For every producer id the log keeps the producer epoch and the metadata of the last
``NUM_BATCHES_TO_RETAIN`` batches it wrote (sequence range, last offset, offset delta,
timestamp). A leader append of a batch with a producer id is checked against it before
offsets are assigned:

- an epoch older than the known one is fenced (INVALID_PRODUCER_EPOCH);
- a batch whose sequence range equals one of the retained batches (same epoch) is a
  duplicate: nothing is written, the caller answers with the original offsets;
- otherwise the first sequence must follow the last one (wrapping after Int32.MAX), and a
  new epoch must start at sequence 0 (OUT_OF_ORDER_SEQUENCE_NUMBER);
- a producer the partition does not know is accepted whatever its sequence (Kafka 2.8).

Follower appends and recovery update the state without checks. Everything here works on
batch headers only (a v2 batch header carries producer id, epoch and base sequence).

Snapshots are ``<20-digit offset>.snapshot`` files in the partition directory, in Kafka's
layout (version 1): int16 version, uint32 CRC-32C of everything after it, then an int32
count of entries, each: producer id (int64), epoch (int16), last sequence (int32), last
offset (int64), offset delta (int32), timestamp (int64), coordinator epoch (int32) and the
first offset of the ongoing transaction (int64, -1 here). As in Kafka a snapshot keeps only
the last batch of each producer. The snapshot named N holds the state of offsets below N.
"""
from __future__ import annotations

import logging
import os
import struct
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, NamedTuple

from kafkapy.common.errors import InvalidProducerEpochError, OutOfOrderSequenceError
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.records import crc32c

log = logging.getLogger(__name__)

NUM_BATCHES_TO_RETAIN = 5
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
INT32_MAX = 0x7FFFFFFF
DEFAULT_PRODUCER_ID_EXPIRATION_MS = 7 * 24 * 3600 * 1000

SNAPSHOT_FILE_SUFFIX = ".snapshot"
SNAPSHOT_VERSION = 1

_VERSION = struct.Struct(">h")
_CRC = struct.Struct(">I")
_COUNT = struct.Struct(">i")
_ENTRY = struct.Struct(">qhiqiqiq")
_HEADER = 2 + 4 + 4  # version, crc, entry count

# The v2 batch header fields this module needs: base offset, length, magic at 16,
# last offset delta at 23, max timestamp at 35, producer id/epoch/base sequence at 43.
_V2_PREFIX = struct.Struct(">qi")
_V2_FIELDS = struct.Struct(">iqqqhi")     # last offset delta .. base sequence, from byte 23
_V2_HEADER_SIZE = 61
_READ_CHUNK = 1 << 16


class CorruptSnapshotError(Exception):
    """A snapshot file that does not parse or whose CRC does not match."""


def increment_sequence(sequence: int, increment: int) -> int:
    """``sequence + increment`` wrapping past Int32.MAX to 0 (Kafka's sequence arithmetic)."""
    if sequence > INT32_MAX - increment:
        return increment - (INT32_MAX - sequence) - 1
    return sequence + increment


def decrement_sequence(sequence: int, decrement: int) -> int:
    if sequence < decrement:
        return INT32_MAX - (decrement - sequence) + 1
    return sequence - decrement


def in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == INT32_MAX)


def snapshot_file_name(offset: int) -> str:
    return f"{offset:020d}{SNAPSHOT_FILE_SUFFIX}"


def snapshot_offset(name: str) -> int | None:
    """The offset of a ``<20 digits>.snapshot`` file name, else None."""
    if not name.endswith(SNAPSHOT_FILE_SUFFIX):
        return None
    stem = name[:-len(SNAPSHOT_FILE_SUFFIX)]
    return int(stem) if len(stem) == 20 and stem.isdigit() else None


class BatchMetadata(NamedTuple):
    """One retained batch of a producer (a tuple: one is built per idempotent append, on the produce path)."""

    last_seq: int
    last_offset: int
    offset_delta: int
    timestamp: int

    @property
    def first_seq(self) -> int:
        return decrement_sequence(self.last_seq, self.offset_delta)

    @property
    def first_offset(self) -> int:
        return self.last_offset - self.offset_delta


class ProducerStateEntry:
    """The epoch and the last few batches of one producer id (mutable, owned by the manager)."""

    __slots__ = ("producer_id", "producer_epoch", "batches", "last_timestamp", "coordinator_epoch")

    def __init__(self, producer_id: int, producer_epoch: int = NO_PRODUCER_EPOCH,
                 batches: Iterable[BatchMetadata] = (), last_timestamp: int = -1,
                 coordinator_epoch: int = -1) -> None:
        self.producer_id = producer_id
        self.producer_epoch = producer_epoch
        self.batches: deque[BatchMetadata] = deque(batches, maxlen=NUM_BATCHES_TO_RETAIN)
        self.last_timestamp = last_timestamp
        self.coordinator_epoch = coordinator_epoch

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else NO_SEQUENCE

    @property
    def last_data_offset(self) -> int:
        return self.batches[-1].last_offset if self.batches else -1

    @property
    def last_offset_delta(self) -> int:
        return self.batches[-1].offset_delta if self.batches else 0

    def add_batch(self, epoch: int, last_seq: int, last_offset: int, offset_delta: int, timestamp: int) -> None:
        if epoch != self.producer_epoch:
            self.batches.clear()
            self.producer_epoch = epoch
        self.batches.append(BatchMetadata(last_seq, last_offset, offset_delta, timestamp))
        self.last_timestamp = timestamp

    def find_duplicate(self, epoch: int, first_seq: int, last_seq: int) -> BatchMetadata | None:
        if epoch != self.producer_epoch:
            return None
        for b in self.batches:
            if b.last_seq == last_seq and b.first_seq == first_seq:
                return b
        return None

    def key(self) -> tuple:
        """A comparable value (tests compare live and rebuilt state)."""
        return (self.producer_id, self.producer_epoch, tuple(self.batches), self.last_timestamp,
                self.coordinator_epoch)

    def __repr__(self) -> str:
        return (f"ProducerStateEntry(producer_id={self.producer_id}, epoch={self.producer_epoch}, "
                f"batches={list(self.batches)}, last_timestamp={self.last_timestamp})")


@dataclass(frozen=True, slots=True)
class ProducerBatch:
    """The producer fields of one appended v2 batch, with its final offsets."""

    producer_id: int
    producer_epoch: int
    base_sequence: int
    first_offset: int
    last_offset: int
    max_timestamp: int

    @property
    def last_sequence(self) -> int:
        return increment_sequence(self.base_sequence, self.last_offset - self.first_offset)


# -- snapshot files -----------------------------------------------------------------------
def encode_snapshot(entries: Iterable[ProducerStateEntry]) -> bytes:
    body = bytearray(_COUNT.size)
    n = 0
    for e in entries:
        body += _ENTRY.pack(e.producer_id, e.producer_epoch, e.last_seq, e.last_data_offset, e.last_offset_delta,
                            e.last_timestamp, e.coordinator_epoch, -1)
        n += 1
    _COUNT.pack_into(body, 0, n)
    return _VERSION.pack(SNAPSHOT_VERSION) + _CRC.pack(crc32c(body)) + bytes(body)


def decode_snapshot(data: bytes) -> list[ProducerStateEntry]:
    if len(data) < _HEADER:
        raise CorruptSnapshotError(f"snapshot is {len(data)} bytes, shorter than its header")
    version = _VERSION.unpack_from(data, 0)[0]
    if version != SNAPSHOT_VERSION:
        raise CorruptSnapshotError(f"snapshot has the unknown version {version}")
    stored = _CRC.unpack_from(data, 2)[0]
    computed = crc32c(memoryview(data)[6:])
    if stored != computed:
        raise CorruptSnapshotError(f"snapshot is corrupt (stored crc {stored}, computed crc {computed})")
    count = _COUNT.unpack_from(data, 6)[0]
    if count < 0 or len(data) != _HEADER + count * _ENTRY.size:
        raise CorruptSnapshotError(f"snapshot of {len(data)} bytes cannot hold {count} producer entries")
    out = []
    for i in range(count):
        pid, epoch, seq, offset, delta, ts, coord_epoch, _txn = _ENTRY.unpack_from(data, _HEADER + i * _ENTRY.size)
        batches = (BatchMetadata(seq, offset, delta, ts),) if offset >= 0 else ()
        out.append(ProducerStateEntry(pid, epoch, batches, ts, coord_epoch))
    return out


def read_snapshot(path: str) -> list[ProducerStateEntry]:
    with open(path, "rb") as f:
        return decode_snapshot(f.read())


def write_snapshot(path: str, entries: Iterable[ProducerStateEntry], sync: bool = True) -> None:
    """Write through a temporary file and rename, so a reader never sees half a snapshot."""
    data = encode_snapshot(entries)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def list_snapshot_offsets(dir_path: str) -> list[int]:
    try:
        names = os.listdir(dir_path)
    except FileNotFoundError:
        return []
    return sorted(o for o in (snapshot_offset(n) for n in names) if o is not None)


# -- reading producer batches from segment files ----------------------------------------------
def producer_batches_in_file(fd: int, start: int, end: int, from_offset: int = 0) -> Iterator[ProducerBatch]:
    """The v2 batches with a producer id in ``[start, end)`` of a segment file, from ``from_offset`` on.

    Reads headers only (one pread per chunk, plus one per batch larger than a chunk).
    Legacy entries and control batches are skipped; a cut tail ends the walk.
    """
    pos = start
    chunk = b""
    chunk_pos = start
    while pos + 17 <= end:
        off = pos - chunk_pos
        if off < 0 or off + _V2_HEADER_SIZE > len(chunk):
            chunk = os.pread(fd, min(_READ_CHUNK, end - pos), pos)
            chunk_pos, off = pos, 0
            if len(chunk) < 17:
                return
        base, length = _V2_PREFIX.unpack_from(chunk, off)
        size = length + 12
        if length < 14 or pos + size > end:
            return
        if chunk[off + 16] == 2 and len(chunk) - off >= _V2_HEADER_SIZE:
            attrs = chunk[off + 22]
            lod, _first_ts, max_ts, pid, epoch, seq = _V2_FIELDS.unpack_from(chunk, off + 23)
            if pid >= 0 and not attrs & 0x20 and base + lod >= from_offset:
                yield ProducerBatch(pid, epoch, seq, base, base + lod, max_ts)
        pos += size


class ProducerStateManager:
    """Producer id -> ProducerStateEntry for one partition, plus its snapshot files.

    ``dir_path`` is a callable because the partition directory can be renamed (deletion,
    future logs). All methods run on the event loop except ``take_snapshot(sync=True)``
    at close, which the log runs wherever it closes.
    """

    def __init__(self, topic_partition: TopicPartition, dir_path: Callable[[], str],
                 producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS) -> None:
        self.topic_partition = topic_partition
        self._dir_path = dir_path
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self.producers: dict[int, ProducerStateEntry] = {}

    # -- lookups ----------------------------------------------------------------------
    def last_entry(self, producer_id: int) -> ProducerStateEntry | None:
        return self.producers.get(producer_id)

    @property
    def is_empty(self) -> bool:
        return not self.producers

    def state(self) -> dict[int, tuple]:
        """A comparable copy of the whole state (for tests and debugging)."""
        return {pid: e.key() for pid, e in self.producers.items()}

    # -- leader checks ----------------------------------------------------------------------
    def check_batch(self, producer_id: int, epoch: int, first_seq: int, last_seq: int,
                    staged: dict[int, tuple[int, int]] | None = None) -> BatchMetadata | None:
        """Check one client batch before offsets are assigned; returns the retained batch it duplicates.

        ``staged`` holds (epoch, last sequence) of batches of the same request already checked
        (requests before Produce v3 may carry several batches of one producer). Raises
        InvalidProducerEpochError or OutOfOrderSequenceError.
        """
        entry = self.producers.get(producer_id)
        if staged is not None and producer_id in staged:
            cur_epoch, cur_last = staged[producer_id]
            known = True
        elif entry is not None:
            dup = entry.find_duplicate(epoch, first_seq, last_seq)
            if dup is not None:
                return dup
            cur_epoch, cur_last, known = entry.producer_epoch, entry.last_seq, True
        else:
            cur_epoch, cur_last, known = NO_PRODUCER_EPOCH, NO_SEQUENCE, False
        if known and epoch < cur_epoch:
            raise InvalidProducerEpochError(
                f"epoch of producer {producer_id} in {self.topic_partition} is {epoch}, which is smaller than "
                f"the last seen epoch {cur_epoch}")
        if known and cur_epoch != NO_PRODUCER_EPOCH:
            if epoch != cur_epoch:
                if first_seq != 0:
                    raise OutOfOrderSequenceError(
                        f"invalid sequence number for new epoch {epoch} of producer {producer_id} in "
                        f"{self.topic_partition}: {first_seq} (must be 0; current epoch {cur_epoch})")
            elif not in_sequence(cur_last, first_seq):
                raise OutOfOrderSequenceError(
                    f"out of order sequence number for producer {producer_id} in {self.topic_partition}: "
                    f"{first_seq} (incoming sequence), {cur_last} (current end sequence)")
        if staged is not None:
            staged[producer_id] = (epoch, last_seq)
        return None

    # -- updates ----------------------------------------------------------------------------
    def update(self, batch: ProducerBatch) -> None:
        """Record an appended batch (leader after the checks, follower and recovery without)."""
        entry = self.producers.get(batch.producer_id)
        if entry is None:
            entry = self.producers[batch.producer_id] = ProducerStateEntry(batch.producer_id)
        elif batch.producer_epoch < entry.producer_epoch:
            log.warning("Epoch %d of producer %d at offset %d in %s is older than the last seen epoch %d",
                        batch.producer_epoch, batch.producer_id, batch.first_offset, self.topic_partition,
                        entry.producer_epoch)
        entry.add_batch(batch.producer_epoch, batch.last_sequence, batch.last_offset,
                        batch.last_offset - batch.first_offset, batch.max_timestamp)

    def update_leader_batch(self, producer_id: int, epoch: int, base_seq: int, first_offset: int, last_offset: int,
                            max_timestamp: int) -> None:
        """``update`` for the produce fast path (the batch passed ``check_batch``; no ProducerBatch built)."""
        entry = self.producers.get(producer_id)
        if entry is None:
            entry = self.producers[producer_id] = ProducerStateEntry(producer_id)
        delta = last_offset - first_offset
        entry.add_batch(epoch, increment_sequence(base_seq, delta), last_offset, delta, max_timestamp)

    def update_all(self, batches: Iterable[ProducerBatch]) -> None:
        for b in batches:
            self.update(b)

    def clear(self) -> None:
        self.producers.clear()

    def truncate_in_memory(self, offset: int) -> bool:
        """Forget the retained batches at or above ``offset`` (a truncation of the log).

        Exact as long as every affected producer keeps a batch below ``offset`` (fewer retained
        batches only narrows the duplicate window). Returns False, with the state left partly
        trimmed, when some producer would keep none: the caller rebuilds from a snapshot.
        """
        for e in self.producers.values():
            batches = e.batches
            if batches and batches[-1].last_offset >= offset:
                while batches and batches[-1].last_offset >= offset:
                    batches.pop()
                if not batches:
                    return False
                e.last_timestamp = batches[-1].timestamp
        return True

    def remove_expired_producers(self, now_ms: int) -> int:
        """Forget producers idle for ``producer.id.expiration.ms``; returns how many went."""
        limit = self.producer_id_expiration_ms
        expired = [pid for pid, e in self.producers.items() if now_ms - e.last_timestamp >= limit]
        for pid in expired:
            del self.producers[pid]
        return len(expired)

    # -- snapshots ----------------------------------------------------------------------------
    @property
    def dir_path(self) -> str:
        return self._dir_path()

    def snapshot_path(self, offset: int) -> str:
        return os.path.join(self.dir_path, snapshot_file_name(offset))

    def snapshot_offsets(self) -> list[int]:
        return list_snapshot_offsets(self.dir_path)

    def latest_snapshot_offset(self) -> int | None:
        offsets = self.snapshot_offsets()
        return offsets[-1] if offsets else None

    def take_snapshot(self, offset: int, sync: bool = True) -> bool:
        """Write the state (which covers every offset below ``offset``) unless that snapshot exists."""
        path = self.snapshot_path(offset)
        if os.path.exists(path):
            return False
        write_snapshot(path, self.producers.values(), sync)
        log.debug("Wrote producer snapshot at offset %d of %s with %d producer ids", offset, self.topic_partition,
                  len(self.producers))
        return True

    def delete_snapshot(self, offset: int) -> None:
        try:
            os.unlink(self.snapshot_path(offset))
        except FileNotFoundError:
            pass

    def delete_snapshots_below(self, offset: int) -> int:
        gone = [o for o in self.snapshot_offsets() if o < offset]
        for o in gone:
            self.delete_snapshot(o)
        return len(gone)

    def delete_snapshots_above(self, offset: int) -> int:
        gone = [o for o in self.snapshot_offsets() if o > offset]
        for o in gone:
            self.delete_snapshot(o)
        return len(gone)

    def load_latest_snapshot(self, max_offset: int, now_ms: int | None = None) -> int | None:
        """Replace the state with the newest readable snapshot at or below ``max_offset``.

        Corrupt snapshots are deleted (with a warning) and the next older one is tried.
        Returns the snapshot's offset, or None (and an empty state) when there is none.
        """
        self.producers.clear()
        for offset in reversed(self.snapshot_offsets()):
            if offset > max_offset:
                continue
            path = self.snapshot_path(offset)
            try:
                entries = read_snapshot(path)
            except (CorruptSnapshotError, OSError) as exc:
                log.warning("Failed to load producer snapshot %s: %s; deleting it", path, exc)
                self.delete_snapshot(offset)
                continue
            for e in entries:
                if now_ms is None or now_ms - e.last_timestamp < self.producer_id_expiration_ms:
                    self.producers[e.producer_id] = e
            log.debug("Loaded producer state of %s from snapshot %s (%d producers)", self.topic_partition, path,
                      len(self.producers))
            return offset
        return None
