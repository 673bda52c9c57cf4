"""Client-side workloads of the side-by-side benchmark (`bench/compare.py`), all confluent-kafka.

Every function takes a bootstrap address and a topic that already exists with the right
partition count, so the same code runs unchanged against Apache Kafka, kafkapy and
librdkafka's mock cluster (`MockCluster`, the client's own ceiling).

- `produce(bootstrap, topic, spec)`: `spec.records` values of `spec.record_bytes` bytes,
  round-robin over the partitions, acks=1, linger.ms=5, batch.size 1 MiB, the spec's
  compression; timed from the first `produce()` until every delivery report arrived.
- `consume(bootstrap, topic, partitions, records)`: one consumer, partitions assigned
  (no group), from the beginning until `records` arrived; timed from `assign()` (the
  consumer is connected and has metadata already), with the time to the first record
  reported on its own as well.
- `group_consume(bootstrap, topic, records, partitions, members=3)`: a consumer group of
  `members` (subscribe, earliest) reading the topic between them, timed from the moment the
  group is stable (partitions are held paused until then).
- `latency(bootstrap, topic, rate, seconds)`: a paced producer (linger.ms=1) and a polling
  consumer (fetch.wait.max.ms=5) in one process; produce-to-consume time of each record from a monotonic clock
  stamp in its value.

Values are semi-compressible (half random bytes, half repeated text, from a pool of 256) so
lz4 has real work and the compressed rows are not a trivial run-length case.
"""
from __future__ import annotations

import ctypes
import os
import random
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

_POOL = 256
_STAMP = struct.Struct(">q")


@dataclass(frozen=True, slots=True)
class ProduceSpec:
    record_bytes: int
    partitions: int
    compression: str
    records: int
    acks: str = "1"

    @property
    def name(self) -> str:
        size = f"{self.record_bytes // 1024} KiB" if self.record_bytes >= 1024 else f"{self.record_bytes} B"
        return f"{size}, {self.partitions} part, {self.compression}" + ("" if self.acks == "1" else
                                                                         f", acks={'all' if self.acks == '-1' else self.acks}")

    @property
    def slug(self) -> str:
        return f"{self.record_bytes}b-{self.partitions}p-{self.compression}" + (
            "" if self.acks == "1" else f"-acks{self.acks.replace('-1', 'all')}")


@dataclass(frozen=True, slots=True)
class ThroughputResult:
    seconds: float
    records: int
    bytes: int
    errors: int = 0
    first_record_s: float = 0.0     # consume: from assign() to the first record

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class LatencyResult:
    count: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    lost: int


