"""kafka-consumer-groups.sh: list, describe, delete and reset the offsets of consumer groups.

Kafka 2.8's ConsumerGroupCommand over ``--bootstrap-server`` (the ZooKeeper mode was removed in
2.0): the same options, tables (column widths grow with the longest group, topic, consumer id
and host, 15 at least), messages and exit codes. Bad arguments print one error line and the
usage on stderr and exit with status 1.
"""
from __future__ import annotations

import asyncio
import csv
import io
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from kafkapy.clients.legacy import java_string_hashcode
from kafkapy.clients.net import BrokerConnection
from kafkapy.common.errors import ErrorCode, error_info
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.errors import ProtocolDecodeError
from kafkapy.protocol.messages import (
    delete_groups,
    describe_groups,
    find_coordinator,
    list_groups,
    list_offsets,
    metadata,
    offset_commit,
    offset_delete,
    offset_fetch,
)
from kafkapy.protocol.messages.internal import CONSUMER_PROTOCOL_ASSIGNMENT, decode_versioned

MISSING = "-"
CLIENT_ID = "kafkapy-consumer-groups"

# (name, takes an argument, argument description, documentation)
OPTIONS: list[tuple[str, bool, str, str]] = [
    ("all-groups", False, "", "Apply to all consumer groups."),
    ("all-topics", False, "", "Consider all topics assigned to a group in the `reset-offsets` process."),
    ("bootstrap-server", True, "server to connect to", "REQUIRED: The server(s) to connect to."),
    ("by-duration", True, "duration",
     "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'"),
    ("command-config", True, "command config property file",
     "Property file containing configs to be passed to Admin Client and Consumer."),
    ("delete", False, "", "Pass in groups to delete topic partition offsets and ownership information over the "
                          "entire consumer group. For instance --group g1 --group g2"),
    ("delete-offsets", False, "", "Delete offsets of consumer group. Supports one consumer group at the time, and "
                                  "multiple topics."),
    ("describe", False, "", "Describe consumer group and list offset lag (number of messages not yet processed) "
                            "related to given group."),
    ("dry-run", False, "", "Only show results without executing changes on Consumer Groups. Supported "
                           "operations: reset-offsets."),
    ("execute", False, "", "Execute operation. Supported operations: reset-offsets."),
    ("export", False, "", "Export operation execution to a CSV file. Supported operations: reset-offsets."),
    ("from-file", True, "path to CSV file", "Reset offsets to values defined in CSV file."),
    ("group", True, "consumer group", "The consumer group we wish to act on."),
    ("help", False, "", "Print usage information."),
    ("list", False, "", "List all consumer groups."),
    ("members", False, "", "Describe members of the group. This option may be used with '--describe' and "
                           "'--bootstrap-server' options only."),
    ("offsets", False, "", "Describe the group and list all topic partitions in the group along with their "
                           "offset lag. This is the default sub-action."),
    ("reset-offsets", False, "", "Reset offsets of consumer group. Supports one consumer group at the time, and "
                                 "instances should be inactive. Has 2 execution options: --dry-run (the default) "
                                 "to plan which offsets to reset, and --execute to update the offsets."),
    ("shift-by", True, "Long: number-of-offsets",
     "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative."),
    ("state", False, "", "When specified with '--describe', includes the state of the group. When specified "
                         "with '--list', it displays the state of all groups."),
    ("timeout", True, "Long: timeout (ms)", "The timeout that can be set for some use cases. (default: 5000)"),
    ("to-current", False, "", "Reset offsets to current offset."),
    ("to-datetime", True, "datetime", "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'"),
    ("to-earliest", False, "", "Reset offsets to earliest offset."),
    ("to-latest", False, "", "Reset offsets to latest offset."),
    ("to-offset", True, "Long: offset", "Reset offsets to a specific offset."),
    ("topic", True, "topic", "The topic whose consumer group information should be deleted or topic whose should "
                             "be included in the reset offset process."),
    ("verbose", False, "", "Provide additional information, if any, when describing the group."),
    ("version", False, "", "Display Kafka version."),
]
_SPECS = {name: (arg, desc) for name, arg, desc, _doc in OPTIONS}
ACTIONS = ("list", "describe", "delete", "reset-offsets", "delete-offsets")
RESET_SCENARIOS = ("to-offset", "to-datetime", "by-duration", "to-earliest", "to-latest", "shift-by", "from-file",
                   "to-current")
MULTI = {"group", "topic"}


class UsageError(Exception):
    """A bad command line: one line, then the usage."""


