"""KafkaController against a real ZooKeeper (brokers' channels are recording doubles)."""
from __future__ import annotations

import asyncio
import random
import time
from types import SimpleNamespace

import pytest

from kafkapy.common.clock import SystemClock
from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.channel_manager import LeaderAndIsrRequestData
from kafkapy.controller.controller import KafkaController
from kafkapy.controller.zk_adapter import KafkaZkControllerAdapter
from kafkapy.zk.admin_zk import AdminZkClient
from kafkapy.zk.client import CreateOp, DeleteOp, SetDataOp
from kafkapy.zk.errors import ControllerMovedError
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import BrokerInfo, ControllerEpochZNode, ControllerZNode, EndPoint



class FakeChannel:
    """Records what the controller would send to each broker."""

    def __init__(self) -> None:
        self.brokers: dict = {}
        self.sent: list = []

    def add_broker(self, info) -> None:
        self.brokers[info.broker_id] = info

    def remove_broker(self, broker_id: int) -> None:
        self.brokers.pop(broker_id, None)

    def send(self, broker_id, request, callback=None) -> None:
        self.sent.append(SimpleNamespace(broker_id=broker_id, request=request, callback=callback))

    async def shutdown(self) -> None:
        self.brokers.clear()

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def run(coro, timeout_s: float = 60.0):
    async def bounded():
        return await asyncio.wait_for(coro, timeout_s)
    return asyncio.run(bounded())


