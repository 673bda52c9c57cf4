"""Seeded chaos under an acks=all workload: no acknowledged write may be lost.

Each iteration picks (from a seeded RNG) one fault: SIGSTOP/SIGCONT of a follower or of the
leader of partition 0 (for 1-8 s, so sometimes beyond the 6 s ZooKeeper session), a
ZooKeeper session expiry, or kill -9 and restart; then waits until every broker is back and
every partition has a leader. At the end every partition is read back and checked.

    KAFKAPY_CHAOS_ITERATIONS=100 KAFKAPY_CHAOS_SEED=7 pytest tests/integration/replication/test_replication_chaos.py
"""
from __future__ import annotations

import os
import random
import time

import pytest

from kafkapy.testing.cluster import LocalCluster
from kafkapy.testing.zookeeper import ZooKeeperNotInstalledError

ITERATIONS = int(os.environ.get("KAFKAPY_CHAOS_ITERATIONS", "3"))
SEED = int(os.environ.get("KAFKAPY_CHAOS_SEED", "20261122"))
PARTITIONS = 3

pytestmark = [pytest.mark.timeout(300 + 120 * ITERATIONS), pytest.mark.slow]

FAULTS = ("pause_follower", "pause_leader", "expire_session", "kill_restart")


def test_chaos_keeps_every_acknowledged_record(tmp_path_factory: pytest.TempPathFactory, workload_factory,
                                                verify_records) -> None:
    rng = random.Random(SEED)
    try:
        c = LocalCluster(brokers=3, base_dir=tmp_path_factory.mktemp("chaos"),
                         broker_config={"replica.lag.time.max.ms": 5000, "auto.leader.rebalance.enable": "false"})
    except ZooKeeperNotInstalledError as exc:
        pytest.skip(str(exc))
    with c:
        topic = "chaos"
        c.create_topic(topic, PARTITIONS, 3, {"min.insync.replicas": "2"})
        c.wait_for(lambda: all(len(c.isr(topic, p)) == 3 for p in range(PARTITIONS)), 60, "full ISRs")
        w = workload_factory(c.bootstrap_servers, topic, PARTITIONS, rate_per_s=600)
        w.wait_acked(100)
        history = []
        for i in range(ITERATIONS):
            fault = rng.choice(FAULTS)
            leader = c.leader(topic, 0)
            if fault == "pause_leader" and leader in c.brokers:
                victim = leader
            elif fault == "pause_follower":
                victim = rng.choice([b for b in c.replicas(topic, 0) if b != leader])
            else:
                victim = rng.choice(sorted(c.brokers))
            hold_s = rng.uniform(1.0, 8.0)
            history.append(f"{i}:{fault}({victim}, {hold_s:.1f}s)")
            print("chaos", history[-1])
            if fault.startswith("pause"):
                c.pause(victim)
                time.sleep(hold_s)           # the fault's duration (not a synchronisation)
                c.resume(victim)
            elif fault == "expire_session":
                c.expire_zk_session(victim)
            else:
                c.kill(victim)
                time.sleep(hold_s)
                c.start_broker(victim)
            c.wait_for(lambda: len(c.registered_brokers()) == 3, 90, "all brokers registered")
            c.wait_for(lambda: all((c.leader(topic, p) or -1) >= 0 for p in range(PARTITIONS)), 90, "leaders")
            before = w.acked_count()
            w.wait_acked(before + 50, 90)
        c.wait_for(lambda: all(len(c.isr(topic, p)) >= 2 for p in range(PARTITIONS)), 90, "ISRs of two or more")
        result = w.stop()
        v = verify_records(c.bootstrap_servers, topic, PARTITIONS, result,
                           f"chaos seed={SEED} iterations={ITERATIONS}: {' '.join(history)}")
        assert v.acknowledged > 0
        assert v.lost == 0, v
        assert v.misplaced == 0 and v.duplicates == 0 and v.reordered == 0, v
