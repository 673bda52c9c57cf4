"""In-process tests of the broker's data path: handlers, ReplicaManager, Partition, MetadataCache, delayed ops.

A real LogManager in tmp_path, a ManualClock, and requests that went through their wire codecs
(encode, then decode) exactly as the dispatcher hands them over. No sockets, no ZooKeeper.
"""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from kafkapy.common.clock import ManualClock
from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.manager import LogManager
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.records import (
    MAGIC_V0,
    MAGIC_V1,
    CompressionType,
    SimpleRecord,
    build_batch,
    build_empty_batch,
    build_message_set,
    iter_batches,
    iter_records,
    read_entry,
)
from kafkapy.server.apis import (
    api_versions,
    fetch,
    leader_and_isr,
    list_offsets,
    metadata,
    produce,
    stop_replica,
    update_metadata,
)
from kafkapy.server.metadata_cache import MetadataCache
from kafkapy.server.replica_manager import ReplicaManager
from kafkapy.server.request import CLOSE_CONNECTION, NO_RESPONSE, RequestContext

BROKER = 1


def wire(api_key: int, version: int, **fields: Any) -> Any:
    """Build a request and pass it through its codec, as the dispatcher would deliver it."""
    api = get_api(api_key)
    obj = api.request(**fields)
    codec = api.request_codec(version)
    data = bytearray(codec.encode(obj))
    decoded, _ = codec.decode(memoryview(data))
    return decoded


def ctx(api_key: int, version: int, correlation_id: int = 1, client_id: str = "test") -> RequestContext:
    return RequestContext(api_key, version, correlation_id, client_id, "c1", "PLAINTEXT", "PLAINTEXT",
                          "127.0.0.1", 0)


class FakeBroker:
    def __init__(self, tmp_path, clock: ManualClock, broker_epoch: int = 100) -> None:
        self.clock = clock
        self.broker_id = BROKER
        self.broker_epoch = broker_epoch
        self.cluster_id = "test-cluster"
        self.config = {"auto.create.topics.enable": False, "num.partitions": 1, "default.replication.factor": 1}
        self.metadata_cache = MetadataCache(BROKER)
        self.log_manager = LogManager([str(tmp_path / "logs")], LogConfig(), broker_id=BROKER, cluster_id="c",
                                      clock_ms=clock.now_ms, cleaner_enabled=False, sync_checkpoints=False)
        self.replica_manager = ReplicaManager(BROKER, self.log_manager, self.metadata_cache, clock,
                                              log_config_for=lambda t: LogConfig.from_props(
                                                  self.topic_configs.get(t, {})))
        self.topic_configs: dict[str, dict[str, str]] = {}
        self.deleted: list = []
        self.created: list[str] = []

    async def load_topic_configs(self, topics) -> None:
        for t in topics:
            self.topic_configs.setdefault(t, {})

    def on_metadata_updated(self, deleted) -> None:
        self.deleted.extend(deleted)

    # -- controller messages -------------------------------------------------------------
    def update_metadata(self, topics: dict[str, dict[int, tuple[int, int, list[int]]]], controller_epoch: int = 1,
                        version: int = 7, broker_epoch: int = -1, brokers=(BROKER,)) -> Any:
        api = get_api(6)
        ps = api.request.struct("topic_states", "partition_states")
        ts = api.request.struct("topic_states")
        b = api.request.struct("live_brokers")
        ep = api.request.struct("live_brokers", "endpoints")
        states = [ts(topic_name=t, topic_id=uuid.uuid4(), partition_states=[
            ps(topic_name=t, partition_index=p, controller_epoch=controller_epoch, leader=leader,
               leader_epoch=epoch, isr=replicas, zk_version=0, replicas=replicas, offline_replicas=[])
            for p, (leader, epoch, replicas) in parts.items()]) for t, parts in topics.items()]
        ungrouped = [s for t in states for s in t.partition_states]
        req = wire(6, version, controller_id=BROKER, controller_epoch=controller_epoch, broker_epoch=broker_epoch,
                   ungrouped_partition_states=ungrouped, topic_states=states,
                   live_brokers=[b(id=i, v0_host="h", v0_port=9000 + i, endpoints=[
                       ep(port=9000 + i, host=f"host{i}", listener="PLAINTEXT", security_protocol=0)],
                       rack=None) for i in brokers])
        return update_metadata.handle_update_metadata(ctx(6, version), req, self)

    def leader_and_isr(self, topic: str, parts: dict[int, tuple[int, int, list[int]]], controller_epoch: int = 1,
                       version: int = 5, broker_epoch: int = -1) -> Any:
        api = get_api(4)
        ps = api.request.struct("topic_states", "partition_states")
        ts = api.request.struct("topic_states")
        states = [ps(topic_name=topic, partition_index=p, controller_epoch=controller_epoch, leader=leader,
                     leader_epoch=epoch, isr=replicas, zk_version=0, replicas=replicas, is_new=True)
                  for p, (leader, epoch, replicas) in parts.items()]
        req = wire(4, version, controller_id=BROKER, controller_epoch=controller_epoch, broker_epoch=broker_epoch,
                   type=0, ungrouped_partition_states=states,
                   topic_states=[ts(topic_name=topic, topic_id=uuid.uuid4(), partition_states=states)],
                   live_leaders=[])
        return asyncio.run(leader_and_isr.handle_leader_and_isr(ctx(4, version), req, self))

    def make_topic(self, topic: str, partitions: int = 1, leader: int = BROKER, replicas: list[int] | None = None,
                   epoch: int = 0) -> None:
        replicas = replicas or [BROKER]
        parts = {p: (leader, epoch, replicas) for p in range(partitions)}
        resp = self.leader_and_isr(topic, parts)
        assert resp.error_code == 0
        self.update_metadata({topic: parts})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def broker(tmp_path, clock) -> FakeBroker:
    b = FakeBroker(tmp_path, clock)
    yield b
    b.log_manager.shutdown()


