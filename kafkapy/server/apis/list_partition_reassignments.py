"""ListPartitionReassignments (key 46): the reassignments in progress, from the controller's memory.

Registered by the broker as ``partial(handle_list_partition_reassignments, controller=...)``.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.messages.list_partition_reassignments import API

__all__ = ["ListReassignmentsController", "handle_list_partition_reassignments"]


class ListReassignmentsController(Protocol):
    @property
    def is_active(self) -> bool: ...

    async def list_partition_reassignments(self, partitions: Iterable[TopicPartition] | None = None
                                           ) -> dict[TopicPartition, Any]: ...


async def handle_list_partition_reassignments(ctx: Any, request: Any, controller: ListReassignmentsController) -> Any:
    if not controller.is_active:
        err = ApiError(ErrorCode.NOT_CONTROLLER)
        return API.response(error_code=err.code, error_message=err.message)
    partitions = None
    if request.topics is not None:
        partitions = [TopicPartition(t.name, p) for t in request.topics for p in t.partition_indexes]
    try:
        ongoing = await controller.list_partition_reassignments(partitions)
    except ApiError as e:
        return API.response(error_code=e.code, error_message=e.message)
    topic_cls = API.response.struct("topics")
    part_cls = API.response.struct("topics", "partitions")
    by_topic: dict[str, list] = {}
    for tp in sorted(ongoing):
        state = ongoing[tp]
        by_topic.setdefault(tp.topic, []).append(part_cls(
            partition_index=tp.partition, replicas=list(state.replicas),
            adding_replicas=list(state.adding_replicas), removing_replicas=list(state.removing_replicas)))
    return API.response(error_code=ErrorCode.NONE, error_message=None,
                        topics=[topic_cls(name=t, partitions=ps) for t, ps in by_topic.items()])
