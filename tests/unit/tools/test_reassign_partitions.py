"""kafka-reassign-partitions.sh: JSON parsing/formatting, throttle computation, Kafka's output lines, and
every action against an in-memory backend (no broker, no ZooKeeper)."""
from __future__ import annotations

import asyncio
import io
import json
import random
from collections.abc import Iterable, Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.common.types import TopicPartition
from kafkapy.tools import reassign_partitions as rp
from kafkapy.tools._common import CommandError

pytestmark = pytest.mark.timeout(30)

TP = TopicPartition


class FakeBackend:
    """Assignments, live brokers and reassignments kept in memory; throttle configs recorded."""

    def __init__(self, assignment: dict[TopicPartition, list[int]], brokers: Sequence[int]) -> None:
        self.assignment_ = dict(assignment)
        self.brokers_ = list(brokers)
        self.ongoing_: dict[TopicPartition, rp.Ongoing] = {}
        self.topic_configs: dict[str, dict[str, str]] = {}
        self.broker_configs: dict[int, dict[str, str]] = {}
        self.closed = False

    async def assignment(self, topics: Iterable[str]) -> dict[TopicPartition, list[int]]:
        topics = set(topics)
        return {tp: r for tp, r in self.assignment_.items() if tp.topic in topics}

    async def brokers(self) -> list[int]:
        return list(self.brokers_)

    async def ongoing(self) -> dict[TopicPartition, rp.Ongoing]:
        return dict(self.ongoing_)

    async def start(self, targets: Mapping[TopicPartition, Sequence[int]]) -> dict[TopicPartition, str | None]:
        for tp, r in targets.items():
            cur = self.assignment_[tp]
            self.ongoing_[tp] = rp.Ongoing(tuple(dict.fromkeys([*r, *cur])), tuple(b for b in r if b not in cur),
                                           tuple(b for b in cur if b not in r))
        return {tp: None for tp in targets}

    async def cancel(self, tps: Iterable[TopicPartition]) -> dict[TopicPartition, str | None]:
        out = {}
        for tp in tps:
            self.ongoing_.pop(tp)
            out[tp] = None
        return out

    async def set_throttles(self, topic_configs: Mapping[str, Mapping[str, str | None]],
                            broker_configs: Mapping[int, Mapping[str, str | None]]) -> None:
        for store, changes in ((self.topic_configs, topic_configs), (self.broker_configs, broker_configs)):
            for key, kv in changes.items():
                rp._apply(store.setdefault(key, {}), kv)

    async def close(self) -> None:
        self.closed = True

    def complete(self) -> None:
        for tp, o in self.ongoing_.items():
            self.assignment_[tp] = [b for b in o.replicas if b not in o.removing]
        self.ongoing_.clear()


def run(argv: list[str], backend: FakeBackend | None = None, monkeypatch: pytest.MonkeyPatch | None = None
        ) -> tuple[int, str, str]:
    if backend is not None:
        async def fake_open(_args: object) -> FakeBackend:
            return backend
        monkeypatch.setattr(rp, "_open", fake_open)
    out, err = io.StringIO(), io.StringIO()
    code = asyncio.run(rp.main_async(argv, out, err))
    return code, out.getvalue(), err.getvalue()


def write(tmp_path, name: str, data: object) -> str:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(p)


# ------------------------------------------------------------------ pure functions
def test_reassignment_json_round_trip_with_log_dirs() -> None:
    text = json.dumps({"version": 1, "partitions": [
        {"topic": "b", "partition": 1, "replicas": [3, 1], "log_dirs": ["any", "/data/x"]},
        {"topic": "a", "partition": 0, "replicas": [1, 2]}]})
    targets, dirs = rp.parse_reassignment(text)
    assert targets == {TP("b", 1): [3, 1], TP("a", 0): [1, 2]}
    assert dirs == {(TP("b", 1), 1): "/data/x"}
    assert rp.format_reassignment_json(targets, dirs) == (
        '{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},'
        '{"topic":"b","partition":1,"replicas":[3,1],"log_dirs":["any","/data/x"]}]}')


@given(st.dictionaries(st.tuples(st.sampled_from(["t", "u", "orders.v1"]), st.integers(0, 50)),
                       st.lists(st.integers(0, 20), min_size=1, max_size=4, unique=True), min_size=1, max_size=20))
