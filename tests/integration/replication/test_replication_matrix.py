"""Kafka's replication_test matrix on kafkapy broker processes with a real ZooKeeper.

RF 3, min.insync.replicas=2, an acks=all producer writing numbered records to 3 partitions
while the test does one of {clean shutdown, hard kill -9, clean bounce, hard bounce} to the
leader of partition 0 or to the controller. Afterwards every partition is read back: every
acknowledged record is present at its acknowledged offset, order is preserved, nothing twice.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kafkapy.testing.cluster import LocalCluster
from kafkapy.testing.zookeeper import ZooKeeperNotInstalledError

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

PARTITIONS = 3
TRAFFIC_S = 2.0
BROKER_CONFIG = {
    "replica.lag.time.max.ms": 10000,
    "auto.leader.rebalance.enable": "false",
    "num.partitions": 1,
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    try:
        c = LocalCluster(brokers=3, broker_config=BROKER_CONFIG, base_dir=tmp_path_factory.mktemp("replication"))
    except ZooKeeperNotInstalledError as exc:
        pytest.skip(str(exc))
    c.start()
    try:
        yield c
    finally:
        c.close()


def wait_full_isr(cluster: LocalCluster, topic: str, partitions: int, timeout_s: float = 60.0) -> None:
    cluster.wait_for(lambda: all(len(cluster.isr(topic, p)) == 3 for p in range(partitions)), timeout_s,
                     f"every partition of {topic} to have 3 in-sync replicas")


def restore(cluster: LocalCluster) -> None:
    for b in sorted(cluster.brokers):
        if not cluster.broker(b).is_running():
            cluster.start_broker(b)
    cluster.wait_for(lambda: len(cluster.registered_brokers()) == 3, 60, "all three brokers registered")


@pytest.mark.parametrize("target", ["leader", "controller"])
@pytest.mark.parametrize("fault", ["clean_shutdown", "hard_shutdown", "clean_bounce", "hard_bounce"])
def test_no_acknowledged_write_is_lost(cluster: LocalCluster, workload_factory, verify_records, target: str,
                                      fault: str) -> None:
    restore(cluster)
    topic = f"repl-{fault}-{target}".replace("_", "-")
    cluster.create_topic(topic, PARTITIONS, 3, {"min.insync.replicas": "2"})
    wait_full_isr(cluster, topic, PARTITIONS)
    w = workload_factory(cluster.bootstrap_servers, topic, PARTITIONS)
    w.wait_acked(300)

    victim = cluster.leader(topic, 0) if target == "leader" else cluster.controller()
    assert victim is not None and victim > 0
    if fault.startswith("clean"):
        cluster.stop(victim)
    else:
        cluster.kill(victim)
    cluster.wait_unregistered(victim)
    # The partitions move to the survivors (leader and ISR among them) and writes go on.
    cluster.wait_for(lambda: all(cluster.leader(topic, p) not in (victim, -1, None) for p in range(PARTITIONS)), 60,
                     f"leaders of {topic} away from broker {victim}")
    before = w.acked_count()
    w.wait_acked(before + 200, 60)
    if fault.endswith("bounce"):
        cluster.start_broker(victim)
        wait_full_isr(cluster, topic, PARTITIONS, 90)
    deadline = time.monotonic() + TRAFFIC_S
    while time.monotonic() < deadline:
        time.sleep(0.1)
    result = w.stop()
    v = verify_records(cluster.bootstrap_servers, topic, PARTITIONS, result, f"{fault} {target} broker {victim}")
    assert v.acknowledged > 0
    assert v.lost == 0, v
    assert v.misplaced == 0 and v.duplicates == 0 and v.reordered == 0, v
    assert v.found == v.acknowledged
