"""ISR expansion and shrink on a leader Partition through the IsrManager (fake ZooKeeper, manual clock)."""
from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

import pytest

from kafkapy.common.clock import ManualClock
from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.server.isr import MODE_ALTER_ISR, IsrManager, is_follower_in_sync, out_of_sync_replicas
from kafkapy.server.partition import Partition, PartitionState
from kafkapy.zk.errors import BadVersionError

pytestmark = pytest.mark.timeout(20)


def aio(fn):
    """Run an async test on a fresh loop, under a timeout."""
    @functools.wraps(fn)
    def run() -> None:
        asyncio.run(asyncio.wait_for(fn(), 10))
    return run

TP = TopicPartition("t", 0)
LAG_MS = 10_000


@dataclass
class FakeConfig:
    min_insync_replicas: int = 2


class FakeLog:
    def __init__(self) -> None:
        self.config = FakeConfig()
        self.log_start_offset = 0
        self.log_end_offset = 0
        self.high_watermark = 0

    def append_as_leader(self, records, leader_epoch, *_flags, **_kw):
        self.log_end_offset += len(records)
        return None

    def maybe_increment_high_watermark(self, hw: int) -> bool:
        if hw > self.high_watermark:
            self.high_watermark = min(hw, self.log_end_offset)
            return True
        return False

    def maybe_assign_epoch_start_offset(self, epoch: int, offset: int, flush: bool = True) -> None:
        pass


class FakeZk:
    def __init__(self) -> None:
        self.version = 0
        self.writes: list[LeaderAndIsr] = []
        self.notifications: list[list[TopicPartition]] = []
        self.fail_with: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def conditional_update_partition_state(self, tp: TopicPartition, state: LeaderAndIsr) -> LeaderAndIsr:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        if state.zk_version != self.version:
            raise BadVersionError(f"expected {self.version}, got {state.zk_version}")
        self.version += 1
        self.writes.append(state)
        return LeaderAndIsr(state.leader, state.leader_epoch, state.isr, state.controller_epoch, self.version)

    async def propagate_isr_changes(self, partitions) -> str:
        self.notifications.append(list(partitions))
        return f"/isr_change_notification/isr_change_{len(self.notifications):010d}"


class Tasks:
    def __init__(self) -> None:
        self.running: list[asyncio.Task] = []

    def spawn(self, name, coro):
        t = asyncio.get_running_loop().create_task(coro, name=name)
        self.running.append(t)
        return t

    async def settle(self) -> None:
        while self.running:
            t = self.running.pop()
            await t


def setup(isr=(1, 2, 3), mode="zookeeper"):
    clock = ManualClock()
    zk = FakeZk()
    tasks = Tasks()
    changed: list[TopicPartition] = []
    alter = None
    if mode == MODE_ALTER_ISR:
        async def alter(updates):
            return {tp: await zk.conditional_update_partition_state(tp, st) for tp, st in updates.items()}
    mgr = IsrManager(1, zk, clock, tasks, replica_lag_time_max_ms=LAG_MS, on_isr_changed=changed.append, mode=mode,
                     alter_isr=alter)
    lg = FakeLog()
    p = Partition(TP, 1, lambda tp, is_new: lg, clock.now_ms)
    p.make_leader(PartitionState(1, 1, 5, tuple(isr), 0, (1, 2, 3)))
    p.isr_manager = mgr
    return clock, zk, tasks, mgr, p, lg, changed


@aio
async def test_lagging_follower_is_shrunk_after_the_lag_time_and_hw_moves() -> None:
    clock, zk, tasks, mgr, p, lg, changed = setup()
    p.append_records_to_leader(b"x" * 10, -1)
    p.update_follower_fetch_state(2, 10, 0, lg.log_end_offset)
    p.update_follower_fetch_state(3, 4, 0, lg.log_end_offset)
    assert lg.high_watermark == 4
    clock.advance(LAG_MS)
    p.update_follower_fetch_state(2, 10, 0, lg.log_end_offset)
    mgr.shrink_all([p])
    await tasks.settle()
    assert zk.writes == []                   # not yet beyond the lag time
    clock.advance(1)
    p.update_follower_fetch_state(2, 10, 0, lg.log_end_offset)
    mgr.shrink_all([p])
    await tasks.settle()
    assert [w.isr for w in zk.writes] == [(1, 2)]
    assert p.isr == {1, 2} and p.zk_version == 1
    assert lg.high_watermark == 10           # the lagging follower no longer holds the HW back
    assert changed == [TP]
    assert mgr.pending_notifications == {TP}


