"""Kafka 2.8.2's DumpLogSegments reads the producer snapshots kafkapy writes.

A log receives idempotent batches from a few producers (one of them close to the sequence
wrap-around) and rolls several segments, so snapshots are written at each roll and at close;
``kafka.tools.DumpLogSegments --files <x>.snapshot`` must list, for every snapshot, each
producer with the epoch, sequence range, last offset, offset delta and timestamp of its last
batch below the snapshot's offset. Skips, with the reason, when Java, Maven or Maven Central
is unavailable.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log
from kafkapy.log.producer_state import INT32_MAX, increment_sequence, snapshot_offset
from kafkapy.protocol.records import SimpleRecord, build_batch
from kafkapy.testing.kafka_dist import KafkaDistUnavailable, kafka_classpath, run_kafka_class

pytestmark = pytest.mark.timeout(900)

TS = 1_600_000_000_000
LINE = re.compile(r"producerId: (\d+) producerEpoch: (\d+) coordinatorEpoch: (-?\d+) currentTxnFirstOffset: None "
                  r"firstSequence: (\d+) lastSequence: (\d+) lastOffset: (\d+) offsetDelta: (\d+) timestamp: (\d+)")


@pytest.fixture(scope="module")
def classpath() -> str:
    try:
        return kafka_classpath()
    except KafkaDistUnavailable as e:
        pytest.skip(f"Kafka 2.8.2 jars unavailable: {e}")


def test_kafka_reads_our_producer_snapshots(classpath: str, tmp_path: Path) -> None:
    d = tmp_path / "topic-0"
    lg = Log(str(d), LogConfig(segment_bytes=1500), topic_partition=TopicPartition("topic", 0),
             sync_checkpoints=False)
    starts = {101: 0, 202: INT32_MAX - 5, 303: 0}
    epochs = {101: 0, 202: 3, 303: 32767}
    # expected[pid] = list of (first seq, last seq, first offset, last offset, timestamp) per batch
    written: dict[int, list[tuple[int, int, int, int, int]]] = {pid: [] for pid in starts}
    seq = dict(starts)
    for r in range(12):
        for pid in starts:
            n = 1 + (r + pid) % 4
            recs = [SimpleRecord(b"k", b"v" * 30, timestamp=TS + r * 10 + i) for i in range(n)]
            info = lg.append_as_leader(bytearray(build_batch(recs, producer_id=pid, producer_epoch=epochs[pid],
                                                             base_sequence=seq[pid])), 7)
            last_seq = increment_sequence(seq[pid], n - 1)
            written[pid].append((seq[pid], last_seq, info.first_offset, info.last_offset, TS + r * 10 + n - 1))
            seq[pid] = increment_sequence(last_seq, 1)
        if r == 1:   # producer 202's second batch wraps past Int32.MAX: snapshot it now
            assert written[202][-1][1] < written[202][-1][0]
            assert lg.take_producer_snapshot(sync=False)
    lg.close()
    files = sorted(p for p in d.iterdir() if p.name.endswith(".snapshot"))
    assert len(files) >= 3, files
    proc = run_kafka_class("kafka.tools.DumpLogSegments", ["--files", ",".join(str(f) for f in files)],
                           classpath=classpath, timeout_s=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    dumped: dict[str, list[tuple[int, ...]]] = {}
    current = None
    for line in proc.stdout.splitlines():
        if line.startswith("Dumping "):
            current = Path(line[len("Dumping "):].strip()).name
            dumped[current] = []
            continue
        m = LINE.fullmatch(line.strip())
        if m:
            dumped[current].append(tuple(int(g) for g in m.groups()))
        elif line.strip():
            raise AssertionError(f"unexpected DumpLogSegments line: {line!r}\n{proc.stdout}")
    assert set(dumped) == {f.name for f in files}
    wrapped = False
    for f in files:
        offset = snapshot_offset(f.name)
        assert offset is not None
        expected = []
        for pid, batches in written.items():
            below = [b for b in batches if b[3] < offset]
            if below:
                first_seq, last_seq, first_off, last_off, ts = below[-1]
                wrapped |= last_seq < first_seq
                expected.append((pid, epochs[pid], -1, first_seq, last_seq, last_off, last_off - first_off, ts))
        assert sorted(dumped[f.name]) == sorted(expected), f.name
    assert wrapped, "no snapshot held a batch whose sequence wraps past Int32.MAX"