@settings(max_examples=100, deadline=None)
def test_format_then_parse_is_identity(assignment: dict[tuple[str, int], list[int]]) -> None:
    targets = {TP(t, p): r for (t, p), r in assignment.items()}
    assert rp.parse_reassignment(rp.format_reassignment_json(targets))[0] == targets


@pytest.mark.parametrize("data, message", [
    ({"version": 1, "partitions": []}, "Partition reassignment list cannot be empty"),
    ({"version": 1, "partitions": [{"topic": "t", "partition": 0, "replicas": []}]},
     "Partition replica list cannot be empty"),
    ({"version": 1, "partitions": [{"topic": "t", "partition": 0, "replicas": [1]},
                                   {"topic": "t", "partition": 0, "replicas": [2]}]},
     "Partition reassignment contains duplicate topic partitions: t-0"),
    ({"version": 1, "partitions": [{"topic": "t", "partition": 0, "replicas": [1, 2, 1]}]},
     "Partition replica lists may not contain duplicate entries: t-0 contains multiple entries for 1"),
    ({"version": 2, "partitions": [{"topic": "t", "partition": 0, "replicas": [1]}]},
     "Not supported version field value 2"),
    ("{not json", "The input string is not a valid JSON"),
])
def test_bad_reassignment_json(data: object, message: str) -> None:
    with pytest.raises(CommandError, match="^" + message.replace(".", r"\.") + "$"):
        rp.parse_reassignment(data if isinstance(data, str) else json.dumps(data))


def test_topics_to_move_and_broker_list() -> None:
    assert rp.parse_topics_to_move('{"topics":[{"topic":"a"},{"topic":"b"}],"version":1}') == ["a", "b"]
    with pytest.raises(CommandError, match="List of topics to reassign contains duplicate entries: a"):
        rp.parse_topics_to_move('{"topics":[{"topic":"a"},{"topic":"a"}]}')
    assert rp.parse_broker_list("3,1,2") == [3, 1, 2]
    with pytest.raises(CommandError, match="Broker list contains duplicate entries: 1"):
        rp.parse_broker_list("1,2,1")


def test_calculate_assignment_keeps_partition_count_and_replication_factor() -> None:
    current = {TP("t", p): [1, 2, 3] for p in range(6)} | {TP("u", 0): [1, 2]}
    proposed = rp.calculate_assignment(current, [2, 3, 4, 5], rng=random.Random(7))
    assert set(proposed) == set(current)
    for tp, replicas in proposed.items():
        assert len(replicas) == len(current[tp]) and len(set(replicas)) == len(replicas)
        assert set(replicas) <= {2, 3, 4, 5}
    leaders = [proposed[TP("t", p)][0] for p in range(6)]
    assert len(set(leaders)) >= 3          # leadership spread over the new brokers


def test_throttles_name_current_replicas_as_leaders_and_added_ones_as_followers() -> None:
    current = {TP("t", 0): [1, 2, 3], TP("t", 1): [2, 3, 1], TP("u", 0): [1]}
    target = {TP("t", 0): [2, 3, 4], TP("t", 1): [2, 3, 1], TP("u", 0): [5]}
    assert rp.leader_throttles(current, target) == {"t": "0:1,0:2,0:3", "u": "0:1"}
    assert rp.follower_throttles(current, target) == {"t": "0:4", "u": "0:5"}


def test_list_and_verify_texts() -> None:
    assert rp.format_ongoing({}) == "No partition reassignments found."
    assert rp.format_ongoing({TP("t", 1): rp.Ongoing((2, 3, 4, 1), (4,), (1,)), TP("t", 0): rp.Ongoing((1, 2))}) == (
        "Current partition reassignments:\nt-0: replicas: 1,2.\nt-1: replicas: 2,3,4,1. adding: 4. removing: 1.")
    lines, done = rp.verify_lines({TP("t", 0): [2, 3], TP("t", 1): [3, 4], TP("t", 2): [1]},
                                  {TP("t", 1): rp.Ongoing((3, 4, 1))},
                                  {TP("t", 0): [2, 3], TP("t", 1): [3, 4, 1], TP("t", 2): [2]})
    assert not done
    assert lines == ["Status of partition reassignment:",
                     "Reassignment of partition t-0 is complete.",
                     "Reassignment of partition t-1 is still in progress.",
                     "There is no active reassignment of partition t-2, but replica set is 2 rather than 1."]


