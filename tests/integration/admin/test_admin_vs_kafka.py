"""Differential test: the same admin requests against a real Kafka 2.8.2 broker and a kafkapy broker
(each on its own ZooKeeper chroot, same server properties) give the same answers: DescribeConfigs
entries (value, source, read-only, sensitive, synonyms) and the error codes and messages of invalid
CreateTopics / CreatePartitions / DeleteTopics / AlterConfigs / IncrementalAlterConfigs requests."""
from __future__ import annotations

import time
import uuid
from typing import Any, Iterator

import pytest

from kafkapy.testing.broker import BrokerProcess
from kafkapy.testing.kafka_broker import KafkaBroker
from kafkapy.testing.kafka_dist import KafkaDistUnavailable, kafka_classpath

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import KafkaException  # noqa: E402
from confluent_kafka.admin import (  # noqa: E402
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

SHARED_PROPS = {"num.partitions": 1, "offsets.topic.replication.factor": 1,
                "transaction.state.log.replication.factor": 1, "transaction.state.log.min.isr": 1,
                "group.initial.rebalance.delay.ms": 0, "zookeeper.session.timeout.ms": 6000,
                "log.retention.hours": 100, "log.cleanup.policy": "delete", "message.max.bytes": 500000,
                "controlled.shutdown.retry.backoff.ms": 500}
# Properties whose values differ between the two brokers by construction (ports, directories, chroots).
PER_BROKER_VALUES = frozenset({"listeners", "log.dirs", "zookeeper.connect"})


BOOTSTRAPS: list[str] = []


@pytest.fixture(scope="module")
def bootstraps(brokers) -> list[str]:
    return list(BOOTSTRAPS)


@pytest.fixture(scope="module")
def brokers(zookeeper, tmp_path_factory) -> Iterator[tuple[AdminClient, AdminClient]]:
    try:
        classpath = kafka_classpath()
    except KafkaDistUnavailable as exc:
        pytest.skip(f"Kafka 2.8.2 jars unavailable: {exc}")
    base = tmp_path_factory.mktemp("admin-vs-kafka")
    kafka = KafkaBroker(base / "kafka", f"{zookeeper.connect_string}/k282-{uuid.uuid4().hex[:8]}",
                        overrides=SHARED_PROPS, classpath=classpath, jvm_options=("-Xmx512m",))
    ours = BrokerProcess(base / "ours", f"{zookeeper.connect_string}/kpy-{uuid.uuid4().hex[:8]}", broker_id=0,
                         overrides=SHARED_PROPS)
    try:
        kafka.launch()          # both start at once; Kafka's JVM is the slower
        ours.start()
        kafka.wait_started(180)
        BOOTSTRAPS[:] = [kafka.bootstrap, ours.bootstrap]
        yield (AdminClient({"bootstrap.servers": kafka.bootstrap}), AdminClient({"bootstrap.servers": ours.bootstrap}))
    finally:
        kafka.stop()
        if ours.is_running():
            ours.stop()


def outcome(future: Any) -> tuple[Any, ...]:
    try:
        value = future.result(timeout=60)
    except KafkaException as exc:
        err = exc.args[0]
        return ("error", err.code(), err.str())
    return ("ok", value)


def entries(configs: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {name: (e.value, e.source, e.is_read_only, e.is_sensitive, e.is_default,
                   tuple((s.name, s.value, s.source) for s in e.synonyms.values()))
            for name, e in configs.items()}


def both(pair: tuple[AdminClient, AdminClient], fn: Any) -> tuple[Any, Any]:
    return fn(pair[0]), fn(pair[1])


def test_topic_describe_configs_match_kafka(brokers):
    topic = f"cmp-{uuid.uuid4().hex[:6]}"
    for admin in brokers:
        fs = admin.create_topics([NewTopic(topic, 2, 1, config={"retention.ms": "123456", "cleanup.policy":
                                                               "compact,delete", "min.insync.replicas": "1"})],
                                 operation_timeout=30)
        assert outcome(fs[topic]) == ("ok", None)
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    theirs, mine = both(brokers, lambda a: entries(a.describe_configs([res])[res]
                                                   .result(timeout=60)))
    assert sorted(mine) == sorted(theirs)
    diffs = {k: (theirs[k], mine[k]) for k in theirs if theirs[k] != mine[k]}
    assert diffs == {}


def test_broker_describe_configs_match_kafka(brokers):
    """Every broker config entry: the same names, values, sources, read-only and sensitive flags."""
    res = ConfigResource(ConfigResource.Type.BROKER, "0")
    theirs, mine = both(brokers, lambda a: entries(a.describe_configs([res])[res].result(timeout=60)))
    assert sorted(mine) == sorted(theirs)
    diffs = {k: (theirs[k], mine[k]) for k in theirs if k not in PER_BROKER_VALUES and theirs[k] != mine[k]}
    assert diffs == {}
    assert len(theirs) > 200


def test_error_answers_match_kafka(brokers):
    suffix = uuid.uuid4().hex[:6]
    existing = f"exists-{suffix}"
    for admin in brokers:
        assert outcome(admin.create_topics([NewTopic(existing, 2, 1)], operation_timeout=30)[existing]) == \
            ("ok", None)

    def create(admin: AdminClient, topic: NewTopic, **kw: Any) -> tuple[Any, ...]:
        return outcome(admin.create_topics([topic], operation_timeout=30, **kw)[topic.topic])

    cases = {
        "exists": lambda a: create(a, NewTopic(existing, 1, 1)),
        "rf": lambda a: create(a, NewTopic(f"rf-{suffix}", 1, 3)),
        "zero-partitions": lambda a: create(a, NewTopic(f"zp-{suffix}", 0, 1)),
        "bad-name": lambda a: create(a, NewTopic("bad name", 1, 1)),
        "unknown-config": lambda a: create(a, NewTopic(f"uc-{suffix}", 1, 1, config={"nope.nope": "1"})),
        "bad-value": lambda a: create(a, NewTopic(f"bv-{suffix}", 1, 1, config={"retention.ms": "soon"})),
        "validate-only": lambda a: create(a, NewTopic(f"vo-{suffix}", 3, 1), validate_only=True),
        "shrink": lambda a: outcome(a.create_partitions([NewPartitions(existing, 1)],
                                                         operation_timeout=30)[existing]),
        "same-count": lambda a: outcome(a.create_partitions([NewPartitions(existing, 2)],
                                                             operation_timeout=30)[existing]),
        "grow-missing": lambda a: outcome(a.create_partitions([NewPartitions(f"gm-{suffix}", 3)],
                                                               operation_timeout=30)[f"gm-{suffix}"]),
        "delete-missing": lambda a: outcome(a.delete_topics([f"dm-{suffix}"], operation_timeout=30)[f"dm-{suffix}"]),
    }

    def incremental(admin: AdminClient, rtype: Any, name: str, ops: list[ConfigEntry]) -> tuple[Any, ...]:
        res = ConfigResource(rtype, name, incremental_configs=ops)
        return outcome(admin.incremental_alter_configs([res])[res])

    def legacy(admin: AdminClient, rtype: Any, name: str, configs: dict[str, str]) -> tuple[Any, ...]:
        res = ConfigResource(rtype, name, set_config=configs)
        return outcome(admin.alter_configs([res])[res])

    def describe(admin: AdminClient, rtype: Any, name: str) -> tuple[Any, ...]:
        res = ConfigResource(rtype, name)
        return outcome(admin.describe_configs([res])[res])

    topic_t = ConfigResource.Type.TOPIC
    broker_t = ConfigResource.Type.BROKER
    cases.update({
        "inc-append-non-list": lambda a: incremental(a, topic_t, existing, [
            ConfigEntry("retention.ms", "5", incremental_operation=AlterConfigOpType.APPEND)]),
        "inc-bad-value": lambda a: incremental(a, topic_t, existing, [
            ConfigEntry("segment.bytes", "x", incremental_operation=AlterConfigOpType.SET)]),
        "inc-unknown": lambda a: incremental(a, topic_t, existing, [
            ConfigEntry("what.ever", "5", incremental_operation=AlterConfigOpType.SET)]),
        "inc-missing-topic": lambda a: incremental(a, topic_t, f"im-{suffix}", [
            ConfigEntry("retention.ms", "5", incremental_operation=AlterConfigOpType.SET)]),
        "inc-static-broker": lambda a: incremental(a, broker_t, "0", [
            ConfigEntry("log.dirs", "/x", incremental_operation=AlterConfigOpType.SET)]),
        "inc-subtract-non-list": lambda a: incremental(a, topic_t, existing, [
            ConfigEntry("retention.ms", "5", incremental_operation=AlterConfigOpType.SUBTRACT)]),
        "legacy-unknown": lambda a: legacy(a, topic_t, existing, {"x.y": "1"}),
        "legacy-static-broker": lambda a: legacy(a, broker_t, "0", {"broker.id": "3"}),
        "legacy-missing-topic": lambda a: legacy(a, topic_t, f"lm-{suffix}", {"retention.ms": "1"}),
        "describe-missing": lambda a: describe(a, topic_t, f"dm-{suffix}"),
        "inc-ok": lambda a: incremental(a, topic_t, existing, [
            ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND)]),
    })
    theirs = {name: fn(brokers[0]) for name, fn in cases.items()}
    mine = {name: fn(brokers[1]) for name, fn in cases.items()}
    diffs = {k: (theirs[k], mine[k]) for k in cases if theirs[k] != mine[k]}
    for k, (t, m) in diffs.items():
        print("DIFF", k, "\n  kafka:  ", t, "\n  kafkapy:", m)
    assert diffs == {}
    res = ConfigResource(topic_t, existing)
    theirs_cfg, mine_cfg = both(brokers, lambda a: a.describe_configs([res])[res].result(timeout=60)[
        "cleanup.policy"].value)
    assert theirs_cfg == mine_cfg


def test_dynamic_per_broker_config_describes_like_kafka(brokers):
    """A per-broker dynamic log.retention.ms: both brokers report the same entry (source, synonyms) for it
    and for log.retention.hours, then the same static view once it is deleted."""
    res = ConfigResource(ConfigResource.Type.BROKER, "0")
    names = ("log.retention.ms", "log.retention.hours", "message.max.bytes")

    def view(admin: AdminClient) -> dict[str, Any]:
        got = entries(admin.describe_configs([res])[res].result(timeout=60))
        return {n: got[n] for n in names}

    def settle(admin: AdminClient, predicate: Any) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while True:
            v = view(admin)
            if predicate(v) or time.monotonic() > deadline:
                return v
            time.sleep(0.1)

    for op, expect in ((AlterConfigOpType.SET, "7654321"), (AlterConfigOpType.DELETE, None)):
        change = ConfigResource(ConfigResource.Type.BROKER, "0", incremental_configs=[
            ConfigEntry("log.retention.ms", "7654321" if expect else None, incremental_operation=op),
            ConfigEntry("message.max.bytes", "600000" if expect else None, incremental_operation=op)])
        for admin in brokers:
            assert outcome(admin.incremental_alter_configs([change])[change]) == ("ok", None)
        theirs, mine = (settle(a, lambda v: v["log.retention.ms"][0] == expect) for a in brokers)
        assert mine == theirs


def test_delete_records_answers_match_kafka(brokers, bootstraps):
    from confluent_kafka import Producer, TopicPartition
    topic = f"dr-{uuid.uuid4().hex[:6]}"
    results = []
    for admin, bootstrap in zip(brokers, bootstraps):
        assert outcome(admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=30)[topic]) == ("ok", None)
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        for i in range(5):
            producer.produce(topic, b"r%d" % i)
        assert producer.flush(30) == 0
        got = []
        for offset in (3, 50, -1, 2):
            fs = admin.delete_records([TopicPartition(topic, 0, offset)], operation_timeout=30)
            out = outcome(list(fs.values())[0])
            got.append(out if out[0] == "error" else ("ok", out[1].low_watermark))
        results.append(got)
    theirs, mine = results
    assert mine == theirs
    assert theirs[0] == ("ok", 3) and theirs[2] == ("ok", 5)


