"""kafka-console-consumer.sh and kafka-consumer-perf-test.sh in consumer groups (subprocesses
against a kafkapy broker): members split a topic (one member of three owns nothing and must not
fail), offsets are committed on exit and seen by kafka-consumer-groups.sh, --from-beginning does
not rewind a group with committed offsets, the legacy --zookeeper mode commits under
/consumers/<g>/offsets, and bad option combinations exit 1 with one line and the usage."""
from __future__ import annotations

import asyncio
import io
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from kafkapy.testing.broker import BrokerProcess, create_topic, wait_for_leaders
from kafkapy.tools import console_consumer

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parents[3]
BIN = REPO / "bin"


def tool(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / name), *args], capture_output=True, timeout=timeout)


def new_topic(broker: BrokerProcess, prefix: str, partitions: int) -> str:
    topic = f"{prefix}-{uuid.uuid4().hex[:6]}"
    create_topic(broker.zookeeper_connect, topic, partitions)
    wait_for_leaders(broker.bootstrap, topic, partitions)
    return topic


def produce(bootstrap: str, topic: str, per_partition: dict[int, list[bytes]]) -> None:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for partition, values in per_partition.items():
        for v in values:
            p.produce(topic, value=v, partition=partition)
    assert p.flush(30) == 0


def members(bootstrap: str, group: str) -> list[int]:
    """#PARTITIONS of each member of `group` (kafka-consumer-groups.sh --describe --members)."""
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", bootstrap, "--describe", "--group", group,
             "--members")
    lines = [line.split() for line in r.stdout.decode().splitlines() if line.strip()]
    return sorted(int(row[-1]) for row in lines[1:] if row and row[0] == group)


def offsets(bootstrap: str, group: str) -> tuple[list[list[str]], str]:
    """(rows of kafka-consumer-groups.sh --describe --group, its stderr): GROUP TOPIC PARTITION
    CURRENT-OFFSET LOG-END-OFFSET LAG ..."""
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", bootstrap, "--describe", "--group", group)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.decode().splitlines()]
    return [row for row in rows if row and row[0] == group], r.stderr.decode()


def wait_for(predicate, what: str, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def test_group_members_split_commit_and_resume(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "cg", 2)
    group = f"cg-{uuid.uuid4().hex[:6]}"
    cmd = [str(BIN / "kafka-console-consumer.sh"), "--bootstrap-server", broker.bootstrap, "--topic", topic,
           "--group", group, "--from-beginning", "--timeout-ms", "15000", "--property", "print.partition=true",
           "--consumer-property", "heartbeat.interval.ms=300", "--consumer-property", "session.timeout.ms=6000"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    try:
        # Three members on two partitions: two own one each, the third owns nothing and keeps polling.
        wait_for(lambda: members(broker.bootstrap, group) == [0, 1, 1], "a stable group of 3 members")
        values = {p: [b"p%d-%03d" % (p, i) for i in range(50)] for p in (0, 1)}
        produce(broker.bootstrap, topic, values)
        outs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert [proc.returncode for proc in procs] == [0, 0, 0], [e.decode()[-2000:] for _, e in outs]
    printed = [out.decode().splitlines() for out, _ in outs]
    everything = [line for lines in printed for line in lines]
    expected = sorted(f"Partition:{p}\t{v.decode()}" for p, vs in values.items() for v in vs)
    assert sorted(everything) == expected                        # every record exactly once
    per_member = sorted(sorted({line.split("\t")[0] for line in lines}) for lines in printed)
    assert per_member == [[], ["Partition:0"], ["Partition:1"]]  # split, one idle member
    for (_, err), lines in zip(outs, printed):
        assert err.decode().endswith(f"Processed a total of {len(lines)} messages\n")

    # Committed on exit: lag 0 on both partitions, no member left.
    rows, err = offsets(broker.bootstrap, group)
    assert f"Consumer group '{group}' has no active members." in err
    assert sorted((row[1], row[2], row[3], row[4], row[5]) for row in rows) == [
        (topic, "0", "50", "50", "0"), (topic, "1", "50", "50", "0")]

    # --from-beginning does not rewind a group that has committed offsets: only new records appear.
    produce(broker.bootstrap, topic, {0: [b"late-0"], 1: [b"late-1"]})
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--topic", topic,
             "--group", group, "--from-beginning", "--timeout-ms", "4000")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.decode().splitlines()) == ["late-0", "late-1"]
    assert r.stderr.decode() == "Processed a total of 2 messages\n"


