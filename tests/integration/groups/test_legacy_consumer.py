"""The 0.8 high-level consumer (ZooKeeper coordination): three members split a topic through
``/consumers/<g>/owners``, consume everything, commit to ``/consumers/<g>/offsets``, and the
survivors take over when one member (a subprocess) is SIGKILLed and its session expires."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from kafkapy.clients.legacy import (
    ZookeeperConsumerConnector,
    java_string_hashcode,
    range_assignment,
    roundrobin_assignment,
)
from kafkapy.common.types import TopicPartition
from kafkapy.testing.broker import REPO_ROOT, BrokerProcess

from .test_groups_confluent import new_topic, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
PARTITIONS = 6


def test_legacy_assignors_documented_examples() -> None:
    # range: 5 partitions, A with 2 streams, B with 1 -> A-0 {0,1}, A-1 {2,3}, B-0 {4}
    got = range_assignment({"t": ["B-0", "A-0", "A-1"]}, {"t": [0, 1, 2, 3, 4]})
    assert got == {TopicPartition("t", p): th for p, th in [(0, "A-0"), (1, "A-0"), (2, "A-1"), (3, "A-1"),
                                                             (4, "B-0")]}
    # roundrobin (1.x): a (3 partitions), b (2); c1, c2 with one stream each on both.
    got = roundrobin_assignment({"a": ["c1-0", "c2-0"], "b": ["c1-0", "c2-0"]}, {"a": [0, 1, 2], "b": [0, 1]})
    assert [got[TopicPartition(t, p)] for t, p in [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]] == \
        ["c1-0", "c2-0", "c1-0", "c2-0", "c1-0"]
    assert java_string_hashcode("a-0") < java_string_hashcode("b-1")


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory):
    chroot = f"{zookeeper.connect_string}/kafkapy-legacy-{uuid.uuid4().hex[:10]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker-legacy"), chroot, broker_id=0)
    b.start()
    yield b
    code = b.stop()
    assert code == 0, b.log_tail()


CHILD = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, sys.argv[4])
    from kafkapy.clients.legacy import ZookeeperConsumerConnector
    async def main():
        c = ZookeeperConsumerConnector({"zookeeper.connect": sys.argv[1], "group.id": sys.argv[2],
                                        "consumer.id": "doomed", "zookeeper.session.timeout.ms": 3000,
                                        "auto.offset.reset": "smallest", "auto.commit.enable": False,
                                        "rebalance.backoff.ms": 500},
                                       {sys.argv[3]: 1})
        await c.start()
        announced = False
        while True:
            await c.poll(100)
            if c.owned and not announced:
                print("OWNS", len(c.owned), flush=True)
                announced = True
    asyncio.run(main())
""")


def test_three_legacy_members_split_and_survive_a_death(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "legacy", PARTITIONS)
    group = f"lg-{uuid.uuid4().hex[:6]}"
    values = {b"l-%05d" % i for i in range(600)}
    produce(broker.bootstrap, topic, sorted(values))
    zk = broker.zookeeper_connect

    def connector(name: str) -> ZookeeperConsumerConnector:
        return ZookeeperConsumerConnector({"zookeeper.connect": zk, "group.id": group, "consumer.id": name,
                                           "auto.offset.reset": "smallest", "auto.commit.enable": False,
                                           "zookeeper.session.timeout.ms": 6000, "rebalance.backoff.ms": 500,
                                           "rebalance.max.retries": 10}, {topic: 1})

    async def settle(members: list[ZookeeperConsumerConnector], n_members: int, seen: set[bytes],
                     timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for m in members:
                seen.update(r.value for r in await m.poll(20))
            owned = [set(m.owned) for m in members]
            owners = await owners_in_zk(members[0])
            if sum(map(len, owned)) == PARTITIONS and len(set().union(*owned)) == PARTITIONS and \
                    all(len(o) == PARTITIONS // n_members for o in owned) and len(owners) == PARTITIONS and \
                    all(owners[tp].startswith(m.consumer_id) for m in members for tp in m.owned):
                return
        raise AssertionError(f"no settled assignment: {[sorted(map(str, m.owned)) for m in members]}")

    async def owners_in_zk(m: ZookeeperConsumerConnector) -> dict[TopicPartition, str]:
        out = {}
        for p in range(PARTITIONS):
            tp = TopicPartition(topic, p)
            owner = await m.zk.get_partition_owner(group, tp)
            if owner is not None:
                out[tp] = owner
        return out

    async def run() -> None:
        members = [connector(f"c{i}") for i in range(3)]
        seen: set[bytes] = set()
        child = None
        try:
            for m in members:
                await m.start()
            await settle(members, 3, seen)
            owners = await owners_in_zk(members[0])
            assert sorted(owners.values()) == sorted(f"{group}_c{i}-0" for i in range(3) for _ in range(2))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not values <= seen:
                for m in members:
                    seen.update(r.value for r in await m.poll(20))
            assert values <= seen
            for m in members:
                await m.commit_offsets()
            offsets = [await members[0].zk.get_consumer_offset(group, TopicPartition(topic, p))
                       for p in range(PARTITIONS)]
            assert sum(offsets) == 600

            # A fourth member in another process joins, then is SIGKILLed: the others take over.
            child = subprocess.Popen([sys.executable, "-c", CHILD, zk, group, topic, str(REPO_ROOT)],
                                     stdout=subprocess.PIPE, text=True)
            os.set_blocking(child.stdout.fileno(), False)
            line = ""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not line.startswith("OWNS"):
                for m in members:
                    await m.poll(20)
                line = child.stdout.readline() or line
            assert line.startswith("OWNS"), "the subprocess member never owned partitions"
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            await settle(members, 3, seen, timeout_s=90)
            more = {b"more-%05d" % i for i in range(60)}
            await asyncio.to_thread(produce, broker.bootstrap, topic, sorted(more))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not more <= seen:
                for m in members:
                    seen.update(r.value for r in await m.poll(20))
            assert more <= seen
            assert all(m.rebalances >= 2 for m in members)
        finally:
            if child is not None and child.poll() is None:
                child.kill()
            for m in members:
                await m.shutdown()

    asyncio.run(asyncio.wait_for(run(), 200))