def raw_create_topics(bootstrap: str, version: int, topics: list[tuple[str, int, int, dict[str, str]]],
                      validate_only: bool) -> list[tuple[Any, ...]]:
    """CreateTopics at `version` over kafkapy's own connection; the response fields that do not vary."""
    import asyncio

    from kafkapy.clients.net import BrokerConnection
    from kafkapy.protocol.api_keys import ApiKey
    from kafkapy.protocol.messages.create_topics import API
    Topic = API.request.struct("topics")
    Config = API.request.struct("topics", "configs")
    host, port = bootstrap.split(":")

    async def main() -> Any:
        conn = await BrokerConnection.connect(host, int(port), client_id="vs-kafka", timeout_ms=10000)
        try:
            return await conn.send(ApiKey.CREATE_TOPICS, API.request(topics=[
                Topic(name=n, num_partitions=p, replication_factor=rf, assignments=[],
                      configs=[Config(name=k, value=v) for k, v in c.items()]) for n, p, rf, c in topics],
                timeout_ms=30000, validate_only=validate_only), timeout_ms=40000, version=version)
        finally:
            await conn.close()
    resp = asyncio.run(main())
    return [(t.name, t.error_code, t.error_message, t.num_partitions, t.replication_factor,
             None if t.configs is None else sorted((c.name, c.value, c.read_only, c.config_source, c.is_sensitive)
                                                   for c in t.configs)) for t in resp.topics]


