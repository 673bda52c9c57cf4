"""The 0.8 high-level consumer: group coordination through ZooKeeper, offsets in ZooKeeper.

`ZookeeperConsumerConnector` behaves like Kafka 0.8's ``ZookeeperConsumerConnector``:

* registers ``/consumers/<group>/ids/<consumerId>`` (ephemeral, Kafka's JSON: version,
  subscription topic → stream count or one regex, pattern, timestamp);
* watches the group's members, the subscribed topics' partition lists (and, for a wildcard
  subscription, the topic list), and rebalances when any of them changes;
* a rebalance commits offsets (auto-commit), releases its ``/owners/<t>/<p>`` nodes, computes
  the group's assignment with Kafka's ``range`` or ``roundrobin`` rules over the sorted thread
  ids ``<consumerId>-<n>``, reads the committed offsets of its partitions, and claims their
  owner nodes (data: the thread id). A claim still held by someone else fails the attempt:
  what was claimed is released and the rebalance is retried after ``rebalance.backoff.ms``, up
  to ``rebalance.max.retries`` times;
* fetches the owned partitions (kafkapy's Consumer with manual assignment, bootstrapped from
  the broker registrations) from the committed offset, or per ``auto.offset.reset``
  (``largest``/``smallest``);
* commits the next offset to consume as decimal text at
  ``/consumers/<group>/offsets/<topic>/<partition>``, skipping unchanged ones.

    c = ZookeeperConsumerConnector({"zookeeper.connect": zk, "group.id": "g"}, {"orders": 1})
    await c.start()
    records = await c.poll(1000)
    await c.commit_offsets()
    await c.shutdown()
"""
from __future__ import annotations

import asyncio
import logging
import re
import socket
import struct
import time
import uuid
from collections.abc import Mapping
from typing import Any

from kafkapy.clients.consumer.consumer import Consumer, ConsumerRecord
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import ConsumerRegistration

log = logging.getLogger(__name__)

__all__ = ["ZookeeperConsumerConnector", "ConsumerRebalanceFailedError", "range_assignment",
           "roundrobin_assignment", "java_string_hashcode"]

DEFAULTS: dict[str, Any] = {
    "zookeeper.connect": None, "group.id": None, "consumer.id": None, "auto.commit.enable": True,
    "auto.commit.interval.ms": 60000, "auto.offset.reset": "largest", "rebalance.max.retries": 4,
    "rebalance.backoff.ms": 2000, "zookeeper.session.timeout.ms": 6000,
    "partition.assignment.strategy": "range", "exclude.internal.topics": True, "client.id": None,
}
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


class ConsumerRebalanceFailedError(Exception):
    """The rebalance did not succeed within ``rebalance.max.retries`` attempts."""


def java_string_hashcode(s: str) -> int:
    data = s.encode("utf-16-be", "surrogatepass")
    h = 0
    for (unit,) in struct.iter_unpack(">H", data):
        h = (31 * h + unit) & 0xFFFFFFFF
    return h - 0x100000000 if h & 0x80000000 else h


def thread_ids(consumer_id: str, streams: int) -> list[str]:
    return [f"{consumer_id}-{i}" for i in range(streams)]


def range_assignment(threads_per_topic: Mapping[str, list[str]], partitions_per_topic: Mapping[str, list[int]]
                     ) -> dict[TopicPartition, str]:
    """Kafka's legacy RangeAssignor: per topic, sorted threads get contiguous ranges."""
    out: dict[TopicPartition, str] = {}
    for topic, threads in threads_per_topic.items():
        threads = sorted(threads)
        parts = sorted(partitions_per_topic.get(topic, []))
        if not threads:
            continue
        per, extra = divmod(len(parts), len(threads))
        for i, thread in enumerate(threads):
            start = per * i + min(i, extra)
            count = per + (1 if i < extra else 0)
            for p in parts[start:start + count]:
                out[TopicPartition(topic, p)] = thread
    return out


def roundrobin_assignment(threads_per_topic: Mapping[str, list[str]], partitions_per_topic: Mapping[str, list[int]]
                          ) -> dict[TopicPartition, str]:
    """Kafka's legacy RoundRobinAssignor (1.x form: partitions ordered by hash of "<topic>-<p>")."""
    all_threads = sorted({t for ts in threads_per_topic.values() for t in ts})
    if not all_threads:
        return {}
    subscribed = {t: set(ts) for t, ts in threads_per_topic.items()}
    pairs = [TopicPartition(t, p) for t in threads_per_topic for p in sorted(partitions_per_topic.get(t, []))]
    pairs.sort(key=lambda tp: java_string_hashcode(f"{tp.topic}-{tp.partition}"))
    out: dict[TopicPartition, str] = {}
    i = 0
    for tp in pairs:
        while all_threads[i % len(all_threads)] not in subscribed[tp.topic]:
            i += 1
        out[tp] = all_threads[i % len(all_threads)]
        i += 1
    return out


