"""Kafka 2.8.2's own DumpLogSegments reads segment files written by kafkapy's record builders.

For every format (magic 0, 1, 2) and every codec it allows, a segment with several batches
(plus a transaction marker for magic 2), an offset index and a time index are written; the real
tool (``java -cp <kafka jars> kafka.tools.DumpLogSegments``) must see every record with the
offset, key and payload we wrote, every batch with a valid CRC, and index entries that match.
The same files are then dumped with kafkapy's tool, whose output must equal Kafka's line for line.
Skips, with the reason, when Java, Maven or Maven Central is unavailable.
"""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from kafkapy.protocol.records import (
    ControlRecordType,
    SimpleRecord,
    build_batch,
    build_end_txn_marker_batch,
    build_message_set,
    iter_batches,
)
from kafkapy.testing.kafka_dist import KafkaDistUnavailable, kafka_classpath, run_kafka_class

pytestmark = pytest.mark.timeout(900)

TS = 1_600_000_000_000
FORMATS = [(m, c) for m in (0, 1, 2) for c in range(5) if not (m < 2 and c == 4)]
CODEC_NAMES = ["NONE", "GZIP", "SNAPPY", "LZ4", "ZSTD"]
BATCHES = 3
PER_BATCH = 4
BASE = 0


def expected_records(magic: int) -> list[tuple[int, str | None, str | None]]:
    out = []
    for b in range(BATCHES):
        for i in range(PER_BATCH):
            n = b * PER_BATCH + i
            key = None if n % 5 == 3 else f"key-{n}-ключ"
            value = "" if n % 7 == 6 else f"value {n} " + "abc" * (n % 4)
            out.append((BASE + n, key, value))
    return out


def build_segment(magic: int, codec: int) -> bytes:
    expected = expected_records(magic)
    parts = []
    for b in range(BATCHES):
        chunk = expected[b * PER_BATCH:(b + 1) * PER_BATCH]
        recs = [SimpleRecord(None if k is None else k.encode(), v.encode(),
                             (("h", b"x"),) if magic == 2 else (), TS + off) for off, k, v in chunk]
        base = chunk[0][0]
        if magic == 2:
            parts.append(build_batch(recs, base_offset=base, compression=codec, producer_id=77 if b == 1 else -1,
                                     producer_epoch=1 if b == 1 else -1, base_sequence=10 if b == 1 else -1,
                                     is_transactional=b == 1, partition_leader_epoch=b))
        else:
            parts.append(build_message_set(recs, magic=magic, compression=codec, base_offset=base))
    if magic == 2:
        parts.append(build_end_txn_marker_batch(ControlRecordType.COMMIT, producer_id=77, producer_epoch=1,
                                                coordinator_epoch=4, base_offset=BATCHES * PER_BATCH,
                                                timestamp=TS + 999))
    return b"".join(parts)


def write_indexes(directory: Path, segment: bytes) -> None:
    """One offset-index entry and one time-index entry per shallow entry after the first."""
    index, tindex = b"", b""
    running_max = -1
    for info in list(iter_batches(segment))[1:]:
        index += struct.pack(">ii", info.last_offset - BASE, info.position)
        if info.max_timestamp > running_max:
            running_max = info.max_timestamp
            tindex += struct.pack(">qi", info.max_timestamp, info.last_offset - BASE)
    (directory / "00000000000000000000.index").write_bytes(index)
    (directory / "00000000000000000000.timeindex").write_bytes(tindex)


@pytest.fixture(scope="module")
def classpath() -> str:
    try:
        return kafka_classpath()
    except KafkaDistUnavailable as e:
        pytest.skip(f"Kafka 2.8.2 jars unavailable: {e}")


@pytest.fixture(scope="module")
def segments(tmp_path_factory) -> dict[tuple[int, int], Path]:
    root = tmp_path_factory.mktemp("segments")
    paths = {}
    for magic, codec in FORMATS:
        d = root / f"magic{magic}-{CODEC_NAMES[codec].lower()}"
        d.mkdir()
        seg = build_segment(magic, codec)
        (d / "00000000000000000000.log").write_bytes(seg)
        write_indexes(d, seg)
        paths[(magic, codec)] = d
    return paths


