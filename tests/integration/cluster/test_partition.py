"""Acceptance: a real network partition of a partition leader in a 3-broker, 3-ZooKeeper cluster.

The leader of an RF=3 topic is cut off (its network namespace loses the bridge), a new
leader is elected, producing continues, the partition heals and the old leader rejoins the
ISR; then one ZooKeeper server dies and the cluster keeps working. Needs network namespaces.
"""
from __future__ import annotations

import uuid

import pytest

from kafkapy.testing.cluster import LocalCluster
from tests.integration.cluster.test_local_cluster import consume_all, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


@pytest.mark.kafkapy_cluster(brokers=3, zookeepers=3, network="netns",
                             broker_config={"auto.leader.rebalance.enable": "false",
                                            "replica.lag.time.max.ms": 6000,
                                            "zookeeper.session.timeout.ms": 6000})
def test_isolated_leader_is_replaced_and_rejoins_after_heal(kafkapy_cluster: LocalCluster) -> None:
    cluster = kafkapy_cluster
    topic = f"partitioned-{uuid.uuid4().hex[:8]}"
    cluster.create_topic(topic, partitions=1, replication_factor=3, config={"min.insync.replicas": "2"})
    assert sorted(cluster.isr(topic, 0)) == [1, 2, 3]
    assert sorted(produce(cluster.bootstrap_servers, topic, 1000)) == list(range(1000))

    old_leader = cluster.leader(topic, 0)
    cluster.isolate(old_leader)
    new_leader = cluster.wait_for(lambda: (l := cluster.leader(topic, 0)) not in (None, -1, old_leader) and l,
                                  60, f"a leader other than the isolated broker {old_leader}")
    assert old_leader not in cluster.isr(topic, 0)
    # The isolated broker is unreachable; the others take the writes (acks=all, min ISR 2).
    survivors = ",".join(cluster.broker(b).bootstrap for b in (1, 2, 3) if b != old_leader)
    assert sorted(produce(survivors, topic, 1000, start=1000)) == list(range(1000, 2000))
    assert cluster.leader(topic, 0) == new_leader

    cluster.heal(old_leader)
    cluster.wait_registered(old_leader)
    cluster.wait_for(lambda: old_leader in cluster.isr(topic, 0), 90,
                     f"broker {old_leader} to rejoin the ISR after the heal")

    # One ZooKeeper server dies: the quorum of two keeps the cluster going.
    cluster.kill_zookeeper(0)
    assert sorted(produce(cluster.bootstrap_servers, topic, 1000, start=2000)) == list(range(2000, 3000))
    other = f"after-zk-loss-{uuid.uuid4().hex[:6]}"
    cluster.create_topic(other, partitions=1, replication_factor=3)
    assert sorted(consume_all(cluster.bootstrap_servers, topic, 1, 3000)) == list(range(3000))


@pytest.mark.kafkapy_cluster(brokers=3, zookeepers=1, network="netns",
                             broker_config={"auto.leader.rebalance.enable": "false",
                                            "zookeeper.session.timeout.ms": 4000})
def test_isolation_moves_leadership_with_acks_1(kafkapy_cluster: LocalCluster) -> None:
    """The harness part of the scenario above, without relying on follower replication."""
    cluster = kafkapy_cluster
    topic = f"moved-{uuid.uuid4().hex[:8]}"
    cluster.create_topic(topic, partitions=1, replication_factor=3)
    old_leader = cluster.leader(topic, 0)
    cluster.isolate(old_leader)
    # Cut off, the broker cannot be reached from the test process either.
    with pytest.raises(OSError):
        import socket
        socket.create_connection(cluster.broker(old_leader).bootstrap.rsplit(":", 1), timeout=1).close()
    new_leader = cluster.wait_for(lambda: (l := cluster.leader(topic, 0)) not in (None, -1, old_leader) and l,
                                  60, f"a leader other than the isolated broker {old_leader}")
    cluster.wait_unregistered(old_leader)
    survivors = ",".join(cluster.broker(b).bootstrap for b in (1, 2, 3) if b != old_leader)
    assert sorted(produce(survivors, topic, 500, acks="1")) == list(range(500))
    # (Reading them back needs the high watermark to move, i.e. follower replication: the
    # acceptance test above covers that.)

    cluster.heal(old_leader)
    cluster.wait_registered(old_leader)     # its session expired: it registered again
    assert cluster.leader(topic, 0) == new_leader
    healed = cluster.broker(old_leader).bootstrap
    admin = pytest.importorskip("confluent_kafka.admin").AdminClient({"bootstrap.servers": healed})
    cluster.wait_for(lambda: admin.list_topics(topic, timeout=5).topics[topic].partitions[0].leader == new_leader,
                     30, f"the healed broker's metadata to name broker {new_leader} as leader")
