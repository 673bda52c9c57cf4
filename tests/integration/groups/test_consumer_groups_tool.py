"""kafka-consumer-groups.sh against a kafkapy broker: lag while a consumer is behind, reset to
earliest (a restarted group re-reads everything), members/state views, delete, bad arguments."""
from __future__ import annotations

import io
import subprocess
import time
import uuid

import pytest

from kafkapy.testing.broker import REPO_ROOT, BrokerProcess
from kafkapy.common.types import TopicPartition as KTopicPartition
from kafkapy.tools.consumer_groups import java_hashmap_order, main

from .test_groups_confluent import GROUP_OVERRIDES, new_topic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory):
    chroot = f"{zookeeper.connect_string}/kafkapy-cgtool-{uuid.uuid4().hex[:10]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker-cgtool"), chroot, broker_id=0, overrides=GROUP_OVERRIDES)
    b.start()
    yield b
    code = b.stop()
    assert code == 0, b.log_tail()


def tool(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out, err)
    return code, out.getvalue(), err.getvalue()


def produce_to(bootstrap: str, topic: str, partition: int, n: int) -> None:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(n):
        p.produce(topic, value=b"%d-%d" % (partition, i), partition=partition)
    assert p.flush(30) == 0


def wait_for(predicate, what: str, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def test_describe_lag_reset_and_reread(broker: BrokerProcess) -> None:
    from confluent_kafka import Consumer, TopicPartition

    topic = new_topic(broker, "cg", 2)
    group = f"tool-{uuid.uuid4().hex[:6]}"
    produce_to(broker.bootstrap, topic, 0, 50)
    produce_to(broker.bootstrap, topic, 1, 50)
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "client.id": "lagging",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    c.subscribe([topic])
    try:
        wait_for(lambda: (c.poll(0.1), len(c.assignment()) == 2)[1], "an assignment")
        c.commit(offsets=[TopicPartition(topic, 0, 10), TopicPartition(topic, 1, 20)], asynchronous=False)

        def described():
            code, out, _err = tool("--bootstrap-server", broker.bootstrap, "--describe", "--group", group)
            c.poll(0.05)
            return out if code == 0 and "lagging" in out else None
        out = wait_for(described, "a describe with the consumer's rows")
        lines = out.strip("\n").split("\n")
        header, rows = lines[0], [line.split() for line in lines[1:]]
        member_id = rows[0][6]
        gw, tw, cw = max(15, len(group)), max(15, len(topic)), max(15, len(member_id))
        assert header == (f"{'GROUP':<{gw}} {'TOPIC':<{tw}} {'PARTITION':<10} {'CURRENT-OFFSET':<15} "
                          f"{'LOG-END-OFFSET':<15} {'LAG':<15} {'CONSUMER-ID':<{cw}} {'HOST':<15} CLIENT-ID")
        assert [r[:6] for r in rows] == [[group, topic, "0", "10", "50", "40"], [group, topic, "1", "20", "50", "30"]]
        assert all(r[7] == "/127.0.0.1" and r[8] == "lagging" for r in rows)

        code, out, _ = tool("--bootstrap-server", broker.bootstrap, "--describe", "--group", group, "--members",
                            "--verbose")
        assert code == 0 and f"{topic}(0,1)" in out and " 2 " in out.split("\n")[2]
        code, out, _ = tool("--bootstrap-server", broker.bootstrap, "--describe", "--group", group, "--state")
        assert code == 0 and "Stable" in out and "range" in out
        code, out, _ = tool("--bootstrap-server", broker.bootstrap, "--reset-offsets", "--to-earliest",
                            "--topic", topic, "--group", group, "--execute")
        assert "Assignments can only be reset if the group" in out and "current state is Stable" in out
    finally:
        c.close()

    code, out, err = tool("--bootstrap-server", broker.bootstrap, "--describe", "--group", group)
    assert code == 0 and f"Consumer group '{group}' has no active members." in err
    rows = [line.split() for line in out.strip("\n").split("\n")[1:]]
    expected = {0: [group, topic, "0", "10", "50", "40", "-", "-", "-"],
                1: [group, topic, "1", "20", "50", "30", "-", "-", "-"]}
    order = java_hashmap_order([KTopicPartition(topic, 0), KTopicPartition(topic, 1)])   # Kafka's row order
    assert [r[:9] for r in rows] == [expected[tp.partition] for tp in order]

    code, out, err = tool("--bootstrap-server", broker.bootstrap, "--reset-offsets", "--to-earliest", "--topic",
                          topic, "--group", group, "--dry-run")
    assert code == 0 and [line.split() for line in out.strip().split("\n")[1:]] == [
        [group, topic, "0", "0"], [group, topic, "1", "0"]]
    code, _out, _ = tool("--bootstrap-server", broker.bootstrap, "--describe", "--group", group)
    assert " 10 " in _out       # a dry run changes nothing
    code, out, _ = tool("--bootstrap-server", broker.bootstrap, "--reset-offsets", "--to-earliest", "--topic",
                        topic, "--group", group, "--execute")
    assert code == 0 and out.split("\n")[1].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]

    # The restarted group (auto.offset.reset=latest, so only committed offsets can make it read) re-reads all.
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "latest"})
    c.subscribe([topic])
    seen: set[bytes] = set()
    try:
        def read_all():
            m = c.poll(0.2)
            if m is not None and not m.error():
                seen.add(m.value())
            return len(seen) == 100
        wait_for(read_all, "all 100 records re-read")
    finally:
        c.close()

    code, out, _ = tool("--bootstrap-server", broker.bootstrap, "--list")
    assert code == 0 and group in out.split("\n")
    code, out, _ = tool("--bootstrap-server", broker.bootstrap, "--reset-offsets", "--shift-by", "-5", "--topic",
                        f"{topic}:1", "--group", group, "--execute")
    assert code == 0 and out.strip().split("\n")[-1].split() == [group, topic, "1", "0"]   # clamped at the start
    code, out, _ = tool("--bootstrap-server", broker.bootstrap, "--delete-offsets", "--group", group, "--topic",
                        f"{topic}:1")
    assert code == 0 and "Request succeed for deleting offsets" in out and "Successful" in out
    code, out, _ = tool("--bootstrap-server", broker.bootstrap, "--delete", "--group", group)
    assert code == 0 and out.strip() == f"Deletion of requested consumer groups ('{group}') was successful."
    code, out, _ = tool("--bootstrap-server", broker.bootstrap, "--describe", "--group", group)
    assert f"Error: Consumer group '{group}' does not exist." in out


def test_bad_arguments_and_script() -> None:
    code, out, err = tool("--describe", "--group", "g")
    assert code == 1 and out == "" and err.split("\n")[0] == 'Missing required argument "[bootstrap-server]"'
    code, _out, err = tool("--bootstrap-server", "h:1", "--list", "--describe")
    assert code == 1 and err.startswith("Command must include exactly one action")
    code, _out, err = tool("--bootstrap-server", "h:1", "--reset-offsets", "--group", "g", "--topic", "t")
    assert code == 1 and "takes exactly one of these options" in err.split("\n")[0]
    code, _out, err = tool("--bootstrap-server", "h:1", "--list", "--bogus")
    assert code == 1 and err.split("\n")[0] == "bogus is not a recognized option"
    proc = subprocess.run([str(REPO_ROOT / "bin" / "kafka-consumer-groups.sh"), "--list"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.startswith('Missing required argument "[bootstrap-server]"')
