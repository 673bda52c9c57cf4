"""KafkaZkControllerAdapter sends bulk partition-state reads and writes in bounded chunks."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.zk_adapter import KafkaZkControllerAdapter

pytestmark = pytest.mark.timeout(10)


@dataclass
class _Result:
    finished: dict
    partitions_to_retry: tuple


class RecordingKafkaZk:
    """Answers like KafkaZkClient and records the size of each bulk call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def get_topic_partition_states(self, partitions):
        tps = list(partitions)
        self.calls.append(("get", len(tps)))
        return {tp: LeaderAndIsr(1, 0, (1,), 1, 0) for tp in tps if tp.partition % 7}

    async def create_topic_partition_states(self, states, epoch_zk_version):
        self.calls.append(("create", len(states)))
        return dict(states)

    async def update_leader_and_isr(self, states, epoch_zk_version):
        self.calls.append(("update", len(states)))
        return _Result({tp: s for tp, s in states.items() if tp.partition % 5},
                       tuple(tp for tp in states if not tp.partition % 5))


def test_bulk_calls_are_chunked_and_merged() -> None:
    kz = RecordingKafkaZk()
    adapter = KafkaZkControllerAdapter(kz, max_batch=100)
    tps = [TopicPartition("t", p) for p in range(250)]
    state = LeaderAndIsr(1, 0, (1, 2), 1, 0)

    got = asyncio.run(adapter.get_partition_states(tps))
    assert set(got) == {tp for tp in tps if tp.partition % 7}
    created = asyncio.run(adapter.create_partition_states({tp: state for tp in tps}, 3))
    assert set(created) == set(tps)
    updated = asyncio.run(adapter.update_leader_and_isr({tp: state for tp in tps}, 3))
    assert set(updated.finished) == {tp for tp in tps if tp.partition % 5}
    assert updated.to_retry == frozenset(tp for tp in tps if not tp.partition % 5)
    assert kz.calls == [(op, n) for op in ("get", "create", "update") for n in (100, 100, 50)]
