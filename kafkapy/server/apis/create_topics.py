"""CreateTopics (key 19), v0-v7: create topics in ZooKeeper and wait for their leaders.

Only the controller serves it (NOT_CONTROLLER elsewhere). A topic listed twice answers
INVALID_REQUEST. v4+ accept -1 for the partition count and replication factor (broker
defaults); v5+ return the partition count, replication factor and configs of the topic;
v7 returns its topic id. The work is `AdminManager.create_topics`.
"""
from __future__ import annotations

from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.create_topics import API
from kafkapy.server.admin_manager import NewTopic, TopicResult, admin_manager_for, duplicates
from kafkapy.server.request import RequestContext

CreateTopicsResponse = API.response
CreatableTopicResult = API.response.struct("topics")
CreatableTopicConfigs = API.response.struct("topics", "configs")


def _result(r: TopicResult, version: int) -> Any:
    out = CreatableTopicResult(name=r.name, error_code=r.error_code, error_message=r.error_message,
                               num_partitions=r.num_partitions, replication_factor=r.replication_factor)
    if r.topic_id is not None:
        out.topic_id = r.topic_id
    if version >= 5:
        out.configs = [] if r.configs is None else [   # Kafka answers an empty list for failed topics
            CreatableTopicConfigs(name=c.name, value=c.value, read_only=c.read_only, config_source=c.source,
                                  is_sensitive=c.is_sensitive) for c in r.configs]
    return out


async def handle_create_topics(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    manager = admin_manager_for(broker)
    names = [t.name for t in request.topics]
    dupes = duplicates(names)
    if not manager.is_controller():
        results = [TopicResult(n, int(ErrorCode.NOT_CONTROLLER), None)
                   for n in dict.fromkeys(names)]
        return CreateTopicsResponse(throttle_time_ms=0, topics=[_result(r, version) for r in results])
    topics = [NewTopic(t.name, t.num_partitions, t.replication_factor,
                       {a.partition_index: list(a.broker_ids) for a in t.assignments},
                       {c.name: c.value for c in t.configs})
              for t in request.topics if t.name not in dupes]
    validate_only = bool(request.validate_only) if version >= 1 else False
    done = await manager.create_topics(topics, request.timeout_ms, validate_only, describe_configs=version >= 5)
    by_name = {r.name: r for r in done}
    results = []
    dupes_text = ",".join(n for n in dict.fromkeys(names) if n in dupes)
    for name in dict.fromkeys(names):
        if name in dupes:
            results.append(TopicResult(name, int(ErrorCode.INVALID_REQUEST),
                                       f"Create topics request from client `{ctx.client_id}` contains multiple "
                                       f"entries for the following topics: {dupes_text}"))
        else:
            results.append(by_name[name])
    return CreateTopicsResponse(throttle_time_ms=0, topics=[_result(r, version) for r in results])


def register(dispatcher: Any, broker: Any) -> None:
    admin_manager_for(broker)
    register_supported(ApiKey.CREATE_TOPICS, 0, 7)
    dispatcher.register(ApiKey.CREATE_TOPICS, lambda ctx, req: handle_create_topics(ctx, req, broker))
