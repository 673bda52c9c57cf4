"""The idempotent producer against a kafkapy broker subprocess.

- InitProducerId: advertised by ApiVersions, fresh ids with epoch 0, distinct per call;
  transactional ids are answered COORDINATOR_NOT_AVAILABLE (no transaction coordinator here).
- Raw Produce v8 of hand-built batches: a re-send of an appended batch (same producer id,
  epoch and sequences) is answered with the original base offset and appends nothing; a
  sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH, a new
  epoch must start at sequence 0.
- confluent-kafka and aiokafka with idempotence enabled: every value exactly once.
"""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from kafkapy.clients.net import BrokerConnection
from kafkapy.common.errors import ErrorCode
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.messages.init_producer_id import API as INIT_API
from kafkapy.protocol.messages.list_offsets import API as LIST_OFFSETS_API
from kafkapy.protocol.messages.produce import API as PRODUCE_API
from kafkapy.protocol.records import SimpleRecord, build_batch
from kafkapy.testing.broker import BrokerProcess, create_topic, wait_for_leaders

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

TopicData = PRODUCE_API.request.struct("topic_data")
PartitionData = PRODUCE_API.request.struct("topic_data", "partition_data")


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory):
    chroot = f"{zookeeper.connect_string}/kafkapy-idempotence-{uuid.uuid4().hex[:10]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker-idempotence"), chroot, broker_id=0)
    b.start()
    yield b
    code = b.stop()
    assert code == 0, b.log_tail()


def new_topic(broker: BrokerProcess, partitions: int = 1) -> str:
    topic = f"idem-{uuid.uuid4().hex[:8]}"
    create_topic(broker.zookeeper_connect, topic, partitions)
    wait_for_leaders(broker.bootstrap, topic, partitions)
    return topic


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def connect(broker: BrokerProcess) -> BrokerConnection:
    host, port = broker.bootstrap.rsplit(":", 1)
    return await BrokerConnection.connect(host, int(port), client_id="idempotence-test", timeout_ms=10000)


async def init_producer_id(conn: BrokerConnection, transactional_id: str | None = None, version: int = 1):
    return await conn.send(ApiKey.INIT_PRODUCER_ID, INIT_API.request(
        transactional_id=transactional_id, transaction_timeout_ms=60000, producer_id=-1, producer_epoch=-1),
        version=version)


def idempotent_batch(pid: int, epoch: int, seq: int, n: int, tag: str) -> bytearray:
    recs = [SimpleRecord(None, f"{tag}-{seq + i}".encode(), timestamp=1_700_000_000_000 + i) for i in range(n)]
    return bytearray(build_batch(recs, producer_id=pid, producer_epoch=epoch, base_sequence=seq))


async def produce(conn: BrokerConnection, topic: str, records: bytes) -> tuple[int, int]:
    resp = await conn.send(ApiKey.PRODUCE, PRODUCE_API.request(
        transactional_id=None, acks=-1, timeout_ms=10000,
        topic_data=[TopicData(name=topic, partition_data=[PartitionData(index=0, records=bytes(records))])]),
        version=8)
    p = resp.responses[0].partition_responses[0]
    return p.error_code, p.base_offset


async def log_end_offset(conn: BrokerConnection, topic: str) -> int:
    T = LIST_OFFSETS_API.request.struct("topics")
    P = LIST_OFFSETS_API.request.struct("topics", "partitions")
    resp = await conn.send(ApiKey.LIST_OFFSETS, LIST_OFFSETS_API.request(
        replica_id=-1, isolation_level=0,
        topics=[T(name=topic, partitions=[P(partition_index=0, current_leader_epoch=-1, timestamp=-1,
                                            max_num_offsets=1)])]), version=2)
    return resp.topics[0].partitions[0].offset


