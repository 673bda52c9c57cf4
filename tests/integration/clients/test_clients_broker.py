"""kafkapy's Producer/Consumer/AdminClient against a kafkapy broker subprocess, cross-checked
with librdkafka (confluent-kafka) and kafka-python on the same topics."""
from __future__ import annotations

import asyncio
import time

import pytest

from kafkapy.clients.admin import AdminClient
from kafkapy.clients.consumer import Consumer
from kafkapy.clients.producer import Producer, partition_for_key
from kafkapy.common.types import TopicPartition
from kafkapy.testing.broker import create_topic, wait_for_leaders

pytestmark = pytest.mark.timeout(180)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def _run(coro, timeout: float = 120):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _topic(broker, name: str, partitions: int = 3, config: dict | None = None) -> str:
    create_topic(broker.zookeeper_connect, name, partitions, 1, config)
    wait_for_leaders(broker.bootstrap, name, partitions)
    return name


async def _consume_all(bootstrap: str, tps: list[TopicPartition], expected: int, timeout_s: float = 60):
    out = []
    async with Consumer({"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest"}) as c:
        c.assign(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(out) < expected and loop.time() < deadline:
            out.extend(await c.poll(500))
    return out


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_produce_consume_every_codec_and_acks(broker, codec: str, acks: str) -> None:
    topic = _topic(broker, f"pc-{codec}-{acks}", 2)
    n = 1500

    async def go() -> None:
        async with Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec, "acks": acks,
                             "linger.ms": 2, "batch.size": 8192}) as p:
            futs = [await p.send(topic, b"value-%d" % i, key=b"key-%d" % i,
                                 headers=[("i", str(i).encode())]) for i in range(n)]
            mds = [await f for f in futs]
        if acks == "0":
            assert all(md.offset == -1 for md in mds)
        else:
            per_partition: dict[int, list[int]] = {}
            for md in mds:
                per_partition.setdefault(md.partition, []).append(md.offset)
            for offsets in per_partition.values():
                assert offsets == list(range(len(offsets)))
        for i, md in enumerate(mds):
            assert md.partition == partition_for_key(b"key-%d" % i, 2)
        got = await _consume_all(broker.bootstrap, [TopicPartition(topic, 0), TopicPartition(topic, 1)], n)
        assert len(got) == n
        by_key = {r.key: r for r in got}
        assert by_key[b"key-7"].value == b"value-7" and by_key[b"key-7"].headers == (("i", b"7"),)
        assert all(r.partition == partition_for_key(r.key, 2) for r in got)
    _run(go())


def test_our_batches_read_by_librdkafka_and_kafka_python(broker) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    kafka = pytest.importorskip("kafka")
    topic = _topic(broker, "interop-read", 1)

    async def produce() -> None:
        async with Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "lz4",
                             "linger.ms": 5}) as p:
            for i in range(500):
                await p.send(topic, b"v%d" % i, key=None if i % 2 else b"k%d" % i)
            await p.flush()
    _run(produce())
    c = confluent_kafka.Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused",
                                  "enable.auto.commit": False})
    c.assign([confluent_kafka.TopicPartition(topic, 0, 0)])
    seen = []
    deadline = time.monotonic() + 30
    while len(seen) < 500 and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            seen.append((m.offset(), m.key(), m.value()))
    c.close()
    assert [s[0] for s in seen] == list(range(500))
    assert seen[4] == (4, b"k4", b"v4") and seen[5] == (5, None, b"v5")
    kc = kafka.KafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    kc.assign([kafka.TopicPartition(topic, 0)])
    values = [m.value for m in kc]
    kc.close()
    assert values == [b"v%d" % i for i in range(500)]


def test_keys_land_where_kafka_python_puts_them_and_legacy_formats_are_read(broker) -> None:
    kafka = pytest.importorskip("kafka")
    topic = _topic(broker, "legacy-keys", 4)
    sent = {}
    for api_version, tag in (((0, 8, 2), "m0"), ((0, 10, 0), "m1"), (None, "m2")):
        kwargs = {"api_version": api_version} if api_version else {"enable_idempotence": False}
        kp = kafka.KafkaProducer(bootstrap_servers=broker.bootstrap, compression_type="gzip", **kwargs)
        for i in range(60):
            key = f"{tag}-{i}".encode()
            md = kp.send(topic, key=key, value=b"x" * i).get(timeout=30)
            sent[key] = md.partition
        kp.close()
    assert all(p == partition_for_key(k, 4) for k, p in sent.items())
    got = _run(_consume_all(broker.bootstrap, [TopicPartition(topic, p) for p in range(4)], len(sent)))
    assert {r.key: r.partition for r in got} == sent
    m0 = [r for r in got if r.key.startswith(b"m0")]
    assert all(r.timestamp == -1 for r in m0)            # magic 0 has no timestamps
    assert all(r.value == b"x" * int(r.key.split(b"-")[1]) for r in got)


