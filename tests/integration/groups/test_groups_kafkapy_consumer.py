"""kafkapy's own Consumer in a group (ConsumerGroupMembership): two members split a topic,
a confluent-kafka member can join the same group, commits survive a member closing, and a
pattern subscription picks up matching topics."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from kafkapy.clients.consumer.consumer import Consumer
from kafkapy.clients.consumer.group import ConsumerGroupMembership
from kafkapy.testing.broker import BrokerProcess

from .test_groups_confluent import GROUP_OVERRIDES, new_topic, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory):
    chroot = f"{zookeeper.connect_string}/kafkapy-ourgroups-{uuid.uuid4().hex[:10]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker-ourgroups"), chroot, broker_id=0, overrides=GROUP_OVERRIDES)
    b.start()
    yield b
    code = b.stop()
    assert code == 0, b.log_tail()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, set]] = []

    async def on_partitions_revoked(self, revoked: set) -> None:
        self.events.append(("revoked", revoked))

    async def on_partitions_assigned(self, assigned: set) -> None:
        self.events.append(("assigned", assigned))


def member(bootstrap: str, group: str, **extra) -> tuple[Consumer, ConsumerGroupMembership, Recorder]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 300, **extra})
    rec = Recorder()
    return c, ConsumerGroupMembership.attach(c, listener=rec), rec


def test_two_members_split_and_commit(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "ours", 4)
    group = f"ours-{uuid.uuid4().hex[:6]}"
    values = {b"o-%04d" % i for i in range(400)}
    produce(broker.bootstrap, topic, sorted(values))

    async def run() -> None:
        a, ga, ra = member(broker.bootstrap, group)
        b, gb, rb = member(broker.bootstrap, group)
        await a.start()
        await b.start()
        seen: set[bytes] = set()
        try:
            await a.subscribe([topic])
            sub_b = asyncio.create_task(b.subscribe([topic]))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (sub_b.done() and a.assignment() and b.assignment()
                                                        and len(a.assignment() | b.assignment()) == 4
                                                        and not (a.assignment() & b.assignment())):
                for c in (a,) + ((b,) if sub_b.done() else ()):
                    if c.assignment():
                        seen.update(r.value for r in await c.poll(50))
                await asyncio.sleep(0.01)
            await sub_b
            assert len(a.assignment()) == 2 and len(b.assignment()) == 2, (a.assignment(), b.assignment())

            async def positions() -> int:
                return sum([await c.position(tp) for c in (a, b) for tp in c.assignment()])
            while time.monotonic() < deadline and not (values <= seen and await positions() == 400):
                for c in (a, b):
                    seen.update(r.value for r in await c.poll(50))
            assert values <= seen and await positions() == 400
            await ga.commit_sync()
            await gb.commit_sync()
            committed = await ga.committed(sorted(a.assignment() | b.assignment()))
            assert sum(v for v in committed.values() if v is not None) == 400
            assert ("assigned", a.assignment()) in ra.events and rb.events[-1] == ("assigned", b.assignment())
            await b.close()
            while time.monotonic() < deadline and len(a.assignment()) != 4:
                await a.poll(50)
            assert len(a.assignment()) == 4
            assert await a.poll(300) == []      # everything was committed: nothing is re-read
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(run(), 120))


def test_pattern_subscription_and_mixed_group(broker: BrokerProcess) -> None:
    from confluent_kafka import Consumer as CKConsumer

    prefix = f"pat{uuid.uuid4().hex[:4]}"
    t1 = new_topic(broker, f"{prefix}-a", 2)
    group = f"mixed-{uuid.uuid4().hex[:6]}"
    produce(broker.bootstrap, t1, [b"x%d" % i for i in range(20)])

    async def run() -> None:
        ours, g, _rec = member(broker.bootstrap, group)
        await ours.start()
        ck = CKConsumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "session.timeout.ms": 6000,
                         "auto.offset.reset": "earliest", "heartbeat.interval.ms": 300})
        try:
            await g.subscribe_pattern(ours, prefix + r"-.*")
            assert {tp.topic for tp in ours.assignment()} == {t1}
            ck.subscribe([t1])
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                await asyncio.to_thread(ck.poll, 0.1)
                if ours.assignment():
                    await ours.poll(20)
                if len(ours.assignment()) == 1 and len(ck.assignment()) == 1:
                    break
            assert len(ours.assignment()) == 1 and len(ck.assignment()) == 1
            assert {tp.partition for tp in ours.assignment()} | {tp.partition for tp in ck.assignment()} == {0, 1}
        finally:
            await asyncio.to_thread(ck.close)
            await ours.close()

    asyncio.run(asyncio.wait_for(run(), 120))


def test_auto_commit_and_commit_async(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "auto", 2)
    group = f"auto-{uuid.uuid4().hex[:6]}"
    produce(broker.bootstrap, topic, [b"a%d" % i for i in range(40)])

    async def run() -> None:
        c, g, _rec = member(broker.bootstrap, group, **{"enable.auto.commit": True, "auto.commit.interval.ms": 100})
        await c.start()
        try:
            await c.subscribe([topic])
            got = 0
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                got += len(await c.poll(50))
                committed = await g.committed(sorted(c.assignment()))
                if got >= 40 and sum(v or 0 for v in committed.values()) == 40:
                    break
            assert got >= 40 and sum(v or 0 for v in committed.values()) == 40, committed
            results: list = []
            task = g.commit_async({tp: 1 for tp in c.assignment()}, lambda offsets, exc: results.append(exc))
            await task
            assert results == [None]
            assert set((await g.committed(sorted(c.assignment()))).values()) == {1}
            tps = sorted(c.assignment())
        finally:
            await c.close()
        # close() auto-commits the positions again.
        c2, g2, _ = member(broker.bootstrap, group)
        await c2.start()
        try:
            assert len(tps) == 2
            assert sum(v or 0 for v in (await g2.committed(tps)).values()) == 40
        finally:
            await c2.close()

    asyncio.run(asyncio.wait_for(run(), 90))
