"""OffsetForLeaderEpoch (v0-v4) and AlterIsr (v0) handlers, against real logs and a fake controller."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log
from kafkapy.protocol.messages.alter_isr import API as ALTER_ISR
from kafkapy.protocol.messages.offset_for_leader_epoch import API as OFLE
from kafkapy.protocol.records import SimpleRecord, build_batch
from kafkapy.server.apis.alter_isr import handle_alter_isr
from kafkapy.server.apis.offset_for_leader_epoch import handle_offset_for_leader_epoch
from kafkapy.server.partition import Partition, PartitionState

pytestmark = pytest.mark.timeout(30)

TP = TopicPartition("orders", 0)
FOLLOWED = TopicPartition("orders", 1)


class FakeReplicaManager:
    def __init__(self, partitions: dict[TopicPartition, Partition]) -> None:
        self.partitions = partitions

    def get_partition_or_error(self, tp: TopicPartition) -> Partition:
        p = self.partitions.get(tp)
        if p is None:
            raise ApiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        return p


def append(lg: Log, epoch: int, count: int) -> None:
    for _ in range(count):
        off = lg.log_end_offset
        lg.append_as_follower(bytearray(build_batch([SimpleRecord(b"k", b"v", (), 1000 + off, 0)], base_offset=off,
                                                    partition_leader_epoch=epoch)))


@pytest.fixture
def broker(tmp_path):
    leader_log = Log(str(tmp_path / "orders-0"), LogConfig.from_props({}))
    append(leader_log, 0, 5)
    append(leader_log, 2, 3)
    append(leader_log, 4, 2)               # epochs: 0@0, 2@5, 4@8; end 10
    leader = Partition(TP, 1, lambda tp, new: leader_log, lambda: 0)
    leader.make_leader(PartitionState(1, 1, 4, (1, 2), 0, (1, 2)))
    follower_log = Log(str(tmp_path / "orders-1"), LogConfig.from_props({}))
    append(follower_log, 3, 4)
    follower = Partition(FOLLOWED, 1, lambda tp, new: follower_log, lambda: 0)
    follower.make_follower(PartitionState(1, 2, 3, (1, 2), 0, (1, 2)))
    return SimpleNamespace(replica_manager=FakeReplicaManager({TP: leader, FOLLOWED: follower}))


def ask(broker, version: int, asks: list[tuple[TopicPartition, int, int]], replica_id: int = 2) -> dict:
    Topic = OFLE.request.struct("topics")
    Part = OFLE.request.struct("topics", "partitions")
    topics: dict[str, list] = {}
    for tp, current, epoch in asks:
        topics.setdefault(tp.topic, []).append(Part(partition=tp.partition, current_leader_epoch=current,
                                                    leader_epoch=epoch))
    request = OFLE.request(replica_id=replica_id, topics=[Topic(topic=t, partitions=ps) for t, ps in topics.items()])
    # Through the wire codec of this version, both ways, as a client would see it.
    request = OFLE.request_codec(version).decode(memoryview(OFLE.request_codec(version).encode(request)))[0]
    response = handle_offset_for_leader_epoch(SimpleNamespace(api_version=version), request, broker)
    response = OFLE.response_codec(version).decode(memoryview(OFLE.response_codec(version).encode(response)))[0]
    return {(t.topic, p.partition): (p.error_code, p.leader_epoch, p.end_offset)
            for t in response.topics for p in t.partitions}


@pytest.mark.parametrize("version", range(0, 5))
def test_end_offsets_of_epochs(broker, version: int) -> None:
    # v0 has no epoch in the answer (decoded as the default -1).
    e = (lambda epoch: epoch) if version >= 1 else (lambda epoch: -1)
    answers = list_answers(broker, version, [0, 1, 2, 4, 9])
    assert answers == [(0, e(0), 5), (0, e(0), 5), (0, e(2), 8), (0, e(4), 10), (0, e(-1), -1)]


def list_answers(broker, version: int, epochs: list[int]) -> list[tuple[int, int, int]]:
    out = []
    for epoch in epochs:
        out.append(ask(broker, version, [(TP, -1, epoch)])[("orders", 0)])
    return out


def test_epoch_before_the_first_known_one_ends_where_the_first_starts(tmp_path) -> None:
    lg = Log(str(tmp_path / "t-0"), LogConfig.from_props({}))
    append(lg, 5, 3)
    p = Partition(TopicPartition("t", 0), 1, lambda tp, new: lg, lambda: 0)
    p.make_leader(PartitionState(1, 1, 5, (1,), 0, (1,)))
    b = SimpleNamespace(replica_manager=FakeReplicaManager({TopicPartition("t", 0): p}))
    assert ask(b, 4, [(TopicPartition("t", 0), -1, 2)])[("t", 0)] == (0, 2, 0)


def test_current_leader_epoch_is_checked_from_v2(broker) -> None:
    assert ask(broker, 4, [(TP, 3, 2)])[("orders", 0)][0] == ErrorCode.FENCED_LEADER_EPOCH
    assert ask(broker, 4, [(TP, 5, 2)])[("orders", 0)][0] == ErrorCode.UNKNOWN_LEADER_EPOCH
    assert ask(broker, 4, [(TP, 4, 2)])[("orders", 0)] == (0, 2, 8)
    assert ask(broker, 1, [(TP, 3, 2)])[("orders", 0)] == (0, 2, 8)     # v1 carries no current epoch


def test_only_leaders_answer_except_to_the_debugging_replica(broker) -> None:
    assert ask(broker, 3, [(FOLLOWED, -1, 3)])[("orders", 1)][0] == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert ask(broker, 3, [(FOLLOWED, -1, 3)], replica_id=-2)[("orders", 1)] == (0, 3, 4)
    assert ask(broker, 2, [(FOLLOWED, -1, 3)])[("orders", 1)] == (0, 3, 4)   # before v3: no replica id
    assert ask(broker, 4, [(TopicPartition("nope", 0), -1, 1)])[("nope", 0)][0] == \
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


class FakeController:
    def __init__(self, active: bool = True, raise_code: int | None = None) -> None:
        self.is_active = active
        self.raise_code = raise_code
        self.calls: list = []

    async def alter_isr(self, broker_id, broker_epoch, updates):
        self.calls.append((broker_id, broker_epoch, dict(updates)))
        if self.raise_code is not None:
            raise ApiError(self.raise_code)
        out = {}
        for tp, st in updates.items():
            if tp.partition == 1:
                out[tp] = ApiError(ErrorCode.INVALID_UPDATE_VERSION)
            else:
                out[tp] = LeaderAndIsr(st.leader, st.leader_epoch, st.isr, 7, st.zk_version + 1)
        return out


def alter_request():
    T = ALTER_ISR.request.struct("topics")
    P = ALTER_ISR.request.struct("topics", "partitions")
    return ALTER_ISR.request(broker_id=2, broker_epoch=99, topics=[T(name="orders", partitions=[
        P(partition_index=0, leader_epoch=4, new_isr=[2, 3], current_isr_version=5),
        P(partition_index=1, leader_epoch=1, new_isr=[2], current_isr_version=0)])])


def test_alter_isr_forwards_to_the_controller_and_answers_per_partition() -> None:
    ctl = FakeController()
    resp = asyncio.run(asyncio.wait_for(handle_alter_isr(SimpleNamespace(api_version=0), alter_request(), ctl), 5))
    resp = ALTER_ISR.response_codec(0).decode(memoryview(ALTER_ISR.response_codec(0).encode(resp)))[0]
    assert ctl.calls == [(2, 99, {TP: LeaderAndIsr(2, 4, (2, 3), -1, 5),
                                  FOLLOWED: LeaderAndIsr(2, 1, (2,), -1, 0)})]
    assert resp.error_code == 0
    parts = {p.partition_index: p for t in resp.topics for p in t.partitions}
    assert (parts[0].error_code, parts[0].leader_id, parts[0].leader_epoch, list(parts[0].isr),
            parts[0].current_isr_version) == (0, 2, 4, [2, 3], 6)
    assert parts[1].error_code == ErrorCode.INVALID_UPDATE_VERSION


@pytest.mark.parametrize("ctl,code", [
    (None, ErrorCode.NOT_CONTROLLER),
    (FakeController(False), ErrorCode.NOT_CONTROLLER),
    (FakeController(raise_code=ErrorCode.STALE_BROKER_EPOCH), ErrorCode.STALE_BROKER_EPOCH)])
def test_alter_isr_top_level_errors(ctl, code) -> None:
    resp = asyncio.run(asyncio.wait_for(handle_alter_isr(SimpleNamespace(api_version=0), alter_request(), ctl), 5))
    assert resp.error_code == code and resp.topics == []
