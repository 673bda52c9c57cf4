"""Replication tests: a numbered acks=all workload (confluent-kafka) and its durability check.

`SequenceWorkload` writes ``"<partition>:<seq>"`` values to every partition of a topic with an
idempotent confluent-kafka producer (acks=all; librdkafka retries as idempotence requires).
`verify()` reads every partition back and checks Kafka's durability promise: every
acknowledged record is present at the offset it was acknowledged with, acknowledged records
keep their per-partition order (sequence numbers strictly increase with the offset) and no
value appears at two offsets.

Without idempotence a value could legitimately appear twice: when a leader loses leadership
while an acks=all write waits, the answer is NOT_LEADER_OR_FOLLOWER although the records are
in the log (Kafka's DelayedProduce answers the same), and librdkafka re-queues them without
counting a retry (rdkafka_request.c, rd_kafka_handle_Produce_error: leader-change errors
carry RD_KAFKA_ERR_ACTION_REFRESH, which clears incr_retry). With idempotence the new leader
knows the batch from replication and answers the re-send with the original offset, so any
value found twice is a broker bug and fails the check.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")

log = logging.getLogger(__name__)


def pytest_configure(config: pytest.Config) -> None:
    manager = config.pluginmanager
    if not (manager.has_plugin("kafkapy") or manager.has_plugin("kafkapy.testing.pytest_plugin")):
        manager.import_plugin("kafkapy.testing.pytest_plugin")


@dataclass
class WorkloadResult:
    acked: dict[int, dict[int, int]] = field(default_factory=dict)      # partition -> seq -> offset
    failed: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class SequenceWorkload:
    """A background thread producing numbered records to every partition, round robin."""

    def __init__(self, bootstrap: str, topic: str, partitions: int, *, rate_per_s: int = 1500,
                 extra: dict[str, Any] | None = None) -> None:
        self.topic = topic
        self.partitions = partitions
        self.rate_per_s = rate_per_s
        self.result = WorkloadResult(acked={p: {} for p in range(partitions)})
        self._next = [0] * partitions
        self._stop = threading.Event()
        self._lock = threading.Lock()
        conf = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                "linger.ms": 5, "request.timeout.ms": 15000,
                "message.timeout.ms": 30000, "topic.metadata.refresh.interval.ms": 1000,
                "max.in.flight.requests.per.connection": 5}
        conf.update(extra or {})
        self.producer = confluent_kafka.Producer(conf)
        self._thread = threading.Thread(target=self._run, name=f"workload-{topic}", daemon=True)

    def _on_delivery(self, err: Any, msg: Any) -> None:
        with self._lock:
            if err is not None:
                self.result.failed += 1
                name = err.name()
                self.result.errors[name] = self.result.errors.get(name, 0) + 1
                return
            p, seq = msg.value().decode().split(":")
            self.result.acked[int(p)][int(seq)] = msg.offset()

    def _run(self) -> None:
        interval = 1.0 / self.rate_per_s
        next_at = time.monotonic()
        i = 0
        while not self._stop.is_set():
            p = i % self.partitions
            i += 1
            seq = self._next[p]
            self._next[p] += 1
            while True:
                try:
                    self.producer.produce(self.topic, f"{p}:{seq}".encode(), partition=p,
                                          on_delivery=self._on_delivery)
                    break
                except BufferError:
                    self.producer.poll(0.05)
            self.producer.poll(0)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()

    def start(self) -> SequenceWorkload:
        self._thread.start()
        return self

    def acked_count(self) -> int:
        with self._lock:
            return sum(len(a) for a in self.result.acked.values())

    def wait_acked(self, at_least: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.acked_count() < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.acked_count()} records acknowledged after {timeout_s} s "
                                     f"(wanted {at_least}; errors {self.result.errors})")
            self.producer.poll(0.05) if not self._thread.is_alive() else time.sleep(0.05)

    def stop(self, flush_timeout_s: float = 60.0) -> WorkloadResult:
        self._stop.set()
        self._thread.join(10)
        remaining = self.producer.flush(flush_timeout_s)
        assert remaining == 0, f"{remaining} records still unacknowledged after the flush"
        return self.result


@dataclass
class Verification:
    acknowledged: int
    found: int
    lost: int
    duplicates: int
    reordered: int
    misplaced: int

    def line(self, case: str) -> str:
        return (f"[{case}] acknowledged={self.acknowledged} found={self.found} lost={self.lost} "
                f"duplicates={self.duplicates} reordered={self.reordered} misplaced={self.misplaced}")


def read_partition(bootstrap: str, topic: str, partition: int, end_offset: int,
                   timeout_s: float = 60.0) -> list[tuple[int, str]]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": f"verify-{topic}",
                                         "enable.auto.commit": False, "isolation.level": "read_uncommitted",
                                         "fetch.max.bytes": 1 << 20, "topic.metadata.refresh.interval.ms": 1000})
    out: list[tuple[int, str]] = []
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, partition, confluent_kafka.OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout_s
        last = -1
        while last + 1 < end_offset:
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}-{partition}: read up to {last} only, wanted {end_offset - 1}")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    continue
                log.info("consumer error on %s-%d: %s", topic, partition, msg.error())
                continue
            out.append((msg.offset(), msg.value().decode()))
            last = msg.offset()
    finally:
        consumer.close()
    return out


def high_watermarks(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": f"hw-{topic}"})
    try:
        return {p: consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, p), timeout=5)[1]
                for p in range(partitions)}
    finally:
        consumer.close()


def verify(bootstrap: str, topic: str, partitions: int, result: WorkloadResult, case: str,
           timeout_s: float = 60.0) -> Verification:
    """Read every partition to its end and check the acknowledged records (see the module doc)."""
    need = {p: (max(result.acked[p].values()) + 1 if result.acked[p] else 0) for p in range(partitions)}
    deadline = time.monotonic() + timeout_s
    while True:   # the HW of a new leader may trail the acknowledged offsets until its followers fetch
        try:
            hws = high_watermarks(bootstrap, topic, partitions)
        except confluent_kafka.KafkaException as exc:
            hws = {}
            log.info("watermarks: %s", exc)
        if hws and all(hws[p] >= need[p] for p in range(partitions)):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"[{case}] high watermarks {hws} never reached the acknowledged offsets {need}")
        time.sleep(0.2)
    acknowledged = found = lost = duplicates = reordered = misplaced = 0
    details: list[str] = []
    for p in range(partitions):
        records = read_partition(bootstrap, topic, p, hws[p])
        acked = result.acked[p]
        offsets_of: dict[int, list[int]] = {}
        seen_offsets: set[int] = set()
        for offset, value in records:
            if offset in seen_offsets:      # the consumer delivered an offset twice: not the log's doing
                continue
            seen_offsets.add(offset)
            vp, vs = value.split(":")
            assert int(vp) == p, f"{value} found in partition {p}"
            offsets_of.setdefault(int(vs), []).append(offset)
        for seq, offsets in offsets_of.items():
            if len(offsets) > 1:     # idempotent producer: any second copy is the brokers' fault
                duplicates += 1
                details.append(f"p{p} seq {seq} (acknowledged at {acked.get(seq)}) found at offsets {offsets}")
        prev = -1
        for offset, seq in sorted((ack, seq) for seq, ack in acked.items()):
            if seq <= prev:
                reordered += 1
                details.append(f"p{p} acknowledged seq {seq} at offset {offset} after seq {prev}")
            prev = seq
        for seq, offset in acked.items():
            acknowledged += 1
            got = offsets_of.get(seq)
            if got is None:
                lost += 1
                details.append(f"p{p} seq {seq} acknowledged at {offset} is missing")
            else:
                found += 1
                if offset not in got:
                    misplaced += 1
                    details.append(f"p{p} seq {seq} acknowledged at offset {offset}, found at {got}")
    v = Verification(acknowledged, found, lost, duplicates, reordered, misplaced)
    print(v.line(case))
    for d in details[:20]:
        print("   ", d)
    return v


@pytest.fixture
def workload_factory() -> Iterator[Any]:
    started: list[SequenceWorkload] = []

    def make(bootstrap: str, topic: str, partitions: int, **kw: Any) -> SequenceWorkload:
        w = SequenceWorkload(bootstrap, topic, partitions, **kw)
        started.append(w)
        return w.start()

    yield make
    for w in started:
        w._stop.set()


@pytest.fixture
def verify_records() -> Any:
    """`verify(bootstrap, topic, partitions, result, case)` (see the module doc)."""
    return verify
