"""kafka-dump-log.sh (kafkapy.tools.dump_log) against files written by our own record builders.

The expected text of the golden test is what Kafka 2.8.2's DumpLogSegments printed for the
same bytes (captured once; tests/integration/test_dumplogsegments_interop.py re-checks the
tool against the real one when Kafka's jars are available).
"""
from __future__ import annotations

import io
import os
import struct
import subprocess
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
from kafkapy.tools.dump_log import main

REPO = Path(__file__).resolve().parents[3]
TS = 1600000000000
SEGMENT = "00000000000000000000.log"

def golden_segment() -> bytes:
    parts = [
        build_batch([SimpleRecord(b"k0", b"v0", (("trace", b"1"), ("n", None)), TS),
                     SimpleRecord(None, b"hello", (), TS + 3),
                     SimpleRecord(b"gone", None, (), TS + 1)],
                    producer_id=42, producer_epoch=3, base_sequence=7, partition_leader_epoch=2),
        build_batch([SimpleRecord(b"lat", b"x", (), TS)], base_offset=3, timestamp_type=1, log_append_time=TS + 50),
        build_message_set([SimpleRecord(b"m1", b"one", (), TS + 4), SimpleRecord(None, b"", (), TS + 5)],
                          magic=1, base_offset=4),
        build_message_set([SimpleRecord(b"m0", b"zero", (), TS)], magic=0, base_offset=6),
        build_end_txn_marker_batch(ControlRecordType.COMMIT, producer_id=42, producer_epoch=3,
                                   coordinator_epoch=5, base_offset=9, timestamp=TS + 9),
    ]
    return b"".join(parts)


GOLDEN_DEEP = """\
Dumping 00000000000000000000.log
Starting offset: 0
baseOffset: 0 lastOffset: 2 count: 3 baseSequence: 7 lastSequence: 9 producerId: 42 producerEpoch: 3 partitionLeaderEpoch: 2 isTransactional: false isControl: false position: 0 CreateTime: 1600000000003 size: 106 magic: 2 compresscodec: NONE crc: 288498069 isvalid: true
| offset: 0 isValid: true crc: null keySize: 2 valueSize: 2 CreateTime: 1600000000000 baseOffset: 0 lastOffset: 2 baseSequence: 7 lastSequence: 9 producerEpoch: 3 partitionLeaderEpoch: 2 batchSize: 106 magic: 2 compressType: NONE position: 0 sequence: 7 headerKeys: [trace,n] key: k0 payload: v0
| offset: 1 isValid: true crc: null keySize: -1 valueSize: 5 CreateTime: 1600000000003 baseOffset: 0 lastOffset: 2 baseSequence: 7 lastSequence: 9 producerEpoch: 3 partitionLeaderEpoch: 2 batchSize: 106 magic: 2 compressType: NONE position: 0 sequence: 8 headerKeys: [] payload: hello
| offset: 2 isValid: true crc: null keySize: 4 valueSize: -1 CreateTime: 1600000000001 baseOffset: 0 lastOffset: 2 baseSequence: 7 lastSequence: 9 producerEpoch: 3 partitionLeaderEpoch: 2 batchSize: 106 magic: 2 compressType: NONE position: 0 sequence: 9 headerKeys: [] key: gone
baseOffset: 3 lastOffset: 3 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: -1 isTransactional: false isControl: false position: 106 LogAppendTime: 1600000000050 size: 72 magic: 2 compresscodec: NONE crc: 523462978 isvalid: true
| offset: 3 isValid: true crc: null keySize: 3 valueSize: 1 LogAppendTime: 1600000000050 baseOffset: 3 lastOffset: 3 baseSequence: -1 lastSequence: -1 producerEpoch: -1 partitionLeaderEpoch: -1 batchSize: 72 magic: 2 compressType: NONE position: 106 sequence: -1 headerKeys: [] key: lat payload: x
offset: 4 position: 178 CreateTime: 1600000000004 size: 39 magic: 1 compresscodec: NONE crc: 1596042121 isvalid: true
| offset: 4 isValid: true crc: 1596042121 keySize: 2 valueSize: 3 CreateTime: 1600000000004 baseOffset: 4 lastOffset: 4 baseSequence: -1 lastSequence: -1 producerEpoch: -1 partitionLeaderEpoch: -1 batchSize: 39 magic: 1 compressType: NONE position: 178 crc: 1596042121 isvalid: true key: m1 payload: one
offset: 5 position: 217 CreateTime: 1600000000005 size: 34 magic: 1 compresscodec: NONE crc: 1337579841 isvalid: true
| offset: 5 isValid: true crc: 1337579841 keySize: -1 valueSize: 0 CreateTime: 1600000000005 baseOffset: 5 lastOffset: 5 baseSequence: -1 lastSequence: -1 producerEpoch: -1 partitionLeaderEpoch: -1 batchSize: 34 magic: 1 compressType: NONE position: 217 crc: 1337579841 isvalid: true payload: 
offset: 6 position: 251 NoTimestampType: -1 size: 32 magic: 0 compresscodec: NONE crc: 3253024200 isvalid: true
| offset: 6 isValid: true crc: 3253024200 keySize: 2 valueSize: 4 NoTimestampType: -1 baseOffset: 6 lastOffset: 6 baseSequence: -1 lastSequence: -1 producerEpoch: -1 partitionLeaderEpoch: -1 batchSize: 32 magic: 0 compressType: NONE position: 251 crc: 3253024200 isvalid: true key: m0 payload: zero
baseOffset: 9 lastOffset: 9 count: 1 baseSequence: -1 lastSequence: -1 producerId: 42 producerEpoch: 3 partitionLeaderEpoch: -1 isTransactional: true isControl: true position: 283 CreateTime: 1600000000009 size: 78 magic: 2 compresscodec: NONE crc: 493053567 isvalid: true
| offset: 9 isValid: true crc: null keySize: 4 valueSize: 6 CreateTime: 1600000000009 baseOffset: 9 lastOffset: 9 baseSequence: -1 lastSequence: -1 producerEpoch: 3 partitionLeaderEpoch: -1 batchSize: 78 magic: 2 compressType: NONE position: 283 sequence: -1 headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 5
"""


