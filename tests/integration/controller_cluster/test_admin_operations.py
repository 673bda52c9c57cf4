"""The controller carrying out admin operations on four kafkapy broker processes, driven by our bin/ tools
(subprocesses) and observed through ZooKeeper's znodes and Metadata (confluent-kafka): topic deletion,
partition addition, preferred leader election and a reassignment from brokers {1,2,3} to {2,3,4}."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.testing.cluster import LocalCluster
from kafkapy.testing.zookeeper import ZooKeeperNotInstalledError
from kafkapy.zk.admin_zk import AdminZkClient
from kafkapy.zk.znodes import ConfigType

from _helpers import metadata_partitions, run_tool

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    try:
        c = LocalCluster(brokers=4, base_dir=tmp_path_factory.mktemp("controller-admin"),
                         broker_config={"auto.leader.rebalance.enable": "false"})
    except ZooKeeperNotInstalledError as exc:
        pytest.skip(str(exc))
    c.start()
    try:
        yield c
    finally:
        c.close()


def _topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _create(cluster: LocalCluster, topic: str, assignment: dict[int, list[int]]) -> None:
    cluster.zk(lambda zk: AdminZkClient(zk).create_topic_with_assignment(topic, {}, assignment))
    cluster.wait_for(lambda: all((cluster.leader(topic, p) or -1) >= 0 for p in assignment), 30,
                     f"leaders for {topic}")
    cluster.wait_for(lambda: len(metadata_partitions(cluster.bootstrap_servers, topic)) == len(assignment), 30,
                     f"{topic} in Metadata")


def test_topic_deletion_and_partition_addition(cluster: LocalCluster) -> None:
    doomed, growing = _topic("doomed"), _topic("growing")
    _create(cluster, doomed, {0: [1, 2, 3], 1: [2, 3, 4]})
    _create(cluster, growing, {0: [1, 2, 3], 1: [4, 1, 2]})

    res = run_tool("kafka-topics.sh", "--bootstrap-server", cluster.bootstrap_servers, "--delete", "--topic", doomed)
    assert res.returncode == 0, res.stdout + res.stderr
    cluster.wait_for(lambda: not cluster.zk(lambda zk: zk.topic_exists(doomed))
                     and doomed not in cluster.zk(lambda zk: zk.get_topic_deletions()), 60,
                     f"/brokers/topics/{doomed} and /admin/delete_topics/{doomed} to be gone")
    cluster.wait_for(lambda: not metadata_partitions(cluster.bootstrap_servers, doomed), 30,
                     f"{doomed} to leave Metadata")

    res = run_tool("kafka-topics.sh", "--bootstrap-server", cluster.bootstrap_servers, "--alter", "--topic", growing,
                   "--partitions", "4")
    assert res.returncode == 0, res.stdout + res.stderr
    assignment = cluster.zk(lambda zk: zk.get_topic_assignment(growing))
    assert sorted(assignment.partitions) == [0, 1, 2, 3]
    cluster.wait_for(lambda: all((cluster.leader(growing, p) or -1) >= 0 for p in (2, 3)), 30,
                     "state znodes with leaders for the new partitions")
    md = cluster.wait_for(lambda: (m := metadata_partitions(cluster.bootstrap_servers, growing))
                          and len(m) == 4 and all(v[0] >= 0 for v in m.values()) and m, 30,
                          "4 partitions with leaders in Metadata")
    for p in (2, 3):
        assert md[p][1] == list(assignment.partitions[p].replicas)
        assert md[p][0] == cluster.leader(growing, p)


def test_preferred_leader_election_with_both_tools(cluster: LocalCluster) -> None:
    topic = _topic("preferred")
    _create(cluster, topic, {0: [1, 2, 3], 1: [1, 3, 2]})
    cluster.kill(1)
    cluster.wait_for(lambda: all(cluster.leader(topic, p) in (2, 3) for p in (0, 1)), 60, "leaders moved off 1")
    cluster.start_broker(1)
    cluster.wait_for(lambda: all(1 in cluster.isr(topic, p) for p in (0, 1)), 60, "broker 1 back in the ISRs")
    assert cluster.leader(topic, 0) != 1 and cluster.leader(topic, 1) != 1

    res = run_tool("kafka-leader-election.sh", "--bootstrap-server", cluster.bootstrap_servers,
                   "--election-type", "preferred", "--topic", topic, "--partition", "0")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"Successfully completed leader election (PREFERRED) for partitions {topic}-0" in res.stdout
    assert cluster.leader(topic, 0) == 1
    cluster.wait_for(lambda: metadata_partitions(cluster.bootstrap_servers, topic)[0][0] == 1, 30,
                     "Metadata to show broker 1 leading partition 0")

    res = run_tool("kafka-leader-election.sh", "--bootstrap-server", cluster.bootstrap_servers,
                   "--election-type", "PREFERRED", "--topic", topic, "--partition", "0")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"Valid replica already elected for partitions {topic}-0" in res.stdout

    spec = cluster.base_dir / f"{topic}-preferred.json"
    spec.write_text(json.dumps({"partitions": [{"topic": topic, "partition": 1}]}))
    res = run_tool("kafka-preferred-replica-election.sh", "--zookeeper", cluster.zookeeper_connect,
                   "--path-to-json-file", str(spec))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"Successfully started preferred replica election for partitions {topic}-1" in res.stdout
    cluster.wait_for(lambda: cluster.leader(topic, 1) == 1
                     and cluster.zk(lambda zk: zk.get_preferred_replica_election()) is None, 30,
                     "broker 1 to lead partition 1 and /admin/preferred_replica_election to be deleted")
    cluster.wait_for(lambda: metadata_partitions(cluster.bootstrap_servers, topic)[1][0] == 1, 30,
                     "Metadata to show broker 1 leading partition 1")


def _produce(bootstrap: str, topic: str, n: int) -> None:
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    failures: list[object] = []
    for i in range(n):
        producer.produce(topic, value=b"v%d" % i, partition=i % 2,
                         on_delivery=lambda err, _msg: failures.append(err) if err is not None else None)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert not failures


def test_reassignment_from_123_to_234_with_throttle(cluster: LocalCluster) -> None:
    topic = _topic("moving")
    _create(cluster, topic, {0: [1, 2, 3], 1: [2, 3, 1]})
    _produce(cluster.bootstrap_servers, topic, 2000)
    plan = cluster.base_dir / f"{topic}-plan.json"
    target = {0: [2, 3, 4], 1: [3, 4, 2]}
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": topic, "partition": p, "replicas": r, "log_dirs": ["any"] * 3} for p, r in target.items()]}))

    res = run_tool("kafka-reassign-partitions.sh", "--bootstrap-server", cluster.bootstrap_servers,
                   "--execute", "--reassignment-json-file", str(plan), "--throttle", "50000000")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Current partition replica assignment" in res.stdout
    assert f'"topic":"{topic}","partition":0,"replicas":[1,2,3]' in res.stdout
    assert f"Successfully started partition reassignments for {topic}-0,{topic}-1" in res.stdout
    throttles = cluster.zk(lambda zk: zk.get_entity_config(ConfigType.TOPIC, topic))
    assert throttles.get("follower.replication.throttled.replicas") == "0:4,1:4"
    assert throttles.get("leader.replication.throttled.replicas") == "0:1,0:2,0:3,1:2,1:3,1:1"

    def verified() -> str | None:
        out = run_tool("kafka-reassign-partitions.sh", "--bootstrap-server", cluster.bootstrap_servers,
                       "--verify", "--reassignment-json-file", str(plan)).stdout
        return out if "still in progress" not in out else None

    out = cluster.wait_for(verified, 120, "--verify to report the reassignment complete", interval_s=1.0)
    assert f"Reassignment of partition {topic}-0 is complete." in out
    assert f"Reassignment of partition {topic}-1 is complete." in out
    assert f"Clearing topic-level throttles on topic {topic}" in out

    assignment = cluster.zk(lambda zk: zk.get_topic_assignment(topic))
    for p, r in target.items():
        assert list(assignment.partitions[p].replicas) == r
        assert not assignment.partitions[p].adding_replicas and not assignment.partitions[p].removing_replicas
        state = cluster.partition_state(topic, p)
        assert state.leader in r and sorted(state.isr) == sorted(r)
    assert cluster.zk(lambda zk: zk.get_partition_reassignment()) is None
    throttles = cluster.zk(lambda zk: zk.get_entity_config(ConfigType.TOPIC, topic))
    assert "follower.replication.throttled.replicas" not in throttles
    md = cluster.wait_for(lambda: (m := metadata_partitions(cluster.bootstrap_servers, topic))
                          and all(sorted(m[p][1]) == sorted(r) for p, r in target.items()) and m, 30,
                          "Metadata to show the new replica sets")
    assert all(md[p][0] in r for p, r in target.items())

    res = run_tool("kafka-reassign-partitions.sh", "--bootstrap-server", cluster.bootstrap_servers, "--list")
    assert res.returncode == 0 and "No partition reassignments found." in res.stdout


def _reassign(*args: str) -> str:
    res = run_tool("kafka-reassign-partitions.sh", *args)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_zookeeper_reassignment_list_cancel_and_generate(cluster: LocalCluster) -> None:
    topic = _topic("zkmove")
    _create(cluster, topic, {0: [1, 2], 1: [2, 1]})
    bootstrap = cluster.bootstrap_servers
    zk = cluster.zookeeper_connect

    # --generate proposes the topic on the given brokers only
    topics_file = cluster.base_dir / f"{topic}-topics.json"
    topics_file.write_text(json.dumps({"topics": [{"topic": topic}], "version": 1}))
    out = _reassign("--bootstrap-server", bootstrap, "--generate", "--topics-to-move-json-file", str(topics_file),
                    "--broker-list", "3,4")
    proposed = json.loads(out.splitlines()[out.splitlines().index("Proposed partition reassignment configuration")
                                            + 1])
    assert sorted((p["partition"], sorted(p["replicas"])) for p in proposed["partitions"]) == [(0, [3, 4]),
                                                                                               (1, [3, 4])]

    # a ZooKeeper-triggered reassignment onto a dead broker stays in progress; the API lists and cancels it
    cluster.kill(4)
    cluster.wait_unregistered(4)
    stuck = cluster.base_dir / f"{topic}-stuck.json"
    stuck.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0,
                                                               "replicas": [1, 2, 4]}]}))
    res = run_tool("kafka-reassign-partitions.sh", "--zookeeper", zk, "--execute", "--reassignment-json-file",
                   str(stuck))
    # the tool refuses brokers that are not registered, as Kafka's does
    assert res.returncode == 1 and "non-existent brokerIDs: 4" in res.stdout
    cluster.zk(lambda kz: kz.create_partition_reassignment({TopicPartition(topic, 0): (1, 2, 4)}))
    cluster.wait_for(lambda: "adding: 4." in _reassign("--bootstrap-server", bootstrap, "--list"), 30,
                     "the stuck reassignment in --list")
    assert f"{topic}-0: replicas: 1,2,4. adding: 4." in _reassign("--bootstrap-server", bootstrap, "--list")
    out = _reassign("--zookeeper", zk, "--verify", "--reassignment-json-file", str(stuck))
    assert f"Reassignment of partition {topic}-0 is still in progress." in out
    out = _reassign("--bootstrap-server", bootstrap, "--cancel", "--reassignment-json-file", str(stuck))
    assert f"Successfully cancelled partition reassignment for: {topic}-0" in out
    cluster.wait_for(lambda: cluster.replicas(topic, 0) == [1, 2], 30, "the original replicas back")
    assert "No partition reassignments found." in _reassign("--bootstrap-server", bootstrap, "--list")
    res = run_tool("kafka-reassign-partitions.sh", "--bootstrap-server", bootstrap, "--verify",
                   "--reassignment-json-file", str(stuck))
    assert f"There is no active reassignment of partition {topic}-0, but replica set is 1,2 rather than 1,2,4." \
        in res.stdout
    cluster.start_broker(4)

    # a complete move through /admin/reassign_partitions
    plan = cluster.base_dir / f"{topic}-zk.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 1, "replicas": [3, 4]}]}))
    out = _reassign("--zookeeper", zk, "--execute", "--reassignment-json-file", str(plan))
    assert f"Successfully started partition reassignment for {topic}-1" in out
    cluster.wait_for(lambda: "is complete" in _reassign("--zookeeper", zk, "--verify", "--reassignment-json-file",
                                                        str(plan)), 60, "the ZooKeeper reassignment to complete",
                     interval_s=1.0)
    assert cluster.replicas(topic, 1) == [3, 4]
    assert cluster.zk(lambda kz: kz.get_partition_reassignment()) is None
    assert sorted(metadata_partitions(bootstrap, topic)[1][1]) == [3, 4]


def test_unclean_leader_election_tool(cluster: LocalCluster) -> None:
    topic = _topic("unclean")
    controller = cluster.controller()
    x, y = [b for b in (1, 2, 3, 4) if b != controller][:2]
    _create(cluster, topic, {0: [x, y]})
    cluster.wait_for(lambda: len(cluster.isr(topic, 0)) == 2, 30, "a full ISR")
    cluster.kill(y)
    cluster.wait_for(lambda: cluster.isr(topic, 0) == [x], 30, f"ISR [{x}]")
    cluster.kill(x)
    cluster.wait_for(lambda: cluster.leader(topic, 0) == -1, 30, "the partition offline")
    cluster.start_broker(y)
    assert cluster.leader(topic, 0) == -1
    res = run_tool("kafka-leader-election.sh", "--bootstrap-server", cluster.bootstrap_servers,
                   "--election-type", "unclean", "--topic", topic, "--partition", "0")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"Successfully completed leader election (UNCLEAN) for partitions {topic}-0" in res.stdout
    state = cluster.partition_state(topic, 0)
    assert state.leader == y and list(state.isr) == [y]
    cluster.wait_for(lambda: metadata_partitions(cluster.bootstrap_servers, topic)[0][0] == y, 30,
                     "Metadata to show the unclean leader")
    cluster.start_broker(x)
