"""Controller → brokers over real sockets: ZooKeeper, KafkaController, ControllerChannelManager and
scripted brokers that decode LeaderAndIsr / UpdateMetadata / StopReplica."""
from __future__ import annotations

import asyncio
import random
import time
from types import SimpleNamespace

import pytest

from kafkapy.common.clock import SystemClock
from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.controller import KafkaController
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.frame import frame
from kafkapy.protocol.header import decode_request, encode_response
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.messages.api_versions import ApiVersion
from kafkapy.zk.admin_zk import AdminZkClient
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import BrokerInfo, EndPoint

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


class WireBroker:
    """Listens like a broker's inter-broker listener; answers every controller request with success."""

    def __init__(self) -> None:
        self.requests: list = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.close()

    def of(self, api_key: int) -> list:
        return [body for key, _v, body in self.requests if key == api_key]

    async def _serve(self, reader, writer) -> None:
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(4), "big")
                header, body = decode_request(memoryview(await reader.readexactly(size)))
                spec = get_api(header.api_key)
                if header.api_key == ApiKey.API_VERSIONS:
                    resp = spec.response(api_keys=[ApiVersion(api_key=k, min_version=0, max_version=v)
                                                   for k, v in ((18, 3), (4, 5), (5, 3), (6, 7))])
                else:
                    self.requests.append((header.api_key, header.api_version, body))
                    if header.api_key == ApiKey.STOP_REPLICA:
                        perr = spec.response.struct("partition_errors")
                        resp = spec.response(partition_errors=[
                            perr(topic_name=t.topic_name, partition_index=p.partition_index, error_code=0)
                            for t in body.topic_states for p in t.partition_states])
                    elif header.api_key == ApiKey.LEADER_AND_ISR:
                        topic = spec.response.struct("topics")
                        resp = spec.response(topics=[topic(topic_id=t.topic_id) for t in body.topic_states])
                    else:
                        resp = spec.response()
                writer.write(frame(encode_response(header.api_key, header.api_version, header.correlation_id,
                                                   resp)))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def eventually(predicate, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_controller_drives_brokers_over_the_wire(zk_chroot: str) -> None:
    async def main() -> None:
        wires = [WireBroker() for _ in range(3)]
        ports = [await w.start() for w in wires]
        sessions = []
        epochs = {}
        for i, port in enumerate(ports):
            kz = await KafkaZkClient.connect(zk_chroot, session_timeout_ms=6000)
            await kz.create_top_level_paths()
            epochs[i] = await kz.register_broker(BrokerInfo(i, (EndPoint("127.0.0.1", port),), timestamp_ms=1))
            sessions.append(kz)
        cfg = SimpleNamespace(broker_id=0, unclean_leader_election_enable=False, auto_leader_rebalance_enable=False,
                              delete_topic_enable=True, inter_broker_listener_name="PLAINTEXT",
                              controller_socket_timeout_ms=5000)
        controller = KafkaController(config=cfg, zk=sessions[0], clock=SystemClock(), tasks=None,
                                     broker_epoch_provider=lambda: epochs[0])
        admin = AdminZkClient(sessions[1], rng=random.Random(5))
        try:
            await controller.startup()
            assert controller.is_active
            # Failover: every broker gets UpdateMetadata with the three live brokers.
            for w in wires:
                await eventually(lambda w=w: w.of(ApiKey.UPDATE_METADATA), "UpdateMetadata after failover")
                first = w.of(ApiKey.UPDATE_METADATA)[0]
                assert sorted(b.id for b in first.live_brokers) == [0, 1, 2]
                assert first.controller_id == 0 and first.controller_epoch == controller.epoch
            assignment = await admin.create_topic("wire", 3, 2, {})
            for i, w in enumerate(wires):
                hosted = {p for p, replicas in assignment.items() if i in replicas}

                def got(w=w, hosted=hosted) -> set:
                    return {p.partition_index for r in w.of(ApiKey.LEADER_AND_ISR)
                            for t in r.topic_states if t.topic_name == "wire" for p in t.partition_states}
                await eventually(lambda: got() == hosted, f"LeaderAndIsr for broker {i}")
                lai = [r for r in w.of(ApiKey.LEADER_AND_ISR) if any(t.topic_name == "wire" for t in r.topic_states)]
                assert all(r.broker_epoch == epochs[i] for r in lai)
                for r in lai:
                    for p in r.topic_states[0].partition_states:
                        assert p.leader == assignment[p.partition_index][0] and p.is_new
            # A leader shrinks an ISR itself (pre-AlterIsr path) and leaves a notification.
            p0 = next(p for p, r in assignment.items() if r[0] != 2)     # broker 2 dies later
            tp0 = TopicPartition("wire", p0)
            current = await sessions[1].get_topic_partition_state(tp0)
            shrunk = LeaderAndIsr(current.leader, current.leader_epoch, (current.leader,), current.controller_epoch,
                                  current.zk_version)
            await sessions[1].conditional_update_partition_state(tp0, shrunk)
            await sessions[1].propagate_isr_changes([tp0])

            def isr_broadcast() -> bool:
                return any(p.partition_index == p0 and list(p.isr) == [current.leader]
                           for r in wires[0].of(ApiKey.UPDATE_METADATA) for t in r.topic_states
                           if t.topic_name == "wire" for p in t.partition_states)
            await eventually(isr_broadcast, "UpdateMetadata with the shrunk ISR")
            await eventually(lambda: controller.context.partition_leadership_info[tp0].isr == (current.leader,),
                             "the controller's cache to follow the ISR change")
            notifications: list = []

            async def poll_notifications() -> None:
                while True:
                    notifications[:] = await sessions[1].get_all_isr_change_notifications()
                    if not notifications:
                        return
                    await asyncio.sleep(0.02)
            await asyncio.wait_for(poll_notifications(), 20)

            # Broker 2 goes away: its partitions get new leaders, the others learn it over the wire.
            await sessions[2].close()
            await eventually(lambda: 2 not in controller.context.live_brokers, "broker 2 to be seen dead")
            hosted_by_2 = [TopicPartition("wire", p) for p, r in assignment.items() if 2 in r]
            moved: dict = {}

            async def poll_states() -> None:
                while True:
                    moved.update(await sessions[1].get_topic_partition_states(hosted_by_2))
                    if all(s.leader != 2 and 2 not in s.isr for s in moved.values()):
                        return
                    await asyncio.sleep(0.02)
            await asyncio.wait_for(poll_states(), 20)
            assert set(moved) == set(hosted_by_2)
            await eventually(lambda: any(2 not in [b.id for b in r.live_brokers]
                                         for r in wires[0].of(ApiKey.UPDATE_METADATA)), "UpdateMetadata without 2")
        finally:
            await controller.shutdown()
            for kz in sessions[:2]:
                await kz.close()
            for w in wires:
                await w.stop()
    asyncio.run(asyncio.wait_for(main(), 60))
