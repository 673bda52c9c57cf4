"""Controller failover, leader failover, offline partitions and epoch fencing on real processes:
three kafkapy brokers (LocalCluster) on ZooKeeper, with confluent-kafka as the client."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.testing.cluster import LocalCluster
from kafkapy.zk import errors as zk_errors
from kafkapy.zk.admin_zk import AdminZkClient
from kafkapy.zk.client import SetDataOp

from _helpers import metadata_partitions, run_tool

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SESSION_TIMEOUT_MS = 6000
FAST_FAILOVER = {"zookeeper.session.timeout.ms": str(SESSION_TIMEOUT_MS), "auto.leader.rebalance.enable": "false",
                 "unclean.leader.election.enable": "false"}


def _topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


class CountingProducer:
    """A confluent-kafka producer in a thread, producing until stopped; delivery outcomes with timestamps."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        from confluent_kafka import Producer
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                                  "message.timeout.ms": 60000, "topic.metadata.refresh.interval.ms": 1000})
        self.topic = topic
        self.delivered: list[float] = []
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="counting-producer", daemon=True)

    def _on_delivery(self, err: object, _msg: object) -> None:
        if err is None:
            self.delivered.append(time.monotonic())
        else:
            self.failed.append(str(err))

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            try:
                self.producer.produce(self.topic, value=b"m%d" % i, on_delivery=self._on_delivery)
                i += 1
            except BufferError:
                pass
            self.producer.poll(0.002)
        self.producer.flush(60)

    def start(self) -> "CountingProducer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(90)

    def delivered_after(self, t: float) -> int:
        return sum(1 for d in list(self.delivered) if d > t)


@pytest.mark.kafkapy_cluster(brokers=3, zookeepers=3, broker_config=FAST_FAILOVER)
def test_killed_controller_is_replaced_and_producers_continue(kafkapy_cluster: LocalCluster) -> None:
    cluster = kafkapy_cluster
    topic = _topic("failover")
    cluster.create_topic(topic, partitions=6, replication_factor=3)
    old = cluster.controller()
    assert old is not None
    led = [p for p in range(6) if cluster.leader(topic, p) == old]
    isr_before = {p: cluster.isr(topic, p) for p in led}
    producer = CountingProducer(cluster.bootstrap_servers, topic).start()
    try:
        cluster.wait_for(lambda: len(producer.delivered) >= 100, 30, "deliveries before the failover")
        killed_at = time.monotonic()
        cluster.kill(old)
        new = cluster.wait_for(lambda: (c := cluster.controller()) not in (None, old) and c,
                               SESSION_TIMEOUT_MS / 1000 + 5, "another broker to become controller")
        elapsed = time.monotonic() - killed_at
        assert new != old and elapsed <= SESSION_TIMEOUT_MS / 1000 + 5
        print(f"controller {old} killed; broker {new} took over after {elapsed:.2f} s")
        for p in led:
            leader = cluster.wait_for(lambda p=p: (ld := cluster.leader(topic, p)) not in (old, -1, None) and ld, 20,
                                      f"a new leader for partition {p}")
            assert leader in isr_before[p]
            assert old not in cluster.isr(topic, p)
        failed_over_at = time.monotonic()
        cluster.wait_for(lambda: producer.delivered_after(failed_over_at) >= 200, 60,
                         "200 deliveries after the failover")
    finally:
        producer.stop()
    assert producer.delivered_after(failed_over_at) >= 200
    md = metadata_partitions(cluster.bootstrap_servers, topic)
    assert all(leader not in (old, -1) for leader, _r, _i in md.values())


