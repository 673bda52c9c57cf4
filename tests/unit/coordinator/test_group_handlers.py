"""The group APIs' request handlers at every version, in process.

A real ReplicaManager and LogManager (tmp_path) lead `__consumer_offsets`; requests pass
through their wire codecs before reaching the handlers, and every response is encoded at the
request's version (a field a version cannot carry would fail there). A fake ZooKeeper stores
the OffsetCommit/OffsetFetch v0 offsets.
"""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, Awaitable, Callable

import pytest

from kafkapy.common.clock import ManualClock
from kafkapy.common.errors import ErrorCode
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.coordinator.group.coordinator import GroupConfig, GroupCoordinator
from kafkapy.log.config import LogConfig
from kafkapy.log.manager import LogManager
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.messages.internal import CONSUMER_PROTOCOL_SUBSCRIPTION, encode_versioned
from kafkapy.server.apis import (
    delete_groups,
    describe_groups,
    find_coordinator,
    heartbeat,
    join_group,
    leader_and_isr,
    leave_group,
    list_groups,
    offset_commit,
    offset_delete,
    offset_fetch,
    sync_group,
    update_metadata,
)
from kafkapy.server.metadata_cache import MetadataCache
from kafkapy.server.replica_manager import ReplicaManager
from kafkapy.server.request import RequestContext

BROKER = 1
OFFSETS_PARTITIONS = 3
SUB = encode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, 0, CONSUMER_PROTOCOL_SUBSCRIPTION.schema.cls(
    topics=["t"], user_data=None))


def wire(api_key: int, version: int, **fields: Any) -> Any:
    api = get_api(api_key)
    codec = api.request_codec(version)
    decoded, _ = codec.decode(memoryview(bytearray(codec.encode(api.request(**fields)))))
    return decoded


def encoded(api_key: int, version: int, response: Any) -> Any:
    """The response after a round trip through its codec at `version`."""
    codec = get_api(api_key).response_codec(version)
    decoded, _ = codec.decode(memoryview(bytearray(codec.encode(response))))
    return decoded


def ctx(api_key: int, version: int, client_id: str = "cli") -> RequestContext:
    return RequestContext(api_key, version, 1, client_id, "c1", "PLAINTEXT", "PLAINTEXT", "127.0.0.1", 0)


class FakeZk:
    def __init__(self) -> None:
        self.offsets: dict[tuple[str, TopicPartition], int] = {}

    async def set_or_create_consumer_offset(self, group: str, tp: TopicPartition, offset: int) -> None:
        self.offsets[(group, tp)] = offset

    async def get_consumer_offset(self, group: str, tp: TopicPartition) -> int | None:
        return self.offsets.get((group, tp))


