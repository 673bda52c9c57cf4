"""The idempotent producer's sender: producer id first, sequences per partition, retries keep them,
a lost producer state means a new producer id; and the config rules of Java's producer."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from kafkapy.clients.metadata import ClusterMetadata, Node, PartitionMetadata, TopicMetadata
from kafkapy.clients.producer.accumulator import RecordAccumulator
from kafkapy.clients.producer.idempotence import IdempotenceManager
from kafkapy.clients.producer.producer import ProducerConfig
from kafkapy.clients.producer.sender import Sender
from kafkapy.common.errors import ErrorCode, OutOfOrderSequenceError
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.records import iter_batches, verify_crc

pytestmark = pytest.mark.timeout(20)

TPS = [TopicPartition("t", 0), TopicPartition("t", 1)]


class FakeClient:
    """One broker; Produce answers follow `script` (one code per request), InitProducerId `init_script`."""

    def __init__(self, script: list[int], init_script: list[int]) -> None:
        parts = {p: PartitionMetadata("t", p, 0, 0, (0,), (0,)) for p in (0, 1)}
        self.metadata = ClusterMetadata({0: Node(0, "h", 1)}, {"t": TopicMetadata("t", 0, False, parts)})
        self.script = script
        self.init_script = init_script
        self.produced: list = []          # (tp, producer id, epoch, base sequence, count, bytes)
        self.inits = 0
        self.next_offset = {0: 0, 1: 0}

    async def refresh_metadata(self, topics=None, **kw):
        return self.metadata

    async def connection(self, node: int):
        return self

    async def send(self, node_or_api, api_or_request, request=None, *, timeout_ms=None, version=None):
        if node_or_api is None and api_or_request == ApiKey.INIT_PRODUCER_ID:      # client.send(None, api, req)
            assert request.transactional_id is None
            code = self.init_script.pop(0) if self.init_script else 0
            self.inits += 1
            return SimpleNamespace(error_code=code, producer_id=1000 + self.inits if code == 0 else -1,
                                   producer_epoch=0 if code == 0 else -1)
        request = api_or_request                                                   # conn.send(api, req)
        code = self.script.pop(0) if self.script else 0
        responses = []
        for t in request.topic_data:
            parts = []
            for p in t.partition_data:
                data = bytes(p.records)
                b = next(iter_batches(data))
                verify_crc(data, b)
                self.produced.append((TopicPartition(t.name, p.index), b.producer_id, b.producer_epoch,
                                      b.base_sequence, b.record_count, data))
                base = self.next_offset[p.index]
                if code == 0:
                    self.next_offset[p.index] += b.record_count
                parts.append(SimpleNamespace(index=p.index, error_code=code, base_offset=base if code == 0 else -1,
                                             log_append_time_ms=-1, log_start_offset=0, error_message=None))
            responses.append(SimpleNamespace(name=t.name, partition_responses=parts))
        return SimpleNamespace(responses=responses)


async def _run(script, init_script=(), rounds=((0, 3), (1, 2), (0, 2))):
    client = FakeClient(list(script), list(init_script))
    acc = RecordAccumulator(batch_size=1 << 16, linger_ms=0, compression=0, retry_backoff_ms=5,
                            delivery_timeout_ms=120_000, buffer_memory=1 << 24)
    tasks = TaskSupervisor("test")
    idem = IdempotenceManager(client, "p1", retry_backoff_ms=5, request_timeout_ms=1000)
    sender = Sender(client, acc, acks=-1, retries=5, request_timeout_ms=1000, max_in_flight=5,
                    max_request_size=1 << 20, retry_backoff_ms=5, metadata_max_age_ms=300_000, tasks=tasks,
                    idempotence=idem)
    sender.topics.add("t")
    sender._last_metadata_ms = acc.now_ms()
    task = tasks.spawn("sender", sender.run())
    results = []
    for partition, n in rounds:          # one batch per round: wait for it before the next
        handles = [acc.append(TPS[partition], 1000 + i, None, b"v%d" % i)[0] for i in range(n)]
        results.append(await asyncio.gather(*handles, return_exceptions=True))
    sender.running = False
    acc.wakeup.set()
    await asyncio.wait_for(task, 5)
    await tasks.close()
    return client, results


def test_batches_carry_the_producer_id_and_per_partition_sequences():
    client, results = asyncio.run(_run([]))
    assert client.inits == 1
    assert [(tp.partition, pid, epoch, seq, n) for tp, pid, epoch, seq, n, _ in client.produced] == [
        (0, 1001, 0, 0, 3), (1, 1001, 0, 0, 2), (0, 1001, 0, 3, 2)]
    assert [[r.offset for r in rs] for rs in results] == [[0, 1, 2], [0, 1], [3, 4]]


def test_a_retry_resends_the_same_sequence():
    client, results = asyncio.run(_run([ErrorCode.NOT_LEADER_OR_FOLLOWER, 0], rounds=((0, 3),)))
    first, second = client.produced
    assert first[1:5] == second[1:5] == (1001, 0, 0, 3)
    assert first[5] == second[5]                       # the very same bytes
    assert [r.offset for r in results[0]] == [0, 1, 2]


def test_lost_producer_state_fails_the_batch_and_takes_a_new_producer_id():
    client, results = asyncio.run(_run([ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER], rounds=((0, 2), (0, 1))))
    assert all(isinstance(r, OutOfOrderSequenceError) for r in results[0])
    assert client.inits == 2
    assert [(pid, seq) for _, pid, _, seq, _, _ in client.produced] == [(1001, 0), (1002, 0)]
    assert [r.offset for r in results[1]] == [0]


def test_init_producer_id_retries_while_the_broker_is_not_ready():
    client, results = asyncio.run(_run([], init_script=[ErrorCode.COORDINATOR_NOT_AVAILABLE,
                                                        ErrorCode.COORDINATOR_LOAD_IN_PROGRESS],
                                       rounds=((1, 1),)))
    assert client.inits == 3 and client.produced[0][1] == 1003
    assert [r.offset for r in results[0]] == [0]


def test_a_fatal_init_error_fails_the_waiting_batches():
    client, results = asyncio.run(_run([], init_script=[ErrorCode.CLUSTER_AUTHORIZATION_FAILED], rounds=((0, 2),)))
    assert all(getattr(r, "code", None) == ErrorCode.CLUSTER_AUTHORIZATION_FAILED for r in results[0])
    assert client.produced == []


@pytest.mark.parametrize("props, message", [
    ({"acks": "1"}, "Must set acks to all"),
    ({"retries": 0}, "Must set retries to non-zero"),
    ({"max.in.flight.requests.per.connection": 6}, "at most 5"),
    ({"enable.idempotence": "maybe"}, "Expected value to be either true or false"),
])
def test_config_rules(props, message):
    with pytest.raises(ValueError, match=message):
        ProducerConfig({"bootstrap.servers": "h:1", "enable.idempotence": "true", **props})


def test_idempotence_defaults_acks_to_all():
    assert ProducerConfig({"bootstrap.servers": "h:1", "enable.idempotence": True}).acks == -1
    assert ProducerConfig({"bootstrap.servers": "h:1", "enable.idempotence": "true", "acks": "all"}).acks == -1
    off = ProducerConfig({"bootstrap.servers": "h:1"})
    assert off.acks == 1 and not off.enable_idempotence
