"""Committed offsets survive kill -9 of the group coordinator in a 3-broker cluster:
`__consumer_offsets` has replication factor 3, commits wait for the high watermark
(offsets.commit.required.acks=-1), and the new leader of the group's partition loads them."""
from __future__ import annotations

import time
import uuid

import pytest

from kafkapy.coordinator.group.metadata_manager import partition_for
from kafkapy.testing.cluster import LocalCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]

OFFSETS_PARTITIONS = 3


def test_committed_offsets_survive_coordinator_kill(tmp_path) -> None:
    from confluent_kafka import Consumer, TopicPartition

    config = {"offsets.topic.replication.factor": 3, "offsets.topic.num.partitions": OFFSETS_PARTITIONS,
              "group.initial.rebalance.delay.ms": 0}
    with LocalCluster(brokers=3, broker_config=config, base_dir=tmp_path) as cluster:
        cluster.create_topic("orders", partitions=3, replication_factor=3)
        group = f"survivor-{uuid.uuid4().hex[:6]}"
        wanted = {0: 11, 1: 22, 2: 33}
        c = Consumer({"bootstrap.servers": cluster.bootstrap_servers, "group.id": group,
                      "enable.auto.commit": False})
        try:
            deadline = time.monotonic() + 120     # the offsets topic is created by the first FindCoordinator
            while True:
                try:
                    c.commit(offsets=[TopicPartition("orders", p, o) for p, o in wanted.items()],
                             asynchronous=False)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            c.close()
        index = partition_for(group, OFFSETS_PARTITIONS)
        coordinator = cluster.leader("__consumer_offsets", index)
        assert coordinator in (1, 2, 3)
        assert sorted(cluster.isr("__consumer_offsets", index)) == [1, 2, 3]
        cluster.kill(coordinator)
        cluster.wait_for(lambda: cluster.leader("__consumer_offsets", index) not in (coordinator, -1, None),
                         timeout_s=60, what="a new leader of the group's offsets partition")
        live = ",".join(cluster._bootstrap_of(b) for b in cluster.live_brokers())
        c = Consumer({"bootstrap.servers": live, "group.id": group, "enable.auto.commit": False})
        try:
            def committed():
                try:
                    got = c.committed([TopicPartition("orders", p) for p in wanted], timeout=10)
                except Exception:
                    return None
                return {tp.partition: tp.offset for tp in got}
            got = cluster.wait_for(lambda: committed() == wanted and committed(), timeout_s=60,
                                   what="the committed offsets from the new coordinator")
            assert got == wanted
        finally:
            c.close()