def v2_batch(n: int, start: int = 0, compression: int = 0, headers: bool = True) -> bytes:
    return build_batch([SimpleRecord(b"k%d" % i, b"v%d" % i, ((("h", b"%d" % i),) if headers else ()), 1000 + i)
                        for i in range(start, start + n)], compression=compression)


def produce_request(version: int, topic: str, records: bytes | None, acks: int = 1, partition: int = 0,
                    timeout_ms: int = 1000) -> Any:
    api = get_api(0)
    td = api.request.struct("topic_data")
    pd = api.request.struct("topic_data", "partition_data")
    return wire(0, version, transactional_id=None, acks=acks, timeout_ms=timeout_ms,
                topic_data=[td(name=topic, partition_data=[pd(index=partition, records=records)])])


def do_produce(broker: FakeBroker, version: int, topic: str, records: bytes | None, **kw: Any) -> Any:
    return produce.handle_produce(ctx(0, version), produce_request(version, topic, records, **kw), broker)


def fetch_request(version: int, topic: str, offset: int, partition: int = 0, max_wait_ms: int = 0,
                  min_bytes: int = 1, partition_max_bytes: int = 1 << 20, max_bytes: int = 50 << 20,
                  replica_id: int = -1, isolation_level: int = 0, session_id: int = 0, session_epoch: int = -1,
                  current_leader_epoch: int = -1) -> Any:
    api = get_api(1)
    ft = api.request.struct("topics")
    fp = api.request.struct("topics", "partitions")
    return wire(1, version, replica_id=replica_id, max_wait_ms=max_wait_ms, min_bytes=min_bytes, max_bytes=max_bytes,
                isolation_level=isolation_level, session_id=session_id, session_epoch=session_epoch,
                topics=[ft(topic=topic, partitions=[fp(partition=partition, fetch_offset=offset, log_start_offset=-1,
                                                       partition_max_bytes=partition_max_bytes,
                                                       current_leader_epoch=current_leader_epoch)])],
                forgotten_topics_data=[], rack_id="")


def fetched_bytes(part: Any) -> bytes:
    rs = part.record_set
    if rs is None:
        return b""
    return rs.read() if hasattr(rs, "read") else bytes(rs)


# ================================================================================ ApiVersions

@pytest.fixture
def supported_table():
    from kafkapy.protocol.api_keys import BROKER_SUPPORTED
    saved = dict(BROKER_SUPPORTED)
    yield BROKER_SUPPORTED
    BROKER_SUPPORTED.clear()
    BROKER_SUPPORTED.update(saved)