def test_create_topics_v5_answers_match_kafka(brokers, bootstraps):
    """CreateTopics v5+ returns the new topics' partition count, replication factor and configs."""
    suffix = uuid.uuid4().hex[:6]
    topics = [(f"v5-{suffix}", 3, 1, {"retention.ms": "777", "cleanup.policy": "compact"}),
              (f"v5b-{suffix}", -1, -1, {}),
              (f"v5c-{suffix}", 1, 1, {"retention.ms": "later"})]
    for version, validate_only in ((5, True), (6, False)):
        theirs, mine = (raw_create_topics(b, version, topics, validate_only) for b in bootstraps)
        assert mine == theirs, version
    assert theirs[0][1] == 0 and theirs[2][1] == 40


def raw_describe_configs(bootstrap: str, version: int, resources: list[tuple[int, str]]) -> list[Any]:
    """DescribeConfigs at `version` with synonyms and documentation, over kafkapy's own connection."""
    import asyncio

    from kafkapy.clients.net import BrokerConnection
    from kafkapy.protocol.api_keys import ApiKey
    from kafkapy.protocol.messages.describe_configs import API
    Resource = API.request.struct("resources")
    host, port = bootstrap.split(":")

    async def main() -> Any:
        conn = await BrokerConnection.connect(host, int(port), client_id="vs-kafka", timeout_ms=10000)
        try:
            return await conn.send(ApiKey.DESCRIBE_CONFIGS, API.request(resources=[
                Resource(resource_type=t, resource_name=n, configuration_keys=None) for t, n in resources],
                include_synonyms=True, include_documentation=True), timeout_ms=30000, version=version)
        finally:
            await conn.close()
    resp = asyncio.run(main())
    out = []
    for r in resp.results:
        entries = {}
        for c in r.configs:
            entries[c.name] = (c.value, c.read_only, c.is_default if version == 0 else c.config_source,
                               c.is_sensitive,
                               tuple((s.name, s.value, s.source) for s in c.synonyms) if version >= 1 else (),
                               c.config_type if version >= 3 else 0,
                               (c.documentation is not None) if version >= 3 else None)
        out.append((r.error_code, r.error_message, r.resource_type, r.resource_name, entries))
    return out


