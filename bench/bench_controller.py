"""Controller failover time: kill -9 the controller of a 3-broker kafkapy cluster (LocalCluster, real ZooKeeper)
holding N partitions with replication factor 3, then time

  * detection: kill -> another broker holds ``/controller`` (bounded below by zookeeper.session.timeout.ms),
  * election:  new controller -> every partition the dead broker led has a new leader in its state znode,
  * total:     kill -> all those leaders re-elected.

Topics are written in bulk through AdminZkClient (one ``/brokers/topics/<t>`` per topic of
``--partitions-per-topic`` partitions); the controller then creates the state znodes and the brokers the logs.

    .venv/bin/python bench/bench_controller.py --partitions 1000 10000

Partitions whose ISR held only the dead leader cannot move (no unclean election) and are counted apart
("stuck"); ``replica.lag.time.max.ms`` is raised so that slow first fetches during the setup do not shrink
ISRs. An idle replica holds one file descriptor in a broker (its segment; an index is mapped at its first
entry and keeps no descriptor of its own), a replica with data three (segment plus the two mappings'
duplicates); the container's open-files hard limit is 20,000 (not raisable without CAP_SYS_RESOURCE).

Measured on the shared 2-core machine (2026-11-22, session 6000 ms; load average at the kill in brackets):

    partitions  detection  election  total            earlier
      1,000       4.2 s     1.1 s     5.3 s  [1.1]     9.8 s (5.2 + 4.6) in the first session
      3,000       6.4 s     3.5 s     9.9 s  [3.5]     18.4 s (7.8 + 10.7) in the first session
     10,000       4.8 s    17.7 s    22.4 s  [3.0]     never finished (resign/re-elect loop, EMFILE)

The 1,000 and 10,000 rows are one run of `--partitions 1000 10000` on the tree with the index descriptors
closed after mapping (1 descriptor per idle replica instead of 5), the leader-epoch checkpoints written off
the loop and the controller's ZooKeeper verbs pipelined and retried across connection losses. An earlier
10,000 run split its election into 8.4 s reading the state of every partition (10,000 ZooKeeper reads paced
by kazoo's threads sharing the GIL with a busy broker loop; --zookeeper-max-in-flight-requests 100 made that
part 5.9 s but not the total) and 11.8 s of state machines and LeaderAndIsr handling. Setup (10,000
partitions created and every log open) took 21 s.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafkapy.common.types import LeaderAndIsr, TopicPartition  # noqa: E402
from kafkapy.testing.cluster import LocalCluster  # noqa: E402
from kafkapy.zk.admin_zk import AdminZkClient, assign_replicas_to_brokers  # noqa: E402
from kafkapy.zk.kafka_zk import KafkaZkClient  # noqa: E402


def create_topics(cluster: LocalCluster, partitions: int, per_topic: int) -> list[TopicPartition]:
    topics = {f"bench-{i:04d}": min(per_topic, partitions - i * per_topic)
              for i in range((partitions + per_topic - 1) // per_topic)}

    async def create(zk: KafkaZkClient) -> None:
        admin = AdminZkClient(zk)
        sem = asyncio.Semaphore(32)

        async def one(topic: str, n: int) -> None:
            async with sem:
                await admin.create_topic_with_assignment(topic, {}, assign_replicas_to_brokers(n, 3, [1, 2, 3]))
        await asyncio.gather(*(one(t, n) for t, n in topics.items()))
    cluster.zk(create, timeout_s=600)
    return [TopicPartition(t, p) for t, n in topics.items() for p in range(n)]


def leaders(cluster: LocalCluster, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    return {tp: s.leader for tp, s in states(cluster, tps).items()}


def states(cluster: LocalCluster, tps: list[TopicPartition]) -> dict[TopicPartition, LeaderAndIsr]:
    async def read(zk: KafkaZkClient) -> dict[TopicPartition, LeaderAndIsr]:
        return await zk.get_topic_partition_states(tps)
    return cluster.zk(read, timeout_s=300)


def raise_open_files_limit(wanted: int) -> int:
    """Every replica holds a few file descriptors (segment, mmapped indexes); 10,000 replicas per broker
    exceed the usual 20,000 limit, as they do for Kafka (whose docs ask for 100,000 or more). Brokers inherit
    the limit from this process. Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def logs_created(cluster: LocalCluster, tps: list[TopicPartition]) -> bool:
    """Every broker has a log directory for each of its replicas (RF 3 on 3 brokers: all of them)."""
    wanted = {f"{tp.topic}-{tp.partition}" for tp in tps}
    return all(wanted <= set(os.listdir(cluster.broker(b).data_dir)) for b in (1, 2, 3))


