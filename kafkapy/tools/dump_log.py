"""kafka-dump-log.sh: print the contents of log segments and their index files.

Option names and the output format are those of Kafka 2.8's ``kafka.tools.DumpLogSegments``:

- ``.log``: one line per batch (``baseOffset: ... isvalid: ...``; legacy entries start with
  ``offset: ...``); with ``--deep-iteration`` (implied by ``--print-data-log``) one ``| offset:
  ...`` line per record, with key and payload (decoded as UTF-8) under ``--print-data-log``.
  Trailing bytes that do not form a whole entry are reported as ``Found N invalid bytes at the
  end of <name>``.
- ``.index``: ``offset: N position: P``; ``.timeindex``: ``timestamp: T offset: N``, both checked
  against the segment's ``.log``; ``.txnindex`` and producer ``.snapshot`` files are dumped too.
- ``--offsets-decoder`` / ``--transaction-log-decoder`` print __consumer_offsets and
  __transaction_state records the way Kafka's tool does (including its hash-table order of group
  members and transaction partitions).
- Problems found along the way (index entries that do not match the log, time index
  disorder, non-consecutive record offsets) are listed on stderr at the end, as Kafka does.

Invalid arguments print one error line and the usage on stderr and exit with status 1.
"""
from __future__ import annotations

import argparse
import json
import mmap
import os
import struct
import sys
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, TextIO

from kafkapy.protocol.records import (
    MAGIC_V2,
    BatchInfo,
    CompressionType,
    Record,
    RecordsError,
    TimestampType,
    iter_batches,
    verify_crc,
)
from kafkapy.protocol.records.batch import RecordBatch
from kafkapy.protocol.records.control import ControlRecordType, decode_control_key, decode_end_txn_marker
from kafkapy.protocol.records.legacy import LegacyMessage, iter_inner_messages

RECORD_INDENT = "|"
DEFAULT_MAX_MESSAGE_SIZE = 5 * 1024 * 1024
_INT32_MAX = 0x7FFFFFFF

DESCRIPTION = ("Parses log segment files and their index files and prints what they hold, "
               "to help debug a segment that looks corrupt.")

_OPTIONS = [
    ("--deep-iteration", None, "Iterate over every record instead of every batch. Implied by "
                               "--print-data-log."),
    ("--files", "<String: file1, file2, ...>", "REQUIRED: comma separated list of log and index "
                                               "files to dump."),
    ("--help", None, "Print this usage information."),
    ("--index-sanity-check", None, "Only run the index sanity check a broker runs at startup to "
                                   "decide whether to rebuild an index; print nothing else."),
    ("--key-decoder-class", "[String]", "How to deserialize keys (only kafka.serializer."
                                        "StringDecoder is supported). (default: kafka.serializer."
                                        "StringDecoder)"),
    ("--max-message-size", "<Integer: size>", f"Largest batch size to expect when checking an "
                                              f"index. (default: {DEFAULT_MAX_MESSAGE_SIZE})"),
    ("--offsets-decoder", None, "Decode records as __consumer_offsets keys and values (committed "
                                "offsets, group metadata). Implies --print-data-log."),
    ("--print-data-log", None, "Print the key and payload of every record."),
    ("--skip-record-metadata", None, "Print no metadata for each record."),
    ("--transaction-log-decoder", None, "Decode records as __transaction_state keys and values. "
                                        "Implies --print-data-log."),
    ("--value-decoder-class", "[String]", "How to deserialize payloads (only kafka.serializer."
                                          "StringDecoder is supported). (default: kafka.serializer."
                                          "StringDecoder)"),
    ("--verify-index-only", None, "Check an index against its log without printing its entries."),
]

_STRING_DECODER = "kafka.serializer.StringDecoder"


class UsageError(Exception):
    """A bad command line: one line of explanation, then the usage."""


