"""kafkapy.testcontainers against a real Docker engine and the kafkapy:test image.

Skipped with the reason when no engine answers or the image is missing (build it with
scripts/ci-docker.sh). Clients run on the host and reach the brokers through their published,
correctly advertised external listeners.
"""
from __future__ import annotations

import socket
import struct
import time
import uuid

import pytest

pytest.importorskip("testcontainers")
confluent_kafka = pytest.importorskip("confluent_kafka")

from kafkapy.testcontainers import KafkapyCluster, docker_unavailable_reason  # noqa: E402

reason = docker_unavailable_reason()
pytestmark = [pytest.mark.docker, pytest.mark.timeout(420),
              pytest.mark.skipif(reason is not None, reason=reason or "")]


def produce(bootstrap: str, topic: str, n: int, acks: str = "all") -> int:
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 10,
                                         "message.timeout.ms": 60000})
    delivered = 0
    errors: list[object] = []

    def on_delivery(err, msg) -> None:
        nonlocal delivered
        if err is None:
            delivered += 1
        else:
            errors.append(err)
    try:
        for i in range(n):
            while True:
                try:
                    producer.produce(topic, key=str(i).encode(), value=b"%08d" % i, on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
        left = producer.flush(90)
    finally:
        producer.purge()
    assert left == 0 and not errors, f"{left} undelivered, errors: {errors[:3]}"
    return delivered


def consume_keys(bootstrap: str, topic: str, partitions: int, expected: int, timeout_s: float = 90.0) -> set[int]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
                                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    keys: set[int] = set()
    try:
        consumer.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                         for p in range(partitions)])
        deadline = time.monotonic() + timeout_s
        while len(keys) < expected and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=1.0):
                if msg.error() is None:
                    keys.add(int(msg.key()))
    finally:
        consumer.close()
    return keys


def can_connect(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.settimeout(2)
            # docker's proxy accepts and then closes when the container side is unreachable:
            # a real broker answers an ApiVersions request.
            body = struct.pack(">hhih", 18, 0, 1, 4) + b"test"      # ApiVersions v0, client id "test"
            sock.sendall(struct.pack(">i", len(body)) + body)
            return len(sock.recv(4)) == 4
    except OSError:
        return False


def test_single_broker_round_trip_and_advertised_address() -> None:
    with KafkapyCluster(brokers=1) as cluster:
        bootstrap = cluster.get_bootstrap_server()
        assert bootstrap.startswith("127.0.0.1:")
        md = confluent_kafka.admin.AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
        assert {b.id: f"{b.host}:{b.port}" for b in md.brokers.values()} == {1: bootstrap}
        topic = f"rt-{uuid.uuid4().hex[:6]}"
        cluster.create_topic(topic, partitions=2, replication_factor=1)
        assert produce(bootstrap, topic, 1000) == 1000
        assert consume_keys(bootstrap, topic, 2, 1000) == set(range(1000))


def test_three_brokers_survive_the_leader_container_being_killed() -> None:
    """Acceptance: 10,000 records to an RF=3 topic, the leader's container dies, all are read."""
    with KafkapyCluster(brokers=3, broker_config={"auto.leader.rebalance.enable": "false",
                                                  "min.insync.replicas": 2}) as cluster:
        topic = f"ha-{uuid.uuid4().hex[:6]}"
        cluster.create_topic(topic, partitions=1, replication_factor=3)
        assert sorted(cluster.isr(topic, 0)) == [1, 2, 3]
        assert produce(cluster.get_bootstrap_server(), topic, 10_000) == 10_000
        leader = cluster.leader(topic, 0)
        cluster.kill(leader)
        cluster.wait_for(lambda: cluster.leader(topic, 0) not in (None, -1, leader), 60,
                         f"a leader other than the killed broker {leader}")
        survivors = ",".join(cluster.broker(b).get_bootstrap_server() for b in (1, 2, 3) if b != leader)
        assert consume_keys(survivors, topic, 1, 10_000) == set(range(10_000))


def test_faults_kill_restart_isolate_heal_pause_stop() -> None:
    with KafkapyCluster(brokers=2, broker_config={"auto.leader.rebalance.enable": "false"}) as cluster:
        first = cluster.controller()
        other = 3 - first
        cluster.kill(first)
        cluster.wait_for(lambda: cluster.controller() == other, 60, f"broker {other} to become controller")
        cluster.wait_unregistered(first)
        cluster.start_broker(first)
        assert cluster.registered_brokers() == [1, 2]

        # A network partition: the broker loses ZooKeeper (its registration expires) and the host.
        cluster.isolate(first)
        cluster.wait_unregistered(first, 60)
        assert not can_connect(cluster.broker(first).get_bootstrap_server())
        cluster.heal(first)
        cluster.wait_registered(first, 90)
        cluster.wait_for(lambda: can_connect(cluster.broker(first).get_bootstrap_server()), 30,
                         "the healed broker to answer on its published port")

        cluster.pause(other)
        assert cluster.broker(other).get_wrapped_container().attrs is not None
        cluster.resume(other)
        topic = f"f-{uuid.uuid4().hex[:6]}"
        cluster.create_topic(topic, partitions=2, replication_factor=1)
        assert produce(cluster.get_bootstrap_server(), topic, 200, acks="1") == 200

        assert cluster.stop(other) == 0          # SIGTERM: a controlled shutdown, exit code 0
        cluster.wait_unregistered(other)
        cluster.restart(other)
        assert cluster.registered_brokers() == [1, 2]


def test_a_three_node_zookeeper_ensemble_in_containers() -> None:
    with KafkapyCluster(brokers=1, zookeepers=3) as cluster:
        assert len(cluster.zookeeper_connect.split(",")) == 3
        cluster.kill_zookeeper(0)
        topic = f"zk-{uuid.uuid4().hex[:6]}"
        cluster.create_topic(topic, partitions=1, replication_factor=1)
        assert produce(cluster.get_bootstrap_server(), topic, 100, acks="1") == 100
        cluster.restart_zookeeper(0)
        assert cluster.zookeeper_nodes[0].is_ready()
