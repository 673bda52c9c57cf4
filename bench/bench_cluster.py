"""How long a test waits for a cluster: startup (and teardown) of LocalCluster and KafkapyCluster.

    .venv/bin/python bench/bench_cluster.py [--runs 3] [--brokers 3] [--skip-docker] [--skip-netns]

Startup is measured until the cluster is usable: every broker registered, a controller elected,
and every broker's metadata listing all brokers. Prints one line per variant with the median
and the individual runs.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafkapy.testing.cluster import LocalCluster  # noqa: E402
from kafkapy.testing.netns import netns_unavailable_reason  # noqa: E402


def measure(factory, runs: int) -> tuple[list[float], list[float]]:
    ups, downs = [], []
    for _ in range(runs):
        cluster = factory()
        t0 = time.monotonic()
        cluster.start()
        ups.append(time.monotonic() - t0)
        t1 = time.monotonic()
        if hasattr(cluster, "close"):
            cluster.close()
        else:
            cluster.stop_all()
        downs.append(time.monotonic() - t1)
    return ups, downs


def report(name: str, ups: list[float], downs: list[float]) -> None:
    runs = " ".join(f"{u:.2f}" for u in ups)
    print(f"{name:<44} start median {statistics.median(ups):6.2f} s  (runs: {runs})   "
          f"teardown median {statistics.median(downs):5.2f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--skip-docker", action="store_true")
    parser.add_argument("--skip-netns", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    n = args.brokers

    report(f"LocalCluster({n} brokers, 1 ZooKeeper)", *measure(lambda: LocalCluster(n, 1), args.runs))
    report(f"LocalCluster({n} brokers, 3 ZooKeepers)", *measure(lambda: LocalCluster(n, 3), args.runs))
    if args.skip_netns:
        pass
    elif (reason := netns_unavailable_reason()) is None:
        report(f"LocalCluster({n} brokers, 3 ZooKeepers, netns)",
               *measure(lambda: LocalCluster(n, 3, network="netns"), args.runs))
    else:
        print(f"netns: skipped ({reason})")

    if not args.skip_docker:
        try:
            from kafkapy.testcontainers import KafkapyCluster, docker_unavailable_reason
        except ImportError as exc:
            print(f"containers: skipped (testcontainers not installed: {exc})")
            return 0
        reason = docker_unavailable_reason()
        if reason is not None:
            print(f"containers: skipped ({reason})")
            return 0
        report(f"KafkapyCluster({n} brokers, 1 ZooKeeper)", *measure(lambda: KafkapyCluster(n, 1), args.runs))
        report(f"KafkapyCluster({n} brokers, 3 ZooKeepers)", *measure(lambda: KafkapyCluster(n, 3), args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
