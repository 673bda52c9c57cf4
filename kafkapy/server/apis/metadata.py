"""Metadata (key 3): brokers, controller, cluster id and topic/partition leadership, all versions.

Answers come from one metadata-cache snapshot. Unknown topics are created when
``auto.create.topics.enable`` is on and the request allows it (always before v4), through
AdminZkClient exactly as ``kafka-topics.sh`` would (the controller then elects leaders);
the answer for such a topic is LEADER_NOT_AVAILABLE, and clients retry.
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.metadata import API
from kafkapy.protocol.schema import ZERO_UUID
from kafkapy.server.metadata_cache import INTERNAL_TOPICS, MetadataSnapshot
from kafkapy.server.request import RequestContext

log = logging.getLogger(__name__)

MetadataResponse = API.response
MetadataBroker = API.response.struct("brokers")
MetadataTopic = API.response.struct("topics")
MetadataPartition = API.response.struct("topics", "partitions")

GROUP_METADATA_TOPIC = "__consumer_offsets"
TRANSACTION_STATE_TOPIC = "__transaction_state"


def _partitions_metadata(snapshot: MetadataSnapshot, topic: str, listener: str, version: int) -> list[Any]:
    error_unavailable_endpoints = version == 0
    error_unavailable_listeners = version >= 6
    brokers = snapshot.brokers
    out = []
    parts = snapshot.partitions.get(topic, {})
    for pid in sorted(parts):
        p = parts[pid]
        replicas = list(p.replicas)
        isr = list(p.isr)
        offline = list(p.offline_replicas)
        if error_unavailable_endpoints:
            replicas = [r for r in replicas if r in brokers and brokers[r].endpoint(listener) is not None]
            isr = [r for r in isr if r in brokers and brokers[r].endpoint(listener) is not None]
            offline = [r for r in offline if r in brokers and brokers[r].endpoint(listener) is not None]
        leader = brokers.get(p.leader)
        if leader is None or leader.endpoint(listener) is None:
            if leader is None or not error_unavailable_listeners:
                error = ErrorCode.LEADER_NOT_AVAILABLE
            else:
                error = ErrorCode.LISTENER_NOT_FOUND
            out.append(MetadataPartition(error_code=error, partition_index=pid, leader_id=-1,
                                         leader_epoch=p.leader_epoch, replica_nodes=replicas, isr_nodes=isr,
                                         offline_replicas=offline))
            continue
        error = 0
        if len(replicas) < len(p.replicas) or len(isr) < len(p.isr):
            error = ErrorCode.REPLICA_NOT_AVAILABLE
        out.append(MetadataPartition(error_code=error, partition_index=pid, leader_id=p.leader,
                                     leader_epoch=p.leader_epoch, replica_nodes=replicas, isr_nodes=isr,
                                     offline_replicas=offline))
    return out


def _topic_metadata(snapshot: MetadataSnapshot, topic: str, listener: str, version: int) -> Any:
    return MetadataTopic(error_code=0, name=topic, topic_id=snapshot.topic_ids.get(topic, ZERO_UUID),
                         is_internal=topic in INTERNAL_TOPICS,
                         partitions=_partitions_metadata(snapshot, topic, listener, version))


def _error_topic(topic: str, error: int) -> Any:
    return MetadataTopic(error_code=error, name=topic, topic_id=ZERO_UUID, is_internal=topic in INTERNAL_TOPICS,
                         partitions=[])


def _response(broker: Any, snapshot: MetadataSnapshot, listener: str, topics: list[Any]) -> Any:
    brokers = [MetadataBroker(node_id=bid, host=ep.host, port=ep.port, rack=rack)
               for bid, ep, rack in snapshot.alive_endpoints(listener)]
    controller = snapshot.controller_id if snapshot.controller_id is not None else -1
    return MetadataResponse(throttle_time_ms=0, brokers=brokers, cluster_id=broker.cluster_id,
                            controller_id=controller, topics=topics)


async def create_topic(broker: Any, topic: str) -> int:
    """Auto-create `topic` (or an internal topic) through AdminZkClient; returns the error to report."""
    config = broker.config
    live = len(broker.metadata_cache.snapshot.brokers)
    topic_config: dict[str, str] = {}
    if topic == GROUP_METADATA_TOPIC:
        partitions = int(config.get("offsets.topic.num.partitions"))
        rf = int(config.get("offsets.topic.replication.factor"))
        topic_config = {"cleanup.policy": "compact", "compression.type": "producer",
                        "segment.bytes": str(config.get("offsets.topic.segment.bytes"))}
        if live < rf:
            log.info("Number of alive brokers '%d' does not meet the required replication factor '%d' for the "
                     "offsets topic (configured via 'offsets.topic.replication.factor'). This error can be ignored "
                     "if the cluster is starting up and not all brokers are up yet.", live, rf)
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
    elif topic == TRANSACTION_STATE_TOPIC:
        partitions = int(config.get("transaction.state.log.num.partitions"))
        rf = int(config.get("transaction.state.log.replication.factor"))
        topic_config = {"cleanup.policy": "compact", "compression.type": "uncompressed",
                        "min.insync.replicas": str(config.get("transaction.state.log.min.isr")),
                        "unclean.leader.election.enable": "false",
                        "segment.bytes": str(config.get("transaction.state.log.segment.bytes"))}
        if live < rf:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
    else:
        partitions = int(config.get("num.partitions"))
        rf = int(config.get("default.replication.factor"))
    try:
        await broker.admin_zk.create_topic(topic, partitions, rf, topic_config)
        log.info("Auto creation of topic %s with %d partitions and replication factor %d is successful",
                 topic, partitions, rf)
    except ApiError as exc:
        if exc.code == ErrorCode.TOPIC_ALREADY_EXISTS:
            return ErrorCode.LEADER_NOT_AVAILABLE
        log.info("Auto creation of topic %s failed: %s", topic, exc)
        return exc.code
    return ErrorCode.LEADER_NOT_AVAILABLE


def handle_metadata(ctx: RequestContext, request: Any, broker: Any) -> Any:
    version = ctx.api_version
    snapshot = broker.metadata_cache.snapshot
    listener = ctx.listener_name
    requested = request.topics
    if requested is None or (version == 0 and not requested):
        topics = [_topic_metadata(snapshot, t, listener, version) for t in snapshot.all_topics()]
        return _response(broker, snapshot, listener, topics)
    names: list[str] = []
    seen: set[str] = set()
    for t in requested:
        name = t.name
        if name is None:
            continue
        if name not in seen:
            seen.add(name)
            names.append(name)
    allow_auto = request.allow_auto_topic_creation if version >= 4 else True
    auto_enabled = bool(broker.config.get("auto.create.topics.enable"))
    missing = [n for n in names if not snapshot.contains_topic(n)]
    if not missing:
        return _response(broker, snapshot, listener, [_topic_metadata(snapshot, n, listener, version) for n in names])

    to_create = [n for n in missing if n in INTERNAL_TOPICS or (allow_auto and auto_enabled)]

    async def create_then_answer() -> Any:
        errors: dict[str, int] = {}
        for name in to_create:
            error = await create_topic(broker, name)
            if name in INTERNAL_TOPICS and error == ErrorCode.COORDINATOR_NOT_AVAILABLE:
                error = ErrorCode.INVALID_REPLICATION_FACTOR
            errors[name] = error
        out = []
        for n in names:
            if n in errors:
                out.append(_error_topic(n, errors[n]))
            elif n in missing:
                out.append(_error_topic(n, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            else:
                out.append(_topic_metadata(snapshot, n, listener, version))
        return _response(broker, snapshot, listener, out)

    if to_create:
        return create_then_answer()
    out = [(_error_topic(n, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) if n in missing
            else _topic_metadata(snapshot, n, listener, version)) for n in names]
    return _response(broker, snapshot, listener, out)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.METADATA, 0, 11)
    dispatcher.register(ApiKey.METADATA, lambda ctx, req: handle_metadata(ctx, req, broker))
