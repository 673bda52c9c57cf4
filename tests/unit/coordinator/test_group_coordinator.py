"""GroupCoordinator against a fake replica manager and the manual clock.

The fake keeps every appended batch, so tests can check what reached `__consumer_offsets`
and replay it into a fresh coordinator (loading after a leadership change).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import pytest

from kafkapy.common.clock import ManualClock
from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.coordinator.group.coordinator import GroupConfig, GroupCoordinator, LeaveMember
from kafkapy.coordinator.group.group_metadata import GroupState, OffsetAndMetadata
from kafkapy.coordinator.group.metadata_manager import GROUP_METADATA_TOPIC, partition_for
from kafkapy.protocol.messages.internal import (
    CONSUMER_PROTOCOL_SUBSCRIPTION,
    decode_offsets_key,
    decode_offsets_value,
    encode_versioned,
)
from kafkapy.protocol.records import SimpleRecord, build_batch, build_empty_batch, read_entry
from kafkapy.protocol.records.batch import set_base_offset
from kafkapy.protocol.records.deep import iter_records
from kafkapy.protocol.records.shallow import iter_batches

N_PARTITIONS = 4
T = TopicPartition("t", 0)


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(fn(), 10)
    return asyncio.run(bounded())


@dataclass
class _Status:
    error_code: int


class _Region:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


class _Fetched:
    def __init__(self, data: bytes) -> None:
        self.records = _Region(data)


class FakeLog:
    def __init__(self) -> None:
        self.data = bytearray()
        self.log_start_offset = 0
        self.log_end_offset = 0

    def append(self, batch: bytes) -> None:
        buf = bytearray(batch)
        set_base_offset(buf, 0, self.log_end_offset)
        info = next(iter_batches(buf))
        self.log_end_offset = info.next_offset
        self.data += buf

    def read(self, offset: int, max_bytes: int, max_offset: Any, min_one: bool) -> _Fetched:
        for info in iter_batches(self.data):
            if info.next_offset > offset:
                return _Fetched(bytes(self.data[info.position:]))
        return _Fetched(b"")


class FakePartition:
    def __init__(self, tp: TopicPartition) -> None:
        self.topic_partition = tp
        self.log = FakeLog()
        self.is_leader = True
        self.leader_epoch = 0


class FakeReplicaManager:
    def __init__(self) -> None:
        self.all_partitions = {TopicPartition(GROUP_METADATA_TOPIC, i): FakePartition(
            TopicPartition(GROUP_METADATA_TOPIC, i)) for i in range(N_PARTITIONS)}
        self.leadership_change_listeners: list = []
        self.stop_listeners: list = []
        self.fail_with: int | None = None

    def append_records(self, timeout_ms: int, acks: int, internal: bool, entries: list, respond: Callable) -> Any:
        statuses = {}
        for tp, records in entries:
            if self.fail_with is not None:
                statuses[tp] = _Status(self.fail_with)
            else:
                self.all_partitions[tp].log.append(records)
                statuses[tp] = _Status(0)
        return respond(statuses)

    def records(self, group: str) -> list[tuple[Any, Any]]:
        tp = TopicPartition(GROUP_METADATA_TOPIC, partition_for(group, N_PARTITIONS))
        out = []
        for rec in iter_records(self.all_partitions[tp].log.data):
            version, key = decode_offsets_key(rec.key)
            out.append((key, decode_offsets_value(version, rec.value)))
        return out


class Tasks:
    def __init__(self) -> None:
        self.tasks: list[asyncio.Task] = []

    def spawn(self, name: str, coro: Any) -> asyncio.Task:
        t = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(t)
        return t

    async def join(self) -> None:
        await asyncio.gather(*self.tasks)


def subscription(*topics: str) -> bytes:
    cls = CONSUMER_PROTOCOL_SUBSCRIPTION.schema.cls
    return encode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, 0, cls(topics=list(topics), user_data=None))


PROTOCOLS = [("range", subscription("t")), ("roundrobin", subscription("t"))]


async def started(rm: FakeReplicaManager | None = None, clock: ManualClock | None = None,
                  **config: Any) -> tuple[GroupCoordinator, FakeReplicaManager, ManualClock]:
    rm = rm or FakeReplicaManager()
    clock = clock or ManualClock()
    tasks = Tasks()
    config.setdefault("group_initial_rebalance_delay_ms", 0)
    cfg = GroupConfig(offsets_topic_num_partitions=N_PARTITIONS, **config)
    coord = GroupCoordinator(1, cfg, rm, clock, tasks)
    coord.startup()
    await tasks.join()
    return coord, rm, clock


def join(coord: GroupCoordinator, group: str = "g", member_id: str = "", instance: str | None = None,
         protocols: list | None = None, session_ms: int = 10000, rebalance_ms: int = 30000,
         require_known: bool = False) -> asyncio.Future:
    return coord.handle_join_group(group, member_id, instance, require_known, "client", "/127.0.0.1",
                                   rebalance_ms, session_ms, "consumer", protocols or PROTOCOLS)


async def settle(clock: ManualClock, ms: int = 0) -> None:
    await asyncio.sleep(0)
    clock.advance(ms)
    for _ in range(3):
        await asyncio.sleep(0)


def test_single_member_join_sync_heartbeat_commit_fetch() -> None:
    async def go() -> None:
        coord, rm, clock = await started()
        fut = join(coord)
        await settle(clock)
        r = await fut
        assert r.error == 0 and r.generation_id == 1 and r.leader_id == r.member_id
        assert r.protocol_name == "range" and len(r.members) == 1
        s = await coord.handle_sync_group("g", 1, r.member_id, "consumer", "range", None, {r.member_id: b"A"})
        assert s.error == 0 and s.assignment == b"A"
        assert coord.groups["g"].state is GroupState.STABLE
        assert coord.handle_heartbeat("g", r.member_id, None, 1) == 0
        assert coord.handle_heartbeat("g", r.member_id, None, 0) == ErrorCode.ILLEGAL_GENERATION
        assert coord.handle_heartbeat("g", "nobody", None, 1) == ErrorCode.UNKNOWN_MEMBER_ID
        res = await coord.handle_commit_offsets("g", r.member_id, None, 1, {T: OffsetAndMetadata(5, -1, "m", 1)})
        assert res == {T: 0}
        err, got = coord.handle_fetch_offsets("g", [T, TopicPartition("t", 1)])
        assert err == 0 and got[T].offset == 5 and got[TopicPartition("t", 1)] is None
        err, everything = coord.handle_fetch_offsets("g", None)
        assert everything == {T: OffsetAndMetadata(5, -1, "m", 1)}
        stored = rm.records("g")
        assert stored[0][0].group == "g" and stored[0][1][1].generation == 1     # group metadata first
        assert stored[-1][0].topic == "t" and stored[-1][1][1].offset == 5
        assert coord.handle_commit_offsets("g", r.member_id, None, 7, {T: OffsetAndMetadata(6)}).result() == \
            {T: ErrorCode.ILLEGAL_GENERATION}
    run(go)


def test_member_id_required_round_trip() -> None:
    async def go() -> None:
        coord, _rm, clock = await started()
        first = await join(coord, require_known=True)
        assert first.error == ErrorCode.MEMBER_ID_REQUIRED and first.member_id.startswith("client-")
        fut = join(coord, member_id=first.member_id, require_known=True)
        await settle(clock)
        r = await fut
        assert r.error == 0 and r.member_id == first.member_id
        # A pending member that never comes back is dropped after its session timeout.
        pending = await join(coord, require_known=True)
        assert pending.member_id in coord.groups["g"].pending_members
        await settle(clock, 10001)
        assert pending.member_id not in coord.groups["g"].pending_members
    run(go)


def test_three_members_rebalance_then_one_dies() -> None:
    async def go() -> None:
        coord, _rm, clock = await started()
        f1 = join(coord)
        await settle(clock)
        r1 = await f1
        await coord.handle_sync_group("g", 1, r1.member_id, None, None, None, {r1.member_id: b"all"})
        # Two more join: the group rebalances; the existing member rejoins on its next heartbeat.
        f2, f3 = join(coord), join(coord)
        await settle(clock)
        assert coord.groups["g"].state is GroupState.PREPARING_REBALANCE
        assert coord.handle_heartbeat("g", r1.member_id, None, 1) == ErrorCode.REBALANCE_IN_PROGRESS
        f1 = join(coord, member_id=r1.member_id)
        await settle(clock)
        results = [await f for f in (f1, f2, f3)]
        assert {r.generation_id for r in results} == {2}
        leader = [r for r in results if r.members]
        assert len(leader) == 1 and len(leader[0].members) == 3
        ids = [r.member_id for r in results]
        syncs = [coord.handle_sync_group("g", 2, m, None, None, None, {}) for m in ids if m != leader[0].member_id]
        assert not any(s.done() for s in syncs)
        lead = await coord.handle_sync_group("g", 2, leader[0].member_id, None, None, None,
                                             {m: m.encode() for m in ids})
        assert lead.assignment == leader[0].member_id.encode()
        assert sorted([(await s).assignment for s in syncs]) == sorted(
            m.encode() for m in ids if m != leader[0].member_id)
        # Two keep heartbeating, the third goes silent: it is removed after the session timeout.
        for _ in range(3):
            await settle(clock, 4000)
            for m in ids[:2]:
                coord.handle_heartbeat("g", m, None, 2)
        group = coord.groups["g"]
        assert ids[2] not in group.members and group.state is GroupState.PREPARING_REBALANCE
    run(go)


def test_leave_group_and_empty_group_written() -> None:
    async def go() -> None:
        coord, rm, clock = await started()
        fut = join(coord)
        await settle(clock)
        r = await fut
        await coord.handle_sync_group("g", 1, r.member_id, None, None, None, {r.member_id: b"x"})
        top, errs = coord.handle_leave_group("g", [LeaveMember(r.member_id), LeaveMember("ghost")])
        assert top == 0 and errs == [0, ErrorCode.UNKNOWN_MEMBER_ID]
        await settle(clock)
        group = coord.groups["g"]
        assert group.state is GroupState.EMPTY and group.generation_id == 2
        last = rm.records("g")[-1]
        assert last[1][1].members == [] and last[1][1].protocol is None and last[1][1].protocol_type == "consumer"
    run(go)


def test_initial_rebalance_delay_collects_joiners() -> None:
    async def go() -> None:
        coord, _rm, clock = await started(group_initial_rebalance_delay_ms=3000)
        f1 = join(coord)
        await settle(clock, 2000)
        f2 = join(coord)
        await settle(clock, 2000)
        assert not f1.done()      # a new member arrived during the delay: wait once more
        await settle(clock, 3000)
        r1, r2 = await f1, await f2
        assert r1.generation_id == r2.generation_id == 1
    run(go)


def test_static_member_rejoin_keeps_assignment_and_fences_old_id() -> None:
    async def go() -> None:
        coord, _rm, clock = await started()
        fut = join(coord, instance="inst-1")
        await settle(clock)
        r = await fut
        await coord.handle_sync_group("g", 1, r.member_id, None, None, "inst-1", {r.member_id: b"mine"})
        again = await join(coord, instance="inst-1")
        assert again.error == 0 and again.member_id != r.member_id and again.generation_id == 1
        assert coord.handle_heartbeat("g", r.member_id, "inst-1", 1) == ErrorCode.FENCED_INSTANCE_ID
        s = await coord.handle_sync_group("g", 1, again.member_id, None, None, "inst-1", {})
        assert s.assignment == b"mine"
    run(go)


def test_group_max_size_and_session_timeout_bounds() -> None:
    async def go() -> None:
        coord, _rm, clock = await started(group_max_size=1)
        fut = join(coord)
        await settle(clock)
        await fut
        assert (await join(coord)).error == ErrorCode.GROUP_MAX_SIZE_REACHED
        assert (await join(coord, group="h", session_ms=10)).error == ErrorCode.INVALID_SESSION_TIMEOUT
        assert (await join(coord, group="")).error == ErrorCode.INVALID_GROUP_ID
    run(go)


def test_not_coordinator_and_loading() -> None:
    async def go() -> None:
        coord, rm, clock = await started()
        index = partition_for("g", N_PARTITIONS)
        coord.on_resigned(index)
        assert (await join(coord)).error == ErrorCode.NOT_COORDINATOR
        assert coord.handle_fetch_offsets("g", [T])[0] == ErrorCode.NOT_COORDINATOR
        # Becoming leader again: while the load task has not run, the partition is loading.
        coord.on_elected(index, 1)
        assert coord.handle_fetch_offsets("g", [T])[0] == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        await settle(clock)
        assert coord.handle_fetch_offsets("g", [T])[0] == 0
    run(go)


def test_load_after_leadership_change_restores_groups_and_offsets() -> None:
    async def go() -> None:
        coord, rm, clock = await started()
        fut = join(coord)
        await settle(clock)
        r = await fut
        await coord.handle_sync_group("g", 1, r.member_id, None, None, None, {r.member_id: b"asg"})
        for off in range(10):
            await coord.handle_commit_offsets("g", r.member_id, None, 1, {T: OffsetAndMetadata(off, 3, "", 7)})
        await coord.handle_commit_offsets("simple", "", None, -1, {T: OffsetAndMetadata(99, -1, "", 8)})
        await coord.handle_commit_offsets("gone", "", None, -1, {T: OffsetAndMetadata(1, -1, "", 8)})
        assert (await coord.handle_delete_groups(["gone", "g", "nope"])) == {
            "gone": 0, "g": ErrorCode.NON_EMPTY_GROUP, "nope": ErrorCode.GROUP_ID_NOT_FOUND}
        fresh, _rm, _clock = await started(rm=rm, clock=clock)
        g = fresh.groups["g"]
        assert g.state is GroupState.STABLE and g.generation_id == 1 and g.leader_id == r.member_id
        assert g.members[r.member_id].assignment == b"asg"
        assert g.offsets[T] == OffsetAndMetadata(9, 3, "", 7)
        assert fresh.groups["simple"].offsets[T].offset == 99
        assert "gone" not in fresh.groups
        assert fresh.handle_describe_group("g").members[0].assignment == b"asg"
    run(go)


def test_load_steps_over_empty_batches_a_compacted_offsets_log_can_hold() -> None:
    """The cleaner keeps a producer's last batch without records; the load skips it like Kafka's."""
    async def go() -> None:
        coord, rm, clock = await started()
        await coord.handle_commit_offsets("simple", "", None, -1, {T: OffsetAndMetadata(5, -1, "", 8)})
        log = rm.all_partitions[TopicPartition(GROUP_METADATA_TOPIC, partition_for("simple", N_PARTITIONS))].log
        full = build_batch([SimpleRecord(b"x", b"y", (), 1), SimpleRecord(b"x", b"z", (), 2)], producer_id=4,
                           producer_epoch=0, base_sequence=0)
        log.append(build_empty_batch(read_entry(full, 0)))
        await coord.handle_commit_offsets("simple", "", None, -1, {T: OffsetAndMetadata(6, -1, "", 9)})
        log.append(build_empty_batch(read_entry(full, 0)))          # the log ends with one
        fresh, _rm, _clock = await started(rm=rm, clock=clock)
        assert fresh.groups["simple"].offsets[T] == OffsetAndMetadata(6, -1, "", 9)
    run(go)


def test_offset_expiry_and_offset_delete() -> None:
    async def go() -> None:
        coord, rm, clock = await started(offsets_retention_ms=60_000)
        await coord.handle_commit_offsets("s", "", None, -1, {T: OffsetAndMetadata(1, -1, "", clock.now_ms())})
        t1 = TopicPartition("t", 1)
        await coord.handle_commit_offsets("s", "", None, -1, {t1: OffsetAndMetadata(2, -1, "", clock.now_ms())})
        top, result = coord.handle_delete_offsets("s", [t1])
        assert top == 0
        assert (await result) == {t1: 0}
        assert coord.cleanup_group_metadata() == 0
        clock.advance(60_001)
        assert coord.cleanup_group_metadata() == 1
        assert "s" not in coord.groups
        tail = rm.records("s")[-2:]
        assert tail[0][1] is None and tail[1][1] is None and tail[1][0].group == "s"   # offset, then group tombstone
    run(go)


def test_append_failure_maps_to_coordinator_errors() -> None:
    async def go() -> None:
        coord, rm, _clock = await started()
        rm.fail_with = ErrorCode.NOT_LEADER_OR_FOLLOWER
        res = await coord.handle_commit_offsets("s", "", None, -1, {T: OffsetAndMetadata(1)})
        assert res == {T: ErrorCode.NOT_COORDINATOR}
        rm.fail_with = ErrorCode.MESSAGE_TOO_LARGE
        res = await coord.handle_commit_offsets("s", "", None, -1, {T: OffsetAndMetadata(1)})
        assert res == {T: ErrorCode.INVALID_COMMIT_OFFSET_SIZE}
        assert coord.handle_fetch_offsets("s", [T])[1][T] is None
        res = await coord.handle_commit_offsets("s", "", None, -1, {T: OffsetAndMetadata(1, -1, "x" * 5000)})
        assert res == {T: ErrorCode.OFFSET_METADATA_TOO_LARGE}
    run(go)


@pytest.mark.parametrize("reason", ["leave", "timeout"])
def test_describe_and_list(reason: str) -> None:
    async def go() -> None:
        coord, _rm, clock = await started()
        fut = join(coord)
        await settle(clock)
        r = await fut
        d = coord.handle_describe_group("g")
        assert d.state == "CompletingRebalance" and d.protocol == "" and d.members[0].metadata == b""
        await coord.handle_sync_group("g", 1, r.member_id, None, None, None, {r.member_id: b"z"})
        d = coord.handle_describe_group("g")
        assert d.state == "Stable" and d.protocol == "range" and d.members[0].assignment == b"z"
        assert coord.handle_list_groups() == (0, [("g", "consumer", "Stable")])
        assert coord.handle_list_groups({"Empty"}) == (0, [])
        if reason == "leave":
            coord.handle_leave_group("g", [LeaveMember(r.member_id)])
        else:
            await settle(clock, 10_001)
        await settle(clock)
        assert coord.handle_describe_group("g").state == "Empty"
        assert coord.handle_describe_group("unknown").state == "Dead"
    run(go)


def test_new_leader_epoch_on_the_same_broker_keeps_groups() -> None:
    async def go() -> None:
        coord, _rm, clock = await started()
        fut = join(coord)
        await settle(clock)
        r = await fut
        await coord.handle_sync_group("g", 1, r.member_id, None, None, None, {r.member_id: b"x"})
        group = coord.groups["g"]
        coord.on_elected(partition_for("g", N_PARTITIONS), 5)
        assert coord.groups["g"] is group and coord.handle_heartbeat("g", r.member_id, None, 1) == 0
        assert coord.handle_fetch_offsets("g", [T])[0] == 0
    run(go)


def test_static_member_replacement_is_stored_and_survives_a_reload() -> None:
    async def go() -> None:
        coord, rm, clock = await started()
        fut = join(coord, instance="inst-1")
        await settle(clock)
        r = await fut
        await coord.handle_sync_group("g", 1, r.member_id, None, None, "inst-1", {r.member_id: b"mine"})
        again = await join(coord, instance="inst-1")
        last = rm.records("g")[-1][1][1]
        assert [m.member_id for m in last.members] == [again.member_id]
        assert last.members[0].group_instance_id == "inst-1" and last.members[0].assignment == b"mine"
        fresh, _rm, _clock = await started(rm=rm, clock=clock)
        assert fresh.groups["g"].static_members == {"inst-1": again.member_id}
    run(go)
