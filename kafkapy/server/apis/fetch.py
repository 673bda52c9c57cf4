"""Fetch (key 1), v0-v12: consumers read up to the high watermark, followers up to the log end.

Records travel as file regions (sent with sendfile by the connection writer). Byte limits are
Kafka's: each partition's ``partition_max_bytes``, the response ``max_bytes`` (v3+), and the
first batch of the first non-empty partition whole (v3+; older versions have a hard limit).
``min_bytes``/``max_wait_ms`` wait in the fetch purgatory.

Old clients: Fetch v0-v1 can carry magic 0 only and v2-v3 magic 1 only, so stored v2 batches
are converted down for them (headers dropped, each batch keeping its codec; Kafka does the
same). zstd data needs Fetch v10+ (UNSUPPORTED_COMPRESSION_TYPE otherwise).

Fetch sessions (KIP-227) are not created: every answer carries session id 0, which clients
accept by sending full fetches; a request naming a session gets FETCH_SESSION_ID_NOT_FOUND.
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ErrorCode
from kafkapy.common.types import FileRegion, TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.fetch import API
from kafkapy.protocol.records import (
    MAGIC_V0,
    MAGIC_V1,
    CompressionType,
    RecordsError,
    SimpleRecord,
    build_message_set,
    iter_batches,
    records_of,
)
from kafkapy.server.replica_manager import FetchInfo, LogReadResult
from kafkapy.server.request import RequestContext

log = logging.getLogger(__name__)

FetchResponse = API.response
FetchableTopicResponse = API.response.struct("responses")
FetchablePartitionResponse = API.response.struct("responses", "partition_responses")
# The v12+ tagged structs of a partition response, at their defaults: one shared instance each, never
# mutated (the encoder only reads them), instead of three new structs per partition in every response;
# an idle follower fetch of thousands of partitions spent a tenth of a broker's CPU building them.
_NO_DIVERGING_EPOCH = FetchablePartitionResponse.field("diverging_epoch").type.default_value()
_NO_CURRENT_LEADER = FetchablePartitionResponse.field("current_leader").type.default_value()
_NO_SNAPSHOT_ID = FetchablePartitionResponse.field("snapshot_id").type.default_value()

INT32_MAX = 0x7FFFFFFF
_V2_MAGIC_POS = 16
_V2_ATTRIBUTES_POS = 21


def _magic_for_version(version: int) -> int | None:
    if version <= 1:
        return MAGIC_V0
    if version <= 3:
        return MAGIC_V1
    return None


def down_convert(data: bytes | memoryview, to_magic: int, first_offset: int) -> bytes:
    """Convert entries newer than `to_magic` (control batches and headers dropped, codecs kept)."""
    out: list[bytes] = []
    view = memoryview(data)
    for info in iter_batches(view):
        if info.magic <= to_magic:
            out.append(bytes(view[info.position:info.end]))
            continue
        if info.is_control:
            continue
        codec = info.compression
        records = []
        base = None
        for r in records_of(view, info):
            if r.offset < first_offset:
                continue
            if base is None:
                base = r.offset
            records.append(SimpleRecord(r.key, r.value, (), r.timestamp, r.offset - base))
        if not records or base is None:
            continue
        ts_type = info.timestamp_type if to_magic >= MAGIC_V1 else 0
        log_append = info.max_timestamp if ts_type == 1 else None
        out.append(build_message_set(records, magic=to_magic, compression=codec, base_offset=base,
                                     timestamp_type=ts_type, log_append_time=log_append))
    return b"".join(out)


def _first_batch_codec(region: FileRegion) -> int:
    """The compression codec of the region's first entry (v2 batch or legacy message)."""
    head = region.read() if region.size <= 64 else FileRegion(region.fd, region.position, 64).read()
    if len(head) < 18:
        return 0
    magic = head[_V2_MAGIC_POS]
    if magic >= 2:
        if len(head) < 23:
            return 0
        return int.from_bytes(head[_V2_ATTRIBUTES_POS:_V2_ATTRIBUTES_POS + 2], "big") & 0x07
    return head[17] & 0x07