def test_init_producer_id_is_advertised_and_unique(broker):
    async def go():
        conn = await connect(broker)
        try:
            assert int(ApiKey.INIT_PRODUCER_ID) in conn.api_versions
            rng = conn.api_versions[int(ApiKey.INIT_PRODUCER_ID)]
            assert (rng.min_version, rng.max_version) == (0, 4)
            ids = []
            for version in (0, 1, 2, 3, 4):
                r = await init_producer_id(conn, version=version)
                assert r.error_code == 0 and r.producer_epoch == 0, r
                ids.append(r.producer_id)
            assert len(set(ids)) == len(ids) and min(ids) >= 0, ids
            txn = await init_producer_id(conn, transactional_id="txn-1")
            assert txn.error_code == ErrorCode.COORDINATOR_NOT_AVAILABLE
            assert txn.producer_id == -1
        finally:
            await conn.close()
    run(go())


def test_resent_batch_gets_original_offset_and_is_not_appended(broker):
    topic = new_topic(broker)

    async def go():
        conn = await connect(broker)
        try:
            pid = (await init_producer_id(conn)).producer_id
            first = idempotent_batch(pid, 0, 0, 3, "a")
            assert await produce(conn, topic, first) == (0, 0)
            second = idempotent_batch(pid, 0, 3, 2, "b")
            assert await produce(conn, topic, second) == (0, 3)
            assert await log_end_offset(conn, topic) == 5
            # re-sends of both retained batches: the original offsets, nothing appended
            assert await produce(conn, topic, idempotent_batch(pid, 0, 0, 3, "a")) == (0, 0)
            assert await produce(conn, topic, idempotent_batch(pid, 0, 3, 2, "b")) == (0, 3)
            assert await log_end_offset(conn, topic) == 5
            # a gap in the sequence
            code, _ = await produce(conn, topic, idempotent_batch(pid, 0, 7, 1, "c"))
            assert code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
            # a new epoch must start at 0; after it the old epoch is fenced
            code, _ = await produce(conn, topic, idempotent_batch(pid, 1, 5, 1, "d"))
            assert code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
            assert await produce(conn, topic, idempotent_batch(pid, 1, 0, 1, "e")) == (0, 5)
            code, _ = await produce(conn, topic, idempotent_batch(pid, 0, 5, 1, "f"))
            assert code == ErrorCode.INVALID_PRODUCER_EPOCH
            assert await log_end_offset(conn, topic) == 6
            # a producer the partition never saw is accepted at any sequence (Kafka 2.8)
            other = (await init_producer_id(conn)).producer_id
            assert await produce(conn, topic, idempotent_batch(other, 0, 42, 1, "g")) == (0, 6)
        finally:
            await conn.close()
    run(go())


def test_confluent_kafka_idempotent_producer_writes_every_value_once(broker):
    ck = pytest.importorskip("confluent_kafka")
    topic = new_topic(broker, 2)
    n = 5000
    p = ck.Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True, "linger.ms": 2,
                     "batch.num.messages": 100})
    errors = []
    for i in range(n):
        while True:
            try:
                p.produce(topic, str(i).encode(), partition=i % 2,
                          on_delivery=lambda err, msg: errors.append(err) if err else None)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    assert p.flush(60) == 0
    assert not errors, errors[:5]
    c = ck.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"g-{topic}", "auto.offset.reset": "earliest",
                     "enable.auto.commit": False})
    try:
        c.assign([ck.TopicPartition(topic, q, ck.OFFSET_BEGINNING) for q in range(2)])
        values: list[int] = []
        deadline = time.monotonic() + 60
        while len(values) < n and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                values.append(int(m.value()))
        assert sorted(values) == list(range(n))
    finally:
        c.close()


def test_aiokafka_idempotent_producer_writes_every_value_once(broker):
    aiokafka = pytest.importorskip("aiokafka")
    topic = new_topic(broker)
    n = 2000

    async def go():
        producer = aiokafka.AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True,
                                             linger_ms=2)
        await producer.start()
        try:
            futures = [await producer.send(topic, str(i).encode(), partition=0) for i in range(n)]
            metas = await asyncio.gather(*futures)
        finally:
            await producer.stop()
        assert sorted(m.offset for m in metas) == list(range(n))
        consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest",
                                             enable_auto_commit=False)
        await consumer.start()
        try:
            tp = aiokafka.TopicPartition(topic, 0)
            consumer.assign([tp])
            values: list[int] = []
            while len(values) < n:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                values.extend(int(r.value) for r in batch.get(tp, []))
        finally:
            await consumer.stop()
        assert values == list(range(n))
    run(go())


