"""AlterPartitionReassignments (key 45): start or cancel (null replicas) reassignments (KIP-455).

Registered by the broker as ``partial(handle_alter_partition_reassignments, controller=...)``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.messages.alter_partition_reassignments import API

__all__ = ["ReassignmentController", "handle_alter_partition_reassignments"]


class ReassignmentController(Protocol):
    @property
    def is_active(self) -> bool: ...

    async def alter_partition_reassignments(self, reassignments: Mapping[TopicPartition, Iterable[int] | None]
                                            ) -> dict[TopicPartition, ApiError | None]: ...


def _response(top: ApiError | None, results: Mapping[TopicPartition, ApiError | None]) -> Any:
    topic_cls = API.response.struct("responses")
    part_cls = API.response.struct("responses", "partitions")
    by_topic: dict[str, list] = {}
    for tp in sorted(results):
        err = results[tp]
        by_topic.setdefault(tp.topic, []).append(part_cls(
            partition_index=tp.partition, error_code=err.code if err is not None else ErrorCode.NONE,
            error_message=err.message if err is not None else None))
    return API.response(error_code=top.code if top is not None else ErrorCode.NONE,
                        error_message=top.message if top is not None else None,
                        responses=[topic_cls(name=t, partitions=ps) for t, ps in by_topic.items()])


async def handle_alter_partition_reassignments(ctx: Any, request: Any, controller: ReassignmentController) -> Any:
    wanted: dict[TopicPartition, tuple[int, ...] | None] = {}
    for topic in request.topics:
        for p in topic.partitions:
            wanted[TopicPartition(topic.name, p.partition_index)] = (
                None if p.replicas is None else tuple(p.replicas))
    if not controller.is_active:
        return _response(ApiError(ErrorCode.NOT_CONTROLLER), {})
    try:
        results = await controller.alter_partition_reassignments(wanted)
    except ApiError as e:
        return _response(e, {})
    return _response(None, results)