class Broker:
    def __init__(self, tmp_path: Any, clock: ManualClock) -> None:
        self.clock = clock
        self.broker_id = BROKER
        self.broker_epoch = 10
        self.cluster_id = "c"
        self.config = {"group.min.session.timeout.ms": 10, "group.max.session.timeout.ms": 600000,
                       "group.initial.rebalance.delay.ms": 0, "group.max.size": 100,
                       "offset.metadata.max.bytes": 4096, "offsets.retention.minutes": 10080,
                       "offsets.retention.check.interval.ms": 600000, "offsets.commit.timeout.ms": 5000,
                       "offsets.commit.required.acks": -1, "offsets.topic.num.partitions": OFFSETS_PARTITIONS,
                       "offsets.topic.compression.codec": 0, "offsets.load.buffer.size": 1 << 20}
        self.metadata_cache = MetadataCache(BROKER)
        self.log_manager = LogManager([str(tmp_path / "logs")], LogConfig(), broker_id=BROKER, cluster_id="c",
                                      clock_ms=clock.now_ms, cleaner_enabled=False, sync_checkpoints=False)
        self.replica_manager = ReplicaManager(BROKER, self.log_manager, self.metadata_cache, clock,
                                              log_config_for=lambda t: LogConfig())
        self.tasks = TaskSupervisor("test", clock)
        self.jobs = TaskSupervisor("test-jobs", clock)
        self.metadata_listeners: list = []
        self.zk_client = FakeZk()
        # Wired as the composition root (server/broker.py) does.
        cache = self.metadata_cache
        self.group_coordinator = GroupCoordinator(
            BROKER, GroupConfig.from_broker_config(self.config), self.replica_manager, clock, self.tasks,
            offsets_partition_count=lambda: cache.snapshot.partition_count("__consumer_offsets"))
        self.group_coordinator.startup()
        self.metadata_listeners.append(self.group_coordinator.on_partitions_deleted)

    async def load_topic_configs(self, topics: Any) -> None:
        return None

    def on_metadata_updated(self, deleted: Any) -> None:
        for fn in self.metadata_listeners:
            fn(deleted)

    async def make_topic(self, topic: str, partitions: int) -> None:
        parts = {p: (BROKER, 0, [BROKER]) for p in range(partitions)}
        la = get_api(4)
        ps = la.request.struct("topic_states", "partition_states")
        ts = la.request.struct("topic_states")
        states = [ps(topic_name=topic, partition_index=p, controller_epoch=1, leader=leader, leader_epoch=epoch,
                     isr=r, zk_version=0, replicas=r, is_new=True) for p, (leader, epoch, r) in parts.items()]
        req = wire(4, 5, controller_id=BROKER, controller_epoch=1, broker_epoch=-1, type=0,
                   ungrouped_partition_states=states,
                   topic_states=[ts(topic_name=topic, topic_id=uuid.uuid4(), partition_states=states)],
                   live_leaders=[])
        assert (await leader_and_isr.handle_leader_and_isr(ctx(4, 5), req, self)).error_code == 0
        um = get_api(6)
        ups = um.request.struct("topic_states", "partition_states")
        uts = um.request.struct("topic_states")
        b = um.request.struct("live_brokers")
        ep = um.request.struct("live_brokers", "endpoints")
        ustates = [uts(topic_name=topic, topic_id=uuid.uuid4(), partition_states=[
            ups(topic_name=topic, partition_index=p, controller_epoch=1, leader=leader, leader_epoch=epoch,
                isr=r, zk_version=0, replicas=r, offline_replicas=[]) for p, (leader, epoch, r) in parts.items()])]
        req = wire(6, 7, controller_id=BROKER, controller_epoch=1, broker_epoch=-1, ungrouped_partition_states=[],
                   topic_states=ustates, live_brokers=[b(id=BROKER, v0_host="h", v0_port=9001, endpoints=[
                       ep(port=9001, host="host1", listener="PLAINTEXT", security_protocol=0)], rack=None)])
        update_metadata.handle_update_metadata(ctx(6, 7), req, self)


def run(tmp_path: Any, body: Callable[[Broker, ManualClock], Awaitable[None]]) -> None:
    async def go() -> None:
        clock = ManualClock()
        broker = Broker(tmp_path, clock)
        try:
            for module in (find_coordinator, join_group, sync_group, heartbeat, leave_group, offset_commit,
                           offset_fetch, describe_groups, list_groups, delete_groups, offset_delete):
                module.register(_NullDispatcher(), broker)
            await broker.make_topic("__consumer_offsets", OFFSETS_PARTITIONS)
            await broker.make_topic("t", 2)
            for _ in range(5):
                await asyncio.sleep(0)          # the coordinator loads the (empty) partitions
            await body(broker, clock)
        finally:
            broker.jobs.cancel_all()
            await broker.jobs.close()
            broker.tasks.cancel_all()
            await broker.tasks.close()
            broker.log_manager.shutdown()
    asyncio.run(asyncio.wait_for(go(), 20))


class _NullDispatcher:
    def register(self, key: Any, fn: Any) -> None:
        pass


async def settle(clock: ManualClock) -> None:
    for _ in range(3):
        await asyncio.sleep(0)
    clock.advance(0)
    for _ in range(3):
        await asyncio.sleep(0)


@pytest.mark.parametrize("version", range(0, 4))
def test_find_coordinator(tmp_path: Any, version: int) -> None:
    async def body(broker: Broker, clock: ManualClock) -> None:
        req = wire(10, version, key="g", key_type=0)
        resp = encoded(10, version, await find_coordinator.handle_find_coordinator(ctx(10, version), req, broker))
        assert (resp.error_code, resp.node_id, resp.host, resp.port) == (0, BROKER, "host1", 9001)
        if version >= 1:
            req = wire(10, version, key="txn", key_type=1)
            resp = await find_coordinator.handle_find_coordinator(ctx(10, version), req, broker)
            assert (resp.error_code, resp.node_id) == (ErrorCode.COORDINATOR_NOT_AVAILABLE, -1)
    run(tmp_path, body)


