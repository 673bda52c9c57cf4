"""Controller request encoding for every version, and the per-broker senders over loopback."""
from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.controller.channel_manager import (
    ControllerChannelManager, LeaderAndIsrPartitionState, LeaderAndIsrRequestData, ResponseSummary,
    StopReplicaPartitionState, StopReplicaRequestData, UpdateMetadataPartitionState, UpdateMetadataRequestData,
    leader_and_isr_request, stop_replica_requests, summarize_leader_and_isr_response, update_metadata_request,
)
from kafkapy.controller.context import BrokerInfo, EndPoint
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.frame import frame
from kafkapy.protocol.header import decode_request, encode_response
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.messages.api_versions import ApiVersion

pytestmark = pytest.mark.timeout(20)

TOPIC_ID = "AAECAwQFBgcICQoLDA0ODw"      # bytes 0..15


def broker(i: int, port: int = 9092) -> BrokerInfo:
    return BrokerInfo(i, (EndPoint("PLAINTEXT", "127.0.0.1", port + i),
                          EndPoint("EXTERNAL", "example.com", 19092 + i, "SASL_SSL")), "rack-a", 77)


def lai_data() -> LeaderAndIsrRequestData:
    states = (LeaderAndIsrPartitionState("a", 0, 3, 1, 4, (1, 2), 9, (1, 2, 3), (3,), (), True),
              LeaderAndIsrPartitionState("a", 1, 3, 2, 5, (2,), 1, (2, 1)),
              LeaderAndIsrPartitionState("b", 0, 3, 1, 0, (1,), 0, (1,)))
    return LeaderAndIsrRequestData(1, 3, 77, states, (broker(1), broker(2)), {"a": TOPIC_ID, "b": None})


@pytest.mark.parametrize("version", range(0, 6))
def test_leader_and_isr_encodes_every_version(version):
    spec = get_api(ApiKey.LEADER_AND_ISR)
    data = lai_data()
    codec = spec.request_codec(version)
    decoded, _ = codec.decode(memoryview(codec.encode(leader_and_isr_request(data, version))))
    assert decoded.controller_id == 1 and decoded.controller_epoch == 3
    if version >= 2:
        assert decoded.broker_epoch == 77
        flat = [(t.topic_name, p) for t in decoded.topic_states for p in t.partition_states]
    else:
        flat = [(p.topic_name, p) for p in decoded.ungrouped_partition_states]
    assert [(t, p.partition_index) for t, p in flat] == [("a", 0), ("a", 1), ("b", 0)]
    first = flat[0][1]
    assert (first.leader, first.leader_epoch, list(first.isr), first.zk_version, list(first.replicas)) == \
        (1, 4, [1, 2], 9, [1, 2, 3])
    assert first.is_new == (version >= 1)
    assert list(first.adding_replicas) == ([3] if version >= 3 else [])
    if version >= 5:
        assert decoded.topic_states[0].topic_id.bytes == bytes(range(16))
    assert [(x.broker_id, x.host_name, x.port) for x in decoded.live_leaders] == [(1, "127.0.0.1", 9093),
                                                                                  (2, "127.0.0.1", 9094)]


@pytest.mark.parametrize("version", range(0, 8))
def test_update_metadata_encodes_every_version(version):
    spec = get_api(ApiKey.UPDATE_METADATA)
    parts = (UpdateMetadataPartitionState("a", 0, 3, -2, 4, (1, 2), 9, (1, 2, 3), (3,)),)
    data = UpdateMetadataRequestData(1, 3, 77, parts, (broker(1), broker(2)), {"a": TOPIC_ID})
    codec = spec.request_codec(version)
    decoded, _ = codec.decode(memoryview(codec.encode(update_metadata_request(data, version))))
    ps = decoded.topic_states[0].partition_states[0] if version >= 5 else decoded.ungrouped_partition_states[0]
    assert ps.leader == -2 and list(ps.replicas) == [1, 2, 3]
    assert list(ps.offline_replicas) == ([3] if version >= 4 else [])
    b = decoded.live_brokers[0]
    assert b.id == 1
    if version == 0:
        assert (b.v0_host, b.v0_port) == ("127.0.0.1", 9093)
    else:
        listeners = [(e.host, e.port, e.security_protocol) for e in b.endpoints]
        assert ("127.0.0.1", 9093, 0) in listeners
        assert (("example.com", 19093, 3) in listeners) == (version >= 3)
    if version >= 2:
        assert b.rack == "rack-a"


@pytest.mark.parametrize("version", range(0, 4))
def test_stop_replica_encodes_every_version(version):
    spec = get_api(ApiKey.STOP_REPLICA)
    data = StopReplicaRequestData(1, 3, 77, (StopReplicaPartitionState("a", 0, 4, False),
                                             StopReplicaPartitionState("a", 1, -2, True)))
    objs = stop_replica_requests(data, version)
    codec = spec.request_codec(version)
    decoded = [codec.decode(memoryview(codec.encode(o)))[0] for o in objs]
    if version >= 3:
        assert len(decoded) == 1
        ps = decoded[0].topic_states[0].partition_states
        assert [(p.partition_index, p.leader_epoch, p.delete_partition) for p in ps] == [(0, 4, False), (1, -2, True)]
    else:
        assert [d.delete_partitions for d in decoded] == [False, True]
        if version == 0:
            assert [[p.partition_index for p in d.ungrouped_partitions] for d in decoded] == [[0], [1]]
        else:
            assert [[list(t.partition_indexes) for t in d.topics] for d in decoded] == [[[0]], [[1]]]


