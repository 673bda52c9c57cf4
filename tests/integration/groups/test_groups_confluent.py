"""confluent-kafka consumer groups against a kafkapy broker subprocess.

Three consumers on a 6-partition topic must get disjoint assignments that cover every
partition; a fourth joining, one closing (LeaveGroup) and one SIGKILLed in a subprocess
(removed after its session timeout) each lead to a new complete, disjoint assignment. Records
produced throughout are all consumed; consumers commit after processing, so a member that dies
loses nothing (its uncommitted records are read again by the others).
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from kafkapy.testing.broker import BrokerProcess, create_topic, wait_for_leaders
from kafkapy.tools.consumer_groups import main

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PARTITIONS = 6
SESSION_TIMEOUT_MS = 4000
GROUP_OVERRIDES = {
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "offsets.topic.num.partitions": 5,
}


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory):
    chroot = f"{zookeeper.connect_string}/kafkapy-groups-{uuid.uuid4().hex[:10]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker-groups"), chroot, broker_id=0, overrides=GROUP_OVERRIDES)
    b.start()
    yield b
    code = b.stop()
    assert code == 0, b.log_tail()


def new_topic(broker: BrokerProcess, name: str, partitions: int = PARTITIONS) -> str:
    topic = f"{name}-{uuid.uuid4().hex[:6]}"
    create_topic(broker.zookeeper_connect, topic, partitions)
    wait_for_leaders(broker.bootstrap, topic, partitions)
    return topic


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for v in values:
        while True:
            try:
                p.produce(topic, value=v, key=v)
                break
            except BufferError:
                p.poll(0.1)
    assert p.flush(30) == 0


def consumer(bootstrap: str, group: str, topic: str, name: str):
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": name,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "session.timeout.ms": SESSION_TIMEOUT_MS, "heartbeat.interval.ms": 500,
                  "topic.metadata.refresh.interval.ms": 2000})
    c.subscribe([topic])
    return c


def poll_round(consumers: list, seen: set[bytes]) -> None:
    for c in consumers:
        msg = c.poll(0.05)
        if msg is None:
            continue
        if msg.error():
            continue
        seen.add(msg.value())
        c.commit(message=msg, asynchronous=False)


def assignment_of(c) -> set[int]:
    return {tp.partition for tp in c.assignment()}


def wait_balanced(consumers: list, seen: set[bytes], expected_members: int, timeout_s: float = 60.0) -> list[set[int]]:
    deadline = time.monotonic() + timeout_s
    last: list[set[int]] = []
    stable_since = None
    while time.monotonic() < deadline:
        poll_round(consumers, seen)
        last = [assignment_of(c) for c in consumers]
        union = set().union(*last)
        disjoint = sum(len(a) for a in last) == len(union)
        ok = union == set(range(PARTITIONS)) and disjoint and \
            sum(1 for a in last if a) == min(expected_members, PARTITIONS)
        if ok:
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since > 1.0:
                return last
        else:
            stable_since = None
    raise AssertionError(f"no complete disjoint assignment over {expected_members} members: {last}")


def drain(consumers: list, seen: set[bytes], want: set[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not want <= seen:
        poll_round(consumers, seen)
    missing = want - seen
    assert not missing, f"{len(missing)} records never consumed, e.g. {sorted(missing)[:5]}"


CHILD = textwrap.dedent("""
    import sys
    from confluent_kafka import Consumer
    bootstrap, group, topic = sys.argv[1:4]
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": "doomed",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "session.timeout.ms": %d, "heartbeat.interval.ms": 500})
    c.subscribe([topic])
    announced = False
    while True:
        c.poll(0.1)
        if c.assignment() and not announced:
            print("ASSIGNED", ",".join(str(tp.partition) for tp in c.assignment()), flush=True)
            announced = True
""" % SESSION_TIMEOUT_MS)


def test_three_consumers_join_leave_and_die(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "grp")
    group = f"g-{uuid.uuid4().hex[:6]}"
    produced: set[bytes] = set()
    seen: set[bytes] = set()

    def produce_more(n: int) -> None:
        values = [b"v-%06d" % (len(produced) + i) for i in range(n)]
        produce(broker.bootstrap, topic, values)
        produced.update(values)

    produce_more(600)
    members = [consumer(broker.bootstrap, group, topic, f"c{i}") for i in range(3)]
    try:
        got = wait_balanced(members, seen, 3)
        assert all(len(a) == 2 for a in got), got
        drain(members, seen, produced)

        # A fourth member joins.
        members.append(consumer(broker.bootstrap, group, topic, "c3"))
        produce_more(300)
        wait_balanced(members, seen, 4)
        drain(members, seen, produced)

        # One leaves cleanly (LeaveGroup).
        members.pop(0).close()
        produce_more(300)
        wait_balanced(members, seen, 3)
        drain(members, seen, produced)

        # One dies without leaving: a subprocess member SIGKILLed after it got partitions.
        child = subprocess.Popen([sys.executable, "-c", CHILD, broker.bootstrap, group, topic],
                                 stdout=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            line = ""
            os.set_blocking(child.stdout.fileno(), False)
            while time.monotonic() < deadline and not line.startswith("ASSIGNED"):
                poll_round(members, seen)
                line = child.stdout.readline() or line
            assert line.startswith("ASSIGNED"), "the subprocess member never got an assignment"
            produce_more(300)   # some of these land on the doomed member's partitions
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
        wait_balanced(members, seen, 3, timeout_s=90)
        produce_more(300)
        drain(members, seen, produced)
    finally:
        for c in members:
            c.close()
    assert produced <= seen


def test_static_member_restart_keeps_assignment_without_rebalance(broker: BrokerProcess) -> None:
    from confluent_kafka import Consumer

    topic = new_topic(broker, "static", 4)
    group = f"static-{uuid.uuid4().hex[:6]}"

    revocations: dict[str, int] = {"inst-a": 0, "inst-b": 0}

    def static(instance: str):
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "group.instance.id": instance,
                      "session.timeout.ms": 30000, "heartbeat.interval.ms": 500, "auto.offset.reset": "earliest"})

        def on_revoke(consumer, partitions) -> None:
            if partitions:
                revocations[instance] += 1
        c.subscribe([topic], on_revoke=on_revoke)
        return c

    a, b = static("inst-a"), static("inst-b")
    seen: set[bytes] = set()
    try:
        got = wait_balanced_n([a, b], seen, 2)
        for _ in range(20):             # let the first rebalance settle
            poll_round([a, b], seen)
        before = revocations["inst-a"]
        b.close()                       # a static member leaves no LeaveGroup behind
        b = static("inst-b")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and assignment_of(b) != got[1]:
            poll_round([a, b], seen)
        assert assignment_of(b) == got[1] and assignment_of(a) == got[0]
        for _ in range(20):
            poll_round([a, b], seen)
        assert revocations["inst-a"] == before, "the returning static member caused a rebalance"
        out = io.StringIO()
        assert main(["--bootstrap-server", broker.bootstrap, "--describe", "--group", group, "--state"], out,
                    io.StringIO()) == 0
        assert "Stable" in out.getvalue()
    finally:
        a.close()
        b.close()


def wait_balanced_n(consumers: list, seen: set[bytes], n: int, partitions: int = 4) -> list[set[int]]:
    deadline = time.monotonic() + 60
    last: list[set[int]] = []
    while time.monotonic() < deadline:
        poll_round(consumers, seen)
        last = [assignment_of(c) for c in consumers]
        if set().union(*last) == set(range(partitions)) and sum(map(len, last)) == partitions and all(last):
            return last
    raise AssertionError(f"no complete assignment over {n} members: {last}")