def usage_text() -> str:
    rows = []
    for name, arg, desc, doc in OPTIONS:
        left = f"--{name}" + (f" <{desc}>" if arg else "")
        rows.append((left, doc))
    width = max(len(r[0]) for r in rows) + 1
    lines = [f"{'Option'.ljust(width)}Description", f"{'------'.ljust(width)}-----------"]
    lines += [f"{left.ljust(width)}{doc}" for left, doc in rows]
    return "\n".join(lines)


@dataclass
class Options:
    values: dict[str, list[str]] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.values

    def value(self, name: str) -> str | None:
        v = self.values.get(name)
        return v[-1] if v else None

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, []))


def parse_args(argv: list[str]) -> Options:
    opts = Options()
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--"):
            raise UsageError(f"Found non-option argument: {token}")
        name, eq, inline = token[2:].partition("=")
        matches = [n for n in _SPECS if n == name] or [n for n in _SPECS if n.startswith(name)]
        if len(matches) != 1:
            raise UsageError(f"{name} is not a recognized option")
        name = matches[0]
        takes_arg, _desc = _SPECS[name]
        if takes_arg:
            if eq:
                value = inline
            else:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"Option {name} requires an argument")
                value = argv[i]
            opts.values.setdefault(name, []).append(value)
        else:
            opts.values.setdefault(name, [])
        i += 1
    return opts


def check_args(opts: Options) -> None:
    actions = [a for a in ACTIONS if opts.has(a)]
    if len(actions) != 1:
        raise UsageError("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, "
                         "--delete-offsets")
    if not opts.has("bootstrap-server"):
        raise UsageError('Missing required argument "[bootstrap-server]"')
    subs = [s for s in ("members", "offsets", "state") if opts.has(s)]
    if subs and not (opts.has("describe") or (opts.has("list") and subs == ["state"])):
        raise UsageError(f"Option [{subs[0]}] is available only when [describe] is present")
    if len(subs) > 1:
        raise UsageError(f"Option(s) [{subs[1]}] are unavailable given other options on the command line")
    action = actions[0]
    if action in ("describe", "delete", "reset-offsets") and not (opts.has("group") or opts.has("all-groups")):
        raise UsageError(f"Option [{action}] takes one of these options: [all-groups], [group]")
    if action == "delete-offsets":
        if len(opts.all("group")) != 1:
            raise UsageError("Option [delete-offsets] takes the following options: [group], [topic]")
        if not opts.has("topic"):
            raise UsageError("Option [delete-offsets] takes the following options: [group], [topic]")
    if action == "reset-offsets":
        scenarios = [s for s in RESET_SCENARIOS if opts.has(s)]
        if len(scenarios) != 1:
            raise UsageError("Option [reset-offsets] takes exactly one of these options: "
                             + ", ".join(f"[{s}]" for s in RESET_SCENARIOS))
        if opts.has("dry-run") and opts.has("execute"):
            raise UsageError("Option [reset-offsets] only accepts one of [execute], [dry-run]")
        if not (opts.has("topic") or opts.has("all-topics") or opts.has("from-file")):
            raise UsageError("One of the reset scopes should be defined: --all-topics, --topic.")
        for name in ("to-offset", "shift-by", "timeout"):
            if opts.has(name):
                try:
                    int(opts.value(name) or "")
                except ValueError:
                    raise UsageError(f"Cannot parse argument '{opts.value(name)}' of option {name}") from None
    if opts.has("timeout"):
        try:
            int(opts.value("timeout") or "")
        except ValueError:
            raise UsageError(f"Cannot parse argument '{opts.value('timeout')}' of option timeout") from None


# --------------------------------------------------------------------------- time parsing
def parse_datetime(text: str) -> int:
    """Kafka's reset-offsets datetime ('YYYY-MM-DDTHH:mm:SS.sss', optional zone; UTC when absent)."""
    date_part, _, time_part = text.partition("T")
    if not time_part:
        raise ValueError(f"Unparseable date: \"{text}\"")
    if not (time_part.endswith("Z") or "+" in time_part or "-" in time_part):
        text += "Z"
    text = text.replace("Z", "+00:00")
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{3})([+-]\d{2}(?::?\d{2})?)", text)
    if m is None:
        raise ValueError(f"Unparseable date: \"{text}\"")
    zone = m.group(3)
    if len(zone) == 3:
        zone += ":00"
    elif ":" not in zone:
        zone = zone[:3] + ":" + zone[3:]
    dt = datetime.fromisoformat(f"{m.group(1)}.{m.group(2)}{zone}")
    return int(dt.timestamp() * 1000)


