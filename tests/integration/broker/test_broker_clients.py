"""Real clients against a kafkapy broker subprocess: every client x codec, 100,000 records each.

Each run produces 100,000 keyed records (with a header where the format allows) to its own
two-partition topic, partition = i % 2, then consumes both partitions from the beginning and
checks every record byte for byte and in order per partition. kafka-python pinned to
api_version (0, 8, 2) and (0, 10, 0) writes magic 0 / magic 1 and fetches with Fetch v0 / v2,
which exercises the broker's up-conversion on append and down-conversion on fetch.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from kafkapy.testing.broker import BrokerProcess, create_topic, wait_for_leaders

pytestmark = pytest.mark.integration

N = int(os.environ.get("KAFKAPY_CLIENT_RECORDS", "100000"))
PARTITIONS = 2
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def key_of(i: int) -> bytes:
    return b"k%d" % i


def value_of(i: int) -> bytes:
    return b"value-%08d-" % i + b"x" * (i % 17)


def expected(with_headers: bool, header_of=lambda i: [("h", b"%d" % i)]) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = {p: [] for p in range(PARTITIONS)}
    for i in range(N):
        out[i % PARTITIONS].append((key_of(i), value_of(i), tuple(header_of(i)) if with_headers else ()))
    return out


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory):
    chroot = f"{zookeeper.connect_string}/kafkapy-clients-{uuid.uuid4().hex[:10]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker-clients"), chroot, broker_id=0,
                      overrides={"num.partitions": PARTITIONS})
    b.start()
    yield b
    code = b.stop()
    assert code == 0, b.log_tail()


def new_topic(broker: BrokerProcess, name: str) -> str:
    topic = f"{name}-{uuid.uuid4().hex[:6]}"
    create_topic(broker.zookeeper_connect, topic, PARTITIONS)
    wait_for_leaders(broker.bootstrap, topic, PARTITIONS)
    return topic


def check(got: dict[int, list[tuple]], want: dict[int, list[tuple]]) -> None:
    for p in range(PARTITIONS):
        assert len(got[p]) == len(want[p]), f"partition {p}: {len(got[p])} records, expected {len(want[p])}"
        for idx, (g, w) in enumerate(zip(got[p], want[p])):
            assert g == w, f"partition {p} record {idx}: got {g!r}, expected {w!r}"


# ---------------------------------------------------------------------------- confluent-kafka

def test_confluent_kafka(broker: BrokerProcess, codec: str) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    topic = new_topic(broker, f"ck-{codec}")
    errors: list = []
    delivered = [0]

    def on_delivery(err, msg) -> None:
        if err is not None:
            errors.append(err)
        else:
            delivered[0] += 1

    producer = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec, "linger.ms": 20,
                         "batch.num.messages": 10000, "acks": "all", "enable.idempotence": False})
    for i in range(N):
        while True:
            try:
                producer.produce(topic, value_of(i), key_of(i), partition=i % PARTITIONS,
                                 headers=[("h", b"%d" % i)], on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    assert not errors and delivered[0] == N

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": f"g-{topic}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got: dict[int, list[tuple]] = {p: [] for p in range(PARTITIONS)}
    total = 0
    deadline = time.monotonic() + 120
    while total < N and time.monotonic() < deadline:
        for msg in consumer.consume(10000, 1.0):
            assert msg.error() is None, msg.error()
            got[msg.partition()].append((msg.key(), msg.value(), tuple(msg.headers() or ())))
            assert msg.offset() == len(got[msg.partition()]) - 1
            total += 1
    consumer.close()
    check(got, expected(True))


# ---------------------------------------------------------------------------- kcat

def test_kcat(broker: BrokerProcess, codec: str, tmp_path: Path) -> None:
    topic = new_topic(broker, f"kcat-{codec}")
    for p in range(PARTITIONS):
        lines = b"".join(key_of(i) + b"\t" + value_of(i) + b"\n" for i in range(p, N, PARTITIONS))
        src = tmp_path / f"in-{p}"
        src.write_bytes(lines)
        proc = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-p", str(p), "-K", "\t",
                               "-H", "h=kcat", "-z", codec, "-X", "linger.ms=20", "-l", str(src)],
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()
    got: dict[int, list[tuple]] = {p: [] for p in range(PARTITIONS)}
    proc = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e",
                           "-f", "%p\t%o\t%k\t%s\t%h\n"], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    for line in proc.stdout.splitlines():
        p, o, k, v, h = line.split(b"\t")
        got[int(p)].append((k, v, (("h", h.split(b"=", 1)[1]),)))
        assert int(o) == len(got[int(p)]) - 1
    check(got, expected(True, lambda i: [("h", b"kcat")]))


# ---------------------------------------------------------------------------- kafka-python

KAFKA_PYTHON_CODECS = {"none": None, "gzip": "gzip", "snappy": "snappy", "lz4": "lz4", "zstd": "zstd"}


def _kafka_python_round_trip(broker: BrokerProcess, codec: str, api_version: tuple | None) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    with_headers = api_version is None or api_version >= (0, 11)
    topic = new_topic(broker, f"kp-{codec}-{'x' if api_version is None else ''.join(map(str, api_version))}")
    extra = {"api_version": api_version} if api_version is not None else {}
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=KAFKA_PYTHON_CODECS[codec],
                             linger_ms=20, batch_size=256 * 1024, acks=1, **extra)
    futures = []
    for i in range(N):
        kwargs = {"headers": [("h", b"%d" % i)]} if with_headers else {}
        futures.append(producer.send(topic, value=value_of(i), key=key_of(i), partition=i % PARTITIONS, **kwargs))
    producer.flush(120)
    for f in futures[-10:]:
        f.get(30)
    assert all(f.succeeded() for f in futures)
    producer.close(10)

    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", fetch_max_wait_ms=100, **extra)
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    got: dict[int, list[tuple]] = {p: [] for p in range(PARTITIONS)}
    total = 0
    deadline = time.monotonic() + 180
    while total < N and time.monotonic() < deadline:
        for tp, msgs in consumer.poll(1000, max_records=20000).items():
            for m in msgs:
                got[tp.partition].append((m.key, m.value, tuple(m.headers or ()) if with_headers else ()))
                assert m.offset == len(got[tp.partition]) - 1
                total += 1
    consumer.close()
    check(got, expected(with_headers))


def test_kafka_python(broker: BrokerProcess, codec: str) -> None:
    _kafka_python_round_trip(broker, codec, None)


@pytest.mark.parametrize("api_version", [(0, 8, 2), (0, 10, 0)], ids=["0.8.2", "0.10.0"])
@pytest.mark.parametrize("old_codec", ["none", "gzip", "snappy"])
def test_kafka_python_old_formats(broker: BrokerProcess, old_codec: str, api_version: tuple) -> None:
    _kafka_python_round_trip(broker, old_codec, api_version)


# ---------------------------------------------------------------------------- aiokafka

def test_aiokafka(broker: BrokerProcess, codec: str) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition

    topic = new_topic(broker, f"aio-{codec}")

    async def go() -> dict[int, list[tuple]]:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, compression_type=KAFKA_PYTHON_CODECS[codec],
                                    linger_ms=20, max_batch_size=256 * 1024, acks=1)
        await producer.start()
        try:
            futs = []
            for i in range(N):
                futs.append(await producer.send(topic, value=value_of(i), key=key_of(i), partition=i % PARTITIONS,
                                                headers=[("h", b"%d" % i)]))
            await asyncio.gather(*futs)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="earliest", fetch_max_wait_ms=100)
        await consumer.start()
        got: dict[int, list[tuple]] = {p: [] for p in range(PARTITIONS)}
        try:
            tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            total = 0
            while total < N:
                batch = await consumer.getmany(timeout_ms=1000, max_records=20000)
                for tp, msgs in batch.items():
                    for m in msgs:
                        got[tp.partition].append((m.key, m.value, tuple(m.headers or ())))
                        assert m.offset == len(got[tp.partition]) - 1
                        total += 1
        finally:
            await consumer.stop()
        return got

    got = asyncio.run(asyncio.wait_for(go(), 240))
    check(got, expected(True))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "codec" in metafunc.fixturenames:
        metafunc.parametrize("codec", CODECS)