def test_api_versions_lists_registered_apis_and_checks_software_name(broker: FakeBroker, supported_table) -> None:
    from kafkapy.protocol.api_keys import register_supported
    register_supported(0, 0, 9)
    req = wire(18, 3, client_software_name="librdkafka", client_software_version="2.3.0")
    resp = api_versions.handle_api_versions(ctx(18, 3), req)
    assert resp.error_code == 0
    keys = {e.api_key: (e.min_version, e.max_version) for e in resp.api_keys}
    assert keys[18] == (0, 3) and keys[0] == (0, 9)
    assert [e.api_key for e in resp.api_keys] == sorted(keys)
    bad = wire(18, 3, client_software_name="-bad", client_software_version="1.0")
    resp = api_versions.handle_api_versions(ctx(18, 3), bad)
    assert resp.error_code == ErrorCode.INVALID_REQUEST and resp.api_keys == []
    resp = api_versions.handle_api_versions(ctx(18, 0), wire(18, 0))
    assert resp.error_code == 0


# ================================================================================ metadata cache

def test_update_metadata_feeds_the_cache_and_rejects_stale_controller_epochs(broker: FakeBroker) -> None:
    resp = broker.update_metadata({"a": {0: (BROKER, 3, [BROKER, 2])}}, controller_epoch=5, brokers=(BROKER, 2))
    assert resp.error_code == 0
    snap = broker.metadata_cache.snapshot
    info = snap.partition_info(TopicPartition("a", 0))
    assert (info.leader, info.leader_epoch, info.replicas) == (BROKER, 3, (BROKER, 2))
    assert snap.controller_id == BROKER and sorted(snap.brokers) == [BROKER, 2]
    assert snap.brokers[2].endpoint("PLAINTEXT").host == "host2"
    resp = broker.update_metadata({"b": {0: (BROKER, 0, [BROKER])}}, controller_epoch=4)
    assert resp.error_code == ErrorCode.STALE_CONTROLLER_EPOCH
    assert not broker.metadata_cache.snapshot.contains_topic("b")
    # A partition whose leader is -2 is being deleted: it leaves the cache and the listeners hear of it.
    resp = broker.update_metadata({"a": {0: (-2, 4, [BROKER])}}, controller_epoch=5)
    assert resp.error_code == 0
    assert not broker.metadata_cache.snapshot.contains_topic("a")
    assert broker.deleted == [TopicPartition("a", 0)]


@pytest.mark.parametrize("version", [0, 1, 2, 3, 4, 5, 6, 7])
def test_update_metadata_every_version(broker: FakeBroker, version: int) -> None:
    resp = broker.update_metadata({"t": {0: (BROKER, 1, [BROKER]), 1: (BROKER, 1, [BROKER])}}, version=version)
    assert resp.error_code == 0
    snap = broker.metadata_cache.snapshot
    assert snap.partition_count("t") == 2
    ep = snap.brokers[BROKER].endpoint("PLAINTEXT")
    assert ep.port == 9000 + BROKER


def test_update_metadata_stale_broker_epoch(broker: FakeBroker) -> None:
    resp = broker.update_metadata({"t": {0: (BROKER, 1, [BROKER])}}, broker_epoch=99)
    assert resp.error_code == ErrorCode.STALE_BROKER_EPOCH
    assert broker.update_metadata({"t": {0: (BROKER, 1, [BROKER])}}, broker_epoch=100).error_code == 0


# ================================================================================ metadata