def run(partitions: int, per_topic: int, session_timeout_ms: int, keep_dirs: bool = False,
        max_in_flight: int | None = None) -> dict[str, float]:
    # replica.lag.time.max.ms: followers of 10,000 new, idle partitions on two shared cores can take
    # longer than Kafka's 30 s to complete a first fetch round, and the leaders would shrink those ISRs
    # to themselves; what is measured here is the controller, so the ISRs are left whole.
    config = {"zookeeper.session.timeout.ms": str(session_timeout_ms), "auto.leader.rebalance.enable": "false",
              "log.segment.bytes": str(1 << 20), "log.index.size.max.bytes": str(1 << 16),
              "replica.lag.time.max.ms": str(600_000)}
    if max_in_flight is not None:
        config["zookeeper.max.in.flight.requests"] = str(max_in_flight)
    with LocalCluster(brokers=3, broker_config=config, start_timeout_s=180, keep_dirs=keep_dirs) as cluster:
        if keep_dirs:
            print(f"logs in {cluster.base_dir}", flush=True)
        t0 = time.monotonic()
        tps = create_topics(cluster, partitions, per_topic)
        cluster.wait_for(lambda: (ls := leaders(cluster, tps)) and len(ls) == len(tps)
                         and all(x >= 0 for x in ls.values()), 1800, f"leaders for {partitions} partitions",
                         interval_s=1.0)
        # The brokers create the logs after the leaders are written: wait for that too, or the
        # failover would be measured while they are still busy with LeaderAndIsr.
        cluster.wait_for(lambda: logs_created(cluster, tps), 1800, f"the logs of {partitions} partitions",
                         interval_s=1.0)
        setup_s = time.monotonic() - t0
        old = cluster.controller()
        before = states(cluster, tps)
        led = [tp for tp, s in before.items() if s.leader == old]
        # A partition whose ISR is only the dead leader stays offline (no unclean election): not
        # the controller's to move. Counted apart; the ISR can shrink so when followers were slow.
        stuck = [tp for tp in led if set(before[tp].isr) <= {old}]
        led = [tp for tp in led if tp not in stuck]
        load_at_kill = os.getloadavg()[0]
        killed = time.monotonic()
        cluster.kill(old)
        cluster.wait_for(lambda: cluster.controller() not in (None, old), 120, "a new controller", interval_s=0.02)
        detected = time.monotonic()

        pending = set(led)

        def all_moved() -> bool:        # reads only the partitions still waiting: light on the shared CPUs
            moved = {tp for tp, x in leaders(cluster, sorted(pending)).items() if x not in (old, -1)}
            pending.difference_update(moved)
            return not pending
        cluster.wait_for(all_moved, 900, f"new leaders for the {len(led)} partitions broker {old} led",
                         interval_s=0.2)
        done = time.monotonic()
    return {"partitions": partitions, "led_by_controller": len(led), "stuck": len(stuck), "setup_s": setup_s,
            "detection_s": detected - killed, "election_s": done - detected, "total_s": done - killed,
            "load_at_kill": load_at_kill, "load_after": os.getloadavg()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--partitions", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--partitions-per-topic", type=int, default=100)
    ap.add_argument("--session-timeout-ms", type=int, default=6000)
    ap.add_argument("--zookeeper-max-in-flight-requests", type=int, default=None,
                    help="broker property zookeeper.max.in.flight.requests (default: the broker's, 10)")
    ap.add_argument("--keep-dirs", action="store_true", help="keep the cluster's directory (logs) and print it")
    args = ap.parse_args()
    nofile = raise_open_files_limit(max(65536, 8 * max(args.partitions)))
    print(f"zookeeper.session.timeout.ms={args.session_timeout_ms}, 3 brokers, RF 3, "
          f"{args.partitions_per_topic} partitions per topic, open files limit {nofile}, "
          f"zookeeper.max.in.flight.requests={args.zookeeper_max_in_flight_requests or 'default'}", flush=True)
    print(f"{'partitions':>10} {'moved':>6} {'stuck':>5} {'setup s':>8} {'detect s':>9} {'elect s':>8} "
          f"{'total s':>8} {'load1':>11}", flush=True)
    for n in args.partitions:
        r = run(n, args.partitions_per_topic, args.session_timeout_ms, args.keep_dirs,
                args.zookeeper_max_in_flight_requests)
        print(f"{r['partitions']:>10} {r['led_by_controller']:>6} {r['stuck']:>5} {r['setup_s']:>8.1f} "
              f"{r['detection_s']:>9.2f} {r['election_s']:>8.2f} {r['total_s']:>8.2f} "
              f"{r['load_at_kill']:>5.1f}/{r['load_after']:<5.1f}", flush=True)


if __name__ == "__main__":
    main()