@pytest.mark.parametrize("version", [0, 1, 3])
def test_describe_configs_wire_answers_match_kafka(brokers, bootstraps, version):
    """Full synonym lists (every layer, in order), config types, is_default (v0) and the error answer."""
    topic = f"dw-{uuid.uuid4().hex[:6]}"
    for admin in brokers:
        fs = admin.create_topics([NewTopic(topic, 1, 1, config={"segment.bytes": "5000000"})], operation_timeout=30)
        assert outcome(fs[topic]) == ("ok", None)
    theirs, mine = (raw_describe_configs(b, version, [(2, topic), (4, "0"), (2, "no-such-topic-here")])
                    for b in bootstraps)
    for (t_res, m_res) in zip(theirs, mine):
        assert m_res[:4] == t_res[:4]
        t_entries = {k: v for k, v in t_res[4].items() if k not in PER_BROKER_VALUES}
        m_entries = {k: v for k, v in m_res[4].items() if k not in PER_BROKER_VALUES}
        # After a dynamic broker change Kafka 2.8 also lists its internal (KRaft) properties; the order of
        # the tests in this module decides whether it did, so broker names are compared where both have them.
        names = set(t_entries) & set(m_entries) if t_res[2] == 4 else set(t_entries) | set(m_entries)
        assert set(m_entries) <= set(t_entries)
        diffs = {k: (t_entries.get(k), m_entries.get(k)) for k in names if t_entries.get(k) != m_entries.get(k)}
        assert diffs == {}, t_res[3]