def test_seek_position_and_offset_reset(broker) -> None:
    topic = _topic(broker, "seeking", 1)
    tp = TopicPartition(topic, 0)

    async def go() -> None:
        async with Producer({"bootstrap.servers": broker.bootstrap}) as p:
            for i in range(100):
                await p.send(topic, b"%d" % i)
            await p.flush()
        async with Consumer({"bootstrap.servers": broker.bootstrap, "auto.offset.reset": "latest"}) as c:
            c.assign([tp])
            assert await c.position(tp) == 100
            assert await c.beginning_offsets([tp]) == {tp: 0}
            assert await c.end_offsets([tp]) == {tp: 100}
            c.seek(tp, 42)
            recs = await c.poll(5000, max_records=3)
            assert [r.offset for r in recs] == [42, 43, 44] and recs[0].value == b"42"
            assert await c.position(tp) == 45
            c.seek_to_beginning([tp])
            recs = await c.poll(5000, max_records=1)
            assert recs[0].offset == 0
            c.seek_to_end([tp])
            assert await c.poll(300) == []
            assert await c.position(tp) == 100
        async with Consumer({"bootstrap.servers": broker.bootstrap, "auto.offset.reset": "earliest"}) as c:
            c.assign([tp])
            c.seek(tp, 10_000)                      # out of range: reset to earliest
            recs = await c.poll(10_000, max_records=2)
            assert [r.offset for r in recs] == [0, 1]
    _run(go())


def test_admin_list_and_describe_topics(broker) -> None:
    topic = _topic(broker, "admin-describe", 2)

    async def go() -> None:
        async with AdminClient({"bootstrap.servers": broker.bootstrap}) as admin:
            assert topic in await admin.list_topics()
            described = await admin.describe_topics([topic])
            parts = described[topic].partitions
            assert sorted(parts) == [0, 1]
            assert all(p.leader == broker.broker_id and p.replicas == (broker.broker_id,) for p in parts.values())
            offsets = await admin.list_offsets({TopicPartition(topic, 0): -1, TopicPartition(topic, 1): -2})
            assert offsets[TopicPartition(topic, 0)][0] == 0 and offsets[TopicPartition(topic, 1)][0] == 0
            versions = await admin.api_versions()
            assert 0 in versions[broker.broker_id][1]
    _run(go())


def test_sync_facades(broker) -> None:
    from kafkapy.clients.sync import SyncAdminClient, SyncConsumer, SyncProducer
    topic = _topic(broker, "sync-facade", 1)
    with SyncProducer({"bootstrap.servers": broker.bootstrap, "linger.ms": 1}) as p:
        futs = [p.send(topic, b"s%d" % i) for i in range(50)]
        offsets = [f.result(30).offset for f in futs]
    assert offsets == list(range(50))
    with SyncConsumer({"bootstrap.servers": broker.bootstrap, "auto.offset.reset": "earliest"}) as c:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        c.seek(tp, 45)
        got = []
        deadline = time.monotonic() + 30
        while len(got) < 5 and time.monotonic() < deadline:
            got += c.poll(1000)
        assert [r.value for r in got] == [b"s%d" % i for i in range(45, 50)]
        assert c.position(tp) == 50
    with SyncAdminClient({"bootstrap.servers": broker.bootstrap}) as admin:
        assert topic in admin.list_topics()


@pytest.mark.parametrize("idempotent", [True, False])
def test_a_resent_batch_is_stored_once_only_by_the_idempotent_producer(broker, monkeypatch, idempotent) -> None:
    """The first Produce response is lost after the broker appended the batch; the producer resends.
    The idempotent producer's resend carries the same producer id and sequence: the broker answers with
    the original offsets and stores nothing new. Without idempotence the records land twice."""
    from kafkapy.clients.net import BrokerConnection
    from kafkapy.common.errors import NetworkError
    from kafkapy.protocol.api_keys import ApiKey

    topic = _topic(broker, f"idem-resend-{idempotent}", 1)
    real_send = BrokerConnection.send
    lost = []

    async def send_losing_first_produce_answer(self, api_key, request, version=None, *, timeout_ms=None):
        answer = await real_send(self, api_key, request, version, timeout_ms=timeout_ms)
        if api_key == ApiKey.PRODUCE and not lost:
            lost.append(answer)          # appended by the broker, but the client never hears of it
            raise NetworkError("response lost (test)")
        return answer

    monkeypatch.setattr(BrokerConnection, "send", send_losing_first_produce_answer)

    async def go() -> tuple[list[int], list]:
        async with Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": idempotent,
                             "acks": "all", "linger.ms": 50, "retry.backoff.ms": 10}) as p:
            futs = [await p.send(topic, b"v%d" % i, partition=0) for i in range(5)]
            offsets = [(await f).offset for f in futs]
        return offsets, await _consume_all(broker.bootstrap, [TopicPartition(topic, 0)], 10, timeout_s=5)

    offsets, records = _run(go())
    assert lost and lost[0].responses[0].partition_responses[0].base_offset == 0
    values = [r.value for r in records]
    if idempotent:
        assert offsets == [0, 1, 2, 3, 4]
        assert values == [b"v%d" % i for i in range(5)]
    else:
        assert offsets == [5, 6, 7, 8, 9]
        assert values == [b"v%d" % i for i in range(5)] * 2