# ------------------------------------------------------------------ command line
@pytest.mark.parametrize("argv, message", [
    (["--bootstrap-server", "h:1"], "Command must include exactly one action: --generate, --execute, --verify, "
                                    "--cancel, or --list"),
    (["--list", "--verify", "--bootstrap-server", "h:1"], "Command must include exactly one action"),
    (["--list"], "Please specify --bootstrap-server"),
    (["--list", "--zookeeper", "z:2181"], 'Option "--list" can\'t be used with option "--zookeeper"'),
    (["--execute", "--bootstrap-server", "h:1"], "Missing required argument(s): reassignment-json-file"),
    (["--generate", "--bootstrap-server", "h:1", "--broker-list", "1"],
     "Missing required argument(s): topics-to-move-json-file"),
    (["--list", "--bootstrap-server", "h:1", "--throttle", "5"], 'Option "--throttle" can\'t be used with action '
                                                                  '"--list"'),
    (["--execute", "--bootstrap-server", "h:1", "--reassignment-json-file", "f", "--throttle", "x"],
     "Cannot parse argument 'x' of option throttle"),
    (["--list", "--bootstrap-server", "h:1", "--frobnicate"], "frobnicate is not a recognized option"),
])
def test_bad_arguments_print_one_line_and_usage(argv: list[str], message: str) -> None:
    code, out, err = run(argv)
    assert code == 1 and out == ""
    first, *rest = err.splitlines()
    assert first.startswith(message)
    assert rest[0].startswith("Option") and "--reassignment-json-file" in err
    assert "Traceback" not in err


def test_generate(tmp_path, monkeypatch) -> None:
    backend = FakeBackend({TP("t", 0): [1, 2], TP("t", 1): [2, 1], TP("x", 0): [1, 2]}, [1, 2, 3, 4])
    topics = write(tmp_path, "topics.json", {"topics": [{"topic": "t"}], "version": 1})
    code, out, _ = run(["--generate", "--bootstrap-server", "h:1", "--topics-to-move-json-file", topics,
                        "--broker-list", "3,4"], backend, monkeypatch)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "Current partition replica assignment"
    assert json.loads(lines[1])["partitions"] == [
        {"topic": "t", "partition": 0, "replicas": [1, 2], "log_dirs": ["any", "any"]},
        {"topic": "t", "partition": 1, "replicas": [2, 1], "log_dirs": ["any", "any"]}]
    assert lines[2] == "" and lines[3] == "Proposed partition reassignment configuration"
    proposed = json.loads(lines[4])["partitions"]
    assert [(p["topic"], p["partition"]) for p in proposed] == [("t", 0), ("t", 1)]
    assert all(sorted(p["replicas"]) == [3, 4] for p in proposed)

    code, out, _ = run(["--generate", "--bootstrap-server", "h:1", "--topics-to-move-json-file", topics,
                        "--broker-list", "3,9"], backend, monkeypatch)
    assert code == 1 and out == "Error: Unknown broker id 9\n"


