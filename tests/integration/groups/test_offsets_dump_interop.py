"""Kafka 2.8.2's own DumpLogSegments (``--offsets-decoder``) reads the `__consumer_offsets`
segments our coordinator writes: group metadata (with a consumer-protocol assignment), offset
commits (value v3, and v1 with an expire timestamp), the empty group after the last member
left, and tombstones. Skipped when Kafka's jars cannot be fetched with Maven."""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from kafkapy.common.clock import ManualClock
from kafkapy.common.types import TopicPartition
from kafkapy.coordinator.group.coordinator import GroupConfig, GroupCoordinator, LeaveMember
from kafkapy.coordinator.group.group_metadata import OffsetAndMetadata
from kafkapy.coordinator.group.metadata_manager import GROUP_METADATA_TOPIC
from kafkapy.log.config import LogConfig
from kafkapy.log.manager import LogManager
from kafkapy.protocol.messages.internal import (
    CONSUMER_PROTOCOL_ASSIGNMENT,
    CONSUMER_PROTOCOL_SUBSCRIPTION,
    encode_versioned,
)
from kafkapy.testing.kafka_dist import KafkaDistUnavailable, kafka_classpath, run_kafka_class

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@dataclass
class _Status:
    error_code: int


class _Partition:
    def __init__(self, tp: TopicPartition, lg: Any) -> None:
        self.topic_partition, self.log, self.is_leader, self.leader_epoch = tp, lg, True, 0


class _ReplicaManager:
    def __init__(self, tp: TopicPartition, lg: Any) -> None:
        self.all_partitions = {tp: _Partition(tp, lg)}
        self.leadership_change_listeners: list = []
        self.stop_listeners: list = []

    def append_records(self, timeout_ms: int, acks: int, internal: bool, entries: list, respond: Callable) -> Any:
        for _tp, records in entries:
            lg = self.all_partitions[_tp].log
            lg.append_as_leader(records, 0)
            lg.update_high_watermark(lg.log_end_offset)
        return respond({tp: _Status(0) for tp, _ in entries})


class _Tasks:
    def __init__(self) -> None:
        self.tasks: list = []

    def spawn(self, name: str, coro: Any) -> Any:
        t = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(t)
        return t


def test_dump_log_segments_reads_our_offsets_log(tmp_path) -> None:
    try:
        cp = kafka_classpath()
    except KafkaDistUnavailable as e:
        pytest.skip(f"Kafka 2.8.2 jars unavailable: {e}")
    clock = ManualClock()
    lm = LogManager([str(tmp_path)], LogConfig(cleanup_policy=("compact",)), broker_id=0, clock_ms=clock.now_ms,
                    sync_checkpoints=False)
    lm.load_logs()
    tp = TopicPartition(GROUP_METADATA_TOPIC, 0)
    lg = lm.get_or_create_log(tp)
    sub = encode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, 1, CONSUMER_PROTOCOL_SUBSCRIPTION.schema.cls(
        topics=["orders"], user_data=None, owned_partitions=[]))
    atp = CONSUMER_PROTOCOL_ASSIGNMENT.schema.struct("assigned_partitions").cls
    assignment = encode_versioned(CONSUMER_PROTOCOL_ASSIGNMENT, 1, CONSUMER_PROTOCOL_ASSIGNMENT.schema.cls(
        assigned_partitions=[atp(topic="orders", partitions=[0, 1])], user_data=None))

    async def write() -> None:
        tasks = _Tasks()
        coord = GroupCoordinator(0, GroupConfig(offsets_topic_num_partitions=1, group_initial_rebalance_delay_ms=0),
                                 _ReplicaManager(tp, lg), clock, tasks)
        coord.startup()
        await asyncio.gather(*tasks.tasks)
        fut = coord.handle_join_group("dump-group", "", None, False, "client-7", "/127.0.0.1", 30000, 10000,
                                      "consumer", [("range", sub)])
        clock.advance(0)
        await asyncio.sleep(0)
        r = await fut
        await coord.handle_sync_group("dump-group", r.generation_id, r.member_id, None, None, None,
                                      {r.member_id: assignment})
        await coord.handle_commit_offsets("dump-group", r.member_id, None, r.generation_id, {
            TopicPartition("orders", 0): OffsetAndMetadata(4242, 3, "meta-data", clock.now_ms()),
            TopicPartition("orders", 1): OffsetAndMetadata(77, -1, "", clock.now_ms(), clock.now_ms() + 1000)})
        coord.handle_leave_group("dump-group", [LeaveMember(r.member_id)])
        await asyncio.sleep(0)
        await coord.handle_commit_offsets("simple", "", None, -1, {TopicPartition("orders", 2): OffsetAndMetadata(5)})
        await coord.handle_delete_groups(["simple"])

    asyncio.run(asyncio.wait_for(write(), 30))
    lm.shutdown()
    seg = next(tmp_path.glob("__consumer_offsets-0/*.log"))
    proc = run_kafka_class("kafka.tools.DumpLogSegments", ["--offsets-decoder", "--files", str(seg)], classpath=cp)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert "Exception" not in out + proc.stderr and "Could not" not in out, out
    decoded = [line.split(" key: ", 1)[1] for line in out.splitlines() if " key: " in line]
    member = re.search(r"client-7-[0-9a-f-]{36}", out)
    assert member is not None, out
    assert decoded == [
        'group_metadata::group=dump-group payload: {"protocolType":"consumer","protocol":"range","generationId":1,'
        f'"assignment":"{{{member.group(0)}=[orders-0, orders-1]}}"}}',
        "offset_commit::group=dump-group,partition=orders-0 payload: offset=4242,metadata=meta-data",
        "offset_commit::group=dump-group,partition=orders-1 payload: offset=77",
        'group_metadata::group=dump-group payload: {"protocolType":"consumer","protocol":null,"generationId":2,'
        '"assignment":"{}"}',
        "offset_commit::group=simple,partition=orders-2 payload: offset=5",
        "offset_commit::group=simple,partition=orders-2 payload: <DELETE>",
        "group_metadata::group=simple payload: <DELETE>",
    ], out
