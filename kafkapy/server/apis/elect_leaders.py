"""ElectLeaders (key 43): preferred or unclean leader election for partitions (the controller decides).

Registered by the broker as ``partial(handle_elect_leaders, controller=...)``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.messages.elect_leaders import API

__all__ = ["ElectLeadersController", "handle_elect_leaders", "PREFERRED", "UNCLEAN"]

PREFERRED = 0        # ElectionType on the wire
UNCLEAN = 1


class ElectLeadersController(Protocol):
    @property
    def is_active(self) -> bool: ...

    async def elect_leaders(self, partitions: Iterable[TopicPartition] | None,
                            election_type: int) -> dict[TopicPartition, ApiError | None]: ...


def _response(top_error: int, results: dict[TopicPartition, ApiError | None]) -> Any:
    topic_cls = API.response.struct("replica_election_results")
    part_cls = API.response.struct("replica_election_results", "partition_result")
    by_topic: dict[str, list] = {}
    for tp in sorted(results):
        err = results[tp]
        by_topic.setdefault(tp.topic, []).append(part_cls(
            partition_id=tp.partition, error_code=err.code if err is not None else ErrorCode.NONE,
            error_message=err.message if err is not None else None))
    return API.response(error_code=top_error, replica_election_results=[
        topic_cls(topic=t, partition_result=parts) for t, parts in by_topic.items()])


async def handle_elect_leaders(ctx: Any, request: Any, controller: ElectLeadersController) -> Any:
    requested: list[TopicPartition] | None = None
    if request.topic_partitions is not None:
        requested = [TopicPartition(t.topic, p) for t in request.topic_partitions for p in t.partition_id]
    if not controller.is_active:
        err = ApiError(ErrorCode.NOT_CONTROLLER)
        return _response(ErrorCode.NOT_CONTROLLER, {tp: err for tp in requested or ()})
    election_type = request.election_type if ctx.api_version >= 1 else PREFERRED
    try:
        results = await controller.elect_leaders(requested, election_type)
    except ApiError as e:
        return _response(e.code, {tp: e for tp in requested or ()})
    return _response(ErrorCode.NONE, results)