@aio
async def test_follower_fetching_steadily_behind_a_moving_end_stays_in_sync() -> None:
    clock, zk, tasks, mgr, p, lg, changed = setup()
    for _ in range(30):                      # each fetch reaches where the end was at its previous fetch
        end_before = lg.log_end_offset
        p.append_records_to_leader(b"y" * 5, -1)
        p.update_follower_fetch_state(2, end_before, 0, lg.log_end_offset)
        p.update_follower_fetch_state(3, end_before, 0, lg.log_end_offset)
        clock.advance(1000)
        mgr.shrink_all([p])
    await tasks.settle()
    assert zk.writes == []
    assert out_of_sync_replicas(p, clock.now_ms(), LAG_MS) == set()


@aio
async def test_follower_rejoins_once_it_reaches_the_high_watermark() -> None:
    clock, zk, tasks, mgr, p, lg, changed = setup(isr=(1, 2))
    p.append_records_to_leader(b"z" * 8, -1)
    p.update_follower_fetch_state(2, 8, 0, lg.log_end_offset)
    assert lg.high_watermark == 8
    p.update_follower_fetch_state(3, 7, 0, lg.log_end_offset)
    await tasks.settle()
    assert zk.writes == []
    assert not is_follower_in_sync(p, p.remote_replicas[3])
    p.update_follower_fetch_state(3, 8, 0, lg.log_end_offset)
    await tasks.settle()
    assert [w.isr for w in zk.writes] == [(1, 2, 3)]
    assert p.isr == {1, 2, 3}


@aio
async def test_bad_version_leaves_the_isr_unchanged() -> None:
    clock, zk, tasks, mgr, p, lg, changed = setup()
    zk.version = 7                           # someone else (the controller) wrote the znode
    p.update_follower_fetch_state(2, 0, 0, 0)
    clock.advance(LAG_MS + 1)
    mgr.shrink_all([p])
    await tasks.settle()
    assert zk.writes == [] and p.isr == {1, 2, 3} and changed == []
    assert mgr.pending_notifications == set()


@aio
async def test_leadership_change_during_the_write_discards_the_result() -> None:
    clock, zk, tasks, mgr, p, lg, changed = setup()
    zk.gate = asyncio.Event()
    clock.advance(LAG_MS + 1)
    mgr.shrink_all([p])
    await asyncio.sleep(0)
    mgr.shrink_all([p])                      # one write in flight per partition
    p.make_leader(PartitionState(1, 1, 6, (1, 2, 3), 3, (1, 2, 3)))
    zk.gate.set()
    await tasks.settle()
    assert [w.isr for w in zk.writes] == [(1,)]   # written, but not applied
    assert p.isr == {1, 2, 3} and p.zk_version == 3 and changed == []


@aio
async def test_notifications_are_batched_until_quiet_for_five_seconds() -> None:
    clock, zk, tasks, mgr, p, lg, changed = setup()
    mgr.record_isr_change(TP)
    clock.advance(2500)
    await mgr.maybe_propagate_isr_changes()
    assert zk.notifications == []
    mgr.record_isr_change(TopicPartition("t", 1))
    clock.advance(5001)
    await mgr.maybe_propagate_isr_changes()
    assert zk.notifications == [[TP, TopicPartition("t", 1)]]
    assert mgr.pending_notifications == set()


@aio
async def test_notifications_go_out_after_sixty_seconds_of_constant_change() -> None:
    clock, zk, tasks, mgr, p, lg, changed = setup()
    for _ in range(25):
        mgr.record_isr_change(TP)
        clock.advance(2500)
        await mgr.maybe_propagate_isr_changes()
    assert zk.notifications == [[TP]]


@aio
async def test_alter_isr_mode_writes_through_the_sender_without_notifications() -> None:
    clock, zk, tasks, mgr, p, lg, changed = setup(mode=MODE_ALTER_ISR)
    clock.advance(LAG_MS + 1)
    p.update_follower_fetch_state(2, 0, 0, 0)
    mgr.shrink_all([p])
    await tasks.settle()
    assert [w.isr for w in zk.writes] == [(1, 2)]
    assert p.isr == {1, 2} and mgr.pending_notifications == set()


def test_mode_is_validated() -> None:
    with pytest.raises(ValueError):
        IsrManager(1, FakeZk(), ManualClock(), Tasks(), replica_lag_time_max_ms=1, on_isr_changed=print,
                   mode="bogus")