def run(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        rc = main(argv, out, err)
    finally:
        os.chdir(old)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def golden_dir(tmp_path: Path) -> Path:
    (tmp_path / SEGMENT).write_bytes(golden_segment())
    return tmp_path


def test_print_data_log_matches_kafka_byte_for_byte(golden_dir):
    rc, out, err = run(["--print-data-log", "--files", SEGMENT], golden_dir)
    assert rc == 0
    assert out == GOLDEN_DEEP
    assert err == f"Non-consecutive offsets in {golden_dir / SEGMENT}\n  6 is followed by 9\n"


def test_shallow_is_the_batch_lines_of_the_deep_output(golden_dir):
    rc, out, _ = run(["--files", SEGMENT], golden_dir)
    assert rc == 0
    assert out.splitlines() == [line for line in GOLDEN_DEEP.splitlines() if not line.startswith("|")]


def test_deep_iteration_without_data_has_no_key_or_payload(golden_dir):
    rc, out, _ = run(["--deep-iteration", "--files", SEGMENT], golden_dir)
    records = [line for line in out.splitlines() if line.startswith("|")]
    assert rc == 0 and len(records) == 8
    assert not any(" key: " in line or " payload: " in line for line in records)
    assert records[0].endswith("sequence: 7 headerKeys: [trace,n]")


def test_skip_record_metadata(golden_dir):
    rc, out, _ = run(["--skip-record-metadata", "--print-data-log", "--files", SEGMENT], golden_dir)
    records = [line for line in out.splitlines()[2:] if not line.startswith(("baseOffset", "offset"))]
    assert rc == 0
    assert records == ["| key: k0 payload: v0", " payload: hello", "| key: gone", "| key: lat payload: x",
                       "| key: m1 payload: one", " payload: ", "| key: m0 payload: zero", ""]


def test_truncated_and_corrupt_segments(tmp_path):
    seg = golden_segment()
    (tmp_path / SEGMENT).write_bytes(seg[:-10])
    rc, out, _ = run(["--files", SEGMENT], tmp_path)
    assert rc == 0 and out.splitlines()[-1] == f"Found 68 invalid bytes at the end of {SEGMENT}"
    bad = bytearray(seg)
    bad[80] ^= 0x01                       # inside the first batch's records
    (tmp_path / SEGMENT).write_bytes(bytes(bad))
    rc, out, _ = run(["--files", SEGMENT], tmp_path)
    assert rc == 0
    lines = out.splitlines()
    assert lines[2].endswith("isvalid: false") and all(line.endswith("isvalid: true") for line in lines[3:])
    struct.pack_into(">i", bad, 8, 3)     # impossible size: an error line, exit 1
    (tmp_path / SEGMENT).write_bytes(bytes(bad))
    rc, out, err = run(["--files", SEGMENT], tmp_path)
    assert rc == 1 and out.splitlines() == ["Dumping " + SEGMENT, "Starting offset: 0"]
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("magic,codec", [(2, c) for c in range(5)] + [(m, c) for m in (0, 1) for c in range(4)])
def test_compressed_batches_deep(tmp_path, magic, codec):
    recs = [SimpleRecord(b"key-%d" % i, ("välue-%d" % i).encode(), (), TS + i) for i in range(5)]
    if magic == 2:
        data = build_batch(recs, base_offset=100, compression=codec)
    else:
        data = build_message_set(recs, magic=magic, compression=codec, base_offset=100)
    name = "00000000000000000100.log"
    (tmp_path / name).write_bytes(data)
    rc, out, err = run(["--print-data-log", "--files", name], tmp_path)
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[1] == "Starting offset: 100"
    records = [line for line in lines if line.startswith("| offset: ")]
    assert [int(line.split()[2]) for line in records] == list(range(100, 105))
    assert [line.split(" key: ")[1] for line in records] == [
        "key-%d payload: välue-%d" % (i, i) for i in range(5)]
    codec_name = ["NONE", "GZIP", "SNAPPY", "LZ4", "ZSTD"][codec]
    assert all(f"compressType: {codec_name}" in line for line in records)
    batch_lines = [line for line in lines[2:] if not line.startswith("|")]
    assert all(line.endswith("isvalid: true") and f"compresscodec: {codec_name}" in line for line in batch_lines)


def _indexed_segment(tmp_path: Path) -> list:
    parts = [build_batch([SimpleRecord(b"k%d" % j, b"v" * (10 * j), (), TS + j)], base_offset=j) for j in range(6)]
    seg = b"".join(parts)
    (tmp_path / SEGMENT).write_bytes(seg)
    return list(iter_batches(seg))


def test_index_and_time_index_dump_and_checks(tmp_path):
    infos = _indexed_segment(tmp_path)
    index = (struct.pack(">ii", 1, infos[1].position) + struct.pack(">ii", 3, infos[2].position)
             + struct.pack(">ii", 4, infos[4].position))
    (tmp_path / "00000000000000000000.index").write_bytes(index)
    tindex = (struct.pack(">qi", TS + 1, 1) + struct.pack(">qi", TS + 99, 2) + struct.pack(">qi", TS + 1, 4)
              + struct.pack(">qi", TS + 5, 9))
    (tmp_path / "00000000000000000000.timeindex").write_bytes(tindex)
    rc, out, err = run(["--files", "00000000000000000000.index,00000000000000000000.timeindex"], tmp_path)
    assert rc == 0
    assert out.splitlines() == [
        "Dumping 00000000000000000000.index",
        f"offset: 1 position: {infos[1].position}",
        f"offset: 3 position: {infos[2].position}",
        f"offset: 4 position: {infos[4].position}",
        "Dumping 00000000000000000000.timeindex",
        f"timestamp: {TS + 1} offset: 1",
        f"timestamp: {TS + 99} offset: 2",
        f"timestamp: {TS + 1} offset: 4",
        f"timestamp: {TS + 5} offset: 9",
    ]
    idx, tidx = tmp_path / "00000000000000000000.index", tmp_path / "00000000000000000000.timeindex"
    assert err.splitlines() == [
        f"Mismatches in :{idx}",
        "  Index offset: 3, log offset: 2",
        f"Found timestamp mismatch in :{tidx}",
        f"  Index timestamp: {TS + 99}, log timestamp: {TS + 2}",
        f"  Index timestamp: {TS + 1}, log timestamp: {TS + 4}",
        f"Found out of order timestamp in :{tidx}",
        f"  Index timestamp: {TS + 1}, Previously indexed timestamp: {TS + 99}",
        "The following indexed offsets are not found in the log.",
        "Indexed offset: 9, found log offset: -1",
    ]
    rc, out, err2 = run(["--verify-index-only", "--files", "00000000000000000000.index,00000000000000000000.timeindex"],
                        tmp_path)
    assert rc == 0 and out.splitlines() == ["Dumping 00000000000000000000.index",
                                            "Dumping 00000000000000000000.timeindex"]
    assert err2 == err


def test_index_sanity_check(tmp_path):
    infos = _indexed_segment(tmp_path)
    (tmp_path / "00000000000000000000.index").write_bytes(struct.pack(">ii", 2, infos[2].position))
    (tmp_path / "00000000000000000000.timeindex").write_bytes(struct.pack(">qi", TS + 2, 2))
    rc, out, _ = run(["--index-sanity-check", "--files", "00000000000000000000.index,00000000000000000000.timeindex"],
                     tmp_path)
    assert rc == 0 and out.splitlines() == [
        "Dumping 00000000000000000000.index", "00000000000000000000.index passed sanity check.",
        "Dumping 00000000000000000000.timeindex", "00000000000000000000.timeindex passed sanity check."]
    (tmp_path / "00000000000000000000.index").write_bytes(struct.pack(">ii", 2, infos[2].position) + b"\0")
    rc, out, err = run(["--index-sanity-check", "--files", "00000000000000000000.index"], tmp_path)
    assert rc == 1 and "multiple of 8" in err and len(err.splitlines()) == 1
    (tmp_path / "00000000000000000000.index").write_bytes(b"")
    rc, out, _ = run(["--files", "00000000000000000000.index"], tmp_path)
    assert rc == 0 and out.splitlines()[-1] == "00000000000000000000.index is empty."


def test_max_message_size_limits_index_checks(tmp_path):
    infos = _indexed_segment(tmp_path)
    (tmp_path / "00000000000000000000.index").write_bytes(struct.pack(">ii", 5, infos[5].position))
    rc, _, _ = run(["--files", "00000000000000000000.index"], tmp_path)
    assert rc == 0
    rc, _, err = run(["--max-message-size", "50", "--files", "00000000000000000000.index"], tmp_path)
    assert rc == 1 and len(err.splitlines()) == 1


def test_txn_index_and_producer_snapshot(tmp_path):
    import crc32c

    (tmp_path / "00000000000000000000.txnindex").write_bytes(struct.pack(">hqqqq", 0, 1000, 3, 9, 12))
    body = struct.pack(">i", 1) + struct.pack(">qhiqiqiq", 1000, 2, 5, 17, 1, TS, 3, -1)
    (tmp_path / "00000000000000000021.snapshot").write_bytes(struct.pack(">hI", 1, crc32c.crc32c(body)) + body)
    rc, out, _ = run(["--files", "00000000000000000000.txnindex,00000000000000000021.snapshot"], tmp_path)
    assert rc == 0 and out.splitlines() == [
        "Dumping 00000000000000000000.txnindex",
        "version: 0 producerId: 1000 firstOffset: 3 lastOffset: 9 lastStableOffset: 12",
        "Dumping 00000000000000000021.snapshot",
        f"producerId: 1000 producerEpoch: 2 coordinatorEpoch: 3 currentTxnFirstOffset: None firstSequence: 4 "
        f"lastSequence: 5 lastOffset: 17 offsetDelta: 1 timestamp: {TS}",
    ]


@pytest.mark.parametrize("argv,first_line", [
    ([], None),
    (["--deep-iteration"], 'Missing required argument "[files]"'),
    (["--files"], None),
    (["--bogus", "--files", "a.log"], "bogus is not a recognized option"),
    (["--max-message-size", "many", "--files", "a.log"], None),
    (["--files", "a.log", "stray"], None),
])
def test_bad_arguments_print_one_line_and_usage(tmp_path, argv, first_line):
    rc, out, err = run(argv, tmp_path)
    lines = err.splitlines()
    assert rc == 1 and out == ""
    assert lines[1].startswith("Option") and lines[2].startswith("------")
    assert any(line.startswith("--files <String: file1, file2, ...>") for line in lines)
    if first_line is not None:
        assert lines[0] == first_line


def test_missing_file_and_unknown_suffix(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    rc, out, err = run(["--files", "notes.txt"], tmp_path)
    assert rc == 0 and out == "Dumping notes.txt\n" and err == "Ignoring unknown file notes.txt\n"
    rc, out, err = run(["--files", "00000000000000000005.log"], tmp_path)
    assert rc == 1 and out == "Dumping 00000000000000000005.log\nStarting offset: 5\n" and len(err.splitlines()) == 1


def test_bin_script(golden_dir):
    script = REPO / "bin" / "kafka-dump-log.sh"
    proc = subprocess.run([str(script), "--files", SEGMENT], cwd=golden_dir, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "Dumping " + SEGMENT
    proc = subprocess.run([str(script)], cwd=golden_dir, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == "" and "--files" in proc.stderr


# --- --offsets-decoder and --transaction-log-decoder ------------------------------------------
# Group members and transaction partitions come out in the iteration order of the Scala hash
# collections Kafka loads them into; the expected lines were printed by Kafka 2.8.2.

from kafkapy.protocol.messages import internal as i  # noqa: E402


def offsets_segment() -> bytes:
    key, value = i.OFFSET_COMMIT_KEY.schema.cls, i.OFFSET_COMMIT_VALUE.schema.cls
    gkey, gvalue = i.GROUP_METADATA_KEY.schema.cls, i.GROUP_METADATA_VALUE.schema.cls
    member = i.GROUP_METADATA_VALUE.schema.struct("members").cls
    assignment = i.CONSUMER_PROTOCOL_ASSIGNMENT.schema.cls
    tp = i.CONSUMER_PROTOCOL_ASSIGNMENT.schema.struct("assigned_partitions").cls

    def consumer(n: int):
        return member(member_id=f"consumer-{n}-5b1e", group_instance_id=None, client_id="c", client_host="/10.0.0.1",
                      rebalance_timeout=300000, session_timeout=10000, subscription=b"",
                      assignment=i.encode_versioned(i.CONSUMER_PROTOCOL_ASSIGNMENT, 1, assignment(
                          assigned_partitions=[tp(topic="orders", partitions=[n, n + 20])],
                          user_data=b"\x00\x2a" if n % 4 == 0 else None)))
    recs = [
        SimpleRecord(i.encode_versioned(i.OFFSET_COMMIT_KEY, 1, key(group="billing", topic="orders", partition=3)),
                     i.encode_versioned(i.OFFSET_COMMIT_VALUE, 3, value(offset=42, leader_epoch=5, metadata="m",
                                                                       commit_timestamp=TS)), (), TS),
        SimpleRecord(i.encode_versioned(i.OFFSET_COMMIT_KEY, 0, key(group="billing", topic="orders", partition=4)),
                     i.encode_versioned(i.OFFSET_COMMIT_VALUE, 1, value(offset=7, metadata="", commit_timestamp=TS,
                                                                       expire_timestamp=TS)), (), TS),
        SimpleRecord(i.encode_versioned(i.OFFSET_COMMIT_KEY, 1, key(group="billing", topic="orders", partition=5)),
                     None, (), TS),
        SimpleRecord(i.encode_versioned(i.GROUP_METADATA_KEY, 2, gkey(group="billing")),
                     i.encode_versioned(i.GROUP_METADATA_VALUE, 3, gvalue(
                         protocol_type="consumer", generation=4, protocol="range", leader="consumer-0-5b1e",
                         current_state_timestamp=TS, members=[consumer(n) for n in range(14)])), (), TS),
        SimpleRecord(i.encode_versioned(i.GROUP_METADATA_KEY, 2, gkey(group="workers")),
                     i.encode_versioned(i.GROUP_METADATA_VALUE, 0, gvalue(
                         protocol_type="connect", generation=1, protocol='say "hi"', leader="w",
                         members=[member(member_id="w", client_id="w", client_host="/h", session_timeout=1,
                                         subscription=b"", assignment=b"\x00\x01\xff")])), (), TS),
        SimpleRecord(i.encode_versioned(i.GROUP_METADATA_KEY, 2, gkey(group="gone")), None, (), TS),
    ]
    return build_batch(recs)


def transactions_segment() -> bytes:
    key, value = i.TRANSACTION_LOG_KEY.schema.cls, i.TRANSACTION_LOG_VALUE.schema.cls
    parts = i.TRANSACTION_LOG_VALUE.schema.struct("transaction_partitions").cls
    layouts = [
        (1, [parts(topic="orders", partition_ids=list(range(13))), parts(topic="audit", partition_ids=[0, 1])]),
        (2, [parts(topic=f"t{n}", partition_ids=[n, n + 1, n + 2]) for n in range(9)]),
        (0, [parts(topic="ignored-when-empty", partition_ids=[1])]),
        (4, []),
    ]
    recs = [SimpleRecord(i.encode_versioned(i.TRANSACTION_LOG_KEY, 0, key(transactional_id=f"tx-{n}")),
                         i.encode_versioned(i.TRANSACTION_LOG_VALUE, 0, value(
                             producer_id=1000 + n, producer_epoch=n, transaction_timeout_ms=60000,
                             transaction_status=state, transaction_partitions=layout,
                             transaction_last_update_timestamp_ms=TS + n, transaction_start_timestamp_ms=TS)),
                         (), TS) for n, (state, layout) in enumerate(layouts)]
    recs.append(SimpleRecord(i.encode_versioned(i.TRANSACTION_LOG_KEY, 0, key(transactional_id="tx-x")), None, (), TS))
    return build_batch(recs)


GOLDEN_OFFSETS = """\
| key: offset_commit::group=billing,partition=orders-3 payload: offset=42,metadata=m
| key: offset_commit::group=billing,partition=orders-4 payload: offset=7
| key: offset_commit::group=billing,partition=orders-5 payload: <DELETE>
| key: group_metadata::group=billing payload: {"protocolType":"consumer","protocol":"range","generationId":4,"assignment":"{consumer-10-5b1e=[orders-10, orders-30],consumer-4-5b1e=[orders-4, orders-24]:2A,consumer-8-5b1e=[orders-8, orders-28]:2A,consumer-1-5b1e=[orders-1, orders-21],consumer-13-5b1e=[orders-13, orders-33],consumer-6-5b1e=[orders-6, orders-26],consumer-3-5b1e=[orders-3, orders-23],consumer-12-5b1e=[orders-12, orders-32]:2A,consumer-9-5b1e=[orders-9, orders-29],consumer-0-5b1e=[orders-0, orders-20]:2A,consumer-11-5b1e=[orders-11, orders-31],consumer-7-5b1e=[orders-7, orders-27],consumer-5-5b1e=[orders-5, orders-25],consumer-2-5b1e=[orders-2, orders-22]}"}
| key: group_metadata::group=workers payload: {"protocolType":"connect","protocol":"say \\"hi\\"","generationId":1,"assignment":"{w=1FF}"}
| key: group_metadata::group=gone payload: <DELETE>
"""

GOLDEN_TRANSACTIONS = """\
| key: transaction_metadata::transactionalId=tx-0 payload: producerId:1000,producerEpoch:0,state=Ongoing,partitions=[orders-7,orders-8,orders-9,orders-10,orders-11,orders-12,audit-0,audit-1,orders-0,orders-1,orders-2,orders-3,orders-4,orders-5,orders-6],txnLastUpdateTimestamp=1600000000000,txnTimeoutMs=60000
| key: transaction_metadata::transactionalId=tx-1 payload: producerId:1001,producerEpoch:1,state=PrepareCommit,partitions=[t1-3,t3-5,t5-7,t7-9,t0-1,t2-3,t4-5,t6-7,t8-9,t1-1,t3-3,t5-5,t7-7,t0-2,t2-4,t4-6,t6-8,t8-10,t1-2,t3-4,t5-6,t7-8,t0-0,t2-2,t4-4,t6-6,t8-8],txnLastUpdateTimestamp=1600000000001,txnTimeoutMs=60000
| key: transaction_metadata::transactionalId=tx-2 payload: producerId:1002,producerEpoch:2,state=Empty,partitions=[],txnLastUpdateTimestamp=1600000000002,txnTimeoutMs=60000
| key: transaction_metadata::transactionalId=tx-3 payload: producerId:1003,producerEpoch:3,state=CompleteCommit,partitions=[],txnLastUpdateTimestamp=1600000000003,txnTimeoutMs=60000
| key: transaction_metadata::transactionalId=tx-x payload: <DELETE>
"""


def test_offsets_decoder_matches_kafka(tmp_path):
    (tmp_path / SEGMENT).write_bytes(offsets_segment())
    rc, out, err = run(["--skip-record-metadata", "--offsets-decoder", "--files", SEGMENT], tmp_path)
    assert rc == 0 and err == ""
    assert [line for line in out.splitlines() if line.startswith("|")] == GOLDEN_OFFSETS.splitlines()


def test_transaction_log_decoder_matches_kafka(tmp_path):
    (tmp_path / SEGMENT).write_bytes(transactions_segment())
    rc, out, err = run(["--skip-record-metadata", "--transaction-log-decoder", "--files", SEGMENT], tmp_path)
    assert rc == 0 and err == ""
    assert [line for line in out.splitlines() if line.startswith("|")] == GOLDEN_TRANSACTIONS.splitlines()


def test_decoders_need_keys(tmp_path):
    (tmp_path / SEGMENT).write_bytes(build_batch([SimpleRecord(None, b"v", (), TS)]))
    for flag in ("--offsets-decoder", "--transaction-log-decoder"):
        rc, _, err = run([flag, "--files", SEGMENT], tmp_path)
        assert rc == 1 and len(err.splitlines()) == 1