class ZookeeperConsumerConnector:
    """One member of a legacy (ZooKeeper-coordinated) consumer group."""

    def __init__(self, config: Mapping[str, Any], topic_count: Mapping[str, int] | None = None, *,
                 whitelist: str | None = None, blacklist: str | None = None) -> None:
        cfg = dict(DEFAULTS)
        cfg.update(config)
        if not cfg["zookeeper.connect"] or not cfg["group.id"]:
            raise ValueError("zookeeper.connect and group.id are required")
        if (topic_count is None) == (whitelist is None and blacklist is None):
            raise ValueError("give either a topic -> stream count map or one whitelist/blacklist regex")
        self.config = cfg
        self.group = str(cfg["group.id"])
        if cfg["consumer.id"]:
            self.consumer_id = f"{self.group}_{cfg['consumer.id']}"
        else:
            self.consumer_id = (f"{self.group}_{socket.gethostname()}-{int(time.time() * 1000)}-"
                                f"{uuid.uuid4().hex[:8]}")
        self.topic_count = dict(topic_count or {})
        self.pattern_kind = "static" if topic_count is not None else ("white_list" if whitelist else "black_list")
        self.regex = whitelist if whitelist is not None else blacklist
        self.zk: KafkaZkClient | None = None
        self.fetcher: Consumer | None = None
        self.owned: dict[TopicPartition, str] = {}
        self.positions: dict[TopicPartition, int] = {}
        self.checkpointed: dict[TopicPartition, int] = {}
        self.rebalances = 0
        self._changed = asyncio.Event()
        self._tasks = TaskSupervisor(f"legacy-consumer-{self.group}")
        self._stopped = False
        self._rebalance_done = asyncio.Event()
        self.rebalance_error: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        cfg = self.config
        self.zk = await KafkaZkClient.connect(cfg["zookeeper.connect"],
                                              session_timeout_ms=int(cfg["zookeeper.session.timeout.ms"]))
        self.zk.zk.add_new_session_listener(self._on_new_session)
        await self._register()
        self._changed.set()
        self._tasks.spawn(f"legacy-rebalance-{self.consumer_id}", self._rebalance_loop())
        if cfg["auto.commit.enable"]:
            self._tasks.spawn(f"legacy-autocommit-{self.consumer_id}", self._auto_commit_loop())
        await self.wait_for_rebalance()

    async def _register(self) -> None:
        assert self.zk is not None
        if self.pattern_kind == "static":
            subscription = dict(self.topic_count)
        else:
            subscription = {str(self.regex): 1}
        reg = ConsumerRegistration(subscription, self.pattern_kind, int(time.time() * 1000))
        await self.zk.register_consumer(self.group, self.consumer_id, reg)
        log.info("[%s], end registering consumer %s in ZK", self.consumer_id, self.consumer_id)

    def _on_new_session(self) -> None:
        if self._stopped:
            return
        self.owned = {}
        self._tasks.spawn(f"legacy-reregister-{self.consumer_id}", self._reregister())

    async def _reregister(self) -> None:
        await self._register()
        self._trigger(None)

    async def wait_for_rebalance(self, timeout_s: float = 60.0) -> None:
        await asyncio.wait_for(self._rebalance_done.wait(), timeout_s)
        if self.rebalance_error is not None:
            raise self.rebalance_error

    async def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        await self._tasks.close()
        if self.config["auto.commit.enable"]:
            await self.commit_offsets()
        if self.fetcher is not None:
            await self.fetcher.close()
        if self.zk is not None:
            await self.zk.close()   # the session's end removes registration and ownership

    # ------------------------------------------------------------------ consuming
    async def poll(self, timeout_ms: int = 0) -> list[ConsumerRecord]:
        if self.fetcher is None or not self.fetcher.assignment():
            await asyncio.sleep(timeout_ms / 1000)
            return []
        records = await self.fetcher.poll(timeout_ms)
        out = []
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            if tp in self.owned:
                self.positions[tp] = r.offset + 1
                out.append(r)
        return out

    async def commit_offsets(self) -> None:
        if self.zk is None:
            return
        for tp, off in list(self.positions.items()):
            if tp not in self.owned or self.checkpointed.get(tp) == off:
                continue
            await self.zk.set_or_create_consumer_offset(self.group, tp, off)
            self.checkpointed[tp] = off

    async def _auto_commit_loop(self) -> None:
        interval = int(self.config["auto.commit.interval.ms"]) / 1000
        while True:
            await asyncio.sleep(interval)
            try:
                await self.commit_offsets()
            except Exception:   # a failed checkpoint is retried on the next tick, as Kafka does
                log.warning("[%s], exception during autoCommit", self.consumer_id, exc_info=True)

    # ------------------------------------------------------------------ rebalancing
    def _trigger(self, _event: Any) -> None:
        self._changed.set()

    async def _rebalance_loop(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self.synced_rebalance()
                self.rebalance_error = None
            except ConsumerRebalanceFailedError as exc:
                log.error("[%s], %s", self.consumer_id, exc)
                self.rebalance_error = exc
            self._rebalance_done.set()

    async def synced_rebalance(self) -> None:
        retries = int(self.config["rebalance.max.retries"])
        backoff = int(self.config["rebalance.backoff.ms"]) / 1000
        for attempt in range(retries):
            log.info("[%s], begin rebalancing consumer %s try #%d", self.consumer_id, self.consumer_id, attempt)
            if await self._rebalance_once():
                self.rebalances += 1
                log.info("[%s], end rebalancing consumer %s try #%d", self.consumer_id, self.consumer_id, attempt)
                return
            await asyncio.sleep(backoff)
        raise ConsumerRebalanceFailedError(f"{self.consumer_id} can't rebalance after {retries} retries")

    async def _subscribed_topics(self, all_topics: list[str], reg: ConsumerRegistration) -> dict[str, int]:
        if reg.pattern == "static":
            return dict(reg.subscription)
        (regex, streams), = reg.subscription.items()
        rx = re.compile(regex)
        out = {}
        for t in all_topics:
            if self.config["exclude.internal.topics"] and t in INTERNAL_TOPICS:
                continue
            matched = rx.fullmatch(t) is not None
            if matched == (reg.pattern == "white_list"):
                out[t] = streams
        return out

    async def _rebalance_once(self) -> bool:
        zk = self.zk
        assert zk is not None
        # 1. stop fetching, commit, release what we own.
        if self.fetcher is not None:
            self.fetcher.assign([])
        if self.config["auto.commit.enable"]:
            await self.commit_offsets()
        for tp in list(self.owned):
            await zk.release_partition_ownership(self.group, tp)
        self.owned = {}
        # 2. the group as ZooKeeper sees it now (re-arming the watches).
        consumers = await zk.get_consumers_in_group(self.group, self._trigger)
        all_topics = await zk.get_all_topics(self._trigger if self.pattern_kind != "static" else None)
        threads_per_topic: dict[str, list[str]] = {}
        for cid in consumers:
            reg = await zk.get_consumer_registration(self.group, cid)
            if reg is None:
                continue
            for topic, streams in (await self._subscribed_topics(all_topics, reg)).items():
                threads_per_topic.setdefault(topic, []).extend(thread_ids(cid, streams))
        partitions: dict[str, list[int]] = {}
        for topic in sorted(threads_per_topic):
            assignment = await zk.get_topic_assignment(topic, self._trigger)
            partitions[topic] = sorted(assignment.partitions) if assignment is not None else []
        strategy = str(self.config["partition.assignment.strategy"]).lower()
        assign = roundrobin_assignment if strategy == "roundrobin" else range_assignment
        global_assignment = assign(threads_per_topic, partitions)
        mine = {tp: t for tp, t in global_assignment.items() if t.rsplit("-", 1)[0] == self.consumer_id}
        # 3. claim ownership; any conflict undoes this attempt.
        claimed: list[TopicPartition] = []
        for tp, thread in sorted(mine.items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
            if await zk.claim_partition_ownership(self.group, tp, thread):
                claimed.append(tp)
            else:
                log.info("[%s], waiting for the partition ownership to be deleted: %s", self.consumer_id, tp)
                for done in claimed:
                    await zk.release_partition_ownership(self.group, done)
                return False
        self.owned = mine
        # 4. positions from ZooKeeper (or auto.offset.reset), then fetch.
        committed = {tp: await zk.get_consumer_offset(self.group, tp) for tp in mine}
        self.positions = {tp: off for tp, off in committed.items() if off is not None}
        self.checkpointed = dict(self.positions)
        await self._start_fetching(committed)
        log.info("[%s], %s", self.consumer_id, ", ".join(f"{t} attempting to claim partition {tp.partition}"
                                                         for tp, t in sorted(mine.items())))
        return True

    async def _start_fetching(self, committed: Mapping[TopicPartition, int | None]) -> None:
        if not committed:
            if self.fetcher is not None:
                self.fetcher.assign([])
            return
        if self.fetcher is None:
            assert self.zk is not None
            brokers = await self.zk.get_all_brokers()
            bootstrap = []
            for b in brokers:
                for ep in b.endpoints:
                    bootstrap.append(f"{ep.host}:{ep.port}")
                    break
            reset = "earliest" if str(self.config["auto.offset.reset"]).lower() in ("smallest", "earliest") \
                else "latest"
            self.fetcher = Consumer({"bootstrap.servers": ",".join(bootstrap), "auto.offset.reset": reset,
                                     "client.id": self.config["client.id"] or self.group})
            await self.fetcher.start()
        self.fetcher.assign(list(committed))
        for tp, off in committed.items():
            if off is not None:
                self.fetcher.seek(tp, off)