def java_dump(classpath: str, args: list[str]) -> subprocess.CompletedProcess:
    proc = run_kafka_class("kafka.tools.DumpLogSegments", args, classpath=classpath, timeout_s=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def sections(stdout: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = None
    for line in stdout.splitlines():
        if line.startswith("Dumping "):
            current = line[len("Dumping "):]
            out[current] = []
        else:
            assert current is not None, line
            out[current].append(line)
    return out


def parse_record(line: str) -> tuple[int, str | None, str | None]:
    offset = int(line.split()[2])
    if "headerKeys: [" in line:
        rest = line[line.index("]", line.index("headerKeys: [")) + 1:]
    else:
        marker = " isvalid: true"
        rest = line[line.rindex(marker) + len(marker):]
    key = value = None
    if rest.startswith(" key: "):
        rest = rest[len(" key: "):]
        if " payload: " in rest:
            key, value = rest.split(" payload: ", 1)
        else:
            key = rest
    elif rest.startswith(" payload: "):
        value = rest[len(" payload: "):]
    else:
        assert rest == "", line
    return offset, key, value


def test_java_reads_every_record_we_wrote(classpath, segments):
    files = [str(d / "00000000000000000000.log") for d in segments.values()]
    proc = java_dump(classpath, ["--deep-iteration", "--print-data-log", "--files", ",".join(files)])
    dumped = sections(proc.stdout)
    for (magic, codec), d in segments.items():
        lines = dumped[str(d / "00000000000000000000.log")]
        assert lines[0] == "Starting offset: 0"
        batch_lines = [ln for ln in lines[1:] if not ln.startswith("|")]
        record_lines = [ln for ln in lines[1:] if ln.startswith("|")]
        assert batch_lines and all(ln.endswith("isvalid: true") for ln in batch_lines), (magic, codec)
        assert all(f"magic: {magic} " in ln for ln in batch_lines)
        data_batches = [ln for ln in batch_lines if "isControl: true" not in ln]
        assert all(f"compresscodec: {CODEC_NAMES[codec]} " in ln for ln in data_batches), (magic, codec)
        assert not any(ln.startswith("Found ") for ln in lines), "Kafka saw trailing invalid bytes"
        data = [ln for ln in record_lines if "endTxnMarker" not in ln]
        assert [parse_record(ln) for ln in data] == expected_records(magic), (magic, codec)
        assert all("isValid: true" in ln for ln in record_lines)
        if magic == 2:
            assert record_lines[-1].endswith("endTxnMarker: COMMIT coordinatorEpoch: 4")
            assert "producerId: 77 producerEpoch: 1" in batch_lines[1]
            assert "sequence: 13 " in record_lines[PER_BATCH + 3]


def test_java_accepts_our_indexes(classpath, segments):
    files = []
    for d in segments.values():
        files += [str(d / "00000000000000000000.index"), str(d / "00000000000000000000.timeindex")]
    proc = java_dump(classpath, ["--files", ",".join(files)])
    stderr = [ln for ln in proc.stderr.splitlines() if not ln.startswith("SLF4J")]
    assert stderr == [], "Kafka found index problems:\n" + "\n".join(stderr)
    dumped = sections(proc.stdout)
    for d in segments.values():
        assert len(dumped[str(d / "00000000000000000000.index")]) == len(list(iter_batches(
            (d / "00000000000000000000.log").read_bytes()))) - 1
    sanity = java_dump(classpath, ["--index-sanity-check", "--files", ",".join(files)])
    assert all(ln.endswith("passed sanity check.") for ln in sanity.stdout.splitlines()
               if not ln.startswith("Dumping"))


@pytest.mark.parametrize("flags", [
    [], ["--deep-iteration"], ["--print-data-log"], ["--print-data-log", "--skip-record-metadata"],
    ["--verify-index-only"], ["--index-sanity-check"],
], ids=lambda f: " ".join(f) or "shallow")
def test_our_tool_prints_what_kafka_prints(classpath, segments, flags):
    files = []
    for d in segments.values():
        files += [str(d / name) for name in ("00000000000000000000.log", "00000000000000000000.index",
                                             "00000000000000000000.timeindex")]
    args = [*flags, "--files", ",".join(files)]
    java = java_dump(classpath, args)
    ours = subprocess.run([sys.executable, "-m", "kafkapy.tools.dump_log", *args], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == java.stdout.splitlines()
    java_err = [ln for ln in java.stderr.splitlines() if not ln.startswith("SLF4J")]
    assert ours.stderr.splitlines() == java_err


# --- decoders of the internal topics, on random data ------------------------------------------

def _random_internal_segments(directory: Path, seed: int) -> tuple[Path, Path]:
    """Random __consumer_offsets and __transaction_state records (many members, many partitions,
    repeated topics, every version we write), so hash-ordered output is exercised."""
    import random
    import string

    from kafkapy.protocol.messages import internal as i

    rnd = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_.\"\\/é😀\t"

    def rs(n: int | None = None) -> str:
        return "".join(rnd.choice(alphabet) for _ in range(n if n is not None else rnd.randint(1, 12)))

    key, value = i.OFFSET_COMMIT_KEY.schema.cls, i.OFFSET_COMMIT_VALUE.schema.cls
    gkey, gvalue = i.GROUP_METADATA_KEY.schema.cls, i.GROUP_METADATA_VALUE.schema.cls
    member = i.GROUP_METADATA_VALUE.schema.struct("members").cls
    assignment = i.CONSUMER_PROTOCOL_ASSIGNMENT.schema.cls
    atp = i.CONSUMER_PROTOCOL_ASSIGNMENT.schema.struct("assigned_partitions").cls
    recs = []
    for _ in range(40):
        recs.append(SimpleRecord(
            i.encode_versioned(i.OFFSET_COMMIT_KEY, rnd.randint(0, 1),
                               key(group=rs(), topic=rs(), partition=rnd.randint(0, 5000))),
            rnd.choice([None] + [i.encode_versioned(i.OFFSET_COMMIT_VALUE, v, value(
                offset=rnd.randint(0, 2**40), leader_epoch=rnd.randint(-1, 9), metadata=rnd.choice(["", rs()]),
                commit_timestamp=TS, expire_timestamp=TS)) for v in range(4)]), (), TS))
    for _ in range(25):
        ptype = rnd.choice(["consumer", "connect", ""])
        members = []
        for _m in range(rnd.choice([0, 1, 3, 11, 12, 13, 25, 60])):
            if ptype == "consumer":
                parts = [atp(topic=rs(), partitions=[rnd.randint(0, 99) for _ in range(rnd.randint(0, 4))])
                         for _ in range(rnd.randint(0, 3))]
                data = i.encode_versioned(i.CONSUMER_PROTOCOL_ASSIGNMENT, rnd.randint(0, 1), assignment(
                    assigned_partitions=parts, user_data=rnd.choice([None, b"", b"\x00\x07", rnd.randbytes(5)])))
            else:
                data = rnd.choice([b"", b"\x00", rnd.randbytes(6)])
            members.append(member(member_id=rs() + "-" + rs(8), group_instance_id=None, client_id="c",
                                  client_host="/h", rebalance_timeout=1, session_timeout=2, subscription=b"",
                                  assignment=data))
        recs.append(SimpleRecord(
            i.encode_versioned(i.GROUP_METADATA_KEY, 2, gkey(group=rs())),
            i.encode_versioned(i.GROUP_METADATA_VALUE, rnd.randint(0, 3), gvalue(
                protocol_type=ptype, generation=rnd.randint(0, 99), protocol=rnd.choice([None, rs()]), leader=None,
                current_state_timestamp=TS, members=members)), (), TS))
    offsets = directory / "00000000000000000000.log"
    offsets.write_bytes(build_batch(recs))

    tkey, tvalue = i.TRANSACTION_LOG_KEY.schema.cls, i.TRANSACTION_LOG_VALUE.schema.cls
    tparts = i.TRANSACTION_LOG_VALUE.schema.struct("transaction_partitions").cls
    trecs = []
    for _ in range(40):
        n = rnd.choice([0, 1, 5, 11, 12, 13, 40, 100])
        topics = [rnd.choice(["a", "b", rs()]) for _ in range(rnd.randint(1, 8))]
        layout = [tparts(topic=t, partition_ids=[rnd.randint(0, 300)
                                                  for _ in range(rnd.randint(0, max(1, 2 * n // len(topics))))])
                  for t in topics]
        trecs.append(SimpleRecord(
            i.encode_versioned(i.TRANSACTION_LOG_KEY, 0, tkey(transactional_id=rs())),
            i.encode_versioned(i.TRANSACTION_LOG_VALUE, 0, tvalue(
                producer_id=rnd.randint(0, 2**40), producer_epoch=rnd.randint(0, 30000), transaction_timeout_ms=60000,
                transaction_status=rnd.randint(0, 7), transaction_partitions=layout,
                transaction_last_update_timestamp_ms=TS + 1, transaction_start_timestamp_ms=TS)), (), TS))
    transactions = directory / "00000000000000000001.log"
    transactions.write_bytes(build_batch(trecs, base_offset=1))
    return offsets, transactions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_internal_topic_decoders_print_what_kafka_prints(classpath, tmp_path, seed):
    offsets, transactions = _random_internal_segments(tmp_path, seed)
    for flag, path in (("--offsets-decoder", offsets), ("--transaction-log-decoder", transactions)):
        args = [flag, "--files", str(path)]
        java = java_dump(classpath, args)
        ours = subprocess.run([sys.executable, "-m", "kafkapy.tools.dump_log", *args], capture_output=True,
                              text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout.splitlines() == java.stdout.splitlines(), flag
