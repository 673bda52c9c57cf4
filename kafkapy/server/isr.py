"""ISR maintenance on partition leaders: expansion, shrink, and ISR change notifications.

A leader adds a follower to the ISR once the follower's log end offset reaches the high
watermark (and the start of the current leader epoch); it removes an in-sync follower that has
not caught up to the leader's log end for ``replica.lag.time.max.ms`` (checked every half of
that interval). The new ISR is written to the partition state znode conditionally on the
cached ``zk_version`` (the ZooKeeper-era protocol, the default); on BADVERSION the change is
dropped, as Kafka does, until the controller sends a newer LeaderAndIsr. The in-memory ISR
changes only after the write succeeded, and only if the partition is still led by us at the
same leader epoch and znode version.

Changed partitions are batched into ``/isr_change_notification/isr_change_<seq>``: every
2.5 s, propagated when nothing changed in the last 5 s or 60 s passed since the last one.

Optionally (``mode="alter_isr"``) the leader sends AlterIsr to the controller instead; the
ZooKeeper write stays the default.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from kafkapy.common.clock import Clock
from kafkapy.common.types import LeaderAndIsr, TopicPartition

log = logging.getLogger(__name__)

ISR_CHANGE_PROPAGATION_INTERVAL_MS = 2500
ISR_CHANGE_PROPAGATION_BLACKOUT_MS = 5000
ISR_CHANGE_PROPAGATION_MAX_DELAY_MS = 60000

MODE_ZOOKEEPER = "zookeeper"
MODE_ALTER_ISR = "alter_isr"


class IsrWriter(Protocol):
    """What the manager needs from `kafkapy.zk.kafka_zk.KafkaZkClient`."""

    async def conditional_update_partition_state(self, tp: TopicPartition, state: LeaderAndIsr
                                                 ) -> LeaderAndIsr: ...

    async def propagate_isr_changes(self, partitions: Any) -> str: ...


class TaskSpawner(Protocol):
    def spawn(self, name: str, coro: Any) -> Any: ...


class _Prefixed(logging.LoggerAdapter):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.extra['prefix']}{msg}", kwargs


def out_of_sync_replicas(partition: Any, now_ms: int, max_lag_ms: int) -> set[int]:
    """Followers in the ISR that have not caught up to the leader's end for `max_lag_ms`."""
    leader_end = partition.log_end_offset
    out: set[int] = set()
    for rid in partition.isr:
        if rid == partition.local_broker_id:
            continue
        rs = partition.remote_replicas.get(rid)
        if rs is None:
            out.add(rid)
            continue
        if rs.log_end_offset != leader_end and now_ms - rs.last_caught_up_time_ms > max_lag_ms:
            out.add(rid)
    return out


def is_follower_in_sync(partition: Any, replica: Any) -> bool:
    """A follower not in the ISR may join once it reached the HW and the current epoch's start."""
    if replica.broker_id in partition.isr or replica.broker_id not in partition.assignment:
        return False
    if replica.log_end_offset < 0 or replica.log_end_offset < partition.high_watermark:
        return False
    start = partition.leader_epoch_start_offset
    return start is None or replica.log_end_offset >= start