def payloads(size: int, count: int = _POOL, seed: int = 7) -> list[bytes]:
    """`count` distinct values of `size` bytes, about half of each compressible."""
    rng = random.Random(seed)
    text = b"kafkapy benchmark value; " * (size // 25 + 1)
    out = []
    for _ in range(count):
        half = size // 2
        out.append(rng.randbytes(half) + text[:size - half])
    return out


def _producer_config(bootstrap: str, compression: str, linger_ms: int, acks: str = "1") -> dict[str, object]:
    return {"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": linger_ms,
            "batch.size": 1_048_576, "batch.num.messages": 1_000_000,
            "queue.buffering.max.messages": 1_000_000, "queue.buffering.max.kbytes": 1_048_576,
            "enable.idempotence": False, "compression.type": compression,
            "message.max.bytes": 2_000_000}


def produce(bootstrap: str, topic: str, spec: ProduceSpec, timeout_s: float = 300.0) -> ThroughputResult:
    p = Producer(_producer_config(bootstrap, spec.compression, 5, spec.acks))
    # Connection and metadata before the clock starts: every target pays the same.
    p.list_topics(topic, timeout=10)
    values = payloads(spec.record_bytes)
    errors = [0]

    def on_delivery(err: object, _msg: object) -> None:
        if err is not None:
            errors[0] += 1

    parts = spec.partitions
    produce_one = p.produce
    start = time.perf_counter()
    for i in range(spec.records):
        while True:
            try:
                produce_one(topic, values[i & (_POOL - 1)], partition=i % parts, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.001)
    left = p.flush(timeout_s)
    seconds = time.perf_counter() - start
    return ThroughputResult(seconds, spec.records - left, (spec.records - left) * spec.record_bytes,
                            errors[0] + left)


def _consumer_config(bootstrap: str) -> dict[str, object]:
    return {"bootstrap.servers": bootstrap, "group.id": "kafkapy-bench", "enable.auto.commit": False,
            "fetch.max.bytes": 52_428_800, "max.partition.fetch.bytes": 10_485_760,
            "queued.max.messages.kbytes": 1_048_576, "enable.partition.eof": False}


def consume(bootstrap: str, topic: str, partitions: int, records: int,
            timeout_s: float = 120.0) -> ThroughputResult:
    c = Consumer(_consumer_config(bootstrap))
    try:
        c.list_topics(topic, timeout=10)
        c.assign([TopicPartition(topic, i, OFFSET_BEGINNING) for i in range(partitions)])
        got = 0
        total = 0
        errors = 0
        start = time.perf_counter()
        deadline = start + timeout_s
        first = None
        while got < records and time.perf_counter() < deadline:
            batch = c.consume(10_000, 0.05)
            if first is None and batch:
                first = time.perf_counter()
            for m in batch:
                if m.error() is None:
                    got += 1
                    total += len(m.value())
                else:
                    errors += 1
        end = time.perf_counter()
        first = end if first is None else first
        return ThroughputResult(end - start, got, total, errors + (records - got), first - start)
    finally:
        c.close()


def group_consume(bootstrap: str, topic: str, records: int, partitions: int, members: int = 3,
                  timeout_s: float = 120.0) -> tuple[ThroughputResult, list[int], float]:
    """`members` consumers in one new group (subscribe, earliest) read `records` between them.

    The members hold their partitions paused until the group is stable (every member owns
    at least one partition and together they own all), so that one member does not read the
    whole topic before the others joined; the clock starts when they resume. Also returns the
    records each member got and the seconds from the first subscribe() to the stable group.
    """
    group = f"bench-{topic}-{time.monotonic_ns()}"
    counts = [0] * members
    sizes = [0] * members
    errors = [0]
    owned: list[set[int]] = [set() for _ in range(members)]
    go = threading.Event()
    done = threading.Event()
    lock = threading.Lock()
    total = [0]
    consumers = [Consumer({**_consumer_config(bootstrap), "group.id": group, "auto.offset.reset": "earliest",
                           "session.timeout.ms": 10_000, "heartbeat.interval.ms": 500})
                 for _ in range(members)]

    def on_assign(i: int, c: Consumer, assigned: list[TopicPartition]) -> None:
        c.assign(assigned)
        if not go.is_set():
            c.pause(assigned)
        owned[i] = {tp.partition for tp in assigned}

    def on_revoke(i: int, c: Consumer, _revoked: list[TopicPartition]) -> None:
        owned[i] = set()

    def member(i: int) -> None:
        c = consumers[i]
        resumed = False
        while not done.is_set():
            if go.is_set() and not resumed:
                c.resume(c.assignment())
                resumed = True
            batch = c.consume(10_000, 0.05)
            got = 0
            for m in batch:
                if m.error() is None:
                    got += 1
                    sizes[i] += len(m.value())
                else:
                    errors[0] += 1
            if got:
                counts[i] += got
                with lock:
                    total[0] += got
                    if total[0] >= records:
                        done.set()

    subscribed = time.perf_counter()
    for i, c in enumerate(consumers):
        c.subscribe([topic], on_assign=lambda c, a, i=i: on_assign(i, c, a),
                    on_revoke=lambda c, r, i=i: on_revoke(i, c, r))
    threads = [threading.Thread(target=member, args=(i,), name=f"group-member-{i}", daemon=True)
               for i in range(members)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        snapshot = [set(o) for o in owned]
        if all(snapshot) and set().union(*snapshot) == set(range(partitions)):
            break
        time.sleep(0.02)
    start = time.perf_counter()
    go.set()
    done.wait(timeout_s)
    seconds = time.perf_counter() - start
    done.set()
    for t in threads:
        t.join(10)
    for c in consumers:
        c.close()
    got = sum(counts)
    return (ThroughputResult(seconds, got, sum(sizes), errors[0] + max(0, records - got)), counts,
            start - subscribed)


def latency(bootstrap: str, topic: str, *, rate: int = 10_000, seconds: float = 3.0,
            record_bytes: int = 100, linger_ms: int = 1) -> LatencyResult:
    """Produce-to-consume times at `rate` records/s for `seconds` on partition 0."""
    # fetch.wait.max.ms only matters to the mock, which does not answer a fetch when data arrives.
    consumer = Consumer({**_consumer_config(bootstrap), "fetch.wait.max.ms": 5})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    producer = Producer(_producer_config(bootstrap, "none", linger_ms))
    pad = b"p" * max(0, record_bytes - _STAMP.size)
    total = int(rate * seconds)
    samples: list[int] = []
    warm = threading.Event()
    stop = threading.Event()

    def reader() -> None:
        clock = time.monotonic_ns
        while not stop.is_set():
            m = consumer.poll(0.05)
            if m is None or m.error() is not None:
                continue
            now = clock()
            value = m.value()
            if value[:1] == b"w":
                warm.set()
                continue
            samples.append(now - _STAMP.unpack_from(value)[0])
            if len(samples) >= total:
                return

    thread = threading.Thread(target=reader, name="latency-reader", daemon=True)
    thread.start()
    try:
        # Warm-up: the consumer's first fetch and the producer's connection are made.
        deadline = time.monotonic() + 30
        while not warm.is_set() and time.monotonic() < deadline:
            producer.produce(topic, b"w" * record_bytes, partition=0)
            producer.flush(5)
            warm.wait(0.2)
        start = time.monotonic_ns()
        interval_ns = 1_000_000_000 // rate
        sent = 0
        while sent < total:
            due = (time.monotonic_ns() - start) // interval_ns + 1
            while sent < min(due, total):
                producer.produce(topic, _STAMP.pack(time.monotonic_ns()) + pad, partition=0)
                sent += 1
            producer.poll(0)
            time.sleep(0.0005)
        producer.flush(30)
        thread.join(30)
    finally:
        stop.set()
        thread.join(5)
        consumer.close()
    lat = sorted(samples)
    if not lat:
        return LatencyResult(0, float("nan"), float("nan"), float("nan"), total)

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] / 1e6

    return LatencyResult(len(lat), pct(0.50), pct(0.99), pct(0.999), total - len(lat))


# --------------------------------------------------------------------------- mock cluster
def _librdkafka() -> ctypes.CDLL:
    import confluent_kafka
    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    found = sorted(libs.glob("librdkafka*.so*")) if libs.is_dir() else []
    return ctypes.CDLL(str(found[0]) if found else "librdkafka.so.1")


class MockCluster:
    """librdkafka's in-process mock cluster, reachable over loopback by any client.

    It is what ``test.mock.num.brokers=1`` starts inside a client, created here through
    librdkafka's mock API (ctypes) so that topics get the partition count a workload asks
    for (auto-created mock topics always have 4 partitions).
    """

    def __init__(self, brokers: int = 1) -> None:
        lib = _librdkafka()
        lib.rd_kafka_conf_new.restype = ctypes.c_void_p
        lib.rd_kafka_new.restype = ctypes.c_void_p
        lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
        lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
        lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
        lib.rd_kafka_mock_topic_create.restype = ctypes.c_int
        lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                                   ctypes.c_int]
        lib.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
        lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
        self._lib = lib
        lib.rd_kafka_conf_set.restype = ctypes.c_int
        lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                          ctypes.c_size_t]
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        # The handle only hosts the mock: no bootstrap servers, so keep its warning quiet.
        lib.rd_kafka_conf_set(conf, b"log_level", b"3", errstr, len(errstr))
        self._rk = lib.rd_kafka_new(0, conf, errstr, len(errstr))
        if not self._rk:
            raise RuntimeError(f"rd_kafka_new failed: {errstr.value.decode(errors='replace')}")
        self._cluster = lib.rd_kafka_mock_cluster_new(self._rk, brokers)
        if not self._cluster:
            lib.rd_kafka_destroy(self._rk)
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self.bootstrap = lib.rd_kafka_mock_cluster_bootstraps(self._cluster).decode()
        self.pid = os.getpid()

    def create_topic(self, topic: str, partitions: int, replication_factor: int = 1) -> None:
        err = self._lib.rd_kafka_mock_topic_create(self._cluster, topic.encode(), partitions, replication_factor)
        if err != 0:
            raise RuntimeError(f"mock topic {topic}: {KafkaError(err).str()}")

    def close(self) -> None:
        if self._cluster:
            self._lib.rd_kafka_mock_cluster_destroy(self._cluster)
            self._cluster = None
        if self._rk:
            self._lib.rd_kafka_destroy(self._rk)
            self._rk = None


__all__ = ["ProduceSpec", "ThroughputResult", "LatencyResult", "payloads", "produce", "consume", "latency",
           "group_consume",
           "MockCluster"]