def test_group_from_consumer_property_and_config_and_whitelist(broker: BrokerProcess, tmp_path: Path) -> None:
    a = new_topic(broker, "wl-a", 1)
    b = a.replace("wl-a", "wl-b")
    create_topic(broker.zookeeper_connect, b, 1)
    wait_for_leaders(broker.bootstrap, b, 1)
    produce(broker.bootstrap, a, {0: [b"a1", b"a2"]})
    produce(broker.bootstrap, b, {0: [b"b1"]})
    group = f"wl-{uuid.uuid4().hex[:6]}"
    suffix = a.split("-")[-1]
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--whitelist",
             f"wl-a-{suffix}, wl-b-{suffix}", "--consumer-property", f"group.id={group}", "--from-beginning",
             "--max-messages", "3", "--timeout-ms", "20000")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.decode().splitlines()) == ["a1", "a2", "b1"]
    # The same group through --consumer.config: everything is committed, nothing left to print.
    cfg = tmp_path / "consumer.properties"
    cfg.write_text(f"group.id={group}\n")
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--topic", a,
             "--consumer.config", str(cfg), "--from-beginning", "--timeout-ms", "3000")
    assert (r.returncode, r.stdout, r.stderr.decode()) == (0, b"", "Processed a total of 0 messages\n")
    rows = sorted((row[1], row[3], row[5]) for row in offsets(broker.bootstrap, group)[0])
    assert rows == [(a, "2", "0"), (b, "1", "0")]


def test_without_a_group_nothing_is_committed(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "nogroup", 2)
    produce(broker.bootstrap, topic, {0: [b"x"], 1: [b"y"]})
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap, "--topic", topic,
             "--from-beginning", "--max-messages", "2", "--timeout-ms", "20000")
    assert r.returncode == 0 and sorted(r.stdout.decode().split()) == ["x", "y"]
    r = tool("kafka-consumer-groups.sh", "--bootstrap-server", broker.bootstrap, "--list")
    groups = [g for g in r.stdout.decode().split() if g.startswith("console-consumer-")]
    assert groups, r.stdout                                         # the throwaway group was used
    for g in groups:
        d = tool("kafka-consumer-groups.sh", "--bootstrap-server", broker.bootstrap, "--describe", "--group", g)
        assert topic not in d.stdout.decode()                       # ...and committed nothing


def _zk_children_data(connect: str, path: str) -> dict[str, bytes]:
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoNodeError
    zk = KazooClient(hosts=connect)
    zk.start(timeout=15)
    try:
        try:
            return {c: zk.get(f"{path}/{c}")[0] for c in zk.get_children(path)}
        except NoNodeError:
            return {}
    finally:
        zk.stop()
        zk.close()


def test_legacy_zookeeper_mode(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "zkc", 2)
    produce(broker.bootstrap, topic, {0: [b"z0-%d" % i for i in range(4)], 1: [b"z1-%d" % i for i in range(3)]})
    group = f"zk-{uuid.uuid4().hex[:6]}"
    zk = broker.zookeeper_connect
    r = tool("kafka-console-consumer.sh", "--zookeeper", zk, "--topic", topic, "--from-beginning", "--group", group,
             "--max-messages", "7", "--timeout-ms", "30000")
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.decode().splitlines()) == sorted([f"z0-{i}" for i in range(4)] +
                                                            [f"z1-{i}" for i in range(3)])
    assert r.stderr.decode() == console_consumer.LEGACY_WARNING + "\nProcessed a total of 7 messages\n"
    assert _zk_children_data(zk, f"/consumers/{group}/offsets/{topic}") == {"0": b"4", "1": b"3"}
    # Kafka 1.x refuses --from-beginning over existing ZooKeeper offsets...
    r = tool("kafka-console-consumer.sh", "--zookeeper", zk, "--topic", topic, "--from-beginning", "--group", group,
             "--timeout-ms", "3000")
    assert r.returncode == 1
    assert r.stderr.decode().splitlines()[1] == (f"Found previous offset information for this group {group}. Please "
                                                 "use --delete-consumer-offsets to delete previous offsets metadata")
    # ...but resumes from them without it.
    produce(broker.bootstrap, topic, {1: [b"z1-late"]})
    r = tool("kafka-console-consumer.sh", "--zookeeper", zk, "--topic", topic, "--group", group,
             "--max-messages", "1", "--timeout-ms", "30000")
    assert (r.returncode, r.stdout) == (0, b"z1-late\n"), r.stderr
    assert _zk_children_data(zk, f"/consumers/{group}/offsets/{topic}") == {"0": b"4", "1": b"4"}