async def join(broker: Broker, clock: ManualClock, version: int, member_id: str = "") -> Any:
    Proto = get_api(11).request.struct("protocols")
    req = wire(11, version, group_id="g", session_timeout_ms=10000, rebalance_timeout_ms=10000, member_id=member_id,
               group_instance_id=None, protocol_type="consumer", protocols=[Proto(name="range", metadata=SUB)])
    task = asyncio.ensure_future(join_group.handle_join_group(ctx(11, version), req, broker))
    await settle(clock)
    return encoded(11, version, await task)


@pytest.mark.parametrize("version", range(0, 8))
def test_join_sync_heartbeat_leave_every_version(tmp_path: Any, version: int) -> None:
    async def body(broker: Broker, clock: ManualClock) -> None:
        r = await join(broker, clock, version)
        if version >= 4:
            assert r.error_code == ErrorCode.MEMBER_ID_REQUIRED and r.member_id.startswith("cli-")
            r = await join(broker, clock, version, r.member_id)
        assert r.error_code == 0 and r.generation_id == 1 and r.leader == r.member_id
        assert r.protocol_name == "range" and [m.member_id for m in r.members] == [r.member_id]
        if version >= 7:
            assert r.protocol_type == "consumer"
        sv = min(version, 5)
        A = get_api(14).request.struct("assignments")
        req = wire(14, sv, group_id="g", generation_id=1, member_id=r.member_id, group_instance_id=None,
                   protocol_type="consumer", protocol_name="range",
                   assignments=[A(member_id=r.member_id, assignment=b"asg")])
        s = encoded(14, sv, await sync_group.handle_sync_group(ctx(14, sv), req, broker))
        assert (s.error_code, s.assignment) == (0, b"asg")
        hv = min(version, 4)
        hb = wire(12, hv, group_id="g", generation_id=1, member_id=r.member_id, group_instance_id=None)
        assert encoded(12, hv, heartbeat.handle_heartbeat(ctx(12, hv), hb, broker)).error_code == 0
        hb = wire(12, hv, group_id="g", generation_id=9, member_id=r.member_id, group_instance_id=None)
        assert heartbeat.handle_heartbeat(ctx(12, hv), hb, broker).error_code == ErrorCode.ILLEGAL_GENERATION
        lv = min(version, 4)
        M = get_api(13).request.struct("members")
        req = wire(13, lv, group_id="g", member_id=r.member_id,
                   members=[M(member_id=r.member_id, group_instance_id=None), M(member_id="x", group_instance_id=None)])
        resp = encoded(13, lv, leave_group.handle_leave_group(ctx(13, lv), req, broker))
        assert resp.error_code == 0
        if lv >= 3:
            assert [m.error_code for m in resp.members] == [0, ErrorCode.UNKNOWN_MEMBER_ID]
    run(tmp_path, body)


