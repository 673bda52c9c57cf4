"""kafka-python and aiokafka consumer groups against a kafkapy broker subprocess.

* three kafka-python consumers split a 6-partition topic, rebalance when one leaves, and
  consume every record (committing after processing);
* a group mixing kafka-python and confluent-kafka members;
* two aiokafka consumers;
* kafka-python's legacy offset storage: ``api_version=(0, 8, 1)`` commits with OffsetCommit
  v0, which the broker stores in ZooKeeper under ``/consumers/<group>/offsets/<t>/<p>``;
  ``(0, 8, 2)`` commits with v1, which goes to ``__consumer_offsets`` (as on Kafka brokers).
"""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from kafkapy.testing.broker import BrokerProcess

from .test_groups_confluent import GROUP_OVERRIDES, PARTITIONS, new_topic, produce

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory):
    chroot = f"{zookeeper.connect_string}/kafkapy-pygroups-{uuid.uuid4().hex[:10]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker-pygroups"), chroot, broker_id=0, overrides=GROUP_OVERRIDES)
    b.start()
    yield b
    code = b.stop()
    assert code == 0, b.log_tail()


class KafkaPythonMember:
    def __init__(self, bootstrap: str, group: str, topic: str, name: str) -> None:
        from kafka import KafkaConsumer
        self.c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, client_id=name,
                               enable_auto_commit=False, auto_offset_reset="earliest",
                               session_timeout_ms=6000, heartbeat_interval_ms=500, metadata_max_age_ms=2000)

    def poll(self, seen: set[bytes]) -> None:
        got = self.c.poll(timeout_ms=50)
        for records in got.values():
            for r in records:
                seen.add(r.value)
        if got:
            self.c.commit()

    def assignment(self) -> set[int]:
        return {tp.partition for tp in self.c.assignment()}

    def close(self) -> None:
        self.c.close()


class ConfluentMember:
    def __init__(self, bootstrap: str, group: str, topic: str, name: str) -> None:
        from .test_groups_confluent import consumer
        self.c = consumer(bootstrap, group, topic, name)

    def poll(self, seen: set[bytes]) -> None:
        msg = self.c.poll(0.05)
        if msg is not None and not msg.error():
            seen.add(msg.value())
            self.c.commit(message=msg, asynchronous=False)

    def assignment(self) -> set[int]:
        return {tp.partition for tp in self.c.assignment()}

    def close(self) -> None:
        self.c.close()


def wait_balanced(members: list, seen: set[bytes], timeout_s: float = 60.0) -> list[set[int]]:
    deadline = time.monotonic() + timeout_s
    last: list[set[int]] = []
    stable_since = None
    while time.monotonic() < deadline:
        for m in members:
            m.poll(seen)
        last = [m.assignment() for m in members]
        union = set().union(*last)
        if union == set(range(PARTITIONS)) and sum(map(len, last)) == len(union) and all(last):
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since > 1.0:
                return last
        else:
            stable_since = None
    raise AssertionError(f"no complete disjoint assignment over {len(members)} members: {last}")