class IsrManager:
    """Expands and shrinks the ISR of this broker's leader partitions; batches notifications.

    `on_isr_changed(tp)` is called (on the loop) after an applied change so the caller can
    complete delayed produces and fetches (the high watermark may have moved).
    """

    def __init__(self, broker_id: int, zk: IsrWriter, clock: Clock, tasks: TaskSpawner, *,
                 replica_lag_time_max_ms: int, on_isr_changed: Callable[[TopicPartition], None],
                 mode: str = MODE_ZOOKEEPER,
                 alter_isr: Callable[[dict[TopicPartition, LeaderAndIsr]],
                                     Awaitable[dict[TopicPartition, Any]]] | None = None) -> None:
        if mode not in (MODE_ZOOKEEPER, MODE_ALTER_ISR):
            raise ValueError(f"unknown ISR update mode {mode!r}")
        if mode == MODE_ALTER_ISR and alter_isr is None:
            raise ValueError("mode alter_isr needs an alter_isr sender")
        self.broker_id = broker_id
        self.zk = zk
        self.clock = clock
        self.tasks = tasks
        self.replica_lag_time_max_ms = replica_lag_time_max_ms
        self.mode = mode
        self._alter_isr = alter_isr
        self._on_isr_changed = on_isr_changed
        self._in_flight: set[TopicPartition] = set()
        self.pending_notifications: set[TopicPartition] = set()
        self.last_isr_change_ms = 0
        self.last_propagation_ms = clock.now_ms()
        self.isr_writes = 0            # applied changes (for tests and metrics)
        self.logger = _Prefixed(log, {"prefix": f"[IsrManager broker={broker_id}] "})

    # -- hooks called by Partition ------------------------------------------------------------
    def maybe_expand_isr(self, partition: Any, replica: Any) -> None:
        if not partition.is_leader or partition.topic_partition in self._in_flight:
            return
        if not is_follower_in_sync(partition, replica):
            return
        new_isr = tuple(sorted(set(partition.isr) | {replica.broker_id}))
        self.logger.info("Expanding ISR of %s from %s to %s", partition.topic_partition,
                         sorted(partition.isr), list(new_isr))
        self._submit(partition, new_isr)

    def maybe_shrink_isr(self, partition: Any) -> None:
        if not partition.is_leader or partition.topic_partition in self._in_flight:
            return
        out = out_of_sync_replicas(partition, self.clock.now_ms(), self.replica_lag_time_max_ms)
        if not out:
            return
        new_isr = tuple(sorted(set(partition.isr) - out))
        if not new_isr:
            return
        lagging = {r: (partition.remote_replicas[r].log_end_offset if r in partition.remote_replicas else -1)
                   for r in sorted(out)}
        self.logger.info("Shrinking ISR of %s from %s to %s. Leader: (end offset %d, high watermark %d). "
                         "Out of sync replicas (end offsets): %s.", partition.topic_partition,
                         sorted(partition.isr), list(new_isr), partition.log_end_offset,
                         partition.high_watermark, lagging)
        self._submit(partition, new_isr)

    def shrink_all(self, partitions: Any) -> None:
        """The periodic isr-expiration check over `partitions` (this broker's leaders)."""
        for p in list(partitions):
            try:
                p.maybe_shrink_isr()
            except Exception:
                self.logger.error("ISR shrink check of %s failed", p.topic_partition, exc_info=True)

    # -- writes ---------------------------------------------------------------------------------
    def _submit(self, partition: Any, new_isr: tuple[int, ...]) -> None:
        tp = partition.topic_partition
        self._in_flight.add(tp)
        self.tasks.spawn(f"isr-update-{tp}", self._write(partition, new_isr))

    async def _write(self, partition: Any, new_isr: tuple[int, ...]) -> None:
        tp = partition.topic_partition
        epoch = partition.leader_epoch
        version = partition.zk_version
        state = LeaderAndIsr(self.broker_id, epoch, new_isr, partition.controller_epoch, version)
        try:
            if self.mode == MODE_ALTER_ISR:
                assert self._alter_isr is not None
                answer = (await self._alter_isr({tp: state})).get(tp)
                if not isinstance(answer, LeaderAndIsr):
                    self.logger.warning("AlterIsr of %s to %s failed: %s", tp, list(new_isr), answer)
                    return
                stored = answer
            else:
                stored = await self.zk.conditional_update_partition_state(tp, state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:   # BADVERSION, NONODE, connection loss: Kafka skips the update
            self.logger.info("Cached zkVersion %d of %s not equal to that in ZooKeeper or the write failed "
                             "(%s), skip updating ISR", version, tp, type(exc).__name__)
            return
        finally:
            self._in_flight.discard(tp)
        # Re-validate after the await: still leader at the same epoch and znode version?
        if not partition.is_leader or partition.leader_epoch != epoch or partition.zk_version != version:
            self.logger.info("Leadership of %s changed while its ISR was written; not applying %s", tp,
                             list(new_isr))
            return
        partition.isr = frozenset(stored.isr)
        partition.zk_version = stored.zk_version
        self.isr_writes += 1
        if self.mode == MODE_ZOOKEEPER:
            self.record_isr_change(tp)
        self.logger.info("ISR of %s updated to %s and zkVersion updated to [%d]", tp, sorted(stored.isr),
                         stored.zk_version)
        partition.maybe_increment_leader_hw()
        self._on_isr_changed(tp)

    # -- notifications ----------------------------------------------------------------------------
    def record_isr_change(self, tp: TopicPartition) -> None:
        self.pending_notifications.add(tp)
        self.last_isr_change_ms = self.clock.now_ms()

    def should_propagate(self, now_ms: int) -> bool:
        if not self.pending_notifications:
            return False
        return (self.last_isr_change_ms + ISR_CHANGE_PROPAGATION_BLACKOUT_MS < now_ms
                or self.last_propagation_ms + ISR_CHANGE_PROPAGATION_MAX_DELAY_MS < now_ms)

    async def maybe_propagate_isr_changes(self) -> None:
        now = self.clock.now_ms()
        if not self.should_propagate(now):
            return
        batch = set(self.pending_notifications)
        self.pending_notifications.clear()
        try:
            await self.zk.propagate_isr_changes(sorted(batch))
        except asyncio.CancelledError:
            self.pending_notifications |= batch
            raise
        except Exception as exc:
            self.logger.warning("Failed to write an ISR change notification for %d partitions: %s", len(batch),
                                exc)
            self.pending_notifications |= batch
            return
        self.last_propagation_ms = now


__all__ = ["IsrManager", "out_of_sync_replicas", "is_follower_in_sync", "MODE_ZOOKEEPER", "MODE_ALTER_ISR",
           "ISR_CHANGE_PROPAGATION_INTERVAL_MS"]