@pytest.mark.parametrize("version", list(range(12)))
def test_metadata_every_version(broker: FakeBroker, version: int) -> None:
    broker.make_topic("t", 2)
    api = get_api(3)
    topic = api.request.struct("topics")
    req = wire(3, version, topics=[topic(name="t"), topic(name="nope")], allow_auto_topic_creation=False)
    resp = metadata.handle_metadata(ctx(3, version), req, broker)
    assert [(b.node_id, b.host, b.port) for b in resp.brokers] == [(BROKER, f"host{BROKER}", 9000 + BROKER)]
    by_name = {t.name: t for t in resp.topics}
    assert by_name["nope"].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    t = by_name["t"]
    assert t.error_code == 0 and [p.partition_index for p in t.partitions] == [0, 1]
    assert all(p.leader_id == BROKER and p.replica_nodes == [BROKER] and p.isr_nodes == [BROKER]
               for p in t.partitions)
    if version >= 1:
        assert resp.controller_id == BROKER
    if version >= 2:
        assert resp.cluster_id == "test-cluster"
    # all topics: v0 empty list, v1+ null
    req = wire(3, version, topics=[] if version == 0 else None)
    resp = metadata.handle_metadata(ctx(3, version), req, broker)
    assert [t.name for t in resp.topics] == ["t"]


def test_metadata_leader_not_available_and_auto_create(broker: FakeBroker) -> None:
    broker.update_metadata({"t": {0: (7, 0, [7])}})   # leader 7 is not a live broker
    api = get_api(3)
    topic = api.request.struct("topics")
    resp = metadata.handle_metadata(ctx(3, 9), wire(3, 9, topics=[topic(name="t")]), broker)
    p = resp.topics[0].partitions[0]
    assert p.error_code == ErrorCode.LEADER_NOT_AVAILABLE and p.leader_id == -1

    created = []

    class FakeAdmin:
        async def create_topic(self, name, partitions, rf, config):
            created.append((name, partitions, rf))

    broker.admin_zk = FakeAdmin()
    broker.config["auto.create.topics.enable"] = True
    result = metadata.handle_metadata(ctx(3, 9), wire(3, 9, topics=[topic(name="fresh")],
                                                      allow_auto_topic_creation=True), broker)
    resp = asyncio.run(result)
    assert created == [("fresh", 1, 1)]
    assert resp.topics[0].error_code == ErrorCode.LEADER_NOT_AVAILABLE
    # v4+ clients may forbid it
    resp = metadata.handle_metadata(ctx(3, 9), wire(3, 9, topics=[topic(name="other")],
                                                    allow_auto_topic_creation=False), broker)
    assert resp.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION and len(created) == 1


# ================================================================================ LeaderAndIsr / StopReplica

def test_leader_and_isr_creates_logs_and_ignores_stale_epochs(broker: FakeBroker) -> None:
    resp = broker.leader_and_isr("x", {0: (BROKER, 2, [BROKER])}, controller_epoch=3)
    assert resp.error_code == 0 and resp.topics[0].partition_errors[0].error_code == 0
    p = broker.replica_manager.online_partition(TopicPartition("x", 0))
    assert p.is_leader and p.leader_epoch == 2 and broker.log_manager.get_log(TopicPartition("x", 0)) is not None
    # same leader epoch: ignored (STALE_CONTROLLER_EPOCH per partition), as Kafka 2.8 does
    resp = broker.leader_and_isr("x", {0: (BROKER, 2, [BROKER])}, controller_epoch=3)
    assert resp.topics[0].partition_errors[0].error_code == ErrorCode.STALE_CONTROLLER_EPOCH
    # older controller epoch: the whole request is stale
    resp = broker.leader_and_isr("x", {0: (BROKER, 5, [BROKER])}, controller_epoch=2)
    assert resp.error_code == ErrorCode.STALE_CONTROLLER_EPOCH
    # stale broker epoch
    resp = broker.leader_and_isr("x", {0: (BROKER, 5, [BROKER])}, controller_epoch=3, broker_epoch=1)
    assert resp.error_code == ErrorCode.STALE_BROKER_EPOCH
    # not in the replica list
    resp = broker.leader_and_isr("y", {0: (2, 0, [2])}, controller_epoch=3)
    assert resp.topics[0].partition_errors[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    # v0-v4 answer with topic names
    resp = broker.leader_and_isr("x", {0: (2, 6, [BROKER, 2])}, controller_epoch=3, version=1)
    assert [(e.topic_name, e.partition_index, e.error_code) for e in resp.partition_errors] == [("x", 0, 0)]
    assert not p.is_leader and p.leader_replica_id == 2


def test_follower_stops_serving_as_leader(broker: FakeBroker) -> None:
    broker.make_topic("f")
    assert do_produce(broker, 7, "f", v2_batch(3)).responses[0].partition_responses[0].error_code == 0
    broker.leader_and_isr("f", {0: (2, 1, [BROKER, 2])})
    r = do_produce(broker, 7, "f", v2_batch(3)).responses[0].partition_responses[0]
    assert r.error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    resp = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "f", 0), broker)
    assert resp.responses[0].partition_responses[0].error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER


@pytest.mark.parametrize("version", [0, 1, 2, 3])
def test_stop_replica_deletes_logs(broker: FakeBroker, version: int) -> None:
    broker.make_topic("s", 2)
    api = get_api(5)
    if version == 0:
        pv0 = api.request.struct("ungrouped_partitions")
        fields = dict(delete_partitions=True, ungrouped_partitions=[pv0(topic_name="s", partition_index=0)])
    elif version <= 2:
        t1 = api.request.struct("topics")
        fields = dict(delete_partitions=True, topics=[t1(name="s", partition_indexes=[0])])
    else:
        ts = api.request.struct("topic_states")
        ps = api.request.struct("topic_states", "partition_states")
        fields = dict(topic_states=[ts(topic_name="s", partition_states=[
            ps(partition_index=0, leader_epoch=-2, delete_partition=True)])])
    req = wire(5, version, controller_id=BROKER, controller_epoch=1, broker_epoch=-1, **fields)
    resp = stop_replica.handle_stop_replica(ctx(5, version), req, broker)
    assert resp.error_code == 0
    assert [(e.topic_name, e.partition_index, e.error_code) for e in resp.partition_errors] == [("s", 0, 0)]
    assert broker.replica_manager.online_partition(TopicPartition("s", 0)) is None
    assert broker.log_manager.get_log(TopicPartition("s", 0)) is None
    assert broker.log_manager.get_log(TopicPartition("s", 1)) is not None


def test_stop_replica_fenced_leader_epoch(broker: FakeBroker) -> None:
    broker.make_topic("s", 1, epoch=5)
    api = get_api(5)
    ts = api.request.struct("topic_states")
    ps = api.request.struct("topic_states", "partition_states")
    req = wire(5, 3, controller_id=BROKER, controller_epoch=1, broker_epoch=-1, topic_states=[
        ts(topic_name="s", partition_states=[ps(partition_index=0, leader_epoch=4, delete_partition=True)])])
    resp = stop_replica.handle_stop_replica(ctx(5, 3), req, broker)
    assert resp.partition_errors[0].error_code == ErrorCode.FENCED_LEADER_EPOCH
    assert broker.log_manager.get_log(TopicPartition("s", 0)) is not None


# ================================================================================ produce

@pytest.mark.parametrize("version", list(range(3, 10)))
def test_produce_v3_plus_then_fetch_back(broker: FakeBroker, version: int) -> None:
    broker.make_topic("p")
    r1 = do_produce(broker, version, "p", v2_batch(5)).responses[0].partition_responses[0]
    r2 = do_produce(broker, version, "p", v2_batch(3, 5)).responses[0].partition_responses[0]
    assert (r1.error_code, r1.base_offset, r2.base_offset) == (0, 0, 5)
    if version >= 5:
        assert r2.log_start_offset == 0
    resp = fetch.handle_fetch(ctx(1, 12), fetch_request(12, "p", 0), broker)
    part = resp.responses[0].partition_responses[0]
    assert part.error_code == 0 and part.high_watermark == 8 and part.last_stable_offset == 8
    recs = list(iter_records(fetched_bytes(part)))
    assert [r.offset for r in recs] == list(range(8))
    assert [r.key for r in recs] == [b"k%d" % i for i in range(8)]
    assert recs[3].headers == (("h", b"3"),)