async def eventually(predicate, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Node:
    """One broker's ZooKeeper session plus its controller module."""

    def __init__(self, kz: KafkaZkClient, controller: KafkaController, channel: FakeChannel):
        self.kz, self.controller, self.channel = kz, controller, channel

    @classmethod
    async def start(cls, connect: str, broker_id: int) -> Node:
        kz = await KafkaZkClient.connect(connect, session_timeout_ms=6000)
        await kz.create_top_level_paths()
        epoch = await kz.register_broker(BrokerInfo(broker_id, (EndPoint("127.0.0.1", 9092 + broker_id),),
                                                    timestamp_ms=1))
        channel = FakeChannel()
        cfg = SimpleNamespace(broker_id=broker_id, unclean_leader_election_enable=False,
                              auto_leader_rebalance_enable=False, delete_topic_enable=True)
        controller = KafkaController(config=cfg, zk=kz, clock=SystemClock(), tasks=None,
                                     broker_epoch_provider=lambda: epoch, channel=channel)
        return cls(kz, controller, channel)

    async def stop(self) -> None:
        await self.controller.shutdown()
        await self.kz.close()


def test_two_controllers_race_and_fail_over(zk_chroot: str) -> None:
    async def main() -> None:
        a, b = await asyncio.gather(Node.start(zk_chroot, 0), Node.start(zk_chroot, 1))
        stopped: list[Node] = []
        try:
            await asyncio.gather(a.controller.startup(), b.controller.startup())
            actives = [n for n in (a, b) if n.controller.is_active]
            assert len(actives) == 1
            winner, loser = (a, b) if a.controller.is_active else (b, a)
            assert await a.kz.get_controller_id() == winner.controller.broker_id
            epoch = await a.kz.get_controller_epoch()
            assert epoch.epoch == 1 and winner.controller.epoch == 1
            feature = await a.kz.get_feature()
            assert feature is not None and feature.status == 1 and dict(feature.features) == {}
            assert winner.controller.context.epoch_zk_version == epoch.zk_version
            assert loser.controller.active_controller_id == winner.controller.broker_id
            # The winner's session ends: the other broker takes over with the next epoch.
            stopped.append(winner)
            await winner.stop()
            await eventually(lambda: loser.controller.is_active, "the surviving broker to become controller")
            await loser.controller.event_manager.wait_idle()     # failover finished
            assert loser.controller.epoch == 2
            assert set(loser.controller.context.live_brokers) == {loser.controller.broker_id}
        finally:
            for n in (a, b):
                if n not in stopped:
                    await n.stop()
    run(main())


def test_deposed_controller_is_fenced_and_resigns(zk_chroot: str) -> None:
    async def main() -> None:
        a = await Node.start(zk_chroot, 0)
        other = await KafkaZkClient.connect(zk_chroot, session_timeout_ms=6000)
        try:
            await a.controller.startup()
            assert a.controller.is_active
            stale_version = a.controller.context.epoch_zk_version
            epoch = await other.get_controller_epoch()
            # Broker 7 "wins" an election: /controller replaced and the epoch bumped atomically.
            await other.zk.multi([
                DeleteOp(ControllerZNode.path()),
                CreateOp(ControllerZNode.path(), ControllerZNode.encode(7, 1), ephemeral=True),
                SetDataOp(ControllerEpochZNode.path(), ControllerEpochZNode.encode(epoch.epoch + 1),
                          epoch.zk_version),
            ])
            await eventually(lambda: not a.controller.is_active, "the deposed controller to resign")
            assert a.controller.active_controller_id == 7
            # Whatever the deposed controller still tries to write is rejected by the epoch check.
            adapter = KafkaZkControllerAdapter(a.kz)
            tp = TopicPartition("fenced", 0)
            with pytest.raises(ControllerMovedError):
                await adapter.create_partition_states({tp: LeaderAndIsr(0, 0, (0,), 1, 0)}, stale_version)
            with pytest.raises(ControllerMovedError):
                await adapter.delete_controller(stale_version)
            assert await other.get_topic_partition_state(tp) is None
            assert await other.get_controller_id() == 7
        finally:
            await a.stop()
            await other.close()
    run(main())


def test_topic_created_with_admin_zk_gets_partition_states(zk_chroot: str) -> None:
    async def main() -> None:
        nodes = [await Node.start(zk_chroot, i) for i in range(3)]
        admin_zk = await KafkaZkClient.connect(zk_chroot, session_timeout_ms=6000)
        try:
            for n in nodes:
                await n.controller.startup()
            active = next(n for n in nodes if n.controller.is_active)
            admin = AdminZkClient(admin_zk, rng=random.Random(3))
            assignment = await admin.create_topic("orders", 4, 2, {})
            tps = [TopicPartition("orders", p) for p in range(4)]

            states: dict = {}

            async def poll() -> None:
                while len(states) < 4:
                    states.update(await admin_zk.get_topic_partition_states(tps))
                    await asyncio.sleep(0.02)
            await asyncio.wait_for(poll(), 20)
            for tp in tps:
                replicas = tuple(assignment[tp.partition])
                s = states[tp]
                assert s.leader == replicas[0] and s.isr == replicas
                assert s.leader_epoch == 0 and s.controller_epoch == active.controller.epoch
            await eventually(lambda: any(isinstance(x.request, LeaderAndIsrRequestData)
                                         and any(ps.topic == "orders" for ps in x.request.partition_states)
                                         for x in active.channel.sent), "LeaderAndIsr for the new topic")
            topic_id = (await admin_zk.get_topic_assignment("orders")).topic_id
            assert topic_id is not None and len(topic_id) == 22     # assigned by the controller (2.8)
        finally:
            for n in nodes:
                await n.stop()
            await admin_zk.close()
    run(main())


async def _expire_session(hosts: str, client_id) -> None:
    """Join the session from a second kazoo client and close it: ZooKeeper expires the session."""
    from kazoo.client import KazooClient

    def expire() -> None:
        twin = KazooClient(hosts=hosts, client_id=client_id, timeout=2)
        twin.start(timeout=10)
        twin.stop()
        twin.close()
    await asyncio.get_running_loop().run_in_executor(None, expire)


def test_session_expiry_resigns_and_the_other_broker_takes_over(zk_chroot: str, zookeeper) -> None:
    async def main() -> None:
        a = await Node.start(zk_chroot, 0)
        await a.controller.startup()
        b = await Node.start(zk_chroot, 1)
        await b.controller.startup()
        assert a.controller.is_active and not b.controller.is_active
        pending: list[asyncio.Task] = []
        renewed = asyncio.Event()

        async def reregister_and_reelect() -> None:
            await a.kz.register_broker(BrokerInfo(0, (EndPoint("127.0.0.1", 9092),), timestamp_ms=2))
            await a.controller.on_zk_session_reestablished()
            renewed.set()

        a.kz.zk.add_session_lost_listener(
            lambda: pending.append(asyncio.ensure_future(a.controller.on_zk_session_lost())))
        a.kz.zk.add_new_session_listener(lambda: pending.append(asyncio.ensure_future(reregister_and_reelect())))
        old_epoch = a.controller.context.broker_epoch(0)
        try:
            await _expire_session(zookeeper.connect_string, a.kz.zk.client_id)
            await eventually(lambda: b.controller.is_active, "broker 1 to take over")
            await asyncio.wait_for(renewed.wait(), 20)
            assert not a.controller.is_active and a.controller.active_controller_id == 1
            assert b.controller.epoch == 2
            await eventually(lambda: b.controller.context.broker_epoch(0) > old_epoch,
                             "the new controller to see broker 0's new registration")
            assert set(b.controller.context.live_brokers) == {0, 1}
        finally:
            await asyncio.gather(*pending, return_exceptions=True)
            await a.stop()
            await b.stop()
    run(main())


def test_reassignment_completes_when_the_leader_writes_the_isr(zk_chroot: str) -> None:
    async def main() -> None:
        nodes = [await Node.start(zk_chroot, i) for i in range(3)]
        other = await KafkaZkClient.connect(zk_chroot, session_timeout_ms=6000)
        try:
            for n in nodes:
                await n.controller.startup()
            active = next(n for n in nodes if n.controller.is_active)
            admin = AdminZkClient(other)
            await admin.create_topic_with_assignment("moving", {}, {0: [0, 1]})
            tp = TopicPartition("moving", 0)
            await eventually(lambda: tp in active.controller.context.partition_leadership_info, "the new partition")
            assert await active.controller.alter_partition_reassignments({tp: [0, 1, 2]}) == {tp: None}
            stored = await other.get_topic_assignment("moving")
            assert stored.partitions[0].adding_replicas == (2,)
            # The leader (pre-AlterIsr path) adds 2 to the ISR in ZooKeeper, without a notification.
            state = await other.get_topic_partition_state(tp)
            await other.conditional_update_partition_state(
                tp, LeaderAndIsr(state.leader, state.leader_epoch, (0, 1, 2), state.controller_epoch, state.zk_version))
            done: list = []

            async def poll() -> None:
                while True:
                    a = (await other.get_topic_assignment("moving")).partitions[0]
                    if not a.adding_replicas and a.replicas == (0, 1, 2):
                        done.append(a)
                        return
                    await asyncio.sleep(0.02)
            await asyncio.wait_for(poll(), 20)
            assert await active.controller.list_partition_reassignments() == {}
        finally:
            for n in nodes:
                await n.stop()
            await other.close()
    run(main())


def test_connection_loss_during_failover_is_retried_without_resigning(zk_chroot: str) -> None:
    """kazoo drops the connection (session alive) while the new controller reads the partition
    states: the read is repeated after the reconnection, the failover completes with the epoch it
    won, and nobody resigns or is elected again."""
    from kazoo.protocol.connection import _CONNECTION_DROP   # kazoo's own test hook: a real drop

    async def main() -> None:
        admin_zk = await KafkaZkClient.connect(zk_chroot, session_timeout_ms=6000)
        node = await Node.start(zk_chroot, 1)
        try:
            # Brokers 2 and 3 are not registered: the failover also shrinks ISRs and elects leaders.
            partitions = {p: [(p + i) % 3 + 1 for i in range(3)] for p in range(60)}
            await admin_zk.create_topic_assignment("t", partitions)
            tps = [TopicPartition("t", p) for p in partitions]
            epoch_before = await admin_zk.create_controller_epoch_if_missing()
            await admin_zk.create_topic_partition_states(
                {tp: LeaderAndIsr(partitions[tp.partition][0], 0, tuple(partitions[tp.partition]), epoch_before.epoch)
                 for tp in tps}, epoch_before.zk_version)
            session = node.kz.session_id
            states_seen: list = []
            real_read = node.kz.get_topic_partition_states

            async def read_dropping_once(parts):
                parts = list(parts)
                if not states_seen:
                    states_seen.append(len(parts))
                    node.kz.zk._kazoo._call(_CONNECTION_DROP, None)
                return await real_read(parts)
            node.kz.get_topic_partition_states = read_dropping_once   # type: ignore[method-assign]
            await node.controller.startup()
            await node.controller.event_manager.wait_idle()
            adapter = node.controller.zk
            assert adapter.connection_retries >= 1
            assert node.kz.session_id == session                     # the same session throughout
            assert node.controller.is_active and node.controller.epoch == epoch_before.epoch + 1
            stored_epoch = await admin_zk.get_controller_epoch()
            assert stored_epoch is not None and stored_epoch.epoch == node.controller.epoch
            assert await admin_zk.get_controller_id() == 1
            states = await admin_zk.get_topic_partition_states(tps)
            assert set(states) == set(tps)
            assert all(s.leader == 1 and s.isr == (1,) and s.controller_epoch == node.controller.epoch
                       for s in states.values())
            # Partitions 2 or 3 led lost their leader and got broker 1: a new leader epoch each.
            assert all(states[tp].leader_epoch >= 1 for tp in tps if partitions[tp.partition][0] != 1)
        finally:
            await node.stop()
            await admin_zk.close()
    run(main())
