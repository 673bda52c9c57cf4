"""Kafka's plain-text checkpoint files, written atomically.

Layout: a version line, a count line, then one entry per line with fields
separated by spaces (``topic partition value`` for the log-dir checkpoints,
``epoch start_offset`` for ``leader-epoch-checkpoint``). An empty file reads as
no entries. Writes go to ``<name>.tmp``, which is fsynced and renamed over the
file, then the directory is fsynced.
"""
from __future__ import annotations

import logging
import os
from typing import Callable, Generic, Iterable, TypeVar

from kafkapy.common.types import TopicPartition

from .errors import CheckpointError, InconsistentBrokerMetadataError

log = logging.getLogger(__name__)

RECOVERY_POINT_CHECKPOINT_FILE = "recovery-point-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT_FILE = "log-start-offset-checkpoint"
REPLICATION_OFFSET_CHECKPOINT_FILE = "replication-offset-checkpoint"
CLEANER_OFFSET_CHECKPOINT_FILE = "cleaner-offset-checkpoint"
LEADER_EPOCH_CHECKPOINT_FILE = "leader-epoch-checkpoint"
META_PROPERTIES_FILE = "meta.properties"
CURRENT_VERSION = 0

T = TypeVar("T")


def fsync_dir(path: str) -> None:
    """fsync a directory so that a rename inside it is durable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        log.warning("Could not open directory %s to fsync it: %s", path, exc)
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: str, text: str, sync: bool = True) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        data = text.encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync:
        fsync_dir(os.path.dirname(os.path.abspath(path)))


class CheckpointFile(Generic[T]):
    """A versioned list of entries, one per line; ``format``/``parse`` map an entry to/from its fields."""

    def __init__(self, path: str, version: int, format_entry: Callable[[T], str],
                 parse_entry: Callable[[list[str]], T]) -> None:
        self.path = path
        self.version = version
        self._format = format_entry
        self._parse = parse_entry
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(fd)

    def write(self, entries: Iterable[T], sync: bool = True) -> None:
        items = list(entries)
        lines = [str(self.version), str(len(items))]
        lines.extend(self._format(e) for e in items)
        write_atomically(self.path, "\n".join(lines) + "\n", sync)

    def read(self) -> list[T]:
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        lines = text.splitlines()
        if not lines:
            return []
        try:
            version = int(lines[0].strip())
        except ValueError:
            raise CheckpointError(f"malformed version line {lines[0]!r} in checkpoint file {self.path}") from None
        if version != self.version:
            raise CheckpointError(f"unrecognised version {version} in checkpoint file {self.path}")
        if len(lines) < 2:
            raise CheckpointError(f"checkpoint file {self.path} has no entry count line")
        try:
            count = int(lines[1].strip())
        except ValueError:
            raise CheckpointError(f"malformed count line {lines[1]!r} in checkpoint file {self.path}") from None
        body = [ln for ln in lines[2:] if ln.strip()]
        if count < 0 or len(body) != count:
            raise CheckpointError(
                f"checkpoint file {self.path} says {count} entries but holds {len(body)}")
        out: list[T] = []
        for ln in body:
            try:
                out.append(self._parse(ln.split()))
            except (ValueError, IndexError):
                raise CheckpointError(f"malformed line {ln!r} in checkpoint file {self.path}") from None
        return out


def _format_tp(entry: tuple[TopicPartition, int]) -> str:
    tp, value = entry
    return f"{tp.topic} {tp.partition} {value}"


def _parse_tp(fields: list[str]) -> tuple[TopicPartition, int]:
    if len(fields) != 3:
        raise ValueError("expected 3 fields")
    return TopicPartition(fields[0], int(fields[1])), int(fields[2])


class OffsetCheckpointFile:
    """``topic partition offset`` checkpoints (recovery point, log start offset, HW, cleaner)."""

    def __init__(self, path: str) -> None:
        self._file: CheckpointFile[tuple[TopicPartition, int]] = CheckpointFile(
            path, CURRENT_VERSION, _format_tp, _parse_tp)
        self.path = path

    def write(self, offsets: dict[TopicPartition, int], sync: bool = True) -> None:
        self._file.write(sorted(offsets.items()), sync)

    def read(self) -> dict[TopicPartition, int]:
        return dict(self._file.read())


def _format_epoch(entry: tuple[int, int]) -> str:
    return f"{entry[0]} {entry[1]}"


def _parse_epoch(fields: list[str]) -> tuple[int, int]:
    if len(fields) != 2:
        raise ValueError("expected 2 fields")
    return int(fields[0]), int(fields[1])


class LeaderEpochCheckpointFile:
    """``leader-epoch-checkpoint``: ``epoch start_offset`` lines."""

    def __init__(self, path: str) -> None:
        self._file: CheckpointFile[tuple[int, int]] = CheckpointFile(
            path, CURRENT_VERSION, _format_epoch, _parse_epoch)
        self.path = path

    def write(self, entries: Iterable[tuple[int, int]], sync: bool = True) -> None:
        self._file.write(entries, sync)

    def read(self) -> list[tuple[int, int]]:
        return self._file.read()


# -- meta.properties ---------------------------------------------------------------------

def read_properties(path: str) -> dict[str, str]:
    """A small reader of Java .properties files (``key=value`` or ``key: value``, ``#``/``!`` comments)."""
    props: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#!":
                continue
            for i, ch in enumerate(line):
                if ch in "=:":
                    props[line[:i].strip()] = line[i + 1:].strip()
                    break
            else:
                props[line] = ""
    return props


class BrokerMetadataCheckpoint:
    """``meta.properties`` of a log dir: ``version=0``, ``broker.id`` and ``cluster.id``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def read(self) -> dict[str, str] | None:
        try:
            return read_properties(self.path)
        except FileNotFoundError:
            return None

    def write(self, broker_id: int, cluster_id: str | None) -> None:
        lines = ["#", "#kafkapy broker metadata", "version=0", f"broker.id={broker_id}"]
        if cluster_id is not None:
            lines.append(f"cluster.id={cluster_id}")
        write_atomically(self.path, "\n".join(lines) + "\n")

    def verify_or_write(self, broker_id: int, cluster_id: str | None) -> dict[str, str]:
        """Check an existing file against our identity, or write a new one."""
        props = self.read()
        if props is None:
            self.write(broker_id, cluster_id)
            return self.read() or {}
        version = props.get("version")
        if version != "0":
            raise InconsistentBrokerMetadataError(f"unsupported version {version!r} in {self.path}")
        stored_id = props.get("broker.id")
        if stored_id is not None and int(stored_id) != broker_id:
            raise InconsistentBrokerMetadataError(
                f"configured broker.id {broker_id} does not match stored broker.id {stored_id} in {self.path}")
        stored_cluster = props.get("cluster.id")
        if cluster_id is not None and stored_cluster is not None and stored_cluster != cluster_id:
            raise InconsistentBrokerMetadataError(
                f"the cluster id {cluster_id} does not match stored cluster.id {stored_cluster} in {self.path}")
        if cluster_id is not None and stored_cluster is None:
            self.write(broker_id, cluster_id)
        return props
