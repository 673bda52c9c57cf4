"""Kafka's own DumpLogSegments (2.8.2 jars via Maven) reads the segments and indexes kafkapy writes."""
from __future__ import annotations

import os
import re

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log
from kafkapy.log.manager import LogManager

from .helpers import FakeClock, all_records, batch

_OFFSET_LINE = re.compile(r"^\| offset: (\d+) .*isValid: (\w+)")
_INDEX_LINE = re.compile(r"^offset: (\d+) position: (\d+)$")
_TIME_LINE = re.compile(r"^timestamp: (\d+) offset: (\d+)$")


@pytest.fixture(scope="module")
def kafka_cp():
    try:
        from kafkapy.testing.kafka_dist import KafkaDistUnavailable, kafka_classpath
    except ImportError as exc:  # pragma: no cover - depends on the testing package
        pytest.skip(f"kafkapy.testing.kafka_dist is missing: {exc}")
    try:
        return kafka_classpath()
    except KafkaDistUnavailable as exc:
        pytest.skip(str(exc))


def dump(cp: str, files: list[str], *extra: str) -> str:
    from kafkapy.testing.kafka_dist import run_kafka_class
    proc = run_kafka_class("kafka.tools.DumpLogSegments", ["--files", ",".join(files), *extra], classpath=cp)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Exception" not in out and "ismatch" not in out and "isvalid: false" not in out, out
    return proc.stdout


def check_with_kafka(cp: str, log: Log) -> None:
    from kafkapy.log.offset_index import OffsetIndex
    from kafkapy.log.time_index import TimeIndex
    expected = [(r.offset, r.value) for r in all_records(log)]
    log.close()  # trims the indexes and writes the active segment's final time-index entry
    segs = []
    for seg in log.segments:
        oi = OffsetIndex(seg.offset_index.path, seg.base_offset, writable=False)
        ti = TimeIndex(seg.time_index.path, seg.base_offset, writable=False)
        segs.append((seg.base_offset, oi.entries_list(), ti.entries_list()))
        oi.close_handler()
        ti.close_handler()
    d = log.dir_path
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith((".log", ".index", ".timeindex")))
    out = dump(cp, files, "--deep-iteration")
    offsets = [int(m.group(1)) for m in map(_OFFSET_LINE.match, out.splitlines()) if m]
    assert offsets == [o for o, _ in expected]
    index_entries = [(int(m.group(1)), int(m.group(2))) for m in map(_INDEX_LINE.match, out.splitlines()) if m]
    assert index_entries == [(e.offset, e.position) for _, idx, _ in segs for e in idx]
    time_entries = [(int(m.group(1)), int(m.group(2))) for m in map(_TIME_LINE.match, out.splitlines()) if m]
    assert time_entries == [(e.timestamp, e.offset) for _, _, t in segs for e in t]
    dump(cp, [f for f in files if not f.endswith(".log")], "--verify-index-only")


def test_kafka_reads_v2_segments_with_every_codec(tmp_path, kafka_cp):
    clock = FakeClock()
    log = Log(str(tmp_path / "t-0"), LogConfig(segment_bytes=4000, index_interval_bytes=300), clock_ms=clock,
              topic_partition=TopicPartition("t", 0), sync_checkpoints=False)
    for i in range(80):
        log.append_as_leader(batch(1 + i % 4, value_size=40 + i, compression=i % 5, ts=clock.now + 7 * i), i // 20)
    log.update_high_watermark(log.log_end_offset)
    log.truncate_to(log.log_end_offset - 3)  # the active segment after a truncation, too
    assert log.num_segments > 2
    check_with_kafka(kafka_cp, log)


def test_kafka_reads_legacy_format_segments(tmp_path, kafka_cp):
    from kafkapy.protocol.records import SimpleRecord, build_message_set
    clock = FakeClock()
    log = Log(str(tmp_path / "t-0"), LogConfig(segment_bytes=4000, index_interval_bytes=200,
                                               message_format_version="0.10.2"),
              clock_ms=clock, topic_partition=TopicPartition("t", 0), sync_checkpoints=False)
    for i in range(60):
        if i % 3 == 0:
            data = batch(2, compression=i % 4, ts=clock.now + i)  # converted down to magic 1
        else:
            data = bytearray(build_message_set([SimpleRecord(None, b"m%d" % i, timestamp=clock.now + i)] * 3,
                                               magic=1, compression=i % 3))
        log.append_as_leader(data, 0)
    check_with_kafka(kafka_cp, log)


def test_kafka_reads_compacted_segments(tmp_path, kafka_cp):
    clock = FakeClock()
    cfg = LogConfig(cleanup_policy=("compact",), segment_bytes=1500, index_interval_bytes=200,
                    min_cleanable_dirty_ratio=0.01)
    lm = LogManager([str(tmp_path)], cfg, broker_id=0, clock_ms=clock, sync_checkpoints=False)
    lm.load_logs()
    log = lm.get_or_create_log(TopicPartition("c", 0))
    for i in range(80):
        keys = [b"k%d" % ((i + j) % 7) for j in range(3)]
        log.append_as_leader(batch(3, keys=keys, values=[b"v%d" % i] * 3, ts=clock.now, compression=i % 3), 0)
    log.update_high_watermark(log.log_end_offset)
    assert lm.clean_logs() > 0
    check_with_kafka(kafka_cp, log)
    lm._unlock_dirs()
