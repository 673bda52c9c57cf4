"""AlterIsr (key 56), v0: a partition leader asks the controller to change an ISR (KIP-497).

The handler forwards to ``controller.alter_isr(broker_id, broker_epoch, {tp: LeaderAndIsr})``
(``zk_version`` carries the ISR version the leader last saw) and answers per partition with
the stored state or the error; NOT_CONTROLLER when this broker's controller is not active.
The controller is looked up when a request arrives (it is created after the handlers).

`AlterIsrSender` is the leader side for the optional ``alter_isr`` ISR update mode.
"""
from __future__ import annotations

import logging
from typing import Any

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.alter_isr import API

log = logging.getLogger(__name__)

TopicData = API.response.struct("topics")
PartitionData = API.response.struct("topics", "partitions")
RequestTopic = API.request.struct("topics")
RequestPartition = API.request.struct("topics", "partitions")


def _error_response(code: int) -> Any:
    return API.response(throttle_time_ms=0, error_code=code, topics=[])


async def handle_alter_isr(ctx: Any, request: Any, controller: Any) -> Any:
    if controller is None or not controller.is_active:
        return _error_response(ErrorCode.NOT_CONTROLLER)
    updates: dict[TopicPartition, LeaderAndIsr] = {}
    for t in request.topics:
        for p in t.partitions:
            updates[TopicPartition(t.name, p.partition_index)] = LeaderAndIsr(
                request.broker_id, p.leader_epoch, tuple(p.new_isr), -1, p.current_isr_version)
    try:
        results = await controller.alter_isr(request.broker_id, request.broker_epoch, updates)
    except ApiError as exc:
        return _error_response(exc.code)
    by_topic: dict[str, list[Any]] = {}
    for tp in updates:
        res = results.get(tp)
        if isinstance(res, LeaderAndIsr):
            part = PartitionData(partition_index=tp.partition, error_code=ErrorCode.NONE, leader_id=res.leader,
                                 leader_epoch=res.leader_epoch, isr=list(res.isr), current_isr_version=res.zk_version)
        else:
            code = res.code if isinstance(res, ApiError) else ErrorCode.UNKNOWN_SERVER_ERROR
            part = PartitionData(partition_index=tp.partition, error_code=code, leader_id=-1, leader_epoch=-1,
                                 isr=[], current_isr_version=-1)
        by_topic.setdefault(tp.topic, []).append(part)
    return API.response(throttle_time_ms=0, error_code=ErrorCode.NONE,
                        topics=[TopicData(name=t, partitions=ps) for t, ps in by_topic.items()])


class AlterIsrSender:
    """Leader side: send AlterIsr to the active controller (directly when it is this broker)."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker

    async def send(self, updates: dict[TopicPartition, LeaderAndIsr]) -> dict[TopicPartition, Any]:
        broker = self.broker
        controller = broker.controller
        if controller is not None and controller.is_active:
            return await controller.alter_isr(broker.broker_id, broker.broker_epoch, updates)
        from kafkapy.clients.net import BrokerConnection
        controller_id = await broker.zk_client.get_controller_id()
        info = await broker.zk_client.get_broker(controller_id) if controller_id is not None else None
        ep = info.endpoint(broker.config.inter_broker_listener_name) if info is not None else None
        if ep is None:
            return {tp: ApiError(ErrorCode.NOT_CONTROLLER) for tp in updates}
        topics: dict[str, list[Any]] = {}
        for tp, st in updates.items():
            topics.setdefault(tp.topic, []).append(RequestPartition(
                partition_index=tp.partition, leader_epoch=st.leader_epoch, new_isr=list(st.isr),
                current_isr_version=st.zk_version))
        timeout = int(broker.config.get("controller.socket.timeout.ms"))
        conn = await BrokerConnection.connect(ep.host, ep.port, client_id=f"broker-{broker.broker_id}-alter-isr",
                                              timeout_ms=timeout)
        try:
            resp = await conn.send(ApiKey.ALTER_ISR, API.request(
                broker_id=broker.broker_id, broker_epoch=broker.broker_epoch,
                topics=[RequestTopic(name=t, partitions=ps) for t, ps in topics.items()]), timeout_ms=timeout)
        finally:
            await conn.close()
        if resp.error_code:
            return {tp: ApiError(resp.error_code) for tp in updates}
        out: dict[TopicPartition, Any] = {}
        for t in resp.topics:
            for p in t.partitions:
                tp = TopicPartition(t.name, p.partition_index)
                out[tp] = (LeaderAndIsr(p.leader_id, p.leader_epoch, tuple(p.isr), -1, p.current_isr_version)
                           if p.error_code == ErrorCode.NONE else ApiError(p.error_code))
        return out


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.ALTER_ISR, 0, 0)
    dispatcher.register(ApiKey.ALTER_ISR, lambda ctx, req: handle_alter_isr(ctx, req, broker.controller))
