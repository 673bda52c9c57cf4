"""LogManager: the broker's log directories and every partition log in them.

Startup loads every ``<topic>-<partition>`` directory (recovering after an unclean
shutdown) with the blocking work in an executor and the results applied on the
caller. Periodic jobs are plain methods the broker schedules: retention
(``cleanup_logs``), flushing (``flush_dirty_logs``), checkpoints
(``checkpoint_recovery_offsets``, ``checkpoint_log_start_offsets``,
``checkpoint_high_watermarks``), removal of deleted files
(``delete_pending_files``) and compaction (``clean_logs``). Methods marked
*blocking* fsync or delete files and belong in the broker's executor.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import logging
import os
import shutil
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Callable

from kafkapy.common.types import TopicPartition

from .checkpoint import (
    CLEANER_OFFSET_CHECKPOINT_FILE,
    LOG_START_OFFSET_CHECKPOINT_FILE,
    META_PROPERTIES_FILE,
    RECOVERY_POINT_CHECKPOINT_FILE,
    REPLICATION_OFFSET_CHECKPOINT_FILE,
    BrokerMetadataCheckpoint,
    OffsetCheckpointFile,
)
from .config import LogConfig
from .errors import CheckpointError, KafkaStorageError
from .local_log import DELETE_DIR_SUFFIX, FUTURE_DIR_SUFFIX, log_delete_dir_name, log_dir_name, \
    parse_topic_partition_name
from .log import Log
from .producer_state import DEFAULT_PRODUCER_ID_EXPIRATION_MS

log = logging.getLogger(__name__)

CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown"
LOCK_FILE = ".lock"


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _call_on_loop(loop: asyncio.AbstractEventLoop, fn: Callable, *args):
    """Run ``fn(*args)`` on the event loop from a worker thread and wait for its result."""
    fut: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        if not fut.set_running_or_notify_cancel():
            return
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # handed to the waiting worker
            fut.set_exception(exc)
    loop.call_soon_threadsafe(run)
    return fut.result()


@dataclass(frozen=True, slots=True)
class _LoadTask:
    dir_path: str
    tp: TopicPartition
    config: LogConfig
    log_start_offset: int
    recovery_point: int
    high_watermark: int | None
    had_clean_shutdown: bool


class LogManager:
    def __init__(self, log_dirs: list[str], default_config: LogConfig | None = None, *,
                 topic_config: Callable[[str], LogConfig] | None = None, broker_id: int = 0,
                 cluster_id: str | None = None, clock_ms: Callable[[], int] | None = None,
                 cleaner_enabled: bool = True, file_delete_delay_ms: int = 60000,
                 sync_checkpoints: bool = True,
                 producer_id_expiration_ms: int = DEFAULT_PRODUCER_ID_EXPIRATION_MS) -> None:
        if not log_dirs:
            raise ValueError("log.dirs is empty")
        self.log_dirs = [os.path.abspath(d) for d in log_dirs]
        self.default_config = default_config or LogConfig()
        self._topic_config = topic_config
        self.broker_id = broker_id
        self.cluster_id = cluster_id
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.cleaner_enabled = cleaner_enabled
        self.file_delete_delay_ms = file_delete_delay_ms
        self._sync = sync_checkpoints
        self.producer_id_expiration_ms = producer_id_expiration_ms
        self._logs: dict[TopicPartition, Log] = {}
        self._dir_of: dict[TopicPartition, str] = {}
        self._locks: dict[str, int] = {}
        self._pending_dir_deletes: list[tuple[int, str]] = []
        self._deleted_logs: list[Log] = []
        self._pending_lock = threading.Lock()  # the loop schedules, the executor's delete job removes
        self._loop: asyncio.AbstractEventLoop | None = None
        self.had_clean_shutdown: dict[str, bool] = {}
        self.cleaner = None
        self.closed = False
        for d in self.log_dirs:
            os.makedirs(d, exist_ok=True)
            self._lock_dir(d)
            BrokerMetadataCheckpoint(os.path.join(d, META_PROPERTIES_FILE)).verify_or_write(broker_id, cluster_id)
        if cleaner_enabled:
            from .cleaner import LogCleaner
            self.cleaner = LogCleaner(self, clock_ms=self._clock_ms)

    # -- directories ---------------------------------------------------------------------
    def _lock_dir(self, d: str) -> None:
        fd = os.open(os.path.join(d, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise KafkaStorageError(f"failed to acquire lock on file {LOCK_FILE} in {d}: another process "
                                    f"or thread is using this directory") from None
        self._locks[d] = fd

    def _unlock_dirs(self) -> None:
        for fd in self._locks.values():
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self._locks.clear()

    def config_for(self, topic: str) -> LogConfig:
        if self._topic_config is not None:
            return self._topic_config(topic)
        return self.default_config

    def _read_checkpoint(self, d: str, name: str) -> dict[TopicPartition, int]:
        try:
            return OffsetCheckpointFile(os.path.join(d, name)).read()
        except CheckpointError as exc:
            log.warning("Error reading %s in %s (%s): treating it as empty", name, d, exc)
            return {}

    # -- loading ---------------------------------------------------------------------------
    def _load_tasks(self) -> list[_LoadTask]:
        tasks = []
        for d in self.log_dirs:
            clean = os.path.exists(os.path.join(d, CLEAN_SHUTDOWN_FILE))
            self.had_clean_shutdown[d] = clean
            recovery = self._read_checkpoint(d, RECOVERY_POINT_CHECKPOINT_FILE)
            starts = self._read_checkpoint(d, LOG_START_OFFSET_CHECKPOINT_FILE)
            hws = self._read_checkpoint(d, REPLICATION_OFFSET_CHECKPOINT_FILE)
            for name in sorted(os.listdir(d)):
                path = os.path.join(d, name)
                if not os.path.isdir(path):
                    continue
                if name.endswith(DELETE_DIR_SUFFIX):
                    self._pending_dir_deletes.append((0, path))
                    continue
                if name.endswith(FUTURE_DIR_SUFFIX):
                    log.warning("Ignoring future replica directory %s (log dir moves are not supported)", path)
                    continue
                try:
                    tp = parse_topic_partition_name(name)
                except ValueError as exc:
                    log.warning("Skipping directory %s: %s", path, exc)
                    continue
                if tp in {t.tp for t in tasks}:
                    raise KafkaStorageError(f"duplicate log directories for {tp} found in {self.log_dirs}")
                tasks.append(_LoadTask(path, tp, self.config_for(tp.topic), starts.get(tp, 0),
                                       recovery.get(tp, 0), hws.get(tp), clean))
        return tasks

    def _load_one(self, task: _LoadTask) -> Log:
        return Log(task.dir_path, task.config, log_start_offset=task.log_start_offset,
                   recovery_point=task.recovery_point, had_clean_shutdown=task.had_clean_shutdown,
                   high_watermark=task.high_watermark, clock_ms=self._clock_ms, topic_partition=task.tp,
                   sync_checkpoints=self._sync, producer_id_expiration_ms=self.producer_id_expiration_ms)

    def _apply_loaded(self, loaded: list[Log]) -> None:
        for lg in loaded:
            self._logs[lg.topic_partition] = lg
            self._dir_of[lg.topic_partition] = os.path.dirname(lg.dir_path)
        for d in self.log_dirs:
            try:
                os.unlink(os.path.join(d, CLEAN_SHUTDOWN_FILE))
            except FileNotFoundError:
                pass
        log.info("Loaded %d logs from %s", len(loaded), ", ".join(self.log_dirs))

    def load_logs(self) -> None:
        """Load every log synchronously (*blocking*; tools and tests)."""
        self._apply_loaded([self._load_one(t) for t in self._load_tasks()])

    async def startup(self, executor: Executor | None = None) -> None:
        """Load every log with the recovery work in ``executor``; results are applied on the loop."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        tasks = await loop.run_in_executor(executor, self._load_tasks)
        futures = [loop.run_in_executor(executor, self._load_one, t) for t in tasks]
        loaded = await asyncio.gather(*futures)
        self._apply_loaded(list(loaded))

    # -- partition logs ----------------------------------------------------------------------
    def get_log(self, tp: TopicPartition) -> Log | None:
        return self._logs.get(tp)

    def all_logs(self) -> list[Log]:
        return list(self._logs.values())

    @property
    def logs(self) -> dict[TopicPartition, Log]:
        return dict(self._logs)

    def log_dir_of(self, tp: TopicPartition) -> str | None:
        return self._dir_of.get(tp)

    def _next_log_dir(self) -> str:
        if len(self.log_dirs) == 1:       # the common case: no need to count thousands of logs
            return self.log_dirs[0]
        counts = {d: 0 for d in self.log_dirs}
        for d in self._dir_of.values():
            counts[d] = counts.get(d, 0) + 1
        return min(self.log_dirs, key=lambda d: (counts[d], self.log_dirs.index(d)))

    def get_or_create_log(self, tp: TopicPartition, config: LogConfig | None = None) -> Log:
        """The log of ``tp``, created in the least-loaded log dir when missing."""
        existing = self._logs.get(tp)
        if existing is not None:
            return existing
        d = self._next_log_dir()
        path = os.path.join(d, log_dir_name(tp))
        lg = Log(path, config or self.config_for(tp.topic), clock_ms=self._clock_ms, topic_partition=tp,
                 sync_checkpoints=self._sync, producer_id_expiration_ms=self.producer_id_expiration_ms)
        self._logs[tp] = lg
        self._dir_of[tp] = d
        log.info("Created log for partition %s in %s", tp, path)
        return lg

    def delete_log(self, tp: TopicPartition) -> Log | None:
        """Forget ``tp``'s log and rename its directory ``<tp>.<uuid>-delete``; files go after the delay."""
        lg = self._logs.pop(tp, None)
        self._dir_of.pop(tp, None)
        if lg is None:
            return None
        if self.cleaner is not None:
            self.cleaner.forget(tp)
        new_name = log_delete_dir_name(tp)
        try:
            lg.local.rename_dir(new_name)
        except FileNotFoundError:
            log.warning("Directory of %s already gone", tp)
        with self._pending_lock:
            self._pending_dir_deletes.append((self._clock_ms() + lg.config.file_delete_delay_ms, lg.dir_path))
            self._deleted_logs.append(lg)
        log.info("Log for partition %s is renamed to %s and is scheduled for deletion", tp, lg.dir_path)
        return lg

    def update_topic_config(self, topic: str, config: LogConfig) -> None:
        for tp, lg in self._logs.items():
            if tp.topic == topic:
                lg.update_config(config)

    def truncate_to(self, offsets: dict[TopicPartition, int]) -> None:
        for tp, offset in offsets.items():
            lg = self._logs.get(tp)
            if lg is not None:
                if lg.truncate_to(offset) and self.cleaner is not None:
                    self.cleaner.maybe_truncate_checkpoint(tp, lg.log_end_offset)

    def truncate_fully_and_start_at(self, tp: TopicPartition, offset: int) -> None:
        lg = self._logs.get(tp)
        if lg is not None:
            lg.truncate_fully_and_start_at(offset)
            if self.cleaner is not None:
                self.cleaner.forget(tp)

    # -- periodic jobs ------------------------------------------------------------------------
    def cleanup_logs(self, now_ms: int | None = None) -> int:
        """Retention: delete segments past retention.ms/retention.bytes/log start offset."""
        now = self._clock_ms() if now_ms is None else now_ms
        total = 0
        for lg in list(self._logs.values()):
            if self.cleaner is not None and self.cleaner.in_progress(lg.topic_partition):
                continue
            total += lg.delete_old_segments(now)
            lg.remove_expired_producers(now)      # producer.id.expiration.ms, checked with retention
        return total

    def delete_pending_files(self, now_ms: int | None = None) -> int:
        """Remove ``.deleted`` segments and ``-delete`` directories whose delay passed (*blocking*)."""
        now = self._clock_ms() if now_ms is None else now_ms
        n = 0
        for lg in list(self._logs.values()):
            n += lg.delete_pending_files(now)
        with self._pending_lock:
            retired = list(self._deleted_logs)
        for lg in retired:  # logs whose directory awaits deletion may still hold .deleted segments
            n += lg.delete_pending_files(now)
        with self._pending_lock:
            due = [p for t, p in self._pending_dir_deletes if t <= now]
            self._pending_dir_deletes = [(t, p) for t, p in self._pending_dir_deletes if t > now]
            gone = [x for x in self._deleted_logs if x.dir_path in due]
            self._deleted_logs = [x for x in self._deleted_logs if x.dir_path not in due]
        for lg in gone:
            lg.local.close_handlers()
            lg.local.delete_pending_files(force=True)
        for path in due:
            shutil.rmtree(path, ignore_errors=True)
            log.info("Deleted log directory %s", path)
            n += 1
        return n

    def logs_to_flush(self, now_ms: int | None = None) -> list[tuple[Log, int]]:
        """(log, offset) pairs due for a flush by flush.ms or flush.messages (cheap; on the loop)."""
        now = self._clock_ms() if now_ms is None else now_ms
        out = []
        for lg in list(self._logs.values()):  # may run on an executor thread
            c = lg.config
            if lg.unflushed_messages <= 0:
                continue
            if lg.unflushed_messages >= c.flush_messages or now - lg.last_flush_ms >= c.flush_ms:
                out.append((lg, lg.log_end_offset))
        return out

    def flush_dirty_logs(self, now_ms: int | None = None) -> int:
        """fsync the logs due for a flush (*blocking*); returns how many were flushed."""
        n = 0
        for lg, offset in self.logs_to_flush(now_ms):
            if lg.flush(offset):
                n += 1
        return n

    def _by_dir(self) -> dict[str, dict[TopicPartition, Log]]:
        out: dict[str, dict[TopicPartition, Log]] = {d: {} for d in self.log_dirs}
        dirs = dict(self._dir_of)
        for tp, lg in list(self._logs.items()):  # may run on an executor thread
            d = dirs.get(tp)
            if d is not None:
                out.setdefault(d, {})[tp] = lg
        return out

    def flush_rolled_segments(self) -> int:
        """fsync segments that rolled since the last flush (Kafka flushes them right after a roll) (*blocking*)."""
        n = 0
        for lg in list(self._logs.values()):
            active_base = lg.active_segment.base_offset
            if lg.recovery_point < active_base and lg.flush(active_base):
                n += 1
        return n

    def checkpoint_recovery_offsets(self) -> None:
        """Flush rolled segments, then write recovery-point-offset-checkpoint in every dir (*blocking*)."""
        self.flush_rolled_segments()
        for d, logs in self._by_dir().items():
            OffsetCheckpointFile(os.path.join(d, RECOVERY_POINT_CHECKPOINT_FILE)).write(
                {tp: lg.recovery_point for tp, lg in logs.items()}, self._sync)

    def checkpoint_log_start_offsets(self) -> None:
        """Write log-start-offset-checkpoint (entries only above the first segment's base) (*blocking*)."""
        for d, logs in self._by_dir().items():
            entries = {}
            for tp, lg in logs.items():
                first = lg.local.segments.first_segment
                if first is not None and lg.log_start_offset > first.base_offset:
                    entries[tp] = lg.log_start_offset
            OffsetCheckpointFile(os.path.join(d, LOG_START_OFFSET_CHECKPOINT_FILE)).write(entries, self._sync)

    def checkpoint_high_watermarks(self) -> None:
        """Write replication-offset-checkpoint (high watermarks) (*blocking*)."""
        for d, logs in self._by_dir().items():
            OffsetCheckpointFile(os.path.join(d, REPLICATION_OFFSET_CHECKPOINT_FILE)).write(
                {tp: lg.high_watermark for tp, lg in logs.items()}, self._sync)

    def clean_logs(self, now_ms: int | None = None) -> int:
        """Run one compaction pass over the dirtiest compacted log (*blocking*); returns bytes freed.

        Called on an executor thread (after ``startup``), the file work runs there and the swap of
        the cleaned segments into the log runs on the event loop; called on the loop's own thread
        (or without a loop), everything runs inline.
        """
        if self.cleaner is None:
            return 0
        loop = self._loop
        if loop is None or loop.is_closed() or _on_loop_thread(loop):
            return self.cleaner.clean_one(now_ms)
        cleaner = self.cleaner
        now = self._clock_ms() if now_ms is None else now_ms
        choice = _call_on_loop(loop, cleaner.grab_filthiest_log, now)
        if choice is None:
            return 0
        last_records = _call_on_loop(loop, choice[0].last_records_of_active_producers)
        result = cleaner.prepare(choice[0], now, last_records)
        if result is None:
            return 0
        try:
            applied = _call_on_loop(loop, cleaner.apply, result)
        except BaseException:
            cleaner.discard(result)
            raise
        if not applied:
            return 0
        cleaner.checkpoint_all()
        return result.stats.bytes_freed

    def cleaner_checkpoint_path(self, tp: TopicPartition) -> str:
        return os.path.join(self._dir_of[tp], CLEANER_OFFSET_CHECKPOINT_FILE)

    # -- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Flush and close every log, write checkpoints and the clean-shutdown marker (*blocking*)."""
        if self.closed:
            return
        log.info("Shutting down the log manager")
        for lg in self._logs.values():
            lg.flush()
        self.checkpoint_recovery_offsets()
        self.checkpoint_log_start_offsets()
        self.checkpoint_high_watermarks()
        if self.cleaner is not None:
            self.cleaner.checkpoint_all()
        for lg in self._logs.values():
            lg.close()
        for d in self.log_dirs:
            fd = os.open(os.path.join(d, CLEAN_SHUTDOWN_FILE), os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(fd)
        self._unlock_dirs()
        self.closed = True
        log.info("Log manager shut down")
