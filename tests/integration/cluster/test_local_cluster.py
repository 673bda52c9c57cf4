"""LocalCluster and its pytest fixture: startup, metadata reads, and every process fault.

Loopback clusters run everywhere ZooKeeper is installed; the network-partition scenario
needs `LocalCluster(network="netns")` (Linux, root, iproute2) and is skipped otherwise.
"""
from __future__ import annotations

import signal
import uuid

import pytest

from kafkapy.testing.cluster import ClusterError, LocalCluster, UnsupportedFaultError

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

confluent_kafka = pytest.importorskip("confluent_kafka")


def topic_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def produce(bootstrap: str, topic: str, n: int, *, acks: str = "all", start: int = 0) -> list[int]:
    """Produce n records keyed by their sequence number; returns the delivered sequence numbers."""
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5,
                                         "message.timeout.ms": 30000})
    delivered: list[int] = []
    errors: list[object] = []

    def on_delivery(err, msg) -> None:
        if err is None:
            delivered.append(int(msg.key()))
        else:
            errors.append(err)
    try:
        for i in range(start, start + n):
            producer.produce(topic, key=str(i).encode(), value=b"v%d" % i, on_delivery=on_delivery)
            producer.poll(0)
        left = producer.flush(60)
    finally:
        producer.purge()         # nothing keeps retrying after a failed test
    assert left == 0, f"{left} records still in flight after 60 s"
    assert not errors, f"delivery errors: {errors[:5]}"
    return delivered


def consume_all(bootstrap: str, topic: str, partitions: int, expected: int, timeout_s: float = 60.0) -> list[int]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
                                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                         for p in range(partitions)])
        got: list[int] = []
        import time
        deadline = time.monotonic() + timeout_s
        while len(got) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=1.0):
                if msg.error() is None:
                    got.append(int(msg.key()))
        return got
    finally:
        consumer.close()


# ------------------------------------------------------------------------- fixture
@pytest.mark.kafkapy_cluster(brokers=1)
def test_fixture_gives_a_working_single_broker_cluster(kafkapy_cluster: LocalCluster) -> None:
    assert kafkapy_cluster.controller() == 1
    assert kafkapy_cluster.registered_brokers() == [1]
    topic = topic_name("single")
    assignment = kafkapy_cluster.create_topic(topic, partitions=2)
    assert assignment == {0: [1], 1: [1]}
    assert kafkapy_cluster.leader(topic, 0) == 1 and kafkapy_cluster.isr(topic, 1) == [1]
    assert sorted(produce(kafkapy_cluster.bootstrap_servers, topic, 200)) == list(range(200))
    assert sorted(consume_all(kafkapy_cluster.bootstrap_servers, topic, 2, 200)) == list(range(200))
    with pytest.raises(UnsupportedFaultError, match="network='netns'"):
        kafkapy_cluster.isolate(1)


@pytest.mark.parametrize("kafkapy_cluster", [2], indirect=True)
def test_indirect_parameter_sets_the_broker_count(kafkapy_cluster: LocalCluster) -> None:
    assert kafkapy_cluster.registered_brokers() == [1, 2]
    assert len(kafkapy_cluster.bootstrap_servers.split(",")) == 2
    assert kafkapy_cluster.leader("no-such-topic", 0) is None


def test_wait_for_names_what_it_waited_for(tmp_path) -> None:
    cluster = LocalCluster(1, base_dir=tmp_path)
    assert cluster.wait_for(lambda: 42, 1.0, "an answer") == 42
    with pytest.raises(ClusterError, match=r"waiting for the moon \(last value: 0\)"):
        cluster.wait_for(lambda: 0, 0.3, "the moon")

    def broken() -> bool:
        raise OSError("zk down")
    with pytest.raises(ClusterError, match="last error: OSError"):
        cluster.wait_for(broken, 0.3, "a broken probe")


def test_invalid_options_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError):
        LocalCluster(0, base_dir=tmp_path)
    with pytest.raises(ValueError):
        LocalCluster(1, zookeepers=2, base_dir=tmp_path)
    with pytest.raises(ValueError):
        LocalCluster(1, network="carrier-pigeon", base_dir=tmp_path)