def drain(members: list, seen: set[bytes], want: set[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not want <= seen:
        for m in members:
            m.poll(seen)
    missing = want - seen
    assert not missing, f"{len(missing)} records never consumed, e.g. {sorted(missing)[:5]}"


def test_kafka_python_group(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "kp")
    group = f"kp-{uuid.uuid4().hex[:6]}"
    values = [b"kp-%05d" % i for i in range(600)]
    produce(broker.bootstrap, topic, values)
    seen: set[bytes] = set()
    members = [KafkaPythonMember(broker.bootstrap, group, topic, f"kp{i}") for i in range(3)]
    try:
        got = wait_balanced(members, seen)
        assert sorted(map(len, got)) == [2, 2, 2]
        drain(members, seen, set(values))
        members.pop().close()
        more = [b"kp-more-%05d" % i for i in range(300)]
        produce(broker.bootstrap, topic, more)
        wait_balanced(members, seen)
        drain(members, seen, set(values) | set(more))
    finally:
        for m in members:
            m.close()


def test_mixed_client_group(broker: BrokerProcess) -> None:
    topic = new_topic(broker, "mix")
    group = f"mix-{uuid.uuid4().hex[:6]}"
    values = [b"mix-%05d" % i for i in range(600)]
    produce(broker.bootstrap, topic, values)
    seen: set[bytes] = set()
    members = [KafkaPythonMember(broker.bootstrap, group, topic, "kp"),
               ConfluentMember(broker.bootstrap, group, topic, "ck")]
    try:
        got = wait_balanced(members, seen)
        assert sorted(map(len, got)) == [3, 3]
        drain(members, seen, set(values))
    finally:
        for m in members:
            m.close()


def test_aiokafka_group(broker: BrokerProcess) -> None:
    from aiokafka import AIOKafkaConsumer

    topic = new_topic(broker, "aio")
    group = f"aio-{uuid.uuid4().hex[:6]}"
    values = {b"aio-%05d" % i for i in range(600)}
    produce(broker.bootstrap, topic, sorted(values))

    async def run() -> None:
        consumers = [AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                                      enable_auto_commit=False, auto_offset_reset="earliest",
                                      session_timeout_ms=6000, heartbeat_interval_ms=500,
                                      metadata_max_age_ms=2000) for _ in range(2)]
        for c in consumers:
            await c.start()
        seen: set[bytes] = set()
        try:
            deadline = time.monotonic() + 60
            balanced = False
            while time.monotonic() < deadline and not (balanced and values <= seen):
                for c in consumers:
                    got = await c.getmany(timeout_ms=50)
                    for records in got.values():
                        seen.update(r.value for r in records)
                    if got:
                        await c.commit()
                parts = [{tp.partition for tp in c.assignment()} for c in consumers]
                balanced = set().union(*parts) == set(range(PARTITIONS)) and all(parts) and \
                    sum(map(len, parts)) == PARTITIONS
            assert balanced, parts
            assert values <= seen, f"{len(values - seen)} records never consumed"
        finally:
            for c in consumers:
                await c.stop()

    asyncio.run(asyncio.wait_for(run(), 120))


def _zk_offset(zk_connect: str, group: str, topic: str, partition: int) -> int | None:
    from kafkapy.common.types import TopicPartition
    from kafkapy.zk.kafka_zk import KafkaZkClient

    async def go() -> int | None:
        zk = await KafkaZkClient.connect(zk_connect, session_timeout_ms=6000)
        try:
            return await zk.get_consumer_offset(group, TopicPartition(topic, partition))
        finally:
            await zk.close()
    return asyncio.run(go())


def test_kafka_python_legacy_offset_storage(broker: BrokerProcess) -> None:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    topic = new_topic(broker, "legacy", 2)
    zk_group = f"zk-{uuid.uuid4().hex[:6]}"
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=zk_group, api_version=(0, 8, 1),
                      enable_auto_commit=False)
    try:
        c.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        c.commit({TopicPartition(topic, 0): OffsetAndMetadata(42, "", -1),
                  TopicPartition(topic, 1): OffsetAndMetadata(7, "", -1)})
        assert c.committed(TopicPartition(topic, 0)) == 42
    finally:
        c.close()
    assert _zk_offset(broker.zookeeper_connect, zk_group, topic, 0) == 42
    assert _zk_offset(broker.zookeeper_connect, zk_group, topic, 1) == 7

    kafka_group = f"kf-{uuid.uuid4().hex[:6]}"
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=kafka_group, api_version=(0, 8, 2),
                      enable_auto_commit=False)
    try:
        c.assign([TopicPartition(topic, 0)])
        c.commit({TopicPartition(topic, 0): OffsetAndMetadata(11, "meta", -1)})
        assert c.committed(TopicPartition(topic, 0)) == 11
    finally:
        c.close()
    assert _zk_offset(broker.zookeeper_connect, kafka_group, topic, 0) is None


@pytest.mark.parametrize("api_version", [(0, 9), (0, 10, 1), (2, 0)])
def test_kafka_python_old_group_protocol_versions(broker: BrokerProcess, api_version: tuple) -> None:
    """kafka-python pinned to older brokers speaks JoinGroup v0/v1/v3, OffsetCommit v2/v3..."""
    from kafka import KafkaConsumer

    topic = new_topic(broker, "old", 2)
    group = f"old-{uuid.uuid4().hex[:6]}"
    values = [b"old-%03d" % i for i in range(50)]
    produce(broker.bootstrap, topic, values)
    members = [KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group, api_version=api_version,
                             enable_auto_commit=False, auto_offset_reset="earliest", session_timeout_ms=6000,
                             heartbeat_interval_ms=500) for _ in range(2)]
    seen: set[bytes] = set()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for m in members:
                for records in m.poll(timeout_ms=50).values():
                    seen.update(r.value for r in records)
                    m.commit()
            parts = [{tp.partition for tp in m.assignment()} for m in members]
            if parts[0] and parts[1] and parts[0] | parts[1] == {0, 1} and set(values) <= seen:
                break
        assert [len(p) for p in parts] == [1, 1] and set(values) <= seen, (parts, len(seen))
    finally:
        for m in members:
            m.close()