class DumpError(Exception):
    """A file that cannot be dumped (missing, unreadable, corrupt beyond what is reported)."""


def usage_text() -> str:
    width = max(len(name) + (len(arg) + 1 if arg else 0) for name, arg, _ in _OPTIONS) + 2
    lines = ["Option".ljust(width) + "Description", "------".ljust(width) + "-----------"]
    for name, arg, text in _OPTIONS:
        left = f"{name} {arg}" if arg else name
        wrapped = textwrap.wrap(text, 78 - width) or [""]
        lines.append(left.ljust(width) + wrapped[0])
        lines.extend(" " * (width + 2) + more for more in wrapped[1:])
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's hook for bad arguments
        raise UsageError(message)


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = _Parser(prog="kafka-dump-log.sh", add_help=False)
    parser.add_argument("--deep-iteration", action="store_true")
    parser.add_argument("--files")
    parser.add_argument("--help", action="store_true")
    parser.add_argument("--index-sanity-check", action="store_true")
    parser.add_argument("--key-decoder-class", default=_STRING_DECODER)
    parser.add_argument("--max-message-size", default=str(DEFAULT_MAX_MESSAGE_SIZE))
    parser.add_argument("--offsets-decoder", action="store_true")
    parser.add_argument("--print-data-log", action="store_true")
    parser.add_argument("--skip-record-metadata", action="store_true")
    parser.add_argument("--transaction-log-decoder", action="store_true")
    parser.add_argument("--value-decoder-class", default=_STRING_DECODER)
    parser.add_argument("--verify-index-only", action="store_true")
    args, extra = parser.parse_known_args(argv)
    for item in extra:
        if item.startswith("-"):
            raise UsageError(f"{item.lstrip('-').split('=')[0]} is not a recognized option")
        raise UsageError(f"unexpected argument {item!r}")
    if args.help:
        raise UsageError(DESCRIPTION)
    if args.files is None:
        raise UsageError('Missing required argument "[files]"')
    try:
        args.max_message_size = int(args.max_message_size)
    except ValueError:
        raise UsageError(f"Cannot parse argument '{args.max_message_size}' of option "
                         f"max-message-size") from None
    for name in ("key_decoder_class", "value_decoder_class"):
        if getattr(args, name) != _STRING_DECODER:
            raise UsageError(f"Unsupported {name.replace('_', '-')}: {getattr(args, name)} "
                             f"(only {_STRING_DECODER})")
    args.files = [f for f in args.files.split(",") if f]
    if not args.files:
        raise UsageError('Missing required argument "[files]"')
    if args.offsets_decoder or args.transaction_log_decoder:
        args.print_data_log = True
    if args.print_data_log:
        args.deep_iteration = True
    return args


# --- file access --------------------------------------------------------------------------------

@contextmanager
def _mapped(path: str) -> Iterator[memoryview]:
    """The file's bytes as a read-only memoryview (memory-mapped; empty files give b"").

    The mapping is left to the garbage collector: record views derived from it may outlive
    the ``with`` block (in tracebacks, say), and closing a mapping with live views fails.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    except OSError as e:
        raise DumpError(f"cannot open {path}: {e.strerror}") from None
    yield memoryview(data)


def _base_offset(path: str) -> int:
    name = os.path.basename(path)
    stem = name.split(".")[0]
    try:
        return int(stem)
    except ValueError:
        raise DumpError(f"cannot take a base offset from the file name {name}") from None


def _sibling(path: str, suffix: str) -> str:
    name = os.path.basename(path)
    return os.path.join(os.path.dirname(os.path.abspath(path)), name.split(".")[0] + suffix)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _ts_type_name(info: BatchInfo) -> str:
    return TimestampType(info.timestamp_type).kafka_name


def _codec_name(info: BatchInfo) -> str:
    try:
        return CompressionType(info.compression).name
    except ValueError:
        return f"UNKNOWN({info.compression})"


def _increment_sequence(base: int, delta: int) -> int:
    if base > _INT32_MAX - delta:
        return delta - (_INT32_MAX - base) - 1
    return base + delta


def _decrement_sequence(sequence: int, decrement: int) -> int:
    if sequence < decrement:
        return _INT32_MAX - (decrement - sequence) + 1
    return sequence - decrement


@dataclass(frozen=True, slots=True)
class _DeepRecord:
    """What one ``| offset:`` line needs, for both v2 records and legacy messages."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    valid: bool
    crc: int | None            # legacy only
    sequence: int              # v2 only
    header_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _BatchView:
    info: BatchInfo
    base_offset: int           # legacy wrappers: offset of the first inner message
    records: list[_DeepRecord]


