"""kafka-leader-election.sh and kafka-preferred-replica-election.sh: argument checks, election JSON, and the
report lines for an ElectLeaders answer (the request itself goes to a fake admin client)."""
from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.messages.elect_leaders import API
from kafkapy.tools import leader_election as le
from kafkapy.tools import preferred_replica_election as pre
from kafkapy.tools._common import CommandError

pytestmark = pytest.mark.timeout(30)

TP = TopicPartition


def run(module: Any, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return asyncio.run(module.main_async(argv, out, err)), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv, message", [
    (["--election-type", "preferred", "--all-topic-partitions"], "Missing required option(s) [bootstrap-server]"),
    (["--bootstrap-server", "h:1", "--all-topic-partitions"], "Missing required option(s) [election-type]"),
    (["--bootstrap-server", "h:1", "--election-type", "fair", "--all-topic-partitions"],
     "Cannot parse argument 'fair' of option election-type"),
    (["--bootstrap-server", "h:1", "--election-type", "preferred"],
     "One and only one of the following options is required: all-topic-partitions, topic, path-to-json-file"),
    (["--bootstrap-server", "h:1", "--election-type", "preferred", "--all-topic-partitions", "--topic", "t"],
     "One and only one of the following options is required"),
    (["--bootstrap-server", "h:1", "--election-type", "unclean", "--topic", "t"],
     "Missing required option(s) [partition]"),
    (["--bootstrap-server", "h:1", "--election-type", "unclean", "--topic", "t", "--partition", "x"],
     "Cannot parse argument 'x' of option partition"),
])
def test_bad_arguments(argv: list[str], message: str) -> None:
    code, out, err = run(le, argv)
    assert code == 1 and out == ""
    assert err.splitlines()[0].startswith(message)
    assert "--election-type" in err and "Traceback" not in err


def test_election_json() -> None:
    assert le.parse_election_json('{"partitions":[{"topic":"a","partition":1},{"topic":"b","partition":0}]}') == [
        TP("a", 1), TP("b", 0)]
    with pytest.raises(CommandError, match='missing "partitions"'):
        le.parse_election_json('{"version":1}')
    with pytest.raises(CommandError, match="duplicate partitions: a-1"):
        le.parse_election_json('{"partitions":[{"topic":"a","partition":1},{"topic":"a","partition":1}]}')
    with pytest.raises(CommandError, match="Replica election data is empty"):
        le.parse_election_json('{"partitions":[]}')


def test_report_lines() -> None:
    out = io.StringIO()
    failed = le.report(le.PREFERRED, {
        TP("b", 0): None, TP("a", 2): None,
        TP("a", 0): ApiError(ErrorCode.ELECTION_NOT_NEEDED),
        TP("c", 0): ApiError(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, "no preferred leader"),
    }, out)
    assert failed == 1
    assert out.getvalue().splitlines() == [
        "Successfully completed leader election (PREFERRED) for partitions a-2, b-0",
        "Valid replica already elected for partitions a-0",
        "Error completing leader election (PREFERRED) for partition: c-0: "
        "org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: no preferred leader"]


class FakeAdmin:
    """Answers ElectLeaders the way a controller would: partitions of topic "done" need no election."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    async def _retry_controller(self, api_key: int, req: Any, codes_of: Any) -> Any:
        self.requests.append(req)
        topic_cls = API.response.struct("replica_election_results")
        part_cls = API.response.struct("replica_election_results", "partition_result")
        results = [topic_cls(topic=t.topic, partition_result=[
            part_cls(partition_id=p, error_code=ErrorCode.ELECTION_NOT_NEEDED if t.topic == "done" else 0,
                     error_message=None) for p in t.partition_id]) for t in req.topic_partitions or []]
        return API.response(throttle_time_ms=0, error_code=0, replica_election_results=results)


def test_elect_leaders_request_and_results() -> None:
    admin = FakeAdmin()
    results = asyncio.run(le.elect_leaders(admin, le.UNCLEAN, [TP("t", 1), TP("done", 0), TP("t", 0)]))
    req = admin.requests[0]
    assert req.election_type == le.UNCLEAN
    assert [(t.topic, list(t.partition_id)) for t in req.topic_partitions] == [("done", [0]), ("t", [1, 0])]
    assert results[TP("t", 1)] is None and results[TP("done", 0)].code == ErrorCode.ELECTION_NOT_NEEDED
    asyncio.run(le.elect_leaders(admin, le.PREFERRED, None))
    assert admin.requests[1].topic_partitions is None


def test_preferred_tool_arguments_and_json(tmp_path) -> None:
    code, out, err = run(pre, ["--path-to-json-file", "x.json"])
    assert code == 1 and err.startswith("Exactly one of '--bootstrap-server' or '--zookeeper' must be provided")
    code, out, err = run(pre, ["--zookeeper", "z:1", "--bootstrap-server", "h:1"])
    assert code == 1 and "Exactly one of" in err
    spec = tmp_path / "p.json"
    spec.write_text(json.dumps({"partitions": [{"topic": "a", "partition": 0}, {"topic": "a", "partition": 0}]}))
    code, out, _ = run(pre, ["--bootstrap-server", "h:1", "--path-to-json-file", str(spec)])
    assert code == 1
    assert out.splitlines() == [pre.DEPRECATION,
                                "Error: Preferred replica election data contains duplicate partitions: a-0"]
    assert pre.parse_preferred_json('{"partitions":[{"topic":"a","partition":3}]}') == [TP("a", 3)]
