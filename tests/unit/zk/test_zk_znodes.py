"""znodes: round trips (hypothesis) and Kafka's documented payloads."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.common.types import BrokerEndPoint, LeaderAndIsr, TopicPartition
from kafkapy.zk import znodes as z

FAST = settings(max_examples=50, deadline=None)

topics = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789._-", min_size=1, max_size=30)
broker_ids = st.integers(min_value=0, max_value=2**31 - 1)
replica_lists = st.lists(broker_ids, min_size=1, max_size=5, unique=True).map(tuple)
tps = st.builds(TopicPartition, topics, st.integers(0, 10_000))


def same_json(data: bytes, expected: str) -> bool:
    assert b" " not in data, "Kafka writes compact JSON"
    return json.loads(data) == json.loads(expected)


# ----------------------------------------------------------------- fixed payloads
def test_cluster_id_payload() -> None:
    doc = '{"version":"1","id":"Zx2Qe4wIRW2VVp4ZB4O9Qw"}'
    assert z.ClusterIdZNode.decode(doc.encode()) == "Zx2Qe4wIRW2VVp4ZB4O9Qw"
    assert same_json(z.ClusterIdZNode.encode("Zx2Qe4wIRW2VVp4ZB4O9Qw"), doc)
    assert z.ClusterIdZNode.path() == "/cluster/id"


def test_controller_payload() -> None:
    doc = '{"version":1,"brokerid":2,"timestamp":"1629712345678"}'
    assert z.ControllerZNode.decode(doc.encode()) == 2
    assert same_json(z.ControllerZNode.encode(2, 1629712345678), doc)
    assert z.ControllerZNode.decode(b"7") == 7          # 0.8-era bare id
    assert z.ControllerZNode.decode(b"") is None


class _Stat:
    def __init__(self, version: int = 0, czxid: int = 0) -> None:
        self.version, self.czxid = version, czxid


def test_controller_epoch_payload() -> None:
    assert z.ControllerEpochZNode.encode(5) == b"5"
    assert z.ControllerEpochZNode.decode(b"5", _Stat(4)) == z.ControllerEpoch(5, 4)


def test_broker_v4_example() -> None:
    doc = ('{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":'
           '["PLAINTEXT://kafka1:9092"],"jmx_port":-1,"host":"kafka1","timestamp":"1629712345678",'
           '"port":9092,"version":4}')
    info = z.BrokerIdZNode.decode(0, doc.encode(), _Stat(1, czxid=4242))
    assert info.endpoints == (z.EndPoint("kafka1", 9092, "PLAINTEXT", "PLAINTEXT"),)
    assert info.version == 4 and info.rack is None and info.jmx_port == -1
    assert info.timestamp_ms == 1629712345678 and info.epoch == 4242
    assert same_json(z.BrokerIdZNode.encode(info), doc)


def test_broker_v5_example_with_rack_and_two_listeners() -> None:
    doc = ('{"features":{},"listener_security_protocol_map":{"INTERNAL":"PLAINTEXT","EXTERNAL":'
           '"SASL_SSL"},"endpoints":["INTERNAL://10.0.0.5:9092","EXTERNAL://kafka1.example.com:9094"],'
           '"rack":"rack-a","jmx_port":-1,"port":9092,"host":"10.0.0.5","version":5,'
           '"timestamp":"1629712345678"}')
    info = z.BrokerIdZNode.decode(3, doc.encode())
    assert info.broker_id == 3 and info.rack == "rack-a"
    assert info.endpoint("EXTERNAL") == z.EndPoint("kafka1.example.com", 9094, "EXTERNAL", "SASL_SSL")
    assert info.broker_end_point("INTERNAL") == BrokerEndPoint(3, "10.0.0.5", 9092, "rack-a")
    assert info.broker_end_point("NOPE") is None
    assert same_json(z.BrokerIdZNode.encode(info), doc)


def test_broker_old_versions() -> None:
    v1 = b'{"jmx_port":-1,"timestamp":"1400000000000","host":"h1","version":1,"port":9092}'
    info = z.BrokerIdZNode.decode(1, v1)
    assert info.endpoints == (z.EndPoint("h1", 9092),)
    v2 = b'{"jmx_port":-1,"timestamp":"1","endpoints":["SSL://h:9093","PLAINTEXT://h:9092"],"host":"h","version":2,"port":9092}'
    info = z.BrokerIdZNode.decode(1, v2)
    assert [e.security_protocol for e in info.endpoints] == ["SSL", "PLAINTEXT"]
    v3 = b'{"jmx_port":9999,"timestamp":"1","endpoints":["PLAINTEXT://[::1]:9092"],"rack":"r","host":"::1","version":3,"port":9092,"extra":true}'
    info = z.BrokerIdZNode.decode(1, v3)
    assert info.endpoints[0].host == "::1" and info.rack == "r" and info.jmx_port == 9999
    assert b"PLAINTEXT://[::1]:9092" in z.BrokerIdZNode.encode(info)
    with pytest.raises(ValueError):
        z.BrokerIdZNode.decode(1, b'{"version":0,"host":"h","port":1}')


def test_broker_without_plaintext_writes_null_host() -> None:
    info = z.BrokerInfo(1, (z.EndPoint("h", 9093, "SSL", "SSL"),), timestamp_ms=1)
    obj = json.loads(z.BrokerIdZNode.encode(info))
    assert obj["host"] is None and obj["port"] == -1


def test_topic_assignment_versions() -> None:
    v1 = b'{"version":1,"partitions":{"0":[1,2],"1":[2,0]}}'
    a = z.TopicZNode.decode("t", v1, _Stat(3))
    assert a.replica_lists() == {0: (1, 2), 1: (2, 0)} and a.zk_version == 3 and a.topic_id is None
    assert same_json(z.TopicZNode.encode(a.partitions, version=1), v1.decode())
    v2 = '{"version":2,"partitions":{"0":[4,5,1,2]},"adding_replicas":{"0":[4,5]},"removing_replicas":{"0":[1,2]}}'
    a = z.TopicZNode.decode("t", v2.encode())
    ra = a.partitions[0]
    assert ra.origin_replicas == (1, 2) and ra.target_replicas == (4, 5) and ra.is_being_reassigned
    assert same_json(z.TopicZNode.encode(a.partitions, version=2), v2)
    v3 = ('{"removing_replicas":{},"partitions":{"2":[1],"1":[1],"0":[1]},'
          '"topic_id":"m5p3eGd0QWy2zSgHkNlTbA","adding_replicas":{},"version":3}')
    a = z.TopicZNode.decode("t", v3.encode())
    assert a.topic_id == "m5p3eGd0QWy2zSgHkNlTbA" and list(a.partitions) == [0, 1, 2]
    assert same_json(z.TopicZNode.encode(a.partitions, a.topic_id), v3)
    assert z.TopicZNode.decode("t", b'{"version":3}').partitions == {}


def test_partition_state_example() -> None:
    doc = '{"controller_epoch":5,"leader":1,"version":1,"leader_epoch":3,"isr":[1,2]}'
    state = z.TopicPartitionStateZNode.decode(doc.encode(), _Stat(7))
    assert state == LeaderAndIsr(1, 3, (1, 2), 5, 7)
    assert z.TopicPartitionStateZNode.encode(state) == doc.encode()
    assert z.TopicPartitionStateZNode.path("t", 3) == "/brokers/topics/t/partitions/3/state"


def test_config_payloads() -> None:
    doc = '{"version":1,"config":{"retention.ms":"86400000","cleanup.policy":"compact"}}'
    assert z.ConfigEntityZNode.decode(doc.encode()) == {"retention.ms": "86400000",
                                                       "cleanup.policy": "compact"}
    assert z.ConfigEntityZNode.encode({"retention.ms": "86400000", "cleanup.policy": "compact"}) == doc.encode()
    assert z.ConfigEntityZNode.decode(None) == {} and z.ConfigEntityZNode.decode(b"") == {}
    assert z.ConfigEntityZNode.encode({}) == b'{"version":1,"config":{}}'
    assert z.ConfigEntityZNode.path("users", "alice") == "/config/users/alice"


def test_config_change_notification_formats() -> None:
    dec = z.ConfigEntityChangeNotificationSequenceZNode.decode
    assert dec(b'{"version":2,"entity_path":"users/alice/clients/app1"}') == "users/alice/clients/app1"
    assert dec(b'{"version":1,"entity_type":"topics","entity_name":"mytopic"}') == "topics/mytopic"
    assert dec(b'"mytopic"') == "topics/mytopic"
    with pytest.raises(ValueError):
        dec(b'{"version":3,"entity_path":"x/y"}')
    assert z.ConfigEntityChangeNotificationSequenceZNode.encode("topics/t") == \
        b'{"version":2,"entity_path":"topics/t"}'
    assert z.sequence_number("/config/changes/config_change_0000000042", "config_change_") == 42


def test_admin_and_notification_payloads() -> None:
    doc = '{"version":1,"partitions":[{"topic":"foo","partition":0,"replicas":[4,5,6]}]}'
    assert z.ReassignPartitionsZNode.decode(doc.encode()) == {TopicPartition("foo", 0): (4, 5, 6)}
    assert z.ReassignPartitionsZNode.encode({TopicPartition("foo", 0): [4, 5, 6]}) == doc.encode()
    doc = '{"version":1,"partitions":[{"topic":"foo","partition":0},{"topic":"bar","partition":3}]}'
    assert z.PreferredReplicaElectionZNode.decode(doc.encode()) == {TopicPartition("foo", 0),
                                                                    TopicPartition("bar", 3)}
    with pytest.raises(ValueError):
        z.PreferredReplicaElectionZNode.decode(
            b'{"version":1,"partitions":[{"topic":"a","partition":0},{"topic":"a","partition":0}]}')
    doc = '{"version":1,"partitions":[{"topic":"foo","partition":0},{"topic":"foo","partition":1}]}'
    parts = z.IsrChangeNotificationSequenceZNode.decode(doc.encode())
    assert parts == {TopicPartition("foo", 0), TopicPartition("foo", 1)}
    assert z.IsrChangeNotificationSequenceZNode.encode(parts) == doc.encode()
    assert z.LogDirEventNotificationSequenceZNode.encode(3) == b'{"version":1,"broker":3,"event":1}'
    assert z.LogDirEventNotificationSequenceZNode.decode(b'{"version":1,"broker":3,"event":1}') == 3


def test_producer_id_block_and_feature_payloads() -> None:
    doc = '{"version":1,"broker":0,"block_start":"0","block_end":"999"}'
    block = z.LatestProducerIdBlockZNode.decode(doc.encode())
    assert block == z.ProducerIdBlock(0, 0, 999)
    assert z.LatestProducerIdBlockZNode.encode(block) == doc.encode()
    assert z.LatestProducerIdBlockZNode.decode(b"") is None
    doc = '{"features":{},"version":1,"status":1}'
    feat = z.FeatureZNode.decode(doc.encode(), _Stat(2))
    assert feat == z.FeatureZNodeData(1, {}, 2)
    assert z.FeatureZNode.encode(feat) == doc.encode()
    with pytest.raises(ValueError):
        z.FeatureZNode.decode(b'{"features":{},"version":1,"status":7}')
    with pytest.raises(ValueError):
        z.FeatureZNode.decode(b'{"version":1,"status":1}')


def test_consumer_znodes() -> None:
    doc = '{"version":1,"subscription":{"mytopic":2},"pattern":"static","timestamp":"1629712345678"}'
    reg = z.ConsumerIdZNode.decode(doc.encode())
    assert reg == z.ConsumerRegistration({"mytopic": 2}, "static", 1629712345678)
    assert z.ConsumerIdZNode.encode(reg) == doc.encode()
    assert z.ConsumerOffsetZNode.path("g", "t", 0) == "/consumers/g/offsets/t/0"
    assert z.ConsumerOffsetZNode.encode(42) == b"42" and z.ConsumerOffsetZNode.decode(b"42") == 42
    assert z.ConsumerOwnerZNode.decode(z.ConsumerOwnerZNode.encode("g_c1-0")) == "g_c1-0"


def test_persistent_paths_match_reference() -> None:
    assert set(z.PERSISTENT_ZK_PATHS) == {
        "/consumers", "/brokers/ids", "/brokers/topics", "/config/changes", "/admin/delete_topics",
        "/brokers/seqid", "/isr_change_notification", "/latest_producer_id_block",
        "/log_dir_event_notification", "/config/topics", "/config/clients", "/config/users",
        "/config/brokers", "/config/ips"}


def test_sanitize_like_java_urlencoder() -> None:
    assert z.sanitize("User:alice") == "User%3Aalice"
    assert z.sanitize("a b*c") == "a%20b%2Ac"
    assert z.sanitize("client-1.x_y") == "client-1.x_y"


# ----------------------------------------------------------------- round trips
listeners = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=12)
hosts = st.one_of(st.from_regex(r"[a-z][a-z0-9.\-]{0,20}", fullmatch=True), st.just(""),
                  st.just("::1"), st.just("10.0.0.5"))
endpoints = st.builds(z.EndPoint, hosts, st.integers(0, 65535), listeners,
                      st.sampled_from(["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]))


@st.composite
def broker_infos(draw: st.DrawFn) -> z.BrokerInfo:
    eps = draw(st.lists(endpoints, min_size=1, max_size=3, unique_by=lambda e: e.listener_name))
    return z.BrokerInfo(draw(broker_ids), tuple(eps), draw(st.none() | st.text(min_size=1, max_size=8)),
                        draw(st.integers(-1, 65535)), draw(st.integers(0, 2**62)),
                        draw(st.dictionaries(st.text(min_size=1, max_size=5),
                                             st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=2)),
                        5)


@FAST
@given(broker_infos())
def test_broker_round_trip(info: z.BrokerInfo) -> None:
    assert z.BrokerIdZNode.decode(info.broker_id, z.BrokerIdZNode.encode(info)) == info


reassignments = st.builds(z.ReplicaAssignment, replica_lists,
                          st.lists(broker_ids, max_size=3, unique=True).map(tuple),
                          st.lists(broker_ids, max_size=3, unique=True).map(tuple))


@FAST
@given(topics, st.dictionaries(st.integers(0, 1000), reassignments, max_size=8),
       st.none() | st.text(alphabet="abcXYZ019-_", min_size=22, max_size=22))
def test_topic_round_trip(topic: str, parts: dict, topic_id: str | None) -> None:
    decoded = z.TopicZNode.decode(topic, z.TopicZNode.encode(parts, topic_id))
    assert decoded == z.TopicAssignment(topic, parts, topic_id)
    v1 = z.TopicZNode.decode(topic, z.TopicZNode.encode(parts, version=1))
    assert v1.replica_lists() == {p: a.replicas for p, a in parts.items()}


@FAST
@given(st.builds(LeaderAndIsr, st.integers(-1, 2**31 - 1), st.integers(0, 2**31 - 1),
                 st.lists(broker_ids, max_size=5, unique=True).map(tuple), st.integers(0, 2**31 - 1),
                 st.integers(0, 2**31 - 1)))
def test_partition_state_round_trip(state: LeaderAndIsr) -> None:
    assert z.TopicPartitionStateZNode.decode(z.TopicPartitionStateZNode.encode(state),
                                             _Stat(state.zk_version)) == state


@FAST
@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=30), max_size=6))
def test_config_round_trip(config: dict) -> None:
    assert z.ConfigEntityZNode.decode(z.ConfigEntityZNode.encode(config)) == config


@FAST
@given(st.text(min_size=1, max_size=40))
def test_sanitize_round_trip(name: str) -> None:
    sanitized = z.sanitize(name)
    assert "/" not in sanitized and "*" not in sanitized and "+" not in sanitized
    assert z.desanitize(sanitized) == name


@FAST
@given(st.dictionaries(tps, replica_lists, max_size=6), st.frozensets(tps, max_size=6))
def test_admin_round_trips(reassignment: dict, partitions: frozenset) -> None:
    assert z.ReassignPartitionsZNode.decode(z.ReassignPartitionsZNode.encode(reassignment)) == reassignment
    assert z.PreferredReplicaElectionZNode.decode(
        z.PreferredReplicaElectionZNode.encode(partitions)) == partitions
    assert z.IsrChangeNotificationSequenceZNode.decode(
        z.IsrChangeNotificationSequenceZNode.encode(partitions)) == partitions


@FAST
@given(st.builds(z.ProducerIdBlock, broker_ids, st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1)),
       st.builds(z.ConsumerRegistration, st.dictionaries(topics, st.integers(1, 32), max_size=3),
                 st.sampled_from(["static", "white_list", "black_list"]), st.integers(0, 2**62)),
       st.integers(0, 2**63 - 1), st.text(alphabet="abc-_.", min_size=1, max_size=40))
def test_misc_round_trips(block, reg, offset: int, entity: str) -> None:
    assert z.LatestProducerIdBlockZNode.decode(z.LatestProducerIdBlockZNode.encode(block)) == block
    assert z.ConsumerIdZNode.decode(z.ConsumerIdZNode.encode(reg)) == reg
    assert z.ConsumerOffsetZNode.decode(z.ConsumerOffsetZNode.encode(offset)) == offset
    path = f"topics/{entity}"
    assert z.ConfigEntityChangeNotificationSequenceZNode.decode(
        z.ConfigEntityChangeNotificationSequenceZNode.encode(path)) == path
