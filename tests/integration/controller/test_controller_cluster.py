"""Three kafkapy broker processes on one ZooKeeper: the controller at work end to end.

Leaders of a new topic, failover of a dead broker's leadership, a dead controller replaced
with the next epoch, clients seeing the new leaders (UpdateMetadata reached every broker),
and a controlled shutdown that moves leadership before the broker exits.
"""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.testing.broker import BrokerProcess, create_topic, wait_for_leaders
from kafkapy.zk.kafka_zk import KafkaZkClient

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PARTITIONS = 6


def zk_read(connect: str, fn):
    async def go():
        zk = await KafkaZkClient.connect(connect, session_timeout_ms=6000)
        try:
            return await fn(zk)
        finally:
            await zk.close()
    return asyncio.run(go())


def states(connect: str, topic: str) -> dict:
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    return zk_read(connect, lambda zk: zk.get_topic_partition_states(tps))


def controller_and_epoch(connect: str) -> tuple[int | None, int | None]:
    async def both(zk):
        epoch = await zk.get_controller_epoch()
        return await zk.get_controller_id(), epoch.epoch if epoch else None
    return zk_read(connect, both)


def wait_until(predicate, what: str, timeout_s: float = 60.0, interval_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def metadata_leaders(bootstrap: str, topic: str) -> dict[int, int]:
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return {}
    return {p: pm.leader for p, pm in t.partitions.items()}


@pytest.fixture
def cluster(zookeeper, tmp_path):
    connect = f"{zookeeper.connect_string}/kafkapy-cluster-{uuid.uuid4().hex[:10]}"
    brokers = [BrokerProcess(tmp_path / f"b{i}", connect, broker_id=i,
                             overrides={"auto.leader.rebalance.enable": "false"}) for i in range(3)]
    for b in brokers:
        b.launch()
    for b in brokers:
        b.wait_started()
    yield connect, brokers
    for b in brokers:
        if b.is_running():
            b.kill()


def test_leaders_fail_over_and_the_controller_moves(cluster) -> None:
    connect, brokers = cluster
    by_id = {b.broker_id: b for b in brokers}
    topic = f"ctl-{uuid.uuid4().hex[:6]}"
    create_topic(connect, topic, PARTITIONS, 3)
    wait_for_leaders(brokers[0].bootstrap, topic, PARTITIONS)

    controller_id, epoch = controller_and_epoch(connect)
    assert controller_id in by_id and epoch == 1
    assignment = zk_read(connect, lambda zk: zk.get_topic_assignment(topic))
    initial = states(connect, topic)
    for p in range(PARTITIONS):
        replicas = assignment.partitions[p].replicas
        s = initial[TopicPartition(topic, p)]
        assert s.leader == replicas[0] and tuple(s.isr) == tuple(replicas) and s.leader_epoch == 0

    # A broker that is not the controller dies: its partitions get new leaders from the ISR.
    victim = next(i for i in by_id if i != controller_id)
    by_id[victim].kill()

    def moved():
        st = states(connect, topic)
        return st if all(s.leader != victim and victim not in s.isr for s in st.values()) else None
    after = wait_until(moved, f"leadership to leave broker {victim}")
    for p in range(PARTITIONS):
        s = after[TopicPartition(topic, p)]
        replicas = assignment.partitions[p].replicas
        assert s.leader == next(r for r in replicas if r != victim)
        assert s.controller_epoch == 1
    survivor = next(b for i, b in by_id.items() if i not in (victim, controller_id))
    expected = {p: after[TopicPartition(topic, p)].leader for p in range(PARTITIONS)}
    wait_until(lambda: metadata_leaders(survivor.bootstrap, topic) == expected,
               "the surviving broker's metadata to show the new leaders")

    # The controller dies: the last broker is elected with the next epoch and takes every leadership.
    by_id[controller_id].kill()
    last_id = survivor.broker_id
    wait_until(lambda: controller_and_epoch(connect) == (last_id, 2), f"broker {last_id} to be controller")

    def all_on_last():
        st = states(connect, topic)
        return st if all(s.leader == last_id and tuple(s.isr) == (last_id,) for s in st.values()) else None
    final = wait_until(all_on_last, f"every partition to be led by broker {last_id}")
    assert all(s.controller_epoch == 2 for s in final.values())
    wait_until(lambda: metadata_leaders(survivor.bootstrap, topic) == {p: last_id for p in range(PARTITIONS)},
               "metadata to show the last broker as leader everywhere")


def test_controlled_shutdown_moves_leadership_before_exit(cluster) -> None:
    connect, brokers = cluster
    topic = f"cs-{uuid.uuid4().hex[:6]}"
    create_topic(connect, topic, PARTITIONS, 2)
    wait_for_leaders(brokers[0].bootstrap, topic, PARTITIONS)
    controller_id, _ = controller_and_epoch(connect)
    leaving = next(b for b in brokers if b.broker_id != controller_id)
    led_before = [p for p, s in ((tp.partition, s) for tp, s in states(connect, topic).items())
                  if s.leader == leaving.broker_id]
    assert led_before, "the assignment gives every broker some leaderships"
    code = leaving.stop()
    assert code == 0, leaving.log_tail()
    after = states(connect, topic)       # read right after exit: the move happened before it
    for p in led_before:
        s = after[TopicPartition(topic, p)]
        assert s.leader not in (leaving.broker_id, -1) and leaving.broker_id not in s.isr
