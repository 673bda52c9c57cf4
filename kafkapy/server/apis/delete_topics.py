"""DeleteTopics (key 20), v0-v6: mark topics for deletion and wait until they are gone.

Only the controller serves it. ``delete.topic.enable=false`` answers TOPIC_DELETION_DISABLED
(INVALID_REQUEST before v3). v6 names topics by name or by topic id (UNKNOWN_TOPIC_ID when
the id is not known; INVALID_REQUEST when both or neither are given). A name listed twice is
deleted and answered once.
"""
from __future__ import annotations

import uuid
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.delete_topics import API
from kafkapy.server.admin_manager import TopicResult, admin_manager_for, default_message
from kafkapy.server.request import RequestContext

DeleteTopicsResponse = API.response
DeletableTopicResult = API.response.struct("responses")
_ZERO = uuid.UUID(int=0)


def _result(r: TopicResult, version: int) -> Any:
    # Kafka 2.8 sets only error codes here: the message stays null whatever the error.
    out = DeletableTopicResult(name=r.name, error_code=r.error_code, error_message=None)
    if version >= 6:
        out.topic_id = r.topic_id or _ZERO
    return out


async def handle_delete_topics(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    manager = admin_manager_for(broker)
    snapshot = broker.metadata_cache.snapshot
    # (name or None, topic id or None, early error) per requested entry.
    entries: list[tuple[str | None, uuid.UUID | None, int]] = []
    if version >= 6:
        names_by_id = {tid: name for name, tid in snapshot.topic_ids.items()}
        for t in request.topics:
            tid = t.topic_id if t.topic_id is not None and t.topic_id != _ZERO else None
            if (t.name is None) == (tid is None):
                entries.append((t.name, tid, int(ErrorCode.INVALID_REQUEST)))
            elif tid is not None:
                name = names_by_id.get(tid)
                entries.append((name, tid, 0 if name is not None else int(ErrorCode.UNKNOWN_TOPIC_ID)))
            else:
                entries.append((t.name, snapshot.topic_ids.get(t.name), 0))
    else:
        entries = [(n, None, 0) for n in request.topic_names]
    early: list[TopicResult] = []
    todo: list[str] = []
    if not manager.is_controller():
        code = int(ErrorCode.NOT_CONTROLLER)
        early = [TopicResult(n, code, default_message(code), topic_id=tid) for n, tid, _ in entries]
    elif not broker.config.get("delete.topic.enable"):
        code = int(ErrorCode.TOPIC_DELETION_DISABLED if version >= 3 else ErrorCode.INVALID_REQUEST)
        early = [TopicResult(n, code, default_message(code), topic_id=tid) for n, tid, _ in entries]
    else:
        for name, tid, err in entries:
            if err:
                early.append(TopicResult(name, err, default_message(err), topic_id=tid))
            elif name not in todo:   # a name listed twice is deleted (and answered) once
                todo.append(name)
    done = await manager.delete_topics(todo, request.timeout_ms) if todo else []
    results = early + done
    return DeleteTopicsResponse(throttle_time_ms=0, responses=[_result(r, version) for r in results])


def register(dispatcher: Any, broker: Any) -> None:
    admin_manager_for(broker)
    register_supported(ApiKey.DELETE_TOPICS, 0, 6)
    dispatcher.register(ApiKey.DELETE_TOPICS, lambda ctx, req: handle_delete_topics(ctx, req, broker))
