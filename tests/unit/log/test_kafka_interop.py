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

pytestmark = pytest.mark.slow  # starts a JVM per check (a few seconds)

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


def compacting_log(tmp_path, clock: FakeClock) -> tuple[LogManager, Log]:
    """A compacted topic's log in small segments, with a manager to clean it."""
    cfg = LogConfig(cleanup_policy=("compact",), segment_bytes=1500, index_interval_bytes=200,
                    min_cleanable_dirty_ratio=0.01)
    lm = LogManager([str(tmp_path)], cfg, broker_id=0, clock_ms=clock, sync_checkpoints=False)
    lm.load_logs()
    return lm, lm.get_or_create_log(TopicPartition("c", 0))


def test_kafka_reads_compacted_segments(tmp_path, kafka_cp):
    clock = FakeClock()
    lm, log = compacting_log(tmp_path, clock)
    for i in range(80):
        keys = [b"k%d" % ((i + j) % 7) for j in range(3)]
        log.append_as_leader(batch(3, keys=keys, values=[b"v%d" % i] * 3, ts=clock.now, compression=i % 3), 0)
    log.update_high_watermark(log.log_end_offset)
    assert lm.clean_logs() > 0
    check_with_kafka(kafka_cp, log)
    lm._unlock_dirs()


def test_kafka_reads_the_empty_batches_the_cleaner_keeps(tmp_path, kafka_cp):
    """The last batch of an idempotent producer survives compaction as an empty batch; Kafka reads it.

    Kafka's cleaner counts an empty batch's max timestamp in the segment's time index, and Kafka's
    DumpLogSegments, which recomputes that timestamp from the records, then reports a mismatch
    (log timestamp -1) for such an entry: that report is expected, for those entries only.
    """
    import io

    from kafkapy.protocol.records import SimpleRecord, build_batch, iter_batches
    from kafkapy.tools.dump_log import main as dump_log_main
    from kafkapy.testing.kafka_dist import run_kafka_class
    clock = FakeClock()
    lm, log = compacting_log(tmp_path, clock)
    for pid in range(1, 6):
        recs = [SimpleRecord(b"k%d" % j, b"p%d" % pid, timestamp=clock.now + j) for j in range(3)]
        log.append_as_leader(bytearray(build_batch(recs, producer_id=pid, producer_epoch=pid % 2, base_sequence=4,
                                                   compression=pid % 3)), 0)
    for i in range(60):
        log.append_as_leader(batch(3, keys=[b"k0", b"k1", b"k2"], values=[b"v%d" % i] * 3, ts=clock.now), 0)
    log.update_high_watermark(log.log_end_offset)
    assert lm.clean_logs() > 0
    expected = [r.offset for r in all_records(log)]
    log.close()
    lm._unlock_dirs()
    d = log.dir_path
    logs = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".log"))
    out = dump(kafka_cp, logs, "--deep-iteration")
    assert [int(m.group(1)) for m in map(_OFFSET_LINE.match, out.splitlines()) if m] == expected
    kafka_lines = [line for line in out.splitlines() if line.startswith("baseOffset:")]
    empty = [line for line in kafka_lines if " count: 0 " in line]
    assert len(empty) == 5
    assert empty[0].startswith("baseOffset: 0 lastOffset: 2 count: 0 baseSequence: 4 lastSequence: 6 "
                               "producerId: 1 producerEpoch: 1 ")
    # kafka-dump-log.sh prints the same batch lines as Kafka's DumpLogSegments
    ours = io.StringIO()
    assert dump_log_main(["--files", ",".join(logs)], ours, io.StringIO()) == 0
    assert [line for line in ours.getvalue().splitlines() if line.startswith("baseOffset:")] == kafka_lines
    # the offset indexes verify; the time indexes verify except where an entry names an empty batch
    indexes = [f[:-len(".log")] + ".index" for f in logs]
    dump(kafka_cp, indexes, "--verify-index-only")
    empty_max_ts = set()
    for f in logs:
        data = open(f, "rb").read()
        empty_max_ts |= {b.max_timestamp for b in iter_batches(data) if b.record_count == 0}
    for f in logs:
        ti = f[:-len(".log")] + ".timeindex"
        proc = run_kafka_class("kafka.tools.DumpLogSegments", ["--files", ti, "--verify-index-only"],
                               classpath=kafka_cp)
        assert proc.returncode == 0 and "Exception" not in proc.stdout + proc.stderr
        reported = re.findall(r"Index timestamp: (\d+), log timestamp: (-?\d+)", proc.stdout + proc.stderr)
        assert all(int(log_ts) == -1 and int(index_ts) in empty_max_ts for index_ts, log_ts in reported), reported
        err = io.StringIO()
        dump_log_main(["--files", ti, "--verify-index-only"], io.StringIO(), err)
        assert re.findall(r"Index timestamp: (\d+), log timestamp: (-?\d+)", err.getvalue()) == reported


def test_we_read_and_recover_logs_kafka_wrote(tmp_path, kafka_cp):
    """Kafka's own Log writes a partition; kafkapy loads it, and indexes rebuilt by recovery are byte-identical."""
    import filecmp
    import shutil
    import subprocess

    from kafkapy.testing.kafka_dist import java_executable, run_kafka_class
    javac = os.path.join(os.path.dirname(java_executable()), "javac")
    if not os.path.exists(javac):
        javac = shutil.which("javac") or ""
    if not javac:
        pytest.skip("javac is not available")
    src = os.path.join(os.path.dirname(__file__), "KafkaLogWriter.java")
    classes = tmp_path / "classes"
    classes.mkdir()
    subprocess.run([javac, "-cp", kafka_cp, "-d", str(classes), src], check=True, capture_output=True, timeout=120)
    written = tmp_path / "kafka" / "t-0"
    proc = run_kafka_class("KafkaLogWriter", [str(written), "80", "4000"], classpath=f"{kafka_cp}:{classes}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = [(i, j) for i in range(80) for j in range(1 + i % 4)]
    for clean in (True, False):
        copy = tmp_path / f"copy{int(clean)}" / "t-0"
        shutil.copytree(written, copy)
        log = Log(str(copy), LogConfig(segment_bytes=4000, index_interval_bytes=300), clock_ms=FakeClock(),
                  topic_partition=TopicPartition("t", 0), had_clean_shutdown=clean, sync_checkpoints=False)
        recs = all_records(log)
        assert [r.value for r in recs] == [b"value-%d-%d" % e for e in expected]
        assert [r.offset for r in recs] == list(range(len(expected)))
        assert log.log_end_offset == len(expected) and log.num_segments > 1
        assert [e.epoch for e in log.leader_epoch_cache.entries] == [0, 1, 2, 3]
        got = log.fetch_offset_by_timestamp(1_600_000_000_000 + 405)
        assert got is not None and recs[got.offset].timestamp == 1_600_000_000_000 + 410
        log.close()
        for name in sorted(os.listdir(written)):
            if name.endswith((".log", ".index", ".timeindex")) or name == "leader-epoch-checkpoint":
                assert filecmp.cmp(written / name, copy / name, shallow=False), (clean, name)
