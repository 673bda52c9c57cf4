"""kafkapy side by side with Apache Kafka 2.8.2 and the client's own ceiling (`make bench-compare`).

One ZooKeeper; an Apache Kafka 2.8.2 broker (ZooKeeper mode, its own chroot) and a kafkapy
broker (its own chroot), log dirs in the same temporary directory (same disk); and
librdkafka's mock cluster as the third column: what the same confluent-kafka workload does
against a broker that costs nothing. Every workload runs against each target in a fresh
topic, targets alternating (Kafka, kafkapy, ceiling, then kafkapy, Kafka, ceiling...), for
`--rounds` rounds; the table holds the medians and the ratios kafkapy/Kafka and
kafkapy/ceiling. It is printed and written to `bench/results/latest.md` with the machine
description. Without Java or Maven Central the Kafka column is skipped (one line says why).

    .venv/bin/python bench/compare.py [--rounds 4] [--records-100 300000] [--records-1k 100000]
                                      [--only "1 KiB, 1 part"] [--no-kafka] [--no-ceiling]
                                      [--no-group] [--no-cluster] [--cluster-rounds 2] [--out FILE]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import confluent_kafka  # noqa: E402

from kafkapy.testing.kafka_broker import KafkaBroker, KafkaDistUnavailable, kafka_available  # noqa: E402
from kafkapy.testing.broker import BrokerProcess, wait_for_leaders  # noqa: E402
from kafkapy.testing.zookeeper import ZooKeeperServer  # noqa: E402
from workloads import MockCluster, ProduceSpec, consume, group_consume, latency, produce  # noqa: E402

KAFKA, KAFKAPY, CEILING = "Kafka 2.8.2", "kafkapy", "ceiling"
WARMUP = (ProduceSpec(1024, 1, "none", 100_000), ProduceSpec(100, 1, "lz4", 300_000),
          ProduceSpec(1024, 1, "lz4", 100_000))
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def peak_rss_mib(pid: int) -> float | None:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


@dataclass
class Target:
    name: str
    bootstrap: str
    pid: int | None                      # the broker process, None for the in-process mock
    create_topic: Any                    # (topic, partitions) -> None, ready to use on return


def create_topics_zk(zk_connect: str, topics: dict[str, int], replication_factor: int = 1) -> None:
    """Create topics the way ``kafka-topics.sh --zookeeper`` does, over one ZooKeeper session."""
    import asyncio

    from kafkapy.zk.admin_zk import AdminZkClient
    from kafkapy.zk.kafka_zk import KafkaZkClient

    async def go() -> None:
        zk = await KafkaZkClient.connect(zk_connect, session_timeout_ms=6000)
        try:
            admin = AdminZkClient(zk)
            for topic, partitions in topics.items():
                await admin.create_topic(topic, partitions, replication_factor, {})
        finally:
            await zk.close()

    asyncio.run(go())


class ZkTopics:
    """Topics of a broker target: created ahead in bulk through ZooKeeper, awaited when used."""

    def __init__(self, zk_connect: str, bootstrap: str, replication_factor: int = 1) -> None:
        self.zk_connect = zk_connect
        self.bootstrap = bootstrap
        self.replication_factor = replication_factor
        self.created: set[str] = set()

    def prepare(self, topics: dict[str, int]) -> None:
        todo = {t: p for t, p in topics.items() if t not in self.created}
        create_topics_zk(self.zk_connect, todo, self.replication_factor)
        self.created.update(todo)

    def __call__(self, topic: str, partitions: int) -> None:
        if topic not in self.created:
            create_topics_zk(self.zk_connect, {topic: partitions}, self.replication_factor)
            self.created.add(topic)
        wait_for_leaders(self.bootstrap, topic, partitions)


def machine_description() -> list[str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    java = "none"
    if shutil.which("java"):
        out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
        java = out[0] if out else "unknown"
    return [f"nproc {os.cpu_count()}, memory {mem}, CPU {cpu}",
            f"kernel {platform.release()}, Python {platform.python_version()}, Java: {java}",
            f"confluent-kafka {confluent_kafka.version()[0]}, librdkafka {confluent_kafka.libversion()[0]}",
            f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
            f"(the machine is shared: absolute numbers are noisy, ratios from alternating runs less so)"]


def produce_specs(records_100: int, records_1k: int) -> list[ProduceSpec]:
    return [ProduceSpec(size, parts, comp, records_100 if size == 100 else records_1k)
            for size in (100, 1024) for parts in (1, 8) for comp in ("none", "lz4")]


class Results:
    """row -> target -> round -> value, plus each row's unit and direction."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
        self.meta: dict[str, tuple[str, bool]] = {}
        self.notes: list[str] = []

    def add(self, row: str, target: str, rnd: int, value: float | None, unit: str,
            higher_is_better: bool) -> None:
        self.meta.setdefault(row, (unit, higher_is_better))
        per_target = self.values[row]       # creates the row: rows keep their first-seen order
        if value is not None:
            per_target[target][rnd] = value

    def median(self, row: str, target: str) -> float | None:
        vals = list(self.values[row].get(target, {}).values())
        return statistics.median(vals) if vals else None

    def paired_ratio(self, row: str, a: str, b: str) -> float | None:
        """Median over rounds of a/b, each from the same round (adjacent runs, same machine load)."""
        va, vb = self.values[row].get(a, {}), self.values[row].get(b, {})
        ratios = [va[r] / vb[r] for r in va if r in vb and vb[r]]
        return statistics.median(ratios) if ratios else None

    def table(self, targets: list[str]) -> list[str]:
        def fmt(x: float | None) -> str:
            if x is None:
                return "–"
            return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.2f}" if abs(x) >= 1 else f"{x:.3f}"

        def ratio(x: float | None) -> str:
            return "–" if x is None else f"{x:.2f}×"

        against = [t for t in (KAFKA, CEILING) if t in targets]
        head = ["workload", "unit", *targets, *(f"kafkapy/{t.split()[0]}" for t in against)]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in self.values:
            unit, higher = self.meta[row]
            n = max((len(v) for v in self.values[row].values()), default=0)
            cells = [row, f"{unit} ({'↑' if higher else '↓'}, n={n})",
                     *(fmt(self.median(row, t)) for t in targets),
                     *(ratio(self.paired_ratio(row, KAFKAPY, t)) for t in against)]
            lines.append("| " + " | ".join(cells) + " |")
        return lines


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_round(rnd: int, order: list[Target], specs: list[ProduceSpec], res: Results,
              args: argparse.Namespace) -> None:
    cpu_prod: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])   # target -> [cpu s, GB]
    cpu_cons: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for spec in specs:
        for tgt in order:
            topic = f"{spec.slug}-r{rnd}"
            tgt.create_topic(topic, spec.partitions)
            c0 = cpu_seconds(tgt.pid) if tgt.pid else None
            p = produce(tgt.bootstrap, topic, spec)
            c1 = cpu_seconds(tgt.pid) if tgt.pid else None
            res.add(f"produce {spec.name}", tgt.name, rnd, p.mb_per_s if not p.errors else None, "MB/s", True)
            if p.errors:
                res.notes.append(f"round {rnd}: {tgt.name} produce {spec.name}: {p.errors} failed deliveries")
            if c0 is not None and c1 is not None:
                cpu_prod[tgt.name][0] += c1 - c0
                cpu_prod[tgt.name][1] += p.bytes / 1e9
            if tgt.name == CEILING:
                log(f"  {tgt.name:12s} produce {spec.name:22s} {p.mb_per_s:8.1f} MB/s")
                continue      # the mock keeps only the last ~5 MB of each partition
            c = consume(tgt.bootstrap, topic, spec.partitions, p.records)
            c2 = cpu_seconds(tgt.pid) if tgt.pid else None
            res.add(f"consume {spec.name}", tgt.name, rnd, c.mb_per_s if not c.errors else None, "MB/s", True)
            if c.errors:
                res.notes.append(f"round {rnd}: {tgt.name} consume {spec.name}: {c.errors} records missing")
            if c1 is not None and c2 is not None:
                cpu_cons[tgt.name][0] += c2 - c1
                cpu_cons[tgt.name][1] += c.bytes / 1e9
            log(f"  {tgt.name:12s} produce {spec.name:22s} {p.mb_per_s:8.1f} MB/s   consume {c.mb_per_s:8.1f} MB/s")
    if args.group_features:
        spec = ProduceSpec(1024, 8, "none", args.records_1k)
        for tgt in order:
            if tgt.name == CEILING:
                continue      # the mock keeps ~5 MB per partition: nothing to read back
            topic = f"group-r{rnd}"
            tgt.create_topic(topic, spec.partitions)
            produce(tgt.bootstrap, topic, spec)
            try:
                g, counts, join_s = group_consume(tgt.bootstrap, topic, spec.records, spec.partitions, members=3)
            except Exception as exc:  # a missing feature shows as a note, not a crash
                res.notes.append(f"round {rnd}: {tgt.name} consumer group of 3 failed: {exc}")
                continue
            res.add("consumer group of 3: subscribe until every member owns partitions", tgt.name, rnd,
                    join_s * 1000, "ms", False)
            res.add("consumer group of 3: consume 1 KiB, 8 part", tgt.name, rnd,
                    g.mb_per_s if not g.errors else None, "MB/s", True)
            if g.errors or min(counts) == 0:
                res.notes.append(f"round {rnd}: {tgt.name} consumer group of 3: records per member {counts}, "
                                 f"{g.errors} missing")
            log(f"  {tgt.name:12s} group of 3: stable after {join_s * 1000:.0f} ms, consume {g.mb_per_s:8.1f} MB/s "
                f"(records per member {counts})")
    if not args.no_latency:
        for tgt in order:
            topic = f"latency-r{rnd}"
            tgt.create_topic(topic, 1)
            c0, t0 = (cpu_seconds(tgt.pid) if tgt.pid else None), time.monotonic()
            lat = latency(tgt.bootstrap, topic, rate=args.latency_rate, seconds=args.latency_seconds)
            if c0 is not None:
                res.add(f"broker CPU during the latency run ({args.latency_rate:,} records/s)", tgt.name, rnd,
                        100 * (cpu_seconds(tgt.pid) - c0) / (time.monotonic() - t0), "% of a core", False)
            for q, v in (("p50", lat.p50_ms), ("p99", lat.p99_ms), ("p99.9", lat.p999_ms)):
                res.add(f"end-to-end latency {q} @ {args.latency_rate:,}/s, 100 B", tgt.name, rnd,
                        v if lat.count else None, "ms", False)
            if lat.lost:
                res.notes.append(f"round {rnd}: {tgt.name} latency: {lat.lost} records not received")
            log(f"  {tgt.name:12s} latency p50 {lat.p50_ms:.2f} p99 {lat.p99_ms:.2f} p99.9 {lat.p999_ms:.2f} ms")
    for name, (cpu, gb) in cpu_prod.items():
        res.add("broker CPU per GB produced", name, rnd, cpu / gb if gb else None, "CPU s/GB", False)
    for name, (cpu, gb) in cpu_cons.items():
        res.add("broker CPU per GB consumed", name, rnd, cpu / gb if gb else None, "CPU s/GB", False)