# ------------------------------------------------------------------------- process faults
@pytest.mark.kafkapy_cluster(brokers=3, zookeepers=1, broker_config={"auto.leader.rebalance.enable": "false"})
def test_process_faults(kafkapy_cluster: LocalCluster) -> None:
    cluster = kafkapy_cluster
    topic = topic_name("faults")
    cluster.create_topic(topic, partitions=3, replication_factor=3)

    # kill -9 the controller: another broker takes over, the dead one loses its registration.
    first = cluster.controller()
    assert first in (1, 2, 3)
    cluster.kill(first)
    new = cluster.wait_for(lambda: (c := cluster.controller()) not in (None, first) and c,
                           30, "a new controller")
    assert new != first
    cluster.wait_unregistered(first)
    # The new controller moves leadership off the dead broker right after it takes over: wait for it.
    cluster.wait_for(lambda: all(cluster.leader(topic, p) not in (first, -1, None) for p in range(3)), 30,
                     f"every partition led by a broker other than {first}")
    cluster.start_broker(first)
    assert cluster.registered_brokers() == [1, 2, 3]

    # SIGTERM: a controlled shutdown that exits 0 and moves leadership away first.
    victim = cluster.leader(topic, 0)
    assert cluster.stop(victim) == 0
    assert victim not in cluster.registered_brokers()
    assert cluster.wait_for(lambda: cluster.leader(topic, 0) not in (victim, -1, None), 30,
                            "partition 0 to have a new leader")
    cluster.restart(victim)
    assert victim in cluster.registered_brokers()

    # A ZooKeeper session expiry: the broker re-registers with a new epoch (czxid).
    target = next(b for b in (1, 2, 3) if b != cluster.controller())
    before = cluster.zk(lambda zk: zk.get_broker(target)).epoch
    cluster.expire_zk_session(target)
    after = cluster.zk(lambda zk: zk.get_broker(target)).epoch
    assert after > before

    # pause/resume: a frozen broker is still a process, and comes back.
    cluster.pause(target)
    assert cluster.broker(target).is_running() and cluster.broker(target).paused
    cluster.resume(target)
    assert sorted(produce(cluster.bootstrap_servers, topic, 100, acks="1")) == list(range(100))

    # Any signal may be sent; SIGINT shuts the broker down too.
    cluster.kill(target, signal=signal.SIGINT)
    assert not cluster.broker(target).is_running()
    cluster.wait_unregistered(target)


@pytest.mark.kafkapy_cluster(brokers=1, zookeepers=3)
def test_a_zookeeper_quorum_survives_one_dead_server(kafkapy_cluster: LocalCluster) -> None:
    cluster = kafkapy_cluster
    assert len(cluster.zookeepers) == 3
    modes = sorted(s.mode() or "" for s in cluster.zookeepers)
    assert modes == ["follower", "follower", "leader"]
    leader_index = next(i for i, s in enumerate(cluster.zookeepers) if s.mode() == "leader")
    cluster.kill_zookeeper(leader_index)
    # The two survivors elect a leader and serve: the cluster keeps creating topics.
    topic = topic_name("quorum")
    cluster.wait_for(lambda: sorted(s.mode() or "" for s in cluster.zookeepers if s.is_running())
                     == ["follower", "leader"], 60, "a new ZooKeeper leader")
    cluster.create_topic(topic, partitions=1, replication_factor=1)
    assert cluster.registered_brokers() == [1]
    assert sorted(produce(cluster.bootstrap_servers, topic, 50, acks="1")) == list(range(50))
    cluster.restart_zookeeper(leader_index)
    assert cluster.zookeepers[leader_index].mode() == "follower"


def test_close_removes_its_own_directory_and_keeps_logs_on_failure() -> None:
    cluster = LocalCluster(1)
    base = cluster.base_dir
    with cluster:
        assert (base / "broker-1" / "logs" / "console.out").exists()
        assert any("started" in text for _, text in cluster.log_sections())
    assert not base.exists()

    failing = LocalCluster(1)
    with pytest.raises(RuntimeError, match="boom"):
        with failing:
            raise RuntimeError("boom")
    assert (failing.base_dir / "broker-1" / "logs" / "console.out").exists()
    import shutil
    shutil.rmtree(failing.base_dir)