def test_execute_verify_with_throttle_then_cleared(tmp_path, monkeypatch) -> None:
    backend = FakeBackend({TP("t", 0): [1, 2, 3], TP("t", 1): [2, 3, 1]}, [1, 2, 3, 4])
    plan = write(tmp_path, "plan.json", {"version": 1, "partitions": [
        {"topic": "t", "partition": 0, "replicas": [2, 3, 4]}, {"topic": "t", "partition": 1, "replicas": [3, 4, 2]}]})
    code, out, _ = run(["--execute", "--bootstrap-server", "h:1", "--reassignment-json-file", plan,
                        "--throttle", "1000"], backend, monkeypatch)
    assert code == 0, out
    assert out.splitlines() == [
        "Current partition replica assignment", "",
        '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3],"log_dirs":["any","any","any"]},'
        '{"topic":"t","partition":1,"replicas":[2,3,1],"log_dirs":["any","any","any"]}]}', "",
        "Save this to use as the --reassignment-json-file option during rollback",
        "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is "
        "removed.",
        "The inter-broker throttle limit was set to 1000 B/s",
        "Successfully started partition reassignments for t-0,t-1"]
    assert backend.topic_configs["t"] == {"leader.replication.throttled.replicas": "0:1,0:2,0:3,1:2,1:3,1:1",
                                          "follower.replication.throttled.replicas": "0:4,1:4"}
    assert backend.broker_configs == {b: {"leader.replication.throttled.rate": "1000",
                                          "follower.replication.throttled.rate": "1000"} for b in (1, 2, 3, 4)}
    assert backend.closed

    code, out, _ = run(["--execute", "--bootstrap-server", "h:1", "--reassignment-json-file", plan], backend,
                       monkeypatch)
    assert code == 1 and out.startswith("Cannot execute because there is an existing partition assignment.")

    code, out, _ = run(["--list", "--bootstrap-server", "h:1"], backend, monkeypatch)
    assert out == ("Current partition reassignments:\nt-0: replicas: 2,3,4,1. adding: 4. removing: 1.\n"
                   "t-1: replicas: 3,4,2,1. adding: 4. removing: 1.\n")

    code, out, _ = run(["--verify", "--bootstrap-server", "h:1", "--reassignment-json-file", plan], backend,
                       monkeypatch)
    assert out.splitlines() == ["Status of partition reassignment:",
                                "Reassignment of partition t-0 is still in progress.",
                                "Reassignment of partition t-1 is still in progress."]
    assert backend.topic_configs["t"]                  # throttles stay while in progress

    backend.complete()
    code, out, _ = run(["--verify", "--bootstrap-server", "h:1", "--reassignment-json-file", plan], backend,
                       monkeypatch)
    assert code == 0
    assert out.splitlines() == ["Status of partition reassignment:",
                                "Reassignment of partition t-0 is complete.",
                                "Reassignment of partition t-1 is complete.", "",
                                "Clearing broker-level throttles on brokers 1,2,3,4",
                                "Clearing topic-level throttles on topic t"]
    assert backend.topic_configs["t"] == {} and all(c == {} for c in backend.broker_configs.values())


def test_execute_rejects_unknown_partitions_and_brokers(tmp_path, monkeypatch) -> None:
    backend = FakeBackend({TP("t", 0): [1, 2]}, [1, 2, 3])
    plan = write(tmp_path, "p.json", {"version": 1, "partitions": [{"topic": "t", "partition": 5, "replicas": [1]}]})
    code, out, _ = run(["--execute", "--bootstrap-server", "h:1", "--reassignment-json-file", plan], backend,
                       monkeypatch)
    assert (code, out) == (1, "Error: The proposed assignment contains non-existent partitions: t-5\n")
    plan = write(tmp_path, "q.json", {"version": 1, "partitions": [{"topic": "t", "partition": 0, "replicas": [1, 7]}]})
    code, out, _ = run(["--execute", "--bootstrap-server", "h:1", "--reassignment-json-file", plan], backend,
                       monkeypatch)
    assert (code, out) == (1, "Error: The proposed assignment contains non-existent brokerIDs: 7\n")
    assert not backend.ongoing_
    code, out, _ = run(["--execute", "--bootstrap-server", "h:1", "--reassignment-json-file",
                        str(tmp_path / "missing.json")], backend, monkeypatch)
    assert code == 1 and "No such file or directory" in out


def test_cancel(tmp_path, monkeypatch) -> None:
    backend = FakeBackend({TP("t", 0): [1, 2], TP("t", 1): [1, 2]}, [1, 2, 3])
    plan = write(tmp_path, "p.json", {"version": 1, "partitions": [
        {"topic": "t", "partition": 0, "replicas": [3, 2]}, {"topic": "t", "partition": 1, "replicas": [3, 2]}]})
    asyncio.run(backend.start({TP("t", 0): [3, 2]}))
    code, out, _ = run(["--cancel", "--bootstrap-server", "h:1", "--reassignment-json-file", plan,
                        "--preserve-throttles"], backend, monkeypatch)
    assert (code, out) == (0, "Successfully cancelled partition reassignment for: t-0\n")
    assert not backend.ongoing_
    code, out, _ = run(["--cancel", "--bootstrap-server", "h:1", "--reassignment-json-file", plan,
                        "--preserve-throttles"], backend, monkeypatch)
    assert (code, out) == (0, "None of the specified partition reassignments are active.\n")