def parse_duration_ms(text: str) -> int:
    """java.time.Duration.parse for the 'PnDTnHnMn.nS' form."""
    m = re.fullmatch(r"([-+]?)P(?:([-+]?\d+)D)?(?:T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+(?:[.,]\d{0,9})?)S)?)?",
                     text.upper())
    if m is None or not any(m.group(i) for i in range(2, 6)):
        raise ValueError(f"Text cannot be parsed to a Duration: {text}")
    d = timedelta(days=int(m.group(2) or 0), hours=int(m.group(3) or 0), minutes=int(m.group(4) or 0),
                  seconds=float((m.group(5) or "0").replace(",", ".")))
    ms = int(d.total_seconds() * 1000)
    return -ms if m.group(1) == "-" else ms


# --------------------------------------------------------------------------- cluster access
@dataclass(frozen=True, slots=True)
class MemberInfo:
    consumer_id: str
    host: str
    client_id: str
    assignment: tuple[TopicPartition, ...]


@dataclass(frozen=True, slots=True)
class GroupDescription:
    group_id: str
    state: str
    protocol_type: str
    assignor: str
    members: tuple[MemberInfo, ...]
    coordinator: tuple[int, str, int]


class GroupAdmin:
    """The few admin calls the command needs, over our own client connections."""

    def __init__(self, bootstrap: str, timeout_ms: int) -> None:
        self.bootstrap = [b.strip() for b in bootstrap.split(",") if b.strip()]
        self.timeout_ms = timeout_ms
        self.conns: dict[int, BrokerConnection] = {}
        self.brokers: dict[int, tuple[str, int]] = {}
        self.partitions: dict[str, dict[int, int]] = {}   # topic -> partition -> leader
        self._boot: BrokerConnection | None = None

    async def connect(self) -> None:
        last: Exception | None = None
        for hp in self.bootstrap:
            host, _, port = hp.rpartition(":")
            try:
                self._boot = await BrokerConnection.connect(host, int(port), CLIENT_ID, self.timeout_ms)
                break
            except (OSError, ValueError) as exc:
                last = exc
        if self._boot is None:
            raise RuntimeError(f"Cannot connect to any of {self.bootstrap}: {last}")
        await self.refresh_metadata(None)

    async def close(self) -> None:
        for conn in list(self.conns.values()) + ([self._boot] if self._boot else []):
            try:
                await conn.close()
            except OSError:
                pass

    async def refresh_metadata(self, topics: list[str] | None) -> None:
        assert self._boot is not None
        Topic = metadata.API.request.struct("topics")
        req = metadata.API.request(topics=None if topics is None else [Topic(name=t) for t in topics],
                                   allow_auto_topic_creation=False)
        resp = await self._boot.send(ApiKey.METADATA, req)
        self.brokers = {b.node_id: (b.host, b.port) for b in resp.brokers}
        for t in resp.topics:
            if t.error_code == 0:
                self.partitions[t.name] = {p.partition_index: p.leader_id for p in t.partitions}

    async def conn(self, node: int) -> BrokerConnection:
        c = self.conns.get(node)
        if c is None or c.closed:
            host, port = self.brokers[node]
            c = await BrokerConnection.connect(host, port, CLIENT_ID, self.timeout_ms)
            self.conns[node] = c
        return c

    async def coordinator(self, group: str) -> tuple[int, str, int]:
        assert self._boot is not None
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            resp = await self._boot.send(ApiKey.FIND_COORDINATOR, find_coordinator.API.request(key=group, key_type=0))
            if resp.error_code == 0:
                self.brokers[resp.node_id] = (resp.host, resp.port)
                return resp.node_id, resp.host, resp.port
            if not _retriable(resp.error_code) or time.monotonic() > deadline:
                raise RuntimeError(_error_text(resp.error_code))
            await asyncio.sleep(0.1)

    async def list_groups(self, with_state: bool = False) -> list[tuple[str, str]]:
        out: dict[str, str] = {}
        for node in sorted(self.brokers):
            conn = await self.conn(node)
            resp = await conn.send(ApiKey.LIST_GROUPS, list_groups.API.request(states_filter=[]))
            for g in resp.groups:
                if g.protocol_type in ("consumer", ""):
                    out[g.group_id] = g.group_state or ""
        return list(out.items())

    async def describe(self, group: str) -> GroupDescription:
        coordinator = await self.coordinator(group)
        conn = await self.conn(coordinator[0])
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            resp = await conn.send(ApiKey.DESCRIBE_GROUPS, describe_groups.API.request(
                groups=[group], include_authorized_operations=False))
            g = resp.groups[0]
            if g.error_code == ErrorCode.COORDINATOR_LOAD_IN_PROGRESS and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                continue
            if g.error_code != 0:
                raise RuntimeError(_error_text(g.error_code))
            break
        members = []
        for m in g.members:
            parts: tuple[TopicPartition, ...] = ()
            if g.protocol_type == "consumer" and m.member_assignment:
                try:
                    _v, a = decode_versioned(CONSUMER_PROTOCOL_ASSIGNMENT, m.member_assignment, accept_newer=True)
                    parts = tuple(TopicPartition(t.topic, p) for t in a.assigned_partitions for p in t.partitions)
                except ProtocolDecodeError:
                    parts = ()
            members.append(MemberInfo(m.member_id, m.client_host, m.client_id, parts))
        return GroupDescription(group, g.group_state, g.protocol_type, g.protocol_data, tuple(members), coordinator)

    async def committed(self, group: str) -> dict[TopicPartition, int]:
        node = (await self.coordinator(group))[0]
        conn = await self.conn(node)
        resp = await conn.send(ApiKey.OFFSET_FETCH, offset_fetch.API.request(group_id=group, topics=None,
                                                                             require_stable=False))
        if resp.error_code != 0:
            raise RuntimeError(_error_text(resp.error_code))
        return {TopicPartition(t.name, p.partition_index): p.committed_offset
                for t in resp.topics for p in t.partitions if p.committed_offset >= 0}

    async def list_offsets(self, tps: list[TopicPartition], timestamp: int) -> dict[TopicPartition, int | None]:
        missing = sorted({tp.topic for tp in tps if tp.topic not in self.partitions})
        if missing:
            await self.refresh_metadata(missing)
        by_leader: dict[int, list[TopicPartition]] = {}
        out: dict[TopicPartition, int | None] = {tp: None for tp in tps}
        for tp in tps:
            leader = self.partitions.get(tp.topic, {}).get(tp.partition, -1)
            if leader >= 0:
                by_leader.setdefault(leader, []).append(tp)
        Topic = list_offsets.API.request.struct("topics")
        Part = list_offsets.API.request.struct("topics", "partitions")
        for leader, parts in by_leader.items():
            topics: dict[str, list[Any]] = {}
            for tp in parts:
                topics.setdefault(tp.topic, []).append(Part(partition_index=tp.partition, timestamp=timestamp,
                                                            current_leader_epoch=-1, max_num_offsets=1))
            conn = await self.conn(leader)
            resp = await conn.send(ApiKey.LIST_OFFSETS, list_offsets.API.request(
                replica_id=-1, isolation_level=0, topics=[Topic(name=t, partitions=p) for t, p in topics.items()]),
                version=min(conn.negotiated_version(ApiKey.LIST_OFFSETS), 5))
            for t in resp.topics:
                for p in t.partitions:
                    if p.error_code == 0 and p.offset >= 0:
                        out[TopicPartition(t.name, p.partition_index)] = p.offset
        return out

    async def commit(self, group: str, offsets: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        node = (await self.coordinator(group))[0]
        conn = await self.conn(node)
        Topic = offset_commit.API.request.struct("topics")
        Part = offset_commit.API.request.struct("topics", "partitions")
        topics: dict[str, list[Any]] = {}
        for tp, off in sorted(offsets.items()):
            topics.setdefault(tp.topic, []).append(Part(partition_index=tp.partition, committed_offset=off,
                                                        committed_leader_epoch=-1, committed_metadata=""))
        resp = await conn.send(ApiKey.OFFSET_COMMIT, offset_commit.API.request(
            group_id=group, generation_id=-1, member_id="", group_instance_id=None,
            topics=[Topic(name=t, partitions=p) for t, p in topics.items()]))
        return {TopicPartition(t.name, p.partition_index): p.error_code for t in resp.topics for p in t.partitions}

    async def delete_groups(self, groups: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for g in groups:
            node = (await self.coordinator(g))[0]
            conn = await self.conn(node)
            resp = await conn.send(ApiKey.DELETE_GROUPS, delete_groups.API.request(groups_names=[g]))
            for r in resp.results:
                out[r.group_id] = r.error_code
        return out

    async def delete_offsets(self, group: str, tps: list[TopicPartition]) -> tuple[int, dict[TopicPartition, int]]:
        node = (await self.coordinator(group))[0]
        conn = await self.conn(node)
        Topic = offset_delete.API.request.struct("topics")
        Part = offset_delete.API.request.struct("topics", "partitions")
        topics: dict[str, list[Any]] = {}
        for tp in tps:
            topics.setdefault(tp.topic, []).append(Part(partition_index=tp.partition))
        resp = await conn.send(ApiKey.OFFSET_DELETE, offset_delete.API.request(
            group_id=group, topics=[Topic(name=t, partitions=p) for t, p in topics.items()]))
        return resp.error_code, {TopicPartition(t.name, p.partition_index): p.error_code
                                 for t in resp.topics for p in t.partitions}


# --------------------------------------------------------------------------- the command
@dataclass(frozen=True, slots=True)
class PartitionRow:
    group: str
    topic: str | None
    partition: int | None
    offset: int | None
    log_end_offset: int | None
    lag: int | None
    consumer_id: str | None
    host: str | None
    client_id: str | None


def _s(v: Any) -> str:
    return MISSING if v is None else str(v)


def _error_text(code: int) -> str:
    info = error_info(code)
    return info.message if info is not None else f"Unknown error code {code}"


def _retriable(code: int) -> bool:
    info = error_info(code)
    return info is not None and info.retriable


_M32 = 0xFFFFFFFF


def _tp_hash(tp: TopicPartition) -> int:
    """Java's TopicPartition.hashCode (as an unsigned 32-bit value)."""
    return (31 * (31 + tp.partition) + java_string_hashcode(tp.topic)) & _M32


def java_hashmap_order(keys: list[TopicPartition]) -> list[TopicPartition]:
    """Iteration order of a java.util.HashMap filled with `keys` in this order."""
    cap = 16
    while len(keys) > cap * 3 // 4:
        cap *= 2

    def bucket(tp: TopicPartition) -> int:
        h = _tp_hash(tp)
        return (h ^ (h >> 16)) & (cap - 1)
    return sorted(dict.fromkeys(keys), key=bucket)


def _scala_improve(h: int) -> int:
    h &= _M32
    h = (h + (~(h << 9) & _M32)) & _M32
    h ^= h >> 14
    h = (h + (h << 4)) & _M32
    return h ^ (h >> 10)


def scala_map_order(keys: list[TopicPartition]) -> list[TopicPartition]:
    """Iteration order of a Scala 2.13 immutable Map built from `keys` in this order
    (Map1..Map4 keep insertion order; larger maps are CHAMP tries: at each level the entries
    alone in their 5-bit slot first, by slot, then the sub-tries, by slot)."""
    keys = list(dict.fromkeys(keys))
    if len(keys) <= 4:
        return keys
    hashes = {k: _scala_improve(_tp_hash(k)) for k in keys}

    def walk(ks: list[TopicPartition], shift: int) -> list[TopicPartition]:
        if shift >= 32:
            return ks
        slots: dict[int, list[TopicPartition]] = {}
        for k in ks:
            slots.setdefault((hashes[k] >> shift) & 31, []).append(k)
        out = [v[0] for _slot, v in sorted(slots.items()) if len(v) == 1]
        for _slot, v in sorted(slots.items()):
            if len(v) > 1:
                out += walk(v, shift + 5)
        return out
    return walk(keys, 0)


def _java_exception_name(code: int) -> str:
    info = error_info(code)
    name = info.class_name if info is not None and info.class_name else "KafkaException"
    if name.endswith("Error"):
        name = name[:-5] + "Exception"
    return name


class ConsumerGroupCommand:
    def __init__(self, opts: Options, out: TextIO, err: TextIO) -> None:
        self.opts = opts
        self.out = out
        self.err = err
        self.admin = GroupAdmin(opts.value("bootstrap-server") or "", int(opts.value("timeout") or 5000))

    def print_error(self, msg: str) -> None:
        print(f"\nError: {msg}", file=self.out)

    async def group_ids(self) -> list[str]:
        if self.opts.has("all-groups"):
            return [g for g, _ in await self.admin.list_groups()]
        return self.opts.all("group")

    async def run(self) -> int:
        await self.admin.connect()
        try:
            o = self.opts
            if o.has("list"):
                await self.list_groups()
            elif o.has("describe"):
                await self.describe_groups()
            elif o.has("delete"):
                await self.delete_groups()
            elif o.has("reset-offsets"):
                await self.reset_offsets()
            else:
                await self.delete_offsets()
        finally:
            await self.admin.close()
        return 0

    # -------------------------------------------------------------- list
    async def list_groups(self) -> None:
        groups = await self.admin.list_groups()
        if not self.opts.has("state"):
            for g, _ in groups:
                print(g, file=self.out)
            return
        width = max([15] + [len(g) for g, _ in groups])
        print(f"{'GROUP'.ljust(width)} STATE", file=self.out)
        for g, state in groups:
            print(f"{g.ljust(width)} {state}", file=self.out)

    # -------------------------------------------------------------- describe
    def should_print(self, group: str, state: str | None, rows: int | None) -> bool:
        if rows is None:
            self.print_error(f"The consumer group '{group}' does not exist.")
            return False
        if state == "Dead":
            self.print_error(f"Consumer group '{group}' does not exist.")
        elif state == "Empty":
            print(f"\nConsumer group '{group}' has no active members.", file=self.err)
        elif state in ("PreparingRebalance", "CompletingRebalance"):
            print(f"\nWarning: Consumer group '{group}' is rebalancing.", file=self.err)
        return state != "Dead" and rows > 0

    async def collect_offsets(self, group: str) -> tuple[str, list[PartitionRow]]:
        desc = await self.admin.describe(group)
        committed = await self.admin.committed(group) if desc.state != "Dead" else {}
        rows: list[tuple[TopicPartition, int | None, str, str, str]] = []
        assigned: set[TopicPartition] = set()
        members = [m for m in desc.members if m.assignment]
        members.sort(key=lambda m: -len(m.assignment))
        for m in members:
            for tp in scala_map_order(sorted(m.assignment, key=lambda tp: tp.partition)):
                assigned.add(tp)
                rows.append((tp, committed.get(tp), m.consumer_id, m.host, m.client_id))
        for tp in java_hashmap_order(list(committed)):
            if tp not in assigned:
                rows.append((tp, committed[tp], MISSING, MISSING, MISSING))
        ends = await self.admin.list_offsets([r[0] for r in rows], -1) if rows else {}
        out = []
        for tp, off, cid, host, client in rows:
            leo = ends.get(tp)
            lag = leo - off if off is not None and off != -1 and leo is not None else None
            out.append(PartitionRow(group, tp.topic, tp.partition, off, leo, lag, cid, host, client))
        return desc.state, out

    async def describe_groups(self) -> None:
        o = self.opts
        groups = sorted(await self.group_ids())
        if o.has("members"):
            verbose = o.has("verbose")
            for g in groups:
                desc = await self.admin.describe(g)
                if not self.should_print(g, desc.state, len(desc.members)):
                    continue
                self.print_members(g, desc, verbose)
        elif o.has("state"):
            for g in groups:
                desc = await self.admin.describe(g)
                if not self.should_print(g, desc.state, 1):
                    continue
                node, host, port = desc.coordinator
                coordinator = f"{host}:{port} ({node})"
                w = max(25, len(coordinator))
                fmt = "\n{:<%d} {:<25} {:<20} {:<15} {}" % w
                self.out.write(fmt.format("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"))
                self.out.write(fmt.format(g, coordinator, desc.assignor, desc.state, len(desc.members)))
                self.out.write("\n")
        else:
            for g in groups:
                state, rows = await self.collect_offsets(g)
                if not self.should_print(g, state, len(rows)):
                    continue
                self.print_offsets(rows)

    def print_offsets(self, rows: list[PartitionRow]) -> None:
        gw = max([15] + [len(r.group) for r in rows])
        tw = max([15] + [len(_s(r.topic)) for r in rows])
        cw = max([15] + [len(_s(r.consumer_id)) for r in rows])
        hw = max([15] + [len(_s(r.host)) for r in rows])
        fmt = "{:<%d} {:<%d} {:<10} {:<15} {:<15} {:<15} {:<%d} {:<%d} {}" % (gw, tw, cw, hw)
        print("\n" + fmt.format("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG",
                                "CONSUMER-ID", "HOST", "CLIENT-ID"), file=self.out)
        for r in rows:
            print(fmt.format(r.group, _s(r.topic), _s(r.partition), _s(r.offset), _s(r.log_end_offset), _s(r.lag),
                             _s(r.consumer_id), _s(r.host), _s(r.client_id)), file=self.out)

    def print_members(self, group: str, desc: GroupDescription, verbose: bool) -> None:
        gw = max([15, len(group)])
        cw = max([15] + [len(m.consumer_id) for m in desc.members])
        hw = max([15] + [len(m.host) for m in desc.members])
        lw = max([15] + [len(m.client_id) for m in desc.members])
        fmt = "{:<%d} {:<%d} {:<%d} {:<%d} {:<15} " % (gw, cw, hw, lw)
        self.out.write("\n" + fmt.format("GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"))
        if verbose:
            self.out.write("ASSIGNMENT")
        self.out.write("\n")
        for m in desc.members:
            self.out.write(fmt.format(group, m.consumer_id, m.host, m.client_id, len(m.assignment)))
            if verbose:
                if not m.assignment:
                    self.out.write(MISSING)
                else:
                    by_topic: dict[str, list[int]] = {}
                    for tp in m.assignment:
                        by_topic.setdefault(tp.topic, []).append(tp.partition)
                    self.out.write(", ".join(sorted(f"{t}({','.join(str(p) for p in sorted(ps))})"
                                                    for t, ps in by_topic.items())))
            self.out.write("\n")

    # -------------------------------------------------------------- delete
    async def delete_groups(self) -> None:
        results = await self.admin.delete_groups(await self.group_ids())
        ok = [g for g, e in results.items() if e == 0]
        failed = {g: e for g, e in results.items() if e != 0}
        if not failed:
            print(f"Deletion of requested consumer groups ({', '.join(repr(g) for g in ok)}) was successful.",
                  file=self.out)
            return
        self.print_error("Deletion of some consumer groups failed:")
        for g, e in failed.items():
            print(f"* Group '{g}' could not be deleted due to: java.util.concurrent.ExecutionException: "
                  f"org.apache.kafka.common.errors.{_java_exception_name(e)}: {_error_text(e)}", file=self.out)
        if ok:
            print(f"\nThese consumer groups were deleted successfully: {', '.join(repr(g) for g in ok)}",
                  file=self.out)

    async def delete_offsets(self) -> None:
        group = self.opts.value("group") or ""
        tps: list[TopicPartition] = []
        for arg in self.opts.all("topic"):
            topic, _, parts = arg.partition(":")
            if parts:
                tps += [TopicPartition(topic, int(p)) for p in parts.split(",")]
            else:
                await self.admin.refresh_metadata([topic])
                tps += [TopicPartition(topic, p) for p in sorted(self.admin.partitions.get(topic, {}))]
        top, per = await self.admin.delete_offsets(group, tps)
        topics = ", ".join(self.opts.all("topic"))
        if top == 0:
            print(f"Request succeed for deleting offsets with topic {topics} group {group}", file=self.out)
        elif top == ErrorCode.INVALID_GROUP_ID:
            self.print_error(f"'{group}' is not valid.")
        elif top == ErrorCode.GROUP_ID_NOT_FOUND:
            self.print_error(f"'{group}' does not exist.")
        elif top == ErrorCode.NON_EMPTY_GROUP:
            self.print_error(f"Deleting offsets of a consumer group '{group}' is forbidden if the group is not empty.")
        else:
            info = error_info(top)
            self.print_error(f"Encounter some unknown error: {info.name if info is not None else top}")
        print("\n{:<30} {:<15} {:<15}".format("TOPIC", "PARTITION", "STATUS"), file=self.out)
        for tp in sorted(per or {tp: top for tp in tps}, key=lambda tp: tp.topic + str(tp.partition)):
            code = per.get(tp, top)
            status = "Successful" if code == 0 else f"Error: {_error_text(code)}"
            print("{:<30} {:<15} {:<15}".format(tp.topic, tp.partition, status), file=self.out)

    # -------------------------------------------------------------- reset
    async def reset_offsets(self) -> None:
        o = self.opts
        if not o.has("dry-run") and not o.has("execute"):
            print("WARN: No action will be performed as the --execute option is missing.In a future major release, "
                  "the default behavior of this command will be to prompt the user before executing the reset rather "
                  "than doing a dry run. You should add the --dry-run option explicitly if you are scripting this "
                  "command and want to keep the current default behavior without prompting.", file=self.err)
        results: dict[str, dict[TopicPartition, int]] = {}
        for group in await self.group_ids():
            desc = await self.admin.describe(group)
            if desc.state not in ("Empty", "Dead"):
                self.print_error(f"Assignments can only be reset if the group '{group}' is inactive, but the current "
                                 f"state is {desc.state}.")
                results[group] = {}
                continue
            planned = await self.prepare(group)
            planned = {tp: planned[tp] for tp in scala_map_order(list(planned))}
            if o.has("execute"):
                errors = await self.admin.commit(group, planned)
                bad = {tp: e for tp, e in errors.items() if e}
                if bad:
                    raise RuntimeError(_error_text(next(iter(bad.values()))))
            results[group] = planned
        if o.has("export"):
            single = len(o.all("group")) == 1
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            for g, plan in results.items():
                for tp, off in plan.items():
                    w.writerow([tp.topic, tp.partition, off] if single else [g, tp.topic, tp.partition, off])
            print(buf.getvalue(), file=self.out)
            return
        if results:
            print("\n{:<30} {:<30} {:<10} {:<15}".format("GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"), file=self.out)
        for g, plan in results.items():
            for tp, off in plan.items():
                print("{:<30} {:<30} {:<10} {:<15}".format(g, tp.topic, tp.partition, off), file=self.out)

    async def partitions_to_reset(self, group: str) -> list[TopicPartition]:
        o = self.opts
        if o.has("all-topics"):
            return java_hashmap_order(list(await self.admin.committed(group)))
        out: list[TopicPartition] = []
        for arg in o.all("topic"):
            topic, _, parts = arg.partition(":")
            if parts:
                out += [TopicPartition(topic, int(p)) for p in parts.split(",")]
            else:
                await self.admin.refresh_metadata([topic])
                out += [TopicPartition(topic, p) for p in sorted(self.admin.partitions.get(topic, {}))]
        return out

    async def check_range(self, requested: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
        tps = list(requested)
        starts = await self.admin.list_offsets(tps, -2)
        ends = await self.admin.list_offsets(tps, -1)
        out = {}
        for tp, off in requested.items():
            end, start = ends.get(tp), starts.get(tp)
            if end is not None and off > end:
                off = end
            elif start is not None and off < start:
                off = start
            out[tp] = off
        return out

    async def prepare(self, group: str) -> dict[TopicPartition, int]:
        o = self.opts
        if o.has("from-file"):
            return await self.check_range(self.plan_from_file(group))
        tps = await self.partitions_to_reset(group)
        if o.has("to-offset"):
            return await self.check_range({tp: int(o.value("to-offset") or 0) for tp in tps})
        if o.has("to-earliest") or o.has("to-latest"):
            ts = -2 if o.has("to-earliest") else -1
            found = await self.admin.list_offsets(tps, ts)
            for tp in tps:
                if found.get(tp) is None:
                    which = "starting" if ts == -2 else "ending"
                    raise UsageError(f"Error getting {which} offset of topic partition: {tp.topic}-{tp.partition}")
            return {tp: found[tp] for tp in tps}   # type: ignore[misc]
        if o.has("shift-by"):
            current = await self.admin.committed(group)
            shift = int(o.value("shift-by") or 0)
            requested = {}
            for tp in tps:
                if tp not in current:
                    raise RuntimeError(f"Cannot shift offset for partition {tp.topic}-{tp.partition} since there is "
                                       f"no current committed offset")
                requested[tp] = current[tp] + shift
            return await self.check_range(requested)
        if o.has("to-datetime") or o.has("by-duration"):
            if o.has("to-datetime"):
                ts = parse_datetime(o.value("to-datetime") or "")
            else:
                ts = int(time.time() * 1000) - parse_duration_ms(o.value("by-duration") or "")
            found = await self.admin.list_offsets(tps, ts)
            latest = await self.admin.list_offsets([tp for tp in tps if found.get(tp) is None], -1)
            found.update({tp: v for tp, v in latest.items() if v is not None})
            return {tp: found[tp] for tp in tps if found.get(tp) is not None}   # type: ignore[misc]
        current = await self.admin.committed(group)      # --to-current
        ends = await self.admin.list_offsets([tp for tp in tps if tp not in current], -1)
        return {tp: current[tp] if tp in current else ends[tp] for tp in tps}   # type: ignore[misc]

    def plan_from_file(self, group: str) -> dict[TopicPartition, int]:
        path = self.opts.value("from-file") or ""
        with open(path, encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r]
        plan: dict[TopicPartition, int] = {}
        single = len(self.opts.all("group")) == 1
        for r in rows:
            if single and len(r) == 3:
                plan[TopicPartition(r[0], int(r[1]))] = int(r[2])
            elif len(r) == 4 and r[0] == group:
                plan[TopicPartition(r[1], int(r[2]))] = int(r[3])
        if not plan:
            self.print_error(f"No reset plan for group {group} found")
        return plan


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = out or sys.stdout
    err = err or sys.stderr
    if not argv or "--help" in argv:
        print("This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, "
              "or reset consumer group offsets.", file=err)
        print(usage_text(), file=err)
        return 1 if not argv else 0
    try:
        opts = parse_args(argv)
        check_args(opts)
    except UsageError as exc:
        print(str(exc), file=err)
        print(usage_text(), file=err)
        return 1
    command = ConsumerGroupCommand(opts, out, err)
    try:
        return asyncio.run(command.run())
    except UsageError as exc:
        print(str(exc), file=err)
        print(usage_text(), file=err)
        return 1
    except Exception as exc:   # Kafka prints the failure and exits 1
        print(f"\nError: Executing consumer group command failed due to {exc}", file=out)
        return 1


if __name__ == "__main__":
    sys.exit(main())
