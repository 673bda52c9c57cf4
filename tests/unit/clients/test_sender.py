"""Sender: retries with backoff, metadata refresh on invalid-metadata errors, final failures, acks=0."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from kafkapy.clients.metadata import ClusterMetadata, Node, PartitionMetadata, TopicMetadata
from kafkapy.clients.producer.accumulator import RecordAccumulator
from kafkapy.clients.producer.sender import Sender
from kafkapy.common.errors import ErrorCode, NotLeaderOrFollowerError, RecordTooLargeError
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.records import iter_batches

pytestmark = pytest.mark.timeout(20)

TP = TopicPartition("t", 0)


def _md(leader: int) -> ClusterMetadata:
    return ClusterMetadata({0: Node(0, "h", 1), 1: Node(1, "h", 2)},
                           {"t": TopicMetadata("t", 0, False, {0: PartitionMetadata("t", 0, leader, 0, (leader,),
                                                                                   (leader,))})})


class FakeConn:
    def __init__(self, node: int, client: "FakeClient") -> None:
        self.node = node
        self.client = client

    async def send(self, api_key, request, version=None, *, timeout_ms=None):
        codes = self.client.script.pop(0)
        self.client.requests.append((self.node, request))
        return SimpleNamespace(responses=[SimpleNamespace(name=t.name, partition_responses=[
            SimpleNamespace(index=p.index, error_code=codes, base_offset=100 if codes == 0 else -1,
                            log_append_time_ms=-1, log_start_offset=0, error_message=None)
            for p in t.partition_data]) for t in request.topic_data])

    async def send_no_response(self, api_key, request, version=None):
        self.client.requests.append((self.node, request))


class FakeClient:
    def __init__(self, script: list[int]) -> None:
        self.metadata = _md(0)
        self.script = script
        self.requests: list = []
        self.refreshes = 0

    async def refresh_metadata(self, topics=None, **kw):
        self.refreshes += 1
        self.metadata = _md(1)           # leadership moved to broker 1
        return self.metadata

    async def connection(self, node: int) -> FakeConn:
        return FakeConn(node, self)


async def _run(script: list[int], *, retries: int = 5, acks: int = 1, n: int = 3):
    client = FakeClient(script)
    acc = RecordAccumulator(batch_size=1 << 16, linger_ms=0, compression=0, retry_backoff_ms=10,
                            delivery_timeout_ms=120_000, buffer_memory=1 << 24)
    tasks = TaskSupervisor("test")
    sender = Sender(client, acc, acks=acks, retries=retries, request_timeout_ms=1000, max_in_flight=5,
                    max_request_size=1 << 20, retry_backoff_ms=10, metadata_max_age_ms=300_000, tasks=tasks)
    sender.topics.add("t")
    sender._last_metadata_ms = acc.now_ms()
    task = tasks.spawn("sender", sender.run())
    handles = [acc.append(TP, 1000 + i, None, b"v%d" % i)[0] for i in range(n)]
    results = await asyncio.gather(*handles, return_exceptions=True)
    sender.running = False
    acc.wakeup.set()
    await asyncio.wait_for(task, 5)
    await tasks.close()
    return client, results


def test_not_leader_refreshes_metadata_and_retries_on_new_leader() -> None:
    client, results = asyncio.run(_run([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NONE]))
    assert [r.offset for r in results] == [100, 101, 102]
    assert client.refreshes >= 1
    assert [node for node, _ in client.requests] == [0, 1]
    first, second = (req.topic_data[0].partition_data[0].records for _, req in client.requests)
    assert bytes(first) == bytes(second)              # the same batch bytes are resent
    assert next(iter_batches(first)).record_count == 3


def test_non_retriable_error_fails_without_retry() -> None:
    client, results = asyncio.run(_run([ErrorCode.MESSAGE_TOO_LARGE]))
    assert all(isinstance(r, RecordTooLargeError) for r in results)
    assert len(client.requests) == 1


def test_retries_exhausted() -> None:
    client, results = asyncio.run(_run([ErrorCode.NOT_LEADER_OR_FOLLOWER] * 3, retries=2))
    assert all(isinstance(r, NotLeaderOrFollowerError) for r in results)
    assert len(client.requests) == 3


def test_acks_zero_completes_without_offsets() -> None:
    client, results = asyncio.run(_run([], acks=0))
    assert [r.offset for r in results] == [-1, -1, -1]
    assert client.requests[0][1].acks == 0