class DumpLogSegments:
    def __init__(self, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.index_mismatches: dict[str, list[tuple[int, int]]] = {}
        self.time_mismatches: dict[str, list[tuple[int, int]]] = {}
        self.time_out_of_order: dict[str, list[tuple[int, int]]] = {}
        self.time_not_found: dict[str, list[tuple[int, int]]] = {}
        self.non_consecutive: dict[str, list[tuple[int, int]]] = {}

    def run(self) -> int:
        for path in self.args.files:
            self.out.write(f"Dumping {path}\n")
            suffix = os.path.splitext(path)[1]
            try:
                if suffix == ".log":
                    self.dump_log(path)
                elif suffix == ".index":
                    self.dump_index(path)
                elif suffix == ".timeindex":
                    self.dump_time_index(path)
                elif suffix == ".snapshot":
                    self.dump_producer_snapshot(path)
                elif suffix == ".txnindex":
                    self.dump_txn_index(path)
                else:
                    self.err.write(f"Ignoring unknown file {path}\n")
            except DumpError as e:
                self.out.flush()
                self.err.write(f"Error: {e}\n")
                return 1
        self.print_errors()
        return 0

    # --- .log -------------------------------------------------------------------------------

    def _deep(self, buf, info: BatchInfo) -> _BatchView:
        try:
            if info.magic == MAGIC_V2:
                view = buf[info.position:info.end]
                batch = RecordBatch(info._replace(position=0), view)
                records = []
                for r in batch.records(max_size=1 << 31):
                    seq = (-1 if info.base_sequence < 0
                           else _increment_sequence(info.base_sequence, r.offset - info.base_offset))
                    records.append(_DeepRecord(r.offset, r.timestamp, r.key, r.value, True, None, seq,
                                               tuple(k for k, _ in r.headers)))
                return _BatchView(info, info.base_offset, records)
            messages: list[LegacyMessage] = list(iter_inner_messages(buf, info, max_size=1 << 31))
        except RecordsError as e:
            raise DumpError(f"cannot read the records of the batch at position {info.position}: {e}") from None
        records = [_DeepRecord(m.offset, m.timestamp, m.key, m.value, m.valid, m.crc, -1, ())
                   for m in messages]
        base = records[0].offset if records else info.base_offset
        return _BatchView(info, base, records)

    def dump_log(self, path: str) -> None:
        start_offset = _base_offset(path)
        self.out.write(f"Starting offset: {start_offset}\n")
        args = self.args
        out = self.out
        with _mapped(path) as buf:
            valid_bytes = 0
            last_offset = -1
            pairs: list[tuple[int, int]] = []
            try:
                for info in iter_batches(buf):
                    self._print_batch(buf, info, valid_bytes)
                    if args.deep_iteration:
                        deep = self._deep(buf, info)
                        for record in deep.records:
                            if last_offset != -1 and record.offset != last_offset + 1:
                                pairs.insert(0, (last_offset, record.offset))
                            last_offset = record.offset
                            out.write(self._record_line(deep, record, valid_bytes))
                    valid_bytes += info.size
            except RecordsError as e:
                raise DumpError(f"{path}: {e}") from None
            finally:
                if pairs:
                    self.non_consecutive[os.path.abspath(path)] = pairs
            trailing = len(buf) - valid_bytes
            if trailing > 0:
                out.write(f"Found {trailing} invalid bytes at the end of {os.path.basename(path)}\n")

    def _print_batch(self, buf, info: BatchInfo, position: int) -> None:
        if info.magic == MAGIC_V2:
            head = (f"baseOffset: {info.base_offset} lastOffset: {info.last_offset} count: {info.record_count} "
                    f"baseSequence: {info.base_sequence} lastSequence: {info.last_sequence} "
                    f"producerId: {info.producer_id} producerEpoch: {info.producer_epoch} "
                    f"partitionLeaderEpoch: {info.partition_leader_epoch} "
                    f"isTransactional: {_bool(info.is_transactional)} isControl: {_bool(info.is_control)}")
        else:
            head = f"offset: {info.last_offset}"
        self.out.write(
            f"{head} position: {position} {_ts_type_name(info)}: {info.max_timestamp} size: {info.size} "
            f"magic: {info.magic} compresscodec: {_codec_name(info)} crc: {info.crc} "
            f"isvalid: {_bool(verify_crc(buf, info))}\n")

    def _record_line(self, deep: _BatchView, record: _DeepRecord, position: int) -> str:
        info = deep.info
        parts = []
        prefix = RECORD_INDENT + " "
        if not self.args.skip_record_metadata:
            crc = "null" if record.crc is None else str(record.crc)
            key_size = -1 if record.key is None else len(record.key)
            value_size = -1 if record.value is None else len(record.value)
            last_sequence = info.last_sequence if info.magic == MAGIC_V2 else -1
            parts.append(
                f"{prefix}offset: {record.offset} isValid: {_bool(record.valid)} crc: {crc} "
                f"keySize: {key_size} valueSize: {value_size} {_ts_type_name(info)}: {record.timestamp} "
                f"baseOffset: {deep.base_offset} lastOffset: {info.last_offset} "
                f"baseSequence: {info.base_sequence} lastSequence: {last_sequence} "
                f"producerEpoch: {info.producer_epoch} partitionLeaderEpoch: {info.partition_leader_epoch} "
                f"batchSize: {info.size} magic: {info.magic} compressType: {_codec_name(info)} "
                f"position: {position}")
            prefix = " "
            if info.magic == MAGIC_V2:
                parts.append(f" sequence: {record.sequence} headerKeys: [{','.join(record.header_keys)}]")
            else:
                parts.append(f" crc: {crc} isvalid: {_bool(record.valid)}")
            if info.is_control:
                parts.append(self._control_text(record))
        if self.args.print_data_log and not info.is_control:
            key, payload = self._parse(record)
            if key is not None:
                parts.append(f"{prefix}key: {key}")
                prefix = " "
            if payload is not None:
                parts.append(f" payload: {payload}")
        parts.append("\n")
        return "".join(parts)

    def _parse(self, record: _DeepRecord) -> tuple[str | None, str | None]:
        try:
            if self.args.offsets_decoder:
                return format_offsets_record(record.offset, record.key, record.value)
            if self.args.transaction_log_decoder:
                return format_transaction_log_record(record.offset, record.key, record.value)
        except (ValueError, KeyError) as e:     # ProtocolDecodeError is a ValueError
            raise DumpError(f"cannot decode the record at offset {record.offset}: {e}") from None
        return (None if record.key is None else _decode(record.key),
                None if record.value is None else _decode(record.value))

    @staticmethod
    def _control_text(record: _DeepRecord) -> str:
        try:
            _, ctype = decode_control_key(record.key)
        except RecordsError as e:
            raise DumpError(f"bad control record at offset {record.offset}: {e}") from None
        if ctype in (ControlRecordType.ABORT, ControlRecordType.COMMIT):
            try:
                marker = decode_end_txn_marker(Record(record.offset, record.timestamp, record.key, record.value))
            except RecordsError as e:
                raise DumpError(f"bad end transaction marker at offset {record.offset}: {e}") from None
            return f" endTxnMarker: {marker.control_type.name} coordinatorEpoch: {marker.coordinator_epoch}"
        type_id = struct.unpack_from(">h", record.key, 2)[0]
        return f" controlType: {ctype.name}({type_id})"

    # --- .index -----------------------------------------------------------------------------

    @staticmethod
    def _read_offset_index(buf, base_offset: int) -> list[tuple[int, int]]:
        return [(base_offset + rel, pos) for rel, pos in struct.iter_unpack(">ii", buf[:len(buf) // 8 * 8])]

    @staticmethod
    def _read_time_index(buf, base_offset: int) -> list[tuple[int, int]]:
        return [(ts, base_offset + rel) for ts, rel in struct.iter_unpack(">qi", buf[:len(buf) // 12 * 12])]

    def dump_index(self, path: str) -> None:
        base_offset = _base_offset(path)
        log_path = _sibling(path, ".log")
        with _mapped(path) as ibuf:
            entries = self._read_offset_index(ibuf, base_offset)
            length = len(ibuf)
        if not entries:
            self.out.write(f"{path} is empty.\n")
            return
        if self.args.index_sanity_check:
            last = entries[-1][0]
            if last < base_offset:
                raise DumpError(f"corrupt index {os.path.abspath(path)}: it is not empty but its last offset "
                                f"{last} is below the base offset {base_offset}")
            if length % 8:
                raise DumpError(f"index file {os.path.abspath(path)} is corrupt: {length} bytes is not a "
                                f"multiple of 8")
            self.out.write(f"{path} passed sanity check.\n")
            return
        max_size = self.args.max_message_size
        with _mapped(log_path) as log:
            for i, (offset, position) in enumerate(entries):
                if offset == base_offset and i > 0:
                    return       # the zero-filled tail of a preallocated index
                end = min(len(log), position + max_size) if position >= 0 else 0
                first = next(iter_batches(log, position, end), None) if 0 <= position <= len(log) else None
                if first is None:
                    raise DumpError(f"no whole batch at position {position} of {log_path} within "
                                    f"--max-message-size {max_size}")
                if first.last_offset != offset:
                    self.index_mismatches.setdefault(os.path.abspath(path), []).insert(
                        0, (offset, first.last_offset))
                if not self.args.verify_index_only:
                    self.out.write(f"offset: {offset} position: {position}\n")

    # --- .timeindex -------------------------------------------------------------------------

    def dump_time_index(self, path: str) -> None:
        base_offset = _base_offset(path)
        with _mapped(path) as tbuf:
            entries = self._read_time_index(tbuf, base_offset)
            length = len(tbuf)
        if self.args.index_sanity_check:
            if entries and entries[-1][0] < entries[0][0]:
                raise DumpError(f"corrupt time index {os.path.abspath(path)}: its last timestamp "
                                f"{entries[-1][0]} is below its first timestamp {entries[0][0]}")
            if entries and entries[-1][1] < base_offset:
                raise DumpError(f"corrupt time index {os.path.abspath(path)}: its last offset "
                                f"{entries[-1][1]} is below the base offset {base_offset}")
            if length % 12:
                raise DumpError(f"time index file {os.path.abspath(path)} is corrupt: {length} bytes is not "
                                f"a multiple of 12")
            self.out.write(f"{path} passed sanity check.\n")
            return
        with _mapped(_sibling(path, ".index")) as ibuf:
            index = self._read_offset_index(ibuf, base_offset)
        abspath = os.path.abspath(path)
        prev_timestamp = -1
        with _mapped(_sibling(path, ".log")) as log:
            for i, (timestamp, offset) in enumerate(entries):
                if offset == base_offset and i > 0:
                    return
                position = _lookup(index, offset)
                found = None
                try:
                    for info in iter_batches(log, position):
                        if info.last_offset >= offset:
                            found = info
                            break
                except RecordsError as e:
                    raise DumpError(f"{_sibling(path, '.log')}: {e}") from None
                if found is None:
                    self.time_not_found.setdefault(abspath, []).append((offset, -1))
                elif found.last_offset != offset:
                    self.time_not_found.setdefault(abspath, []).append((offset, found.last_offset))
                else:
                    max_ts = max((r.timestamp for r in self._deep(log, found).records), default=-1)
                    if max_ts != timestamp:
                        self.time_mismatches.setdefault(abspath, []).append((timestamp, max_ts))
                    if prev_timestamp >= timestamp:
                        self.time_out_of_order.setdefault(abspath, []).append((timestamp, prev_timestamp))
                if not self.args.verify_index_only:
                    self.out.write(f"timestamp: {timestamp} offset: {offset}\n")
                prev_timestamp = timestamp

    # --- .txnindex and .snapshot ------------------------------------------------------------

    def dump_txn_index(self, path: str) -> None:
        with _mapped(path) as buf:
            usable = len(buf) // 34 * 34
            for version, pid, first, last, lso in struct.iter_unpack(">hqqqq", buf[:usable]):
                self.out.write(f"version: {version} producerId: {pid} firstOffset: {first} "
                               f"lastOffset: {last} lastStableOffset: {lso}\n")

    def dump_producer_snapshot(self, path: str) -> None:
        from kafkapy.protocol.records.crc import crc32c

        with _mapped(path) as buf:
            if len(buf) < 10:
                raise DumpError(f"producer snapshot {path} is too short")
            version, crc, count = struct.unpack_from(">hIi", buf, 0)
            if version != 1:
                raise DumpError(f"producer snapshot {path} has unknown version {version}")
            if crc32c(buf[6:]) != crc:
                raise DumpError(f"producer snapshot {path} has a bad checksum")
            entry = struct.Struct(">qhiqiqiq")
            if count < 0 or 10 + count * entry.size > len(buf):
                raise DumpError(f"producer snapshot {path} is truncated")
            for pid, epoch, last_seq, last_offset, delta, ts, coord_epoch, txn_first in entry.iter_unpack(
                    buf[10:10 + count * entry.size]):
                current = "None" if txn_first < 0 else f"Some({txn_first})"
                self.out.write(
                    f"producerId: {pid} producerEpoch: {epoch} coordinatorEpoch: {coord_epoch} "
                    f"currentTxnFirstOffset: {current} firstSequence: {_decrement_sequence(last_seq, delta)} "
                    f"lastSequence: {last_seq} lastOffset: {last_offset} offsetDelta: {delta} "
                    f"timestamp: {ts}\n")

    # --- summary ----------------------------------------------------------------------------

    def print_errors(self) -> None:
        self.out.flush()
        err = self.err
        for name, pairs in self.index_mismatches.items():
            err.write(f"Mismatches in :{name}\n")
            for index_offset, log_offset in pairs:
                err.write(f"  Index offset: {index_offset}, log offset: {log_offset}\n")
        for name, pairs in self.time_mismatches.items():
            err.write(f"Found timestamp mismatch in :{name}\n")
            for index_ts, log_ts in pairs:
                err.write(f"  Index timestamp: {index_ts}, log timestamp: {log_ts}\n")
        for name, pairs in self.time_out_of_order.items():
            err.write(f"Found out of order timestamp in :{name}\n")
            for index_ts, prev_ts in pairs:
                err.write(f"  Index timestamp: {index_ts}, Previously indexed timestamp: {prev_ts}\n")
        for pairs in self.time_not_found.values():
            err.write("The following indexed offsets are not found in the log.\n")
            for index_offset, log_offset in pairs:
                err.write(f"Indexed offset: {index_offset}, found log offset: {log_offset}\n")
        for name, pairs in self.non_consecutive.items():
            err.write(f"Non-consecutive offsets in {name}\n")
            for first, second in pairs:
                err.write(f"  {first} is followed by {second}\n")
        err.flush()


# --- __consumer_offsets and __transaction_state ------------------------------------------------
#
# Kafka's tool prints group members and transaction partitions in the iteration order of the
# Scala 2.13 hash collections it loads them into; ``_scala_hash_order`` reproduces that order
# (table of 16 slots doubled at a 0.75 load factor, slot = improved hash & (size - 1), each slot
# sorted by hash) from Java hash codes, so the output matches line for line.

def _i32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def _java_string_hash(s: str) -> int:
    h = 0
    data = s.encode("utf-16-be", errors="surrogatepass")
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return _i32(h)


def _topic_partition_hash(topic: str, partition: int) -> int:
    return _i32(31 * (31 + partition) + _java_string_hash(topic))


class _ScalaHashTable:
    """Iteration order of a Scala 2.13 ``mutable.HashSet``/``HashMap`` (keys only).

    The table starts at 16 slots; ``add`` (``+=``, ``put``) doubles it first when the
    element would reach 0.75 of the slots; ``add_all_hinted`` is ``++=`` of an immutable
    set of more than 4 elements: the table is sized once for that batch alone, then the
    elements go in without further growth. A slot keeps its elements sorted by hash.
    """

    def __init__(self, hash_of) -> None:
        self._hash_of = hash_of
        self._capacity = 16
        self._threshold = 12
        self._seq: dict = {}

    def _grow_to(self, capacity: int) -> None:
        self._capacity = capacity
        self._threshold = int(capacity * 0.75)

    def size_hint(self, size: int) -> None:
        wanted = max(int((size + 1) / 0.75) - 1, 4)
        target = min(1 << wanted.bit_length(), 1 << 30)
        if target > self._capacity:
            self._grow_to(target)

    def add(self, item) -> None:
        if len(self._seq) + 1 >= self._threshold:
            self._grow_to(self._capacity * 2)
        self._seq.setdefault(item, len(self._seq))

    def add_all(self, items: list) -> None:
        """``++=`` of an immutable set built from ``items``."""
        distinct = list(dict.fromkeys(items))
        self.size_hint(len(distinct))
        for item in distinct:
            if len(distinct) <= 4:        # Set1..Set4: added one by one
                self.add(item)
            else:                         # an immutable HashSet: no growth while adding
                self._seq.setdefault(item, len(self._seq))

    def ordered(self) -> list:
        mask = self._capacity - 1

        def slot_and_hash(item):
            h = self._hash_of(item) & 0xFFFFFFFF
            h = _i32(h ^ (h >> 16))
            return h & mask, h, self._seq[item]
        return sorted(self._seq, key=slot_and_hash)


def _scala_hash_order(items: list, hash_of) -> list:
    """Distinct ``items`` in the order a Scala mutable hash collection filled one by one gives."""
    table = _ScalaHashTable(hash_of)
    for item in items:
        table.add(item)
    return table.ordered()


def _hex(data: bytes | None) -> str:
    """Bytes as one unsigned big number in upper-case hex (no leading zeros), "" when empty."""
    if not data:
        return ""
    return format(int.from_bytes(data, "big"), "X")


def format_offsets_record(offset: int, key: bytes | None, value: bytes | None) -> tuple[str, str]:
    """``--offsets-decoder``: (key, payload) text of a __consumer_offsets record."""
    from kafkapy.protocol.messages import internal

    if key is None:
        raise ValueError("a __consumer_offsets record needs a key")
    key_version, k = internal.decode_offsets_key(key)
    decoded = internal.decode_offsets_value(key_version, value)
    if key_version <= internal.OFFSET_COMMIT_KEY.max_version:
        key_text = f"offset_commit::group={k.group},partition={k.topic}-{k.partition}"
        if decoded is None:
            return key_text, "<DELETE>"
        v = decoded[1]
        payload = f"offset={v.offset}" if not v.metadata else f"offset={v.offset},metadata={v.metadata}"
        return key_text, payload
    key_text = f"group_metadata::group={k.group}"
    if decoded is None:
        return key_text, "<DELETE>"
    g = decoded[1]
    protocol_type = g.protocol_type or ""
    members = {m.member_id: m for m in g.members}
    texts = []
    for member_id in _scala_hash_order(list(members), _java_string_hash):
        m = members[member_id]
        if protocol_type == "consumer":
            _, a = internal.decode_versioned(internal.CONSUMER_PROTOCOL_ASSIGNMENT, m.assignment,
                                             accept_newer=True)
            partitions = ", ".join(f"{tp.topic}-{p}" for tp in a.assigned_partitions for p in tp.partitions)
            user_data = _hex(a.user_data)
            texts.append(f"{member_id}=[{partitions}]" + (f":{user_data}" if user_data else ""))
        else:
            texts.append(f"{member_id}={_hex(m.assignment)}")
    payload = json.dumps({"protocolType": protocol_type, "protocol": g.protocol, "generationId": g.generation,
                          "assignment": "{" + ",".join(texts) + "}"}, ensure_ascii=False, separators=(",", ":"))
    return key_text, payload


_TRANSACTION_STATES = ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort",
                       "Dead", "PrepareEpochFence"]


def format_transaction_log_record(offset: int, key: bytes | None, value: bytes | None) -> tuple[str, str]:
    """``--transaction-log-decoder``: (key, payload) text of a __transaction_state record."""
    from kafkapy.protocol.messages import internal

    if key is None:
        raise ValueError("a __transaction_state record needs a key")
    _, k = internal.decode_versioned(internal.TRANSACTION_LOG_KEY, key)
    key_text = f"transaction_metadata::transactionalId={k.transactional_id}"
    if value is None:
        return key_text, "<DELETE>"
    _, v = internal.decode_versioned(internal.TRANSACTION_LOG_VALUE, value)
    if not 0 <= v.transaction_status < len(_TRANSACTION_STATES):
        raise ValueError(f"unknown transaction state {v.transaction_status}")
    # Kafka adds each topic's partitions as one immutable set, and none for Empty transactions.
    table = _ScalaHashTable(lambda tp: _topic_partition_hash(*tp))
    if v.transaction_status != 0:
        for entry in v.transaction_partitions or []:
            table.add_all([(entry.topic, p) for p in entry.partition_ids])
    ordered = table.ordered()
    return key_text, (f"producerId:{v.producer_id},producerEpoch:{v.producer_epoch},"
                      f"state={_TRANSACTION_STATES[v.transaction_status]},"
                      f"partitions=[{','.join(f'{t}-{p}' for t, p in ordered)}],"
                      f"txnLastUpdateTimestamp={v.transaction_last_update_timestamp_ms},"
                      f"txnTimeoutMs={v.transaction_timeout_ms}")


def _lookup(index: list[tuple[int, int]], target: int) -> int:
    """Position of the last index entry whose offset is <= target (0 when there is none)."""
    lo, hi = 0, len(index) - 1
    if hi < 0 or index[0][0] > target:
        return 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if index[mid][0] <= target:
            lo = mid
        else:
            hi = mid - 1
    return index[lo][1]


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if not argv:
        err.write(DESCRIPTION + "\n" + usage_text() + "\n")
        return 1
    try:
        args = _parse_args(argv)
    except UsageError as e:
        err.write(f"{e}\n{usage_text()}\n")
        return 1
    return DumpLogSegments(args, out, err).run()


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="replace")
    try:
        sys.exit(main())
    except BrokenPipeError:       # e.g. piped into head
        sys.exit(1)