def test_java_idempotent_producer_writes_every_value_once(broker):
    """Kafka 2.8.2's ConsoleProducer with enable.idempotence=true (InitProducerId, then Produce v9)."""
    import subprocess

    from kafkapy.testing.kafka_dist import KafkaDistUnavailable, java_executable, kafka_classpath
    try:
        classpath = kafka_classpath()
    except KafkaDistUnavailable as exc:
        pytest.skip(str(exc))
    topic = new_topic(broker)
    n = 3000

    def java(main: str, args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([java_executable(), "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
                               classpath, main, *args], input=stdin, capture_output=True, timeout=300)

    proc = java("kafka.tools.ConsoleProducer",
                ["--bootstrap-server", broker.bootstrap, "--topic", topic, "--request-required-acks", "all",
                 "--producer-property", "enable.idempotence=true", "--producer-property", "linger.ms=5",
                 "--producer-property", "max.in.flight.requests.per.connection=5"],
                stdin=b"".join(b"%d\n" % i for i in range(n)))
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert b"ERROR" not in proc.stderr, proc.stderr.decode()[-3000:]

    async def end_offset() -> int:
        conn = await connect(broker)
        try:
            return await log_end_offset(conn, topic)
        finally:
            await conn.close()
    assert run(end_offset()) == n
    proc = java("kafka.tools.ConsoleConsumer",
                ["--bootstrap-server", broker.bootstrap, "--topic", topic, "--partition", "0", "--offset", "earliest",
                 "--max-messages", str(n), "--timeout-ms", "60000"])
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert [int(x) for x in proc.stdout.split()] == list(range(n))
    # the batches on disk carry a producer id: the Java client really was idempotent
    from kafkapy.protocol.records import iter_batches
    data = (broker.data_dir / f"{topic}-0" / "00000000000000000000.log").read_bytes()
    batches = list(iter_batches(data))
    assert batches and all(b.producer_id >= 0 and b.producer_epoch == 0 for b in batches)


# -- ProducerIdManager against a fake block store (no broker needed) ----------------------------------
class FakeBlockStore:
    """Hands out consecutive blocks of ``size`` ids, like ``/latest_producer_id_block``; can fail once."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self.next_start = 0
        self.claims = 0
        self.fail_next = False

    async def claim_producer_id_block(self, broker_id: int):
        from kafkapy.zk.errors import ConnectionLossError
        from kafkapy.zk.znodes import ProducerIdBlock
        if self.fail_next:
            self.fail_next = False
            raise ConnectionLossError("connection lost", "/latest_producer_id_block")
        self.claims += 1
        block = ProducerIdBlock(broker_id, self.next_start, self.next_start + self.size - 1)
        self.next_start += self.size
        return block


def test_producer_id_manager_claims_blocks_once_even_under_concurrency():
    from kafkapy.coordinator.transaction.producer_id_manager import ProducerIdManager
    from kafkapy.zk.errors import ZkError

    async def go():
        store = FakeBlockStore(size=10)
        a = ProducerIdManager(1, store)
        b = ProducerIdManager(2, store)          # another broker sharing the znode
        ids = list(await asyncio.gather(*(a.generate_producer_id() for _ in range(25))))   # all wait for one claim
        ids += [await b.generate_producer_id() for _ in range(5)]
        assert len(set(ids)) == len(ids) == 30
        assert store.claims == 4                  # a: 3 blocks of 10 for 25 ids, b: 1
        store.fail_next = True
        c = ProducerIdManager(3, store)
        try:
            await c.generate_producer_id()
            raise AssertionError("the claim failure should reach the caller")
        except ZkError:
            pass
        assert await c.generate_producer_id() not in ids          # retried with a fresh claim
    run(go())
