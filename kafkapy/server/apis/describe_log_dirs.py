"""DescribeLogDirs (key 35), v0-v2: every log directory of this broker with the size and offset
lag of its replicas (null topics = all partitions). The offset lag is Kafka's: 0 for a
current replica (``max(high watermark - log end offset, 0)``), the distance to the current
replica's end for a future replica (this broker has no future replicas: ``is_future_key``
is always false)."""
from __future__ import annotations

from typing import Any

from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.describe_log_dirs import API
from kafkapy.server.request import RequestContext

DescribeLogDirsResponse = API.response
DescribeLogDirsResult = API.response.struct("results")
DescribeLogDirsTopic = API.response.struct("results", "topics")
DescribeLogDirsPartition = API.response.struct("results", "topics", "partitions")


def handle_describe_log_dirs(ctx: RequestContext, request: Any, broker: Any) -> Any:
    lm = broker.log_manager
    wanted: set[TopicPartition] | None = None
    if request.topics is not None:
        wanted = {TopicPartition(t.topic, p) for t in request.topics for p in t.partition_index}
    by_dir: dict[str, dict[str, list[Any]]] = {d: {} for d in broker.config.log_dirs}
    for tp, lg in sorted(lm.logs.items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
        if wanted is not None and tp not in wanted:
            continue
        d = lm.log_dir_of(tp)
        if d is None:
            continue
        lag = max(lg.high_watermark - lg.log_end_offset, 0)
        by_dir.setdefault(d, {}).setdefault(tp.topic, []).append(DescribeLogDirsPartition(
            partition_index=tp.partition, partition_size=lg.size_in_bytes, offset_lag=lag, is_future_key=False))
    results = [DescribeLogDirsResult(error_code=0, log_dir=d, topics=[
        DescribeLogDirsTopic(name=topic, partitions=parts) for topic, parts in topics.items()])
        for d, topics in by_dir.items()]
    return DescribeLogDirsResponse(throttle_time_ms=0, results=results)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.DESCRIBE_LOG_DIRS, 0, 2)
    dispatcher.register(ApiKey.DESCRIBE_LOG_DIRS, lambda ctx, req: handle_describe_log_dirs(ctx, req, broker))