def raw(bootstrap: str, api_key: int, version: int, **fields: Any) -> Any:
    """One request at `version` over kafkapy's own connection; the decoded response."""
    import asyncio

    from kafkapy.clients.net import BrokerConnection
    from kafkapy.protocol.messages import get_api
    host, port = bootstrap.split(":")

    async def main() -> Any:
        conn = await BrokerConnection.connect(host, int(port), client_id="vs-kafka", timeout_ms=10000)
        try:
            return await conn.send(api_key, get_api(api_key).request(**fields), timeout_ms=40000, version=version)
        finally:
            await conn.close()
    return asyncio.run(main())


def test_alter_and_partition_wire_answers_match_kafka(brokers, bootstraps):
    """Success and failure answers of AlterConfigs, IncrementalAlterConfigs, CreatePartitions and DeleteTopics
    (error codes and messages, null or empty) at their newest versions."""
    from kafkapy.protocol.messages import get_api
    topic = f"aw-{uuid.uuid4().hex[:6]}"
    for admin in brokers:
        assert outcome(admin.create_topics([NewTopic(topic, 1, 1)], operation_timeout=30)[topic]) == ("ok", None)
    ac = get_api(33).request
    iac = get_api(44).request
    cp = get_api(37).request
    dt = get_api(20).request

    def alter(b: str) -> Any:
        R, C = ac.struct("resources"), ac.struct("resources", "configs")
        resp = raw(b, 33, 2, validate_only=False, resources=[
            R(resource_type=2, resource_name=topic, configs=[C(name="retention.ms", value="1000")]),
            R(resource_type=2, resource_name=topic + "-missing", configs=[C(name="retention.ms", value="1")]),
            R(resource_type=4, resource_name="0", configs=[C(name="broker.id", value="3")])])
        return sorted((r.resource_type, r.resource_name, r.error_code, r.error_message) for r in resp.responses)

    def incremental(b: str) -> Any:
        R, C = iac.struct("resources"), iac.struct("resources", "configs")
        resp = raw(b, 44, 1, validate_only=True, resources=[
            R(resource_type=2, resource_name=topic, configs=[C(name="segment.ms", config_operation=0, value="9")]),
            R(resource_type=4, resource_name="0", configs=[C(name="log.dirs", config_operation=0, value="/x")])])
        return sorted((r.resource_type, r.resource_name, r.error_code, r.error_message) for r in resp.responses)

    def partitions(b: str) -> Any:
        T, A = cp.struct("topics"), cp.struct("topics", "assignments")
        resp = raw(b, 37, 3, timeout_ms=30000, validate_only=True, topics=[
            T(name=topic, count=2, assignments=None), T(name=topic + "-x", count=2, assignments=None),
            T(name=topic + "-y", count=2, assignments=[A(broker_ids=[0])])])
        return sorted((r.name, r.error_code, r.error_message) for r in resp.results)

    def delete(b: str) -> Any:
        resp = raw(b, 20, 5, timeout_ms=30000, topic_names=[topic + "-gone"])
        return [(r.name, r.error_code, r.error_message) for r in resp.responses]

    for fn in (alter, incremental, partitions, delete):
        theirs, mine = (fn(b) for b in bootstraps)
        assert mine == theirs, fn.__name__