def test_leader_and_isr_v5_response_maps_topic_ids_back_to_names():
    spec = get_api(ApiKey.LEADER_AND_ISR)
    topic = spec.response.struct("topics")
    perr = spec.response.struct("topics", "partition_errors")
    import uuid
    resp = spec.response(error_code=0, topics=[topic(topic_id=uuid.UUID(bytes=bytes(range(16))),
                                                     partition_errors=[perr(partition_index=1, error_code=56)])])
    summary = summarize_leader_and_isr_response(resp, lai_data(), 5)
    assert summary.partition_errors == {TopicPartition("a", 1): 56}


class ControllerFacingBroker:
    """Answers LeaderAndIsr/UpdateMetadata/StopReplica; records the decoded requests."""

    def __init__(self) -> None:
        self.requests: list = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer) -> None:
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(4), "big")
                header, body = decode_request(memoryview(await reader.readexactly(size)))
                spec = get_api(header.api_key)
                if header.api_key == ApiKey.API_VERSIONS:
                    resp = spec.response(api_keys=[ApiVersion(api_key=k, min_version=0, max_version=v)
                                                   for k, v in ((18, 3), (4, 4), (5, 3), (6, 7))])
                else:
                    self.requests.append((header.api_key, header.api_version, body))
                    if header.api_key == ApiKey.STOP_REPLICA:
                        perr = spec.response.struct("partition_errors")
                        resp = spec.response(partition_errors=[
                            perr(topic_name=t.topic_name, partition_index=p.partition_index, error_code=0)
                            for t in body.topic_states for p in t.partition_states])
                    elif header.api_key == ApiKey.LEADER_AND_ISR:
                        perr = spec.response.struct("partition_errors")
                        resp = spec.response(partition_errors=[
                            perr(topic_name=t.topic_name, partition_index=p.partition_index, error_code=0)
                            for t in body.topic_states for p in t.partition_states])
                    else:
                        resp = spec.response()
                writer.write(frame(encode_response(header.api_key, header.api_version, header.correlation_id,
                                                   resp)))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_channel_manager_sends_in_order_and_retries_until_broker_is_up():
    async def scenario():
        port = free_port()
        cfg = SimpleNamespace(broker_id=1, inter_broker_listener_name="PLAINTEXT", controller_socket_timeout_ms=2000)
        manager = ControllerChannelManager(cfg)
        manager.retry_backoff_ms = 20
        target = BrokerInfo(5, (EndPoint("PLAINTEXT", "127.0.0.1", port),), None, 42)
        manager.add_broker(target)
        answers: list[ResponseSummary] = []
        got = asyncio.Event()

        def on_answer(summary: ResponseSummary) -> None:
            answers.append(summary)
            got.set()

        manager.send(5, UpdateMetadataRequestData(1, 3, 42, (), (target,)))
        manager.send(5, lai_data(), on_answer)
        manager.send(5, StopReplicaRequestData(1, 3, 42, (StopReplicaPartitionState("a", 0, -2, True),)), on_answer)
        broker_side = ControllerFacingBroker()
        await broker_side.start(port)          # the sender has been failing to connect so far
        while len(answers) < 2:
            got.clear()
            await got.wait()
        kinds = [(k, v) for k, v, _ in broker_side.requests]
        assert kinds == [(ApiKey.UPDATE_METADATA, 7), (ApiKey.LEADER_AND_ISR, 4), (ApiKey.STOP_REPLICA, 3)]
        assert answers[0].partition_errors == {TopicPartition("a", 0): 0, TopicPartition("a", 1): 0,
                                               TopicPartition("b", 0): 0}
        assert answers[1].partition_errors == {TopicPartition("a", 0): 0}
        assert broker_side.requests[1][2].broker_epoch == 77
        manager.remove_broker(5)
        manager.send(5, UpdateMetadataRequestData(1, 3, 42, (), ()))        # dropped: broker removed
        await manager.shutdown()
        await broker_side.stop()
        assert len(broker_side.requests) == 3
    asyncio.run(asyncio.wait_for(scenario(), 15))


def test_live_leaders_use_the_inter_broker_listener():
    data = lai_data()
    spec = get_api(ApiKey.LEADER_AND_ISR)
    codec = spec.request_codec(5)
    decoded, _ = codec.decode(memoryview(codec.encode(leader_and_isr_request(data, 5, "EXTERNAL"))))
    assert [(x.host_name, x.port) for x in decoded.live_leaders] == [("example.com", 19093), ("example.com", 19094)]
