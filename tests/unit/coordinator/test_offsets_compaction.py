"""`__consumer_offsets` stays small: 100,000 offset commits of the same 10 partitions, then one
deterministic cleaner pass, leave about 10 live offset records; a coordinator loading the
cleaned log sees the last committed offsets."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from kafkapy.common.clock import ManualClock
from kafkapy.common.types import TopicPartition
from kafkapy.coordinator.group.coordinator import GroupConfig, GroupCoordinator
from kafkapy.coordinator.group.group_metadata import OffsetAndMetadata
from kafkapy.coordinator.group.metadata_manager import GROUP_METADATA_TOPIC, partition_for
from kafkapy.log.config import LogConfig
from kafkapy.log.manager import LogManager
from kafkapy.protocol.messages.internal import decode_offsets_key
from kafkapy.protocol.records.deep import iter_records

N_PARTITIONS = 1
GROUP = "compacted-group"
COMMITS = 100_000        # offset records: 10,000 OffsetCommit requests of 10 partitions each
PER_REQUEST = 10


@dataclass
class _Status:
    error_code: int


class _Partition:
    def __init__(self, tp: TopicPartition, lg: Any) -> None:
        self.topic_partition = tp
        self.log = lg
        self.is_leader = True
        self.leader_epoch = 0


class LogBackedReplicaManager:
    """Appends straight to a real Log as leader (acks=1 semantics) and moves the HW."""

    def __init__(self, tp: TopicPartition, lg: Any) -> None:
        self.all_partitions = {tp: _Partition(tp, lg)}
        self.leadership_change_listeners: list = []
        self.stop_listeners: list = []

    def append_records(self, timeout_ms: int, acks: int, internal: bool, entries: list, respond: Callable) -> Any:
        statuses = {}
        for tp, records in entries:
            lg = self.all_partitions[tp].log
            lg.append_as_leader(records, 0)
            lg.update_high_watermark(lg.log_end_offset)
            statuses[tp] = _Status(0)
        return respond(statuses)


class _Tasks:
    def __init__(self) -> None:
        self.tasks: list[asyncio.Task] = []

    def spawn(self, name: str, coro: Any) -> asyncio.Task:
        t = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(t)
        return t


def offset_records(lg: Any) -> list[tuple[Any, bytes | None]]:
    out = []
    for seg in lg.local.segments:
        data = seg.read(seg.base_offset, 1 << 30).records.read() if seg.size else b""
        for rec in iter_records(data):
            version, key = decode_offsets_key(rec.key)
            if version <= 1:
                out.append((key, rec.value))
    return out


@pytest.mark.slow
def test_cleaner_keeps_one_record_per_offset_key(tmp_path) -> None:
    assert partition_for(GROUP, N_PARTITIONS) == 0
    clock = ManualClock()
    cfg = LogConfig(cleanup_policy=("compact",), segment_bytes=256 * 1024, min_cleanable_dirty_ratio=0.01,
                    file_delete_delay_ms=0)
    lm = LogManager([str(tmp_path)], cfg, broker_id=0, clock_ms=clock.now_ms, sync_checkpoints=False)
    lm.load_logs()
    tp = TopicPartition(GROUP_METADATA_TOPIC, 0)
    lg = lm.get_or_create_log(tp)
    parts = [TopicPartition("orders", p) for p in range(PER_REQUEST)]

    async def commit_all() -> dict:
        rm = LogBackedReplicaManager(tp, lg)
        tasks = _Tasks()
        coord = GroupCoordinator(0, GroupConfig(offsets_topic_num_partitions=N_PARTITIONS), rm, clock, tasks)
        coord.startup()
        await asyncio.gather(*tasks.tasks)
        for i in range(COMMITS // PER_REQUEST):
            fut = coord.handle_commit_offsets(GROUP, "", None, -1, {
                p: OffsetAndMetadata(i * 7 + p.partition, -1, "", clock.now_ms()) for p in parts})
            assert fut.result() == {p: 0 for p in parts}
        return coord.handle_fetch_offsets(GROUP, None)[1]

    committed = asyncio.run(asyncio.wait_for(commit_all(), 120))
    assert len(offset_records(lg)) == COMMITS
    segments_before = len(lg.local.segments)
    assert segments_before > 10
    lg.roll()                                   # everything written so far becomes cleanable
    lm.clean_logs(clock.now_ms())
    live = offset_records(lg)
    assert 10 <= len(live) <= 12, len(live)     # "about 10": one per partition (plus nothing stale)
    latest = {(k.topic, k.partition) for k, _v in live}
    assert latest == {("orders", p) for p in range(PER_REQUEST)}

    async def reload() -> dict:
        rm = LogBackedReplicaManager(tp, lg)
        tasks = _Tasks()
        coord = GroupCoordinator(0, GroupConfig(offsets_topic_num_partitions=N_PARTITIONS), rm, clock, tasks)
        coord.startup()
        await asyncio.gather(*tasks.tasks)
        return coord.handle_fetch_offsets(GROUP, None)[1]

    assert asyncio.run(reload()) == committed
    assert {p: om.offset for p, om in committed.items()} == {
        p: (COMMITS // PER_REQUEST - 1) * 7 + p.partition for p in parts}
    lm.shutdown()