def test_produce_errors_per_partition(broker: FakeBroker) -> None:
    broker.make_topic("p")
    # unknown topic
    r = do_produce(broker, 7, "missing", v2_batch(1)).responses[0].partition_responses[0]
    assert r.error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    # v3+ must be exactly one v2 batch
    r = do_produce(broker, 7, "p", build_message_set([SimpleRecord(b"k", b"v")], magic=MAGIC_V1))
    assert r.responses[0].partition_responses[0].error_code == ErrorCode.INVALID_RECORD
    r = do_produce(broker, 7, "p", v2_batch(1) + v2_batch(1, 1))
    assert r.responses[0].partition_responses[0].error_code == ErrorCode.INVALID_RECORD
    # zstd needs v7+
    r = do_produce(broker, 6, "p", v2_batch(2, compression=CompressionType.ZSTD))
    assert r.responses[0].partition_responses[0].error_code == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    r = do_produce(broker, 7, "p", v2_batch(2, compression=CompressionType.ZSTD))
    assert r.responses[0].partition_responses[0].error_code == 0
    # invalid acks
    r = do_produce(broker, 7, "p", v2_batch(1), acks=2)
    assert r.responses[0].partition_responses[0].error_code == ErrorCode.INVALID_REQUIRED_ACKS
    # corrupt CRC, and an error message at v8+
    bad = bytearray(v2_batch(2))
    bad[-1] ^= 0xFF
    r = do_produce(broker, 8, "p", bytes(bad)).responses[0].partition_responses[0]
    assert r.error_code == ErrorCode.CORRUPT_MESSAGE and r.error_message
    # internal topics are closed to clients
    broker.make_topic("__consumer_offsets")
    r = do_produce(broker, 7, "__consumer_offsets", v2_batch(1)).responses[0].partition_responses[0]
    assert r.error_code == ErrorCode.INVALID_TOPIC_EXCEPTION


def test_produce_acks_0(broker: FakeBroker) -> None:
    broker.make_topic("p")
    assert do_produce(broker, 7, "p", v2_batch(2), acks=0) is NO_RESPONSE
    assert do_produce(broker, 7, "missing", v2_batch(2), acks=0) is CLOSE_CONNECTION
    assert broker.log_manager.get_log(TopicPartition("p", 0)).log_end_offset == 2


@pytest.mark.parametrize("magic,version", [(MAGIC_V0, 0), (MAGIC_V1, 2)])
def test_produce_legacy_formats_are_converted_up(broker: FakeBroker, magic: int, version: int) -> None:
    broker.make_topic("old")
    data = build_message_set([SimpleRecord(b"k%d" % i, b"v%d" % i, (), 1000 + i) for i in range(4)], magic=magic,
                             compression=CompressionType.GZIP)
    r = do_produce(broker, version, "old", data).responses[0].partition_responses[0]
    assert (r.error_code, r.base_offset) == (0, 0)
    lg = broker.log_manager.get_log(TopicPartition("old", 0))
    assert lg.log_end_offset == 4
    stored = lg.read(0, 1 << 20).records.read()
    assert {b.magic for b in iter_batches(stored)} == {2}


def test_acks_all_waits_for_the_high_watermark(broker: FakeBroker, clock: ManualClock) -> None:
    broker.make_topic("r", replicas=[BROKER, 2])
    rm = broker.replica_manager
    tp = TopicPartition("r", 0)

    async def go() -> None:
        fut = do_produce(broker, 7, "r", v2_batch(4), acks=-1, timeout_ms=5000)
        assert isinstance(fut, asyncio.Future) and not fut.done()
        assert rm.online_partition(tp).high_watermark == 0
        # the follower fetches up to offset 4: the HW moves and the produce completes
        resp = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "r", 4, replica_id=2), broker)
        assert resp.responses[0].partition_responses[0].error_code == 0
        assert rm.online_partition(tp).high_watermark == 4
        assert fut.done()
        r = fut.result().responses[0].partition_responses[0]
        assert (r.error_code, r.base_offset) == (0, 0)
        # nobody fetches now: REQUEST_TIMED_OUT after timeout_ms
        fut = do_produce(broker, 7, "r", v2_batch(2), acks=-1, timeout_ms=5000)
        clock.advance(4999)
        assert not fut.done()
        clock.advance(1)
        assert fut.result().responses[0].partition_responses[0].error_code == ErrorCode.REQUEST_TIMED_OUT

    asyncio.run(asyncio.wait_for(go(), 10))


