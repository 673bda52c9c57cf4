"""Idempotent producers of other clients through a leader change: every value exactly once.

RF 3, min.insync.replicas=2. kafka-python and aiokafka (idempotence on, acks=all) keep sending
numbered values to one partition while its leader is killed with SIGKILL (requests in flight
are lost with the connection and re-sent to the new leader with the same sequence numbers) or
stopped cleanly (waiting acks=all writes are answered NOT_LEADER_OR_FOLLOWER and re-sent).
Every send must succeed and the partition must hold every value exactly once, in order.
(confluent-kafka runs the same way in the replication matrix and chaos tests.)
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from kafkapy.testing.cluster import LocalCluster
from kafkapy.testing.zookeeper import ZooKeeperNotInstalledError

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

N = 3000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    try:
        c = LocalCluster(brokers=3, base_dir=tmp_path_factory.mktemp("idempotent"),
                         broker_config={"replica.lag.time.max.ms": 10000, "auto.leader.rebalance.enable": "false"})
    except ZooKeeperNotInstalledError as exc:
        pytest.skip(str(exc))
    c.start()
    try:
        yield c
    finally:
        c.close()


def prepare(c: LocalCluster) -> str:
    for b in sorted(c.brokers):
        if not c.broker(b).is_running():
            c.start_broker(b)
    c.wait_for(lambda: len(c.registered_brokers()) == 3, 60, "all three brokers registered")
    topic = f"idem-{uuid.uuid4().hex[:8]}"
    c.create_topic(topic, 1, 3, {"min.insync.replicas": "2"})
    c.wait_for(lambda: len(c.isr(topic, 0)) == 3, 60, f"a full ISR for {topic}")
    return topic


def fault(c: LocalCluster, topic: str, how: str) -> int:
    victim = c.leader(topic, 0)
    assert victim is not None and victim > 0
    if how == "kill":
        c.kill(victim)
    else:
        c.stop(victim)
    return victim


def read_values(c: LocalCluster, topic: str) -> list[int]:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    consumer = confluent_kafka.Consumer({"bootstrap.servers": c.bootstrap_servers, "group.id": f"v-{topic}",
                                         "enable.auto.commit": False, "topic.metadata.refresh.interval.ms": 1000})
    try:
        tp = confluent_kafka.TopicPartition(topic, 0)
        _, high = consumer.get_watermark_offsets(tp, timeout=10)
        consumer.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
        out: list[int] = []
        last = -1
        deadline = time.monotonic() + 60
        while last + 1 < high:
            assert time.monotonic() < deadline, f"read up to offset {last} of {high}"
            m = consumer.poll(0.5)
            if m is None or m.error():
                continue
            out.append(int(m.value()))
            last = m.offset()
        return out
    finally:
        consumer.close()


def check_exactly_once(c: LocalCluster, topic: str, acked: int) -> None:
    assert acked == N
    c.wait_for(lambda: (c.leader(topic, 0) or -1) >= 0, 60, "a leader")
    values = read_values(c, topic)
    dupes = len(values) - len(set(values))
    print(f"[{topic}] sent={N} found={len(values)} duplicates={dupes}")
    assert values == list(range(N))


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_kafka_python_idempotent_producer_through_a_leader_change(cluster: LocalCluster, how: str) -> None:
    kafka = pytest.importorskip("kafka")
    topic = prepare(cluster)
    producer = kafka.KafkaProducer(bootstrap_servers=cluster.bootstrap_servers, enable_idempotence=True,
                                   acks="all", linger_ms=5, retries=2**31 - 1, request_timeout_ms=15000,
                                   metadata_max_age_ms=1000, max_in_flight_requests_per_connection=5)
    try:
        futures = []
        for i in range(N):
            futures.append(producer.send(topic, str(i).encode(), partition=0))
            if i == N // 3:      # a third is queued or in flight
                fault(cluster, topic, how)
        producer.flush(120)
        metas = [f.get(timeout=60) for f in futures]
    finally:
        producer.close(10)
    offsets = [m.offset for m in metas]
    assert offsets == sorted(offsets) and len(set(offsets)) == N
    check_exactly_once(cluster, topic, len(metas))


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_aiokafka_idempotent_producer_through_a_leader_change(cluster: LocalCluster, how: str) -> None:
    aiokafka = pytest.importorskip("aiokafka")
    topic = prepare(cluster)

    async def go() -> int:
        producer = aiokafka.AIOKafkaProducer(bootstrap_servers=cluster.bootstrap_servers, enable_idempotence=True,
                                             linger_ms=5, request_timeout_ms=15000, metadata_max_age_ms=1000,
                                             retry_backoff_ms=200)
        await producer.start()
        try:
            futures = []
            for i in range(N):
                futures.append(await producer.send(topic, str(i).encode(), partition=0))
                if i == N // 3:  # a third is queued or in flight
                    fault(cluster, topic, how)
            metas = await asyncio.wait_for(asyncio.gather(*futures), 120)
        finally:
            await producer.stop()
        offsets = [m.offset for m in metas]
        assert offsets == sorted(offsets) and len(set(offsets)) == N
        return len(metas)

    acked = asyncio.run(asyncio.wait_for(go(), 240))
    check_exactly_once(cluster, topic, acked)


# -- a crafted re-send to the new leader ---------------------------------------------------------
def test_new_leader_answers_a_resent_batch_with_its_original_offset(cluster: LocalCluster) -> None:
    """The batch reached the followers through replication; the client re-sends it to the new leader."""
    from kafkapy.clients.net import BrokerConnection
    from kafkapy.protocol.api_keys import ApiKey
    from kafkapy.protocol.messages.init_producer_id import API as INIT_API
    from kafkapy.protocol.messages.list_offsets import API as LIST_OFFSETS_API
    from kafkapy.protocol.messages.produce import API as PRODUCE_API
    from kafkapy.protocol.records import SimpleRecord, build_batch

    topic = prepare(cluster)
    TopicData = PRODUCE_API.request.struct("topic_data")
    PartitionData = PRODUCE_API.request.struct("topic_data", "partition_data")
    LT = LIST_OFFSETS_API.request.struct("topics")
    LP = LIST_OFFSETS_API.request.struct("topics", "partitions")

    def batch(pid: int, seq: int, n: int) -> bytes:
        return build_batch([SimpleRecord(None, b"r%d" % (seq + i), timestamp=1_700_000_000_000) for i in range(n)],
                           producer_id=pid, producer_epoch=0, base_sequence=seq)

    async def connect(broker_id: int) -> BrokerConnection:
        host, port = cluster.broker(broker_id).bootstrap.rsplit(":", 1)
        return await BrokerConnection.connect(host, int(port), client_id="resend-test", timeout_ms=10000)

    async def produce(conn: BrokerConnection, records: bytes) -> tuple[int, int]:
        resp = await conn.send(ApiKey.PRODUCE, PRODUCE_API.request(
            transactional_id=None, acks=-1, timeout_ms=15000,
            topic_data=[TopicData(name=topic, partition_data=[PartitionData(index=0, records=records)])]), version=8)
        p = resp.responses[0].partition_responses[0]
        return p.error_code, p.base_offset

    async def end_offset(conn: BrokerConnection) -> int:
        resp = await conn.send(ApiKey.LIST_OFFSETS, LIST_OFFSETS_API.request(
            replica_id=-1, isolation_level=0, topics=[LT(name=topic, partitions=[LP(
                partition_index=0, current_leader_epoch=-1, timestamp=-1, max_num_offsets=1)])]), version=2)
        return resp.topics[0].partitions[0].offset

    async def before() -> tuple[int, list[tuple[int, int]]]:
        conn = await connect(cluster.leader(topic, 0))
        try:
            pid = (await conn.send(ApiKey.INIT_PRODUCER_ID, INIT_API.request(
                transactional_id=None, transaction_timeout_ms=60000), version=1)).producer_id
            answers = [await produce(conn, batch(pid, seq, 4)) for seq in range(0, 24, 4)]
            return pid, answers
        finally:
            await conn.close()

    pid, answers = asyncio.run(asyncio.wait_for(before(), 60))
    assert answers == [(0, o) for o in range(0, 24, 4)]
    old = cluster.leader(topic, 0)
    cluster.stop(old)                        # controlled shutdown: leadership moves to an in-sync follower
    cluster.wait_for(lambda: cluster.leader(topic, 0) not in (old, -1, None), 60, "a new leader")
    new = cluster.leader(topic, 0)

    async def after() -> None:
        conn = await connect(new)
        try:
            assert await end_offset(conn) == 24
            for seq in (20, 16, 8):          # the last five batches are retained; 8 is the oldest of them
                assert await produce(conn, batch(pid, seq, 4)) == (0, seq)
            assert await end_offset(conn) == 24
            assert await produce(conn, batch(pid, 24, 2)) == (0, 24)
            code, _ = await produce(conn, batch(pid, 30, 1))
            assert code == 45                # OUT_OF_ORDER_SEQUENCE_NUMBER
        finally:
            await conn.close()

    asyncio.run(asyncio.wait_for(after(), 60))
    cluster.start_broker(old)