@contextlib.contextmanager
def mock_target(brokers: int = 1) -> Iterator[Target]:
    mock = MockCluster(brokers)
    try:
        yield Target(CEILING, mock.bootstrap, None,
                     lambda topic, partitions: mock.create_topic(topic, partitions, brokers))
    finally:
        mock.close()


def kafkapy_features() -> tuple[bool, bool, list[str]]:
    """Whether kafkapy has replication and consumer groups; notes for what is missing."""
    import importlib.util
    notes = []
    replication = all(importlib.util.find_spec(m) is not None
                      for m in ("kafkapy.server.fetcher", "kafkapy.server.isr"))
    groups = all(importlib.util.find_spec(m) is not None
                 for m in ("kafkapy.server.apis.join_group", "kafkapy.server.apis.sync_group",
                           "kafkapy.coordinator.group.coordinator"))
    if not replication:
        notes.append("3 brokers, RF 3, acks=all: skipped, kafkapy has no replica fetcher yet.")
    if not groups:
        notes.append("consumer group of 3: skipped, kafkapy has no group coordinator yet.")
    return replication, groups, notes


def run_cluster_phase(work: Path, zk: ZooKeeperServer, kafka_cp: str | None, res: Results,
                      args: argparse.Namespace) -> None:
    """Three brokers of each kind (own chroots), a topic with RF 3, acks=all: produce and consume."""
    spec = ProduceSpec(1024, 1, "none", args.records_1k, acks="-1")
    procs: list[KafkaBroker | BrokerProcess] = []
    try:
        targets: list[Target] = []
        if kafka_cp is not None:
            chroot = zk.connect_string + "/kafka3"
            ks = [KafkaBroker(work / f"kafka3-{i}", chroot, broker_id=i, classpath=kafka_cp) for i in range(3)]
            procs += ks
            for k in ks:
                k.launch()
            for k in ks:
                k.wait_started()
            boot = ",".join(k.bootstrap for k in ks)
            targets.append(Target(KAFKA, boot, None, ZkTopics(chroot, boot, 3)))
        chroot = zk.connect_string + "/kafkapy3"
        ps = [BrokerProcess(work / f"kafkapy3-{i}", chroot, broker_id=i) for i in range(3)]
        procs += ps
        for b in ps:
            b.launch()
        for b in ps:
            b.wait_started()
        boot = ",".join(b.bootstrap for b in ps)
        targets.append(Target(KAFKAPY, boot, None, ZkTopics(chroot, boot, 3)))
        log("3-broker clusters up")
        with contextlib.ExitStack() as stack:
            if not args.no_ceiling:
                targets.append(stack.enter_context(mock_target(3)))
            brokers = [t for t in targets if t.name != CEILING]
            for tgt in brokers:
                tgt.create_topic("warmup-rf3", 1)
                produce(tgt.bootstrap, "warmup-rf3", ProduceSpec(1024, 1, "none", 20_000, acks="-1"))
            for rnd in range(args.cluster_rounds):
                order = (brokers if rnd % 2 == 0 else brokers[::-1]) + [t for t in targets if t.name == CEILING]
                for tgt in order:
                    topic = f"rf3-{spec.slug}-r{rnd}"
                    tgt.create_topic(topic, 1)
                    p = produce(tgt.bootstrap, topic, spec)
                    res.add(f"3 brokers, RF 3: produce {spec.name}", tgt.name, rnd,
                            p.mb_per_s if not p.errors else None, "MB/s", True)
                    if p.errors:
                        res.notes.append(f"round {rnd}: {tgt.name} RF 3 produce: {p.errors} failed deliveries")
                    msg = f"  {tgt.name:12s} RF 3 produce {spec.name:30s} {p.mb_per_s:8.1f} MB/s"
                    if tgt.name != CEILING:
                        c = consume(tgt.bootstrap, topic, 1, p.records)
                        res.add("3 brokers, RF 3: consume 1 KiB, 1 part, none", tgt.name, rnd,
                                c.mb_per_s if not c.errors else None, "MB/s", True)
                        msg += f"   consume {c.mb_per_s:8.1f} MB/s"
                    log(msg)
    finally:
        for proc in procs:
            proc.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--records-100", type=int, default=300_000, help="records per 100-byte produce run")
    ap.add_argument("--records-1k", type=int, default=100_000, help="records per 1 KiB produce run")
    ap.add_argument("--latency-rate", type=int, default=10_000)
    ap.add_argument("--latency-seconds", type=float, default=3.0)
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--only", action="append", default=[],
                    help="run only produce/consume workloads whose name contains this (repeatable)")
    ap.add_argument("--no-kafka", action="store_true", help="skip the Apache Kafka column")
    ap.add_argument("--no-ceiling", action="store_true", help="skip the mock-cluster column")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.md")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    ap.add_argument("--no-group", action="store_true", help="skip the consumer-group-of-3 row")
    ap.add_argument("--no-cluster", action="store_true", help="skip the 3-broker RF 3 acks=all rows")
    ap.add_argument("--cluster-rounds", type=int, default=2)
    args = ap.parse_args()
    replication, groups, feature_notes = kafkapy_features()
    args.group_features = groups and not args.no_group

    started = time.monotonic()
    machine = machine_description()
    for line in machine:
        print(line)
    specs = [s for s in produce_specs(args.records_100, args.records_1k)
             if not args.only or any(o in s.name for o in args.only)]
    kafka_cp: str | None = None
    kafka_note = ""
    if not args.no_kafka:
        try:
            kafka_cp = kafka_available()
        except KafkaDistUnavailable as exc:
            kafka_note = f"Apache Kafka unavailable ({exc}); measuring kafkapy and the client ceiling alone."
            print(kafka_note)
    res = Results()
    work = Path(tempfile.mkdtemp(prefix="kafkapy-compare-"))
    zk = ZooKeeperServer(work / "zk")
    kafka: KafkaBroker | None = None
    ours: BrokerProcess | None = None
    try:
        zk.start()
        targets: list[Target] = []
        if kafka_cp is not None:
            kafka = KafkaBroker(work / "kafka", zk.connect_string + "/kafka", classpath=kafka_cp)
            kafka.start()
            log(f"{KAFKA} pid {kafka.pid} on {kafka.bootstrap}")
            targets.append(Target(KAFKA, kafka.bootstrap, kafka.pid,
                                  ZkTopics(zk.connect_string + "/kafka", kafka.bootstrap)))
        ours = BrokerProcess(work / "kafkapy", zk.connect_string + "/kafkapy", broker_id=0)
        ours.start()
        log(f"{KAFKAPY} pid {ours.pid} on {ours.bootstrap}")
        targets.append(Target(KAFKAPY, ours.bootstrap, ours.pid,
                              ZkTopics(zk.connect_string + "/kafkapy", ours.bootstrap)))
        wanted = {f"{s.slug}-r{r}": s.partitions for r in range(args.rounds) for s in specs}
        wanted.update({f"latency-r{r}": 1 for r in range(args.rounds)})
        wanted.update({f"warmup-{i}": 1 for i in range(len(WARMUP))})
        for tgt in targets:
            tgt.create_topic.prepare(wanted)
        with contextlib.ExitStack() as stack:
            if not args.no_ceiling:
                targets.append(stack.enter_context(mock_target()))
            # Warm-up (not recorded): the JVM's JIT, page cache, connections.
            log("warm-up")
            for tgt in targets:
                for i, warm in enumerate(WARMUP):
                    tgt.create_topic(f"warmup-{i}", 1)
                    produce(tgt.bootstrap, f"warmup-{i}", warm)
                    if tgt.name != CEILING:
                        consume(tgt.bootstrap, f"warmup-{i}", 1, warm.records)
            brokers = [t for t in targets if t.name != CEILING]
            for rnd in range(args.rounds):
                order = brokers if rnd % 2 == 0 else brokers[::-1]
                order = order + [t for t in targets if t.name == CEILING]
                log(f"round {rnd + 1}/{args.rounds}: {' -> '.join(t.name for t in order)}")
                run_round(rnd, order, specs, res, args)
        for tgt in targets:
            if tgt.pid:
                res.add("broker peak RSS (VmHWM)", tgt.name, 0, peak_rss_mib(tgt.pid), "MiB", False)
        ours.stop()
        if kafka is not None:
            kafka.stop()
        if replication and not args.no_cluster:
            log(f"3-broker clusters, RF 3, acks=all ({args.cluster_rounds} rounds)")
            try:
                run_cluster_phase(work, zk, kafka_cp, res, args)
            except Exception as exc:  # a failed optional phase leaves a note, the table stays
                res.notes.append(f"3 brokers, RF 3: failed: {exc!r}")
                log(f"3-broker phase failed: {exc!r}")
    finally:
        if ours is not None:
            ours.stop()
        if kafka is not None:
            kafka.stop()
        zk.stop()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    names = [KAFKA] if kafka_cp is not None else []
    names += [KAFKAPY] + ([] if args.no_ceiling else [CEILING])
    elapsed = time.monotonic() - started
    out = [f"# kafkapy vs Apache Kafka 2.8.2 ({datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)",
           "", *(f"- {m}" for m in machine), ""]
    if kafka_note:
        out += [kafka_note, ""]
    out += [f"Medians of {args.rounds} alternating rounds; ratios are medians of the per-round ratios; "
            f"{elapsed:.0f} s in all. confluent-kafka producer: "
            "acks=1, linger.ms=5, batch.size 1 MiB; 100 B x "
            f"{args.records_100:,} and 1 KiB x {args.records_1k:,} records per run, half-random values; "
            "consumer: one, assigned partitions, from the beginning, timed from assign() to the last record. Latency: linger.ms=1, one partition, "
            "consumer (fetch.wait.max.ms=5) polling in the same process. ↑ higher is better, ↓ lower is better.", ""]
    out += res.table(names)
    out += ["", "Notes:",
            "- ceiling = librdkafka's mock cluster (in the benchmark process): the client's own limit. It keeps "
            "only the last ~5 MB of each partition, so it has no consume rows; it has no broker process, so "
            "no CPU or RSS rows.",
            "- broker CPU per GB: utime+stime of the broker process (all threads) from /proc/<pid>/stat over the "
            "produce (resp. consume) runs of a round, divided by the bytes moved; RSS is VmHWM at the end of the "
            "single-broker rounds.",
            "- consumer group of 3: three consumers in one new group, subscribe + earliest; partitions stay "
            "paused until every member owns some, the clock starts when they resume. 3 brokers, RF 3: separate 3-broker clusters (own chroots) started after "
            "the single-broker rounds; the ceiling there is a 3-broker mock.",
            *(f"- {n}" for n in feature_notes),
            *(f"- {n}" for n in res.notes)]
    text = "\n".join(out) + "\n"
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