def test_acks_all_not_enough_replicas(broker: FakeBroker) -> None:
    broker.topic_configs["m"] = {"min.insync.replicas": "2"}
    broker.make_topic("m")
    r = do_produce(broker, 7, "m", v2_batch(1), acks=-1)
    assert r.responses[0].partition_responses[0].error_code == ErrorCode.NOT_ENOUGH_REPLICAS
    assert broker.log_manager.get_log(TopicPartition("m", 0)).log_end_offset == 0
    r = do_produce(broker, 7, "m", v2_batch(1), acks=1)
    assert r.responses[0].partition_responses[0].error_code == 0


# ================================================================================ fetch

def test_fetch_limits_and_first_batch_whole(broker: FakeBroker) -> None:
    broker.make_topic("f")
    sizes = []
    for i in range(5):
        b = v2_batch(50, i * 50)
        sizes.append(len(b))
        do_produce(broker, 7, "f", b)
    # partition_max_bytes smaller than one batch: the first batch still comes whole (v3+)
    resp = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "f", 0, partition_max_bytes=10), broker)
    assert len(fetched_bytes(resp.responses[0].partition_responses[0])) == sizes[0]
    # two batches fit exactly
    resp = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "f", 0, partition_max_bytes=sizes[0] + sizes[1]),
                              broker)
    assert len(fetched_bytes(resp.responses[0].partition_responses[0])) == sizes[0] + sizes[1]
    # response max_bytes caps the total
    resp = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "f", 50, max_bytes=sizes[1] + 1), broker)
    assert len(fetched_bytes(resp.responses[0].partition_responses[0])) == sizes[1]
    # fetch v0-2: a hard limit, no partial first batch
    resp = fetch.handle_fetch(ctx(1, 2), fetch_request(2, "f", 0, partition_max_bytes=10), broker)
    assert fetched_bytes(resp.responses[0].partition_responses[0]) == b""
    # out of range
    resp = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "f", 999), broker)
    part = resp.responses[0].partition_responses[0]
    assert part.error_code == ErrorCode.OFFSET_OUT_OF_RANGE and part.high_watermark == -1


def test_fetch_sessions_are_not_created(broker: FakeBroker) -> None:
    broker.make_topic("f")
    resp = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "f", 0, session_epoch=0), broker)
    assert resp.error_code == 0 and resp.session_id == 0
    resp = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "f", 0, session_id=5, session_epoch=1), broker)
    assert resp.error_code == ErrorCode.FETCH_SESSION_ID_NOT_FOUND and resp.responses == []


def test_fetch_leader_epoch_checks(broker: FakeBroker) -> None:
    broker.make_topic("e", epoch=3)
    for epoch, code in ((3, 0), (2, ErrorCode.FENCED_LEADER_EPOCH), (4, ErrorCode.UNKNOWN_LEADER_EPOCH)):
        resp = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "e", 0, current_leader_epoch=epoch), broker)
        assert resp.responses[0].partition_responses[0].error_code == code


@pytest.mark.parametrize("version,magic", [(0, 0), (1, 0), (2, 1), (3, 1), (4, 2)])
@pytest.mark.parametrize("codec", [CompressionType.NONE, CompressionType.GZIP, CompressionType.LZ4])
def test_fetch_down_conversion_for_old_versions(broker: FakeBroker, version: int, magic: int, codec: int) -> None:
    broker.make_topic("d")
    do_produce(broker, 7, "d", v2_batch(4, compression=codec))
    do_produce(broker, 7, "d", v2_batch(3, 4, compression=codec))
    resp = fetch.handle_fetch(ctx(1, version), fetch_request(version, "d", 2), broker)
    part = resp.responses[0].partition_responses[0]
    assert part.error_code == 0
    data = fetched_bytes(part)
    assert {b.magic for b in iter_batches(data)} == {magic}
    recs = list(iter_records(data))
    offsets = [r.offset for r in recs]
    if magic < 2:
        assert offsets == list(range(2, 7))          # records below the fetch offset are dropped
        assert all(r.headers == () for r in recs)
    else:
        assert offsets == list(range(0, 7))          # whole batches, as stored
    assert {r.offset: r.key for r in recs}[5] == b"k5"
    if magic == 1:
        assert {r.offset: r.timestamp for r in recs}[5] == 1005