@pytest.mark.kafkapy_cluster(brokers=3, broker_config=FAST_FAILOVER)
def test_leader_failover_and_offline_partition_without_unclean_election(kafkapy_cluster: LocalCluster) -> None:
    cluster = kafkapy_cluster
    controller = cluster.controller()
    a, b = [x for x in (1, 2, 3) if x != controller]
    rf3, rf2 = _topic("rf3"), _topic("rf2")
    cluster.zk(lambda zk: AdminZkClient(zk).create_topic_with_assignment(rf3, {}, {0: [a, b, controller]}))
    cluster.zk(lambda zk: AdminZkClient(zk).create_topic_with_assignment(rf2, {}, {0: [a, b]}))
    cluster.wait_for(lambda: cluster.leader(rf3, 0) == a and cluster.leader(rf2, 0) == a
                     and len(cluster.isr(rf2, 0)) == 2 and len(cluster.isr(rf3, 0)) == 3, 30, "both topics led by a")

    # kill the leader of the RF 3 topic: the next ISR member leads, in ZooKeeper and in Metadata
    cluster.kill(a)
    cluster.wait_for(lambda: cluster.leader(rf3, 0) == b, 30, f"broker {b} to lead {rf3}-0")
    assert sorted(cluster.isr(rf3, 0)) == sorted([b, controller])
    cluster.wait_for(lambda: metadata_partitions(cluster.bootstrap_servers, rf3).get(0, (None,))[0] == b, 30,
                     "Metadata to announce the new leader")

    # rf2 now has ISR [b]; kill b as well: no ISR member is alive, so it goes offline
    cluster.wait_for(lambda: cluster.isr(rf2, 0) == [b], 30, f"{rf2}-0 ISR to shrink to [{b}]")
    cluster.kill(b)
    cluster.wait_for(lambda: cluster.leader(rf2, 0) == -1, 30, f"{rf2}-0 to go offline")
    assert cluster.isr(rf2, 0) == [b]

    # a (a replica, but not in the ISR) returns: unclean election is off, so rf2 stays offline
    cluster.start_broker(a)
    cluster.wait_for(lambda: a in cluster.isr(rf3, 0), 60, f"broker {a} back in {rf3}'s ISR")
    assert cluster.leader(rf2, 0) == -1 and cluster.isr(rf2, 0) == [b]
    md = metadata_partitions(cluster.bootstrap_servers, rf2)
    assert md[0][0] == -1
    res = run_tool("kafka-topics.sh", "--bootstrap-server", cluster.bootstrap_servers, "--describe",
                   "--unavailable-partitions", "--topic", rf2)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"Topic: {rf2}\tPartition: 0\tLeader: none" in res.stdout

    # the ISR member returns: online again
    cluster.start_broker(b)
    cluster.wait_for(lambda: cluster.leader(rf2, 0) == b, 60, f"{rf2}-0 to come back with leader {b}")
    cluster.wait_for(lambda: metadata_partitions(cluster.bootstrap_servers, rf2).get(0, (None,))[0] == b, 30,
                     "Metadata to show the partition online")


@pytest.mark.kafkapy_cluster(brokers=3, broker_config=FAST_FAILOVER)
def test_paused_controller_is_fenced_and_steps_down(kafkapy_cluster: LocalCluster) -> None:
    cluster = kafkapy_cluster
    topic = _topic("fenced")
    cluster.create_topic(topic, partitions=3, replication_factor=3)
    old = cluster.controller()
    old_epoch = cluster.zk(lambda zk: zk.get_controller_epoch())
    cluster.pause(old)                                   # SIGSTOP past the session timeout
    try:
        new = cluster.wait_for(lambda: (c := cluster.controller()) not in (None, old) and c, 60,
                               "another broker to take over")
        new_epoch = cluster.zk(lambda zk: zk.get_controller_epoch())
        assert new_epoch.epoch > old_epoch.epoch
        cluster.wait_for(lambda: all(cluster.leader(topic, p) not in (old, -1, None) for p in range(3)), 30,
                         "leaders moved off the paused controller")
    finally:
        cluster.resume(old)                              # SIGCONT

    # a write conditioned on the old controller's epoch version is refused by ZooKeeper
    with pytest.raises(zk_errors.ControllerMovedError):
        cluster.zk(lambda zk: zk.controller_multi(old_epoch.zk_version,
                                                  [SetDataOp("/admin/reassign_partitions-fence-probe", b"")]))

    broker = cluster.broker(old)
    cluster.wait_for(lambda: "Resigned" in broker.read_log("controller.log"), 60,
                     f"broker {old}'s controller log to say it resigned")
    cluster.wait_registered(old)
    assert cluster.controller() == new
    assert cluster.zk(lambda zk: zk.get_controller_epoch()).epoch == new_epoch.epoch
    states = cluster.zk(lambda zk: zk.get_topic_partition_states(TopicPartition(topic, p) for p in range(3)))
    assert all(s.controller_epoch <= new_epoch.epoch for s in states.values())
    # once back, the old controller follows the new one: it rejoins the ISRs the new controller manages
    cluster.wait_for(lambda: all(old in cluster.isr(topic, p) for p in range(3)), 60,
                     f"broker {old} back in every ISR")
    assert cluster.controller() == new