@pytest.mark.parametrize("argv,first", [
    (["--bootstrap-server", "h:1", "--topic", "t", "--group", "g", "--partition", "0"],
     "Options group and partition cannot be specified together."),
    (["--bootstrap-server", "h:1", "--topic", "t", "--group", "g", "--offset", "3"],
     "The partition is required when offset is specified."),
    (["--bootstrap-server", "h:1", "--topic", "t", "--group", "g", "--consumer-property", "group.id=h"],
     "The group ids provided in different places (directly using '--group', via '--consumer-property', or via "
     "'--consumer.config') do not match. Detected group ids: 'g', 'h'"),
    (["--bootstrap-server", "h:1", "--topic", "t", "--consumer-property", "group.id=g", "--partition", "1"],
     "Options group and partition cannot be specified together."),
    (["--bootstrap-server", "h:1", "--topic", "t", "--whitelist", "x.*", "--group", "g"],
     "Exactly one of whitelist/topic is required."),
    (["--zookeeper", "h:2181", "--bootstrap-server", "h:1", "--topic", "t"],
     "Option [bootstrap-server] is not valid with [zookeeper]."),
])
def test_bad_combinations(argv: list[str], first: str) -> None:
    err = io.StringIO()
    assert asyncio.run(console_consumer.run(argv, io.BytesIO(), err)) == 1
    lines = err.getvalue().splitlines()
    assert lines[0] == first
    assert lines[1].startswith("Option") and "--group" in err.getvalue()     # then the usage table


def test_group_ids_from_three_places_must_agree(tmp_path: Path) -> None:
    cfg = tmp_path / "consumer.properties"
    cfg.write_text("group.id=f\n")
    err = io.StringIO()
    argv = ["--bootstrap-server", "h:1", "--topic", "t", "--group", "g", "--consumer-property", "group.id=h",
            "--consumer.config", str(cfg)]
    assert asyncio.run(console_consumer.run(argv, io.BytesIO(), err)) == 1
    # Kafka 2.8.2's ConsoleConsumer lists them as --group, the config file, then --consumer-property.
    assert err.getvalue().splitlines()[0].endswith("Detected group ids: 'g', 'f', 'h'")


def test_bad_combination_subprocess_and_reset_conflict() -> None:
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", "127.0.0.1:1", "--topic", "t", "--group", "g",
             "--partition", "0")
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode().startswith("Options group and partition cannot be specified together.\nOption")
    r = tool("kafka-console-consumer.sh", "--bootstrap-server", "127.0.0.1:1", "--topic", "t", "--from-beginning",
             "--consumer-property", "auto.offset.reset=latest")
    assert (r.returncode, r.stderr.decode()) == (1, "Can't simultaneously specify --from-beginning and "
                                                    "'auto.offset.reset=latest', please remove one option\n")


def test_perf_test_joins_its_group_and_commits(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "perf", 2)
    produce(broker.bootstrap, topic, {0: [b"v" * 100] * 300, 1: [b"w" * 100] * 200})
    group = f"perf-{uuid.uuid4().hex[:6]}"
    r = tool("kafka-consumer-perf-test.sh", "--bootstrap-server", broker.bootstrap, "--topic", topic,
             "--messages", "500", "--group", group, "--timeout", "30000")
    assert r.returncode == 0, r.stderr
    header, line = r.stdout.decode().splitlines()
    cols = dict(zip(header.split(", "), line.split(", ")))
    assert cols["data.consumed.in.nMsg"] == "500"
    assert int(cols["rebalance.time.ms"]) > 0                      # the group join is timed on its own
    rows = sorted((row[2], row[3], row[5]) for row in offsets(broker.bootstrap, group)[0])
    assert rows == [("0", "300", "0"), ("1", "200", "0")]