def _records_for(result: LogReadResult, version: int, fetch_offset: int) -> tuple[int, Any]:
    """(error code, records) for one partition of the answer."""
    region = result.records
    if region is None or region.size == 0:
        return 0, b""
    if version < 10 and _first_batch_codec(region) == CompressionType.ZSTD:
        return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, b""
    to_magic = _magic_for_version(version)
    if to_magic is None:
        return 0, region
    data = region.read()
    try:
        needs = any(info.magic > to_magic for info in iter_batches(data))
        if not needs:
            return 0, data
        return 0, down_convert(data, to_magic, fetch_offset)
    except RecordsError as exc:
        log.warning("Cannot convert the records of a fetch at offset %d down to magic %d: %s",
                    fetch_offset, to_magic, exc)
        return ErrorCode.CORRUPT_MESSAGE, b""


def build_response(version: int, fetch_infos: list[tuple[TopicPartition, FetchInfo]],
                   results: list[tuple[TopicPartition, LogReadResult]], read_committed: bool) -> Any:
    topics: list[Any] = []
    current_topic: str | None = None
    parts: list[Any] = []
    aborted = [] if read_committed else None
    for (tp, fi), (_tp, r) in zip(fetch_infos, results):
        if tp.topic != current_topic:
            parts = []
            topics.append(FetchableTopicResponse(topic=tp.topic, partition_responses=parts))
            current_topic = tp.topic
        if r.error_code:
            parts.append(FetchablePartitionResponse(
                partition=tp.partition, error_code=r.error_code, high_watermark=-1, last_stable_offset=-1,
                log_start_offset=-1, diverging_epoch=_NO_DIVERGING_EPOCH, current_leader=_NO_CURRENT_LEADER,
                snapshot_id=_NO_SNAPSHOT_ID, aborted_transactions=None, preferred_read_replica=-1, record_set=b""))
            continue
        error, records = _records_for(r, version, fi.fetch_offset)
        parts.append(FetchablePartitionResponse(
            partition=tp.partition, error_code=error, high_watermark=r.high_watermark,
            last_stable_offset=r.last_stable_offset, log_start_offset=r.log_start_offset,
            diverging_epoch=_NO_DIVERGING_EPOCH, current_leader=_NO_CURRENT_LEADER, snapshot_id=_NO_SNAPSHOT_ID,
            aborted_transactions=aborted, preferred_read_replica=-1, record_set=records))
    return FetchResponse(throttle_time_ms=0, error_code=0, session_id=0, responses=topics)


def handle_fetch(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    if version >= 7:
        epoch = request.session_epoch
        if request.session_id != 0 or epoch not in (0, -1):
            return FetchResponse(throttle_time_ms=0, error_code=ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
                                 session_id=0, responses=[])
    fetch_infos: list[tuple[TopicPartition, FetchInfo]] = []
    for t in request.topics:
        topic = t.topic
        for p in t.partitions:
            fetch_infos.append((TopicPartition(topic, p.partition),
                                FetchInfo(p.fetch_offset, p.log_start_offset, p.partition_max_bytes,
                                          p.current_leader_epoch)))
    read_committed = version >= 4 and request.isolation_level == 1
    max_bytes = request.max_bytes if version >= 3 else INT32_MAX

    def respond(results: list[tuple[TopicPartition, LogReadResult]]) -> Any:
        return build_response(version, fetch_infos, results, read_committed)

    return broker.replica_manager.fetch_messages(
        request.max_wait_ms, request.replica_id, request.min_bytes, max_bytes, version <= 2, fetch_infos,
        request.isolation_level if version >= 4 else 0, respond)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.FETCH, 0, 12)
    dispatcher.register(ApiKey.FETCH, lambda ctx, req: handle_fetch(ctx, req, broker))