@pytest.mark.parametrize("magic", [MAGIC_V0, MAGIC_V1])
def test_down_conversion_drops_the_empty_batches_of_a_compacted_log(magic: int) -> None:
    """The cleaner keeps an idempotent producer's last batch without records; old formats cannot hold it."""
    full = build_batch([SimpleRecord(b"a", b"1", (), 1000)] * 2, base_offset=3, producer_id=4, producer_epoch=0,
                       base_sequence=0)
    data = build_empty_batch(read_entry(full, 0)) + build_batch([SimpleRecord(b"k", b"v", (), 1005)], base_offset=5)
    out = fetch.down_convert(data, magic, 3)
    assert [(b.magic, b.base_offset, b.last_offset) for b in iter_batches(out)] == [(magic, 5, 5)]
    assert fetch.down_convert(build_empty_batch(read_entry(full, 0)), magic, 3) == b""


def test_fetch_zstd_needs_v10(broker: FakeBroker) -> None:
    broker.make_topic("z")
    do_produce(broker, 7, "z", v2_batch(3, compression=CompressionType.ZSTD))
    resp = fetch.handle_fetch(ctx(1, 9), fetch_request(9, "z", 0), broker)
    assert resp.responses[0].partition_responses[0].error_code == ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    resp = fetch.handle_fetch(ctx(1, 10), fetch_request(10, "z", 0), broker)
    assert resp.responses[0].partition_responses[0].error_code == 0


def test_delayed_fetch_completes_on_append_or_timeout(broker: FakeBroker, clock: ManualClock) -> None:
    broker.make_topic("w")

    async def go() -> None:
        fut = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "w", 0, max_wait_ms=500, min_bytes=1), broker)
        assert isinstance(fut, asyncio.Future) and not fut.done()
        do_produce(broker, 7, "w", v2_batch(2))
        assert fut.done()
        part = fut.result().responses[0].partition_responses[0]
        assert [r.offset for r in iter_records(fetched_bytes(part))] == [0, 1]
        # min_bytes not reached: waits the full max_wait_ms, then answers with what there is
        fut = fetch.handle_fetch(ctx(1, 11), fetch_request(11, "w", 2, max_wait_ms=500, min_bytes=1 << 20), broker)
        do_produce(broker, 7, "w", v2_batch(1, 2))
        assert not fut.done()
        clock.advance(500)
        part = fut.result().responses[0].partition_responses[0]
        assert [r.offset for r in iter_records(fetched_bytes(part))] == [2]

    asyncio.run(asyncio.wait_for(go(), 10))


# ================================================================================ ListOffsets

def _list_offsets(broker: FakeBroker, version: int, timestamp: int, max_num: int = 1,
                  replica_id: int = -1) -> Any:
    api = get_api(2)
    lt = api.request.struct("topics")
    lp = api.request.struct("topics", "partitions")
    req = wire(2, version, replica_id=replica_id, isolation_level=0, topics=[
        lt(name="o", partitions=[lp(partition_index=0, timestamp=timestamp, max_num_offsets=max_num)])])
    return list_offsets.handle_list_offsets(ctx(2, version), req, broker).topics[0].partitions[0]


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6])
def test_list_offsets(broker: FakeBroker, version: int) -> None:
    broker.make_topic("o", epoch=2)
    do_produce(broker, 7, "o", v2_batch(5))             # timestamps 1000..1004
    p = _list_offsets(broker, version, -2)
    assert (p.error_code, p.offset) == (0, 0)
    p = _list_offsets(broker, version, -1)
    assert (p.error_code, p.offset, p.timestamp) == (0, 5, -1)
    p = _list_offsets(broker, version, 1003)
    assert (p.offset, p.timestamp) == (3, 1003)
    p = _list_offsets(broker, version, 5000)
    assert (p.offset, p.timestamp) == (-1, -1)
    if version >= 4:
        assert _list_offsets(broker, version, -1).leader_epoch == 2


def test_list_offsets_v0(broker: FakeBroker) -> None:
    broker.make_topic("o")
    do_produce(broker, 7, "o", v2_batch(5))
    p = _list_offsets(broker, 0, -1, max_num=10)
    assert p.error_code == 0 and p.old_style_offsets == [5, 0]
    assert _list_offsets(broker, 0, -1, max_num=1).old_style_offsets == [5]
    assert _list_offsets(broker, 0, -2, max_num=10).old_style_offsets == [0]
