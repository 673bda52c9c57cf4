"""ISR shrink/expand observed in ZooKeeper, NOT_ENOUGH_REPLICAS for acks=all, reassignment completion.

Broker processes (LocalCluster) and a real ZooKeeper. The ISR cluster uses a long ZooKeeper
session (30 s) so a paused follower keeps its registration: the ISR shrink seen in the
partition state znode is the leader's own (replica.lag.time.max.ms=3000), not the controller's.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.testing.cluster import LocalCluster
from kafkapy.testing.zookeeper import ZooKeeperNotInstalledError

confluent_kafka = pytest.importorskip("confluent_kafka")

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


def _cluster(tmp_path_factory: pytest.TempPathFactory, brokers: int, config: dict[str, Any]) -> LocalCluster:
    try:
        c = LocalCluster(brokers=brokers, broker_config=config, base_dir=tmp_path_factory.mktemp("isr"))
    except ZooKeeperNotInstalledError as exc:
        pytest.skip(str(exc))
    return c


@pytest.fixture
def slow_session_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    c = _cluster(tmp_path_factory, 3, {"replica.lag.time.max.ms": 3000, "zookeeper.session.timeout.ms": 30000,
                                       "auto.leader.rebalance.enable": "false"})
    c.start()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def fast_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    c = _cluster(tmp_path_factory, 3, {"replica.lag.time.max.ms": 5000, "auto.leader.rebalance.enable": "false"})
    c.start()
    try:
        yield c
    finally:
        c.close()


def metadata_isr(bootstrap: str, topic: str, partition: int) -> list[int]:
    admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": bootstrap})
    md = admin.list_topics(topic, timeout=10)
    return sorted(md.topics[topic].partitions[partition].isrs)


def test_paused_follower_leaves_the_isr_and_rejoins_after_resume(slow_session_cluster: LocalCluster,
                                                                 workload_factory) -> None:
    c = slow_session_cluster
    topic = "isr-pause"
    c.create_topic(topic, 1, 3)
    c.wait_for(lambda: len(c.isr(topic, 0)) == 3, 60, "a full ISR")
    leader = c.leader(topic, 0)
    follower = next(b for b in c.replicas(topic, 0) if b != leader)
    version_before = c.partition_state(topic, 0).zk_version
    w = workload_factory(c.bootstrap_servers, topic, 1, rate_per_s=300,
                         extra={"acks": "1", "enable.idempotence": False})   # librdkafka: idempotence needs acks=all
    w.wait_acked(50)
    c.pause(follower)
    t0 = time.monotonic()
    c.wait_for(lambda: follower not in c.isr(topic, 0), 30, f"broker {follower} to leave the ISR")
    shrunk_after = time.monotonic() - t0
    state = c.partition_state(topic, 0)
    print(f"ISR shrank to {list(state.isr)} {shrunk_after:.1f} s after SIGSTOP of broker {follower}")
    assert state.leader == leader and state.zk_version > version_before
    assert follower in c.registered_brokers(), "the shrink must be the leader's, not a session expiry"
    assert shrunk_after >= 2.5            # not before replica.lag.time.max.ms (3 s, measured from the last catch-up)
    # The change notification reaches the controller, which updates every broker's metadata.
    c.wait_for(lambda: follower not in metadata_isr(c.bootstrap_servers, topic, 0), 30,
               "the shrunk ISR in Metadata")
    c.resume(follower)
    t1 = time.monotonic()
    c.wait_for(lambda: follower in c.isr(topic, 0), 30, f"broker {follower} to rejoin the ISR")
    print(f"ISR expanded back to {c.isr(topic, 0)} {time.monotonic() - t1:.1f} s after SIGCONT")
    assert c.leader(topic, 0) == leader
    c.wait_for(lambda: follower in metadata_isr(c.bootstrap_servers, topic, 0), 30, "the expanded ISR in Metadata")
    result = w.stop()
    assert sum(len(a) for a in result.acked.values()) > 50


def test_acks_all_with_only_the_leader_alive_is_not_enough_replicas(fast_cluster: LocalCluster) -> None:
    c = fast_cluster
    topic = "min-isr"
    c.create_topic(topic, 1, 3, {"min.insync.replicas": "2"})
    c.wait_for(lambda: len(c.isr(topic, 0)) == 3, 60, "a full ISR")
    leader = c.leader(topic, 0)
    followers = [b for b in c.replicas(topic, 0) if b != leader]
    for b in followers:
        c.kill(b)
    c.wait_for(lambda: c.isr(topic, 0) == [leader], 60, f"the ISR to shrink to the leader {leader}")
    producer = confluent_kafka.Producer({"bootstrap.servers": c.broker(leader).bootstrap, "acks": "all",
                                         "enable.idempotence": False, "message.send.max.retries": 0,
                                         "request.timeout.ms": 20000, "message.timeout.ms": 30000})
    errors: list[Any] = []
    t0 = time.monotonic()
    producer.produce(topic, b"v", partition=0, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(30)
    elapsed = time.monotonic() - t0
    assert len(errors) == 1 and errors[0] is not None, errors
    assert errors[0].code() == confluent_kafka.KafkaError.NOT_ENOUGH_REPLICAS, errors[0]
    assert elapsed < 15, f"the error came after {elapsed:.1f} s: a timeout, not an immediate answer"
    # With a follower back, acks=all succeeds again.
    c.start_broker(followers[0])
    c.wait_for(lambda: len(c.isr(topic, 0)) >= 2, 60, "a second in-sync replica")
    acked: list[Any] = []
    producer.produce(topic, b"w", partition=0, on_delivery=lambda err, msg: acked.append(err))
    producer.flush(30)
    assert acked == [None]


def test_reassignment_to_a_new_replica_set_completes(tmp_path_factory: pytest.TempPathFactory,
                                                     workload_factory) -> None:
    c = _cluster(tmp_path_factory, 4, {"auto.leader.rebalance.enable": "false"})
    c.start()
    try:
        topic = "moving"
        assignment = c.create_topic(topic, 1, 3)
        old = sorted(assignment[0])
        spare = next(b for b in (1, 2, 3, 4) if b not in old)
        target = sorted([spare] + old[1:])
        w = workload_factory(c.bootstrap_servers, topic, 1, rate_per_s=200)
        w.wait_acked(100)
        tp = TopicPartition(topic, 0)
        c.zk(lambda zk: zk.create_partition_reassignment({tp: target}))
        c.wait_for(lambda: sorted(c.replicas(topic, 0)) == target and sorted(c.isr(topic, 0)) == target
                   and c.zk(lambda zk: zk.get_partition_reassignment()) is None, 90,
                   f"the reassignment {old} -> {target} to complete")

        def metadata_replicas() -> list[int]:
            admin = confluent_kafka.admin.AdminClient({"bootstrap.servers": c.bootstrap_servers})
            return sorted(admin.list_topics(topic, timeout=10).topics[topic].partitions[0].replicas)

        c.wait_for(lambda: metadata_replicas() == target, 30, "Metadata to show the new replicas")
        result = w.stop()
        assert sum(len(a) for a in result.acked.values()) >= 100
    finally:
        c.close()