@pytest.mark.parametrize("version", range(0, 9))
def test_offset_commit_and_fetch_every_version(tmp_path: Any, version: int) -> None:
    async def body(broker: Broker, clock: ManualClock) -> None:
        T = get_api(8).request.struct("topics")
        P = get_api(8).request.struct("topics", "partitions")
        req = wire(8, version, group_id="g", generation_id=-1, member_id="", group_instance_id=None,
                   retention_time_ms=-1, topics=[
                       T(name="t", partitions=[P(partition_index=0, committed_offset=42, committed_leader_epoch=3,
                                                 commit_timestamp=-1, committed_metadata="m"),
                                               P(partition_index=7, committed_offset=1, committed_leader_epoch=-1,
                                                 commit_timestamp=-1, committed_metadata=None)])])
        resp = encoded(8, version, await offset_commit.handle_offset_commit(ctx(8, version), req, broker))
        assert [(p.partition_index, p.error_code) for p in resp.topics[0].partitions] == [
            (0, 0), (7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)]
        fv = min(version, 7)
        FT = get_api(9).request.struct("topics")
        req = wire(9, fv, group_id="g", topics=[FT(name="t", partition_indexes=[0, 1])], require_stable=False)
        resp = encoded(9, fv, await offset_fetch.handle_offset_fetch(ctx(9, fv), req, broker))
        parts = {p.partition_index: p for p in resp.topics[0].partitions}
        assert parts[0].committed_offset == 42
        if version == 0:
            assert broker.zk_client.offsets == {("g", TopicPartition("t", 0)): 42}
            assert parts[1].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION and parts[1].committed_offset == -1
        else:
            assert broker.zk_client.offsets == {}
            assert parts[0].metadata == "m" and (parts[1].committed_offset, parts[1].error_code) == (-1, 0)
            if fv >= 5:
                assert parts[0].committed_leader_epoch == (3 if version >= 6 else -1)
        if fv >= 2:
            req = wire(9, fv, group_id="g", topics=None, require_stable=False)
            resp = encoded(9, fv, await offset_fetch.handle_offset_fetch(ctx(9, fv), req, broker))
            got = [(t.name, p.partition_index, p.committed_offset) for t in resp.topics for p in t.partitions]
            assert got == ([("t", 0, 42)] if version >= 1 else [])
    run(tmp_path, body)


@pytest.mark.parametrize("version", range(0, 6))
def test_describe_list_delete(tmp_path: Any, version: int) -> None:
    async def body(broker: Broker, clock: ManualClock) -> None:
        r = await join(broker, clock, 3)
        A = get_api(14).request.struct("assignments")
        await sync_group.handle_sync_group(ctx(14, 3), wire(14, 3, group_id="g", generation_id=1,
                                                             member_id=r.member_id, group_instance_id=None,
                                                             assignments=[A(member_id=r.member_id,
                                                                            assignment=b"a")]), broker)
        req = wire(15, version, groups=["g", "nope"], include_authorized_operations=False)
        resp = encoded(15, version, describe_groups.handle_describe_groups(ctx(15, version), req, broker))
        g, nope = resp.groups
        assert (g.group_state, g.protocol_type, g.protocol_data) == ("Stable", "consumer", "range")
        assert g.members[0].client_host == "/127.0.0.1" and g.members[0].member_assignment == b"a"
        assert (nope.error_code, nope.group_state, nope.members) == (0, "Dead", [])
        lv = min(version, 4)
        resp = encoded(16, lv, list_groups.handle_list_groups(ctx(16, lv), wire(16, lv, states_filter=[]), broker))
        assert [(x.group_id, x.protocol_type) for x in resp.groups] == [("g", "consumer")]
        if lv >= 4:
            assert resp.groups[0].group_state == "Stable"
            req = wire(16, lv, states_filter=["Empty"])
            assert list_groups.handle_list_groups(ctx(16, lv), req, broker).groups == []
        dv = min(version, 2)
        resp = encoded(42, dv, await delete_groups.handle_delete_groups(
            ctx(42, dv), wire(42, dv, groups_names=["g", "nope"]), broker))
        assert [(x.group_id, x.error_code) for x in resp.results] == [
            ("g", ErrorCode.NON_EMPTY_GROUP), ("nope", ErrorCode.GROUP_ID_NOT_FOUND)]
        OT = get_api(47).request.struct("topics")
        OP = get_api(47).request.struct("topics", "partitions")
        req = wire(47, 0, group_id="g", topics=[OT(name="t", partitions=[OP(partition_index=0)])])
        resp = encoded(47, 0, await offset_delete.handle_offset_delete(ctx(47, 0), req, broker))
        assert resp.error_code == 0 and resp.topics[0].partitions[0].error_code == ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC
        M = get_api(13).request.struct("members")
        leave_group.handle_leave_group(ctx(13, 3), wire(13, 3, group_id="g", members=[
            M(member_id=r.member_id, group_instance_id=None)]), broker)
        await settle(clock)
        resp = await delete_groups.handle_delete_groups(ctx(42, dv), wire(42, dv, groups_names=["g"]), broker)
        assert [(x.group_id, x.error_code) for x in resp.results] == [("g", 0)]
    run(tmp_path, body)
