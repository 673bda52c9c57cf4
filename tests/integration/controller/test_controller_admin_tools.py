"""Kafka 2.8.2's own admin tools (Java) against three kafkapy brokers: ElectLeaders and
Alter/ListPartitionReassignments answered by our controller.

Skipped when Kafka's jars cannot be fetched (kafkapy.testing.kafka_dist).
"""
from __future__ import annotations

import json
import os
import signal
import uuid

import pytest

from kafkapy.testing.broker import BrokerProcess, create_topic, wait_for_leaders
from kafkapy.testing.kafka_dist import KafkaDistUnavailable, kafka_classpath, run_kafka_class

from test_controller_cluster import zk_read

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def classpath() -> str:
    try:
        return kafka_classpath()
    except KafkaDistUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture
def cluster(zookeeper, tmp_path):
    connect = f"{zookeeper.connect_string}/kafkapy-tools-{uuid.uuid4().hex[:10]}"
    brokers = [BrokerProcess(tmp_path / f"b{i}", connect, broker_id=i,
                             overrides={"auto.leader.rebalance.enable": "false"}) for i in range(3)]
    for b in brokers:
        b.launch()
    for b in brokers:
        b.wait_started()
    yield connect, brokers
    for b in brokers:
        if b.is_running():
            b.kill()


def tool(classpath: str, main: str, *args: str):
    return run_kafka_class(main, list(args), classpath=classpath, timeout_s=120)


def test_leader_election_command(cluster, classpath) -> None:
    connect, brokers = cluster
    bootstrap = ",".join(b.bootstrap for b in brokers)
    topic = f"elect-{uuid.uuid4().hex[:6]}"
    create_topic(connect, topic, 3, 2)
    wait_for_leaders(brokers[0].bootstrap, topic, 3)
    ok = tool(classpath, "kafka.admin.LeaderElectionCommand", "--bootstrap-server", bootstrap,
              "--election-type", "preferred", "--topic", topic, "--partition", "0")
    # Every preferred replica leads already: ELECTION_NOT_NEEDED, which the tool reports this way
    # (Kafka 2.8 prints the (empty) succeeded set after that sentence).
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Valid replica already elected for partitions" in ok.stdout
    bad = tool(classpath, "kafka.admin.LeaderElectionCommand", "--bootstrap-server", bootstrap,
               "--election-type", "preferred", "--topic", "does-not-exist", "--partition", "0")
    assert bad.returncode != 0
    assert "UnknownTopicOrPartitionException" in bad.stdout + bad.stderr


def test_reassign_partitions_command_execute_list_cancel(cluster, classpath, tmp_path) -> None:
    connect, brokers = cluster
    bootstrap = ",".join(b.bootstrap for b in brokers)
    topic = f"move-{uuid.uuid4().hex[:6]}"
    create_topic(connect, topic, 2, 2)
    wait_for_leaders(brokers[0].bootstrap, topic, 2)
    # The reassignment must stay pending while the tool lists and cancels it: the broker that would receive the
    # new replica is paused (SIGSTOP), so it cannot join the ISR (with replication a live one catches up at once).
    # It must not be the controller, which serves the reassignment APIs.
    controller_id = zk_read(connect, lambda zk: zk.get_controller_id())
    assignment = zk_read(connect, lambda zk: zk.get_topic_assignment(topic)).partitions
    partition, current, missing = next(
        (p, assignment[p].replicas, b.broker_id) for p in sorted(assignment) for b in brokers
        if b.broker_id not in assignment[p].replicas and b.broker_id != controller_id)
    target = list(current) + [missing]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": partition,
                                                              "replicas": target}]}))
    paused = next(b for b in brokers if b.broker_id == missing)
    bootstrap = ",".join(b.bootstrap for b in brokers if b is not paused)   # the tool must not pick it
    os.kill(paused.pid, signal.SIGSTOP)
    try:
        _execute_list_cancel(connect, classpath, bootstrap, topic, partition, plan, current, target, missing)
    finally:
        os.kill(paused.pid, signal.SIGCONT)


def _execute_list_cancel(connect, classpath, bootstrap, topic, partition, plan, current, target, missing) -> None:

    run = tool(classpath, "kafka.admin.ReassignPartitionsCommand", "--bootstrap-server", bootstrap,
               "--reassignment-json-file", str(plan), "--execute")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Successfully started partition reassignment for {topic}-{partition}" in run.stdout
    stored = zk_read(connect, lambda zk: zk.get_topic_assignment(topic)).partitions[partition]
    assert stored.replicas == tuple(target) and stored.adding_replicas == (missing,)

    listed = tool(classpath, "kafka.admin.ReassignPartitionsCommand", "--bootstrap-server", bootstrap, "--list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"{topic}-{partition}: replicas: {','.join(map(str, target))}. adding: {missing}." in listed.stdout

    # After cancelling, the tool clears replication throttles on every broker, the paused one included: bound
    # the Java admin client's waits so that step gives up quickly instead of taking its default minute.
    admin_props = plan.with_name("admin.properties")
    admin_props.write_text("request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n")
    cancel = tool(classpath, "kafka.admin.ReassignPartitionsCommand", "--bootstrap-server", bootstrap,
                  "--command-config", str(admin_props), "--reassignment-json-file", str(plan), "--cancel")
    # (The tool then clears replication throttles with IncrementalAlterConfigs, which is not ours.)
    assert f"Successfully cancelled partition reassignment for: {topic}-{partition}" in cancel.stdout, \
        cancel.stdout + cancel.stderr
    stored = zk_read(connect, lambda zk: zk.get_topic_assignment(topic)).partitions[partition]
    assert stored.replicas == tuple(current) and not stored.adding_replicas
    listed = tool(classpath, "kafka.admin.ReassignPartitionsCommand", "--bootstrap-server", bootstrap, "--list")
    assert "No partition reassignments found." in listed.stdout
