"""A ZooKeeper connection loss (session alive) never makes the controller resign: the failed step
waits for the reconnection and runs again, keeping the epoch it won."""
from __future__ import annotations

import asyncio

import pytest

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.channel_manager import LeaderAndIsrRequestData
from kafkapy.controller.events import ElectionType
from kafkapy.controller.zk_adapter import KafkaZkControllerAdapter
from kafkapy.testing.zookeeper import InMemoryZooKeeper
from kafkapy.zk.errors import ConnectionLossError
from kafkapy.zk.kafka_zk import KafkaZkClient

from .fakes import FakeZk, broker
from .test_controller import Harness

pytestmark = pytest.mark.timeout(20)


class FlakyZk(FakeZk):
    """FakeZk whose connection drops once, in the middle of a bulk ISR write (some writes landed)."""

    def __init__(self) -> None:
        super().__init__()
        self.drop_in_update = False
        self.connected = asyncio.Event()
        self.connected.set()
        self.waits = 0
        self.registrations = 0

    async def register_controller_and_increment_epoch(self, broker_id: int) -> tuple[int, int]:
        self.registrations += 1
        return await super().register_controller_and_increment_epoch(broker_id)

    async def update_leader_and_isr(self, states, epoch_zk_version):
        if self.drop_in_update:
            self.drop_in_update = False
            first = dict(list(states.items())[:1])
            await super().update_leader_and_isr(first, epoch_zk_version)    # landed, answer lost
            self.connected.clear()
            raise ConnectionLossError("connection loss", "/brokers/topics")
        return await super().update_leader_and_isr(states, epoch_zk_version)

    async def wait_connected(self) -> None:
        self.waits += 1
        await self.connected.wait()


def test_connection_loss_during_failover_is_retried_without_resigning() -> None:
    async def scenario() -> None:
        zk = FlakyZk()
        for b in (1, 2):                       # broker 3 is dead: its replicas go offline in the failover
            zk.brokers[b] = broker(b)
        assignment = {p: [(p + i) % 3 + 1 for i in range(3)] for p in range(9)}
        zk.create_topic("t", assignment)
        for p, replicas in assignment.items():
            zk.states[TopicPartition("t", p)] = LeaderAndIsr(replicas[0], 0, tuple(replicas), 0, 0)
        zk.drop_in_update = True
        h = Harness(zk, 1)
        start = asyncio.create_task(h.controller.startup())
        while zk.connected.is_set():           # until the failover hits the dropped connection
            await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        assert not start.done() and zk.waits == 1
        # Still the controller with the epoch it won: nothing resigned or re-elected meanwhile.
        assert h.controller.is_active and h.controller.epoch == 1
        assert zk.controller == 1 and zk.controller_epoch == 1
        zk.connected.set()                     # reconnected with the same session
        await start
        await h.idle()
        assert h.controller.is_active and h.controller.epoch == 1
        assert zk.controller == 1 and zk.controller_epoch == 1 and zk.registrations == 1
        for p in range(9):
            state = zk.states[TopicPartition("t", p)]
            assert state.leader in (1, 2) and 3 not in state.isr and state.controller_epoch == 1
        lai = [r for s in h.channel.sent if isinstance(s.request, LeaderAndIsrRequestData) for r in [s.request]]
        assert lai and all(r.controller_epoch == 1 for r in lai)
        # The retried failover did not double up the broker senders or leave two partition states.
        assert set(h.controller.context.live_broker_ids) == {1, 2}
        assert len(h.controller.context.partition_leadership_info) == 9
        await h.controller.shutdown()
    asyncio.run(asyncio.wait_for(scenario(), 15))


class _LossyKz:
    """Answers like KafkaZkClient; the first call of each verb listed in `lose` fails with a
    connection loss, and `wait_connected` blocks until the test reconnects."""

    def __init__(self, lose: set[str]) -> None:
        self.lose = set(lose)
        self.watches: list = []
        self.connected = asyncio.Event()
        self.waits = 0

    def _maybe_lose(self, verb: str) -> None:
        if verb in self.lose:
            self.lose.discard(verb)
            self.connected.clear()
            raise ConnectionLossError("connection loss", verb)

    async def wait_connected(self) -> None:
        self.waits += 1
        await self.connected.wait()

    async def get_all_brokers(self, watch=None):
        self.watches.append(watch)
        self._maybe_lose("get_all_brokers")
        return []

    async def get_topic_partition_states(self, partitions):
        self._maybe_lose("get_topic_partition_states")
        return {tp: LeaderAndIsr(1, 0, (1,), 1, 0) for tp in partitions}


def test_adapter_retries_after_reconnection_and_rearms_the_failed_watch() -> None:
    async def scenario() -> None:
        kz = _LossyKz({"get_all_brokers", "get_topic_partition_states"})
        adapter = KafkaZkControllerAdapter(kz, max_batch=4)
        fired: list[int] = []
        read = asyncio.create_task(adapter.get_all_brokers(watch=lambda: fired.append(1)))
        while kz.waits == 0:
            await asyncio.sleep(0)
        assert not read.done()
        kz.connected.set()
        assert await read == []
        # The first read failed, so ZooKeeper set no watch; the retry armed one, exactly once.
        assert len(kz.watches) == 2 and kz.watches[0] is not None and kz.watches[1] is not None
        assert await adapter.get_all_brokers(watch=lambda: fired.append(2)) == []
        assert kz.watches[2] is None                   # still pending: not armed twice
        kz.watches[1](object())
        assert fired == [1]
        tps = [TopicPartition("t", p) for p in range(10)]
        kz.connected.set()
        states_task = asyncio.create_task(adapter.get_partition_states(tps))
        while kz.waits == 1:
            await asyncio.sleep(0)
        kz.connected.set()
        assert set(await states_task) == set(tps)
        assert adapter.connection_retries == 2
    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_election_retried_after_a_lost_answer_recognises_its_own_win() -> None:
    async def scenario() -> None:
        server = InMemoryZooKeeper()
        client = server.client()
        await client.start()
        kz = KafkaZkClient(client)
        real_multi = client.multi
        lost = []

        async def multi_losing_first_answer(ops):
            result = await real_multi(ops)
            if not lost:
                lost.append(ops)
                raise ConnectionLossError("connection loss", None)
            return result
        client.multi = multi_losing_first_answer          # type: ignore[method-assign]
        adapter = KafkaZkControllerAdapter(kz)
        epoch, epoch_zk_version = await adapter.register_controller_and_increment_epoch(7)
        assert lost and (epoch, epoch_zk_version) == (1, 1)
        assert await kz.get_controller_id() == 7
        stored = await kz.get_controller_epoch()
        assert stored is not None and stored.epoch == 1
        await client.stop()
    asyncio.run(asyncio.wait_for(scenario(), 10))


# ---- the cached leader/ISR spares a read only where it leads to a version-checked write --------------
T0 = TopicPartition("t", 0)
T1 = TopicPartition("t", 1)


def test_stale_cached_isr_never_decides_an_election_or_an_isr_shrink() -> None:
    async def scenario() -> None:
        zk = FakeZk()
        for b in (1, 2, 3):
            zk.brokers[b] = broker(b)
        zk.create_topic("t", {0: [1, 2, 3], 1: [2, 3, 1]})
        h = Harness(zk, 3)
        await h.controller.startup()
        await h.idle()
        zk.kill_broker(2)
        await h.idle()
        zk.register_broker(broker(2, epoch=300))
        await h.idle()
        # The leader of T1 took broker 2 back into the ISR without a notification: the cache says (3, 1).
        zk.leader_writes_isr_quietly(T1, [3, 1, 2])
        assert 2 not in h.controller.context.partition_leadership_info[T1].isr
        result = await h.controller.elect_leaders([T1], ElectionType.PREFERRED)
        assert result[T1] is None and zk.states[T1].leader == 2
        # Broker 3 shrank T0's ISR to (1, 3) and expanded it to (1, 3, 2) quietly; the cache never saw 2
        # come back. When 2 dies again it must leave T0's ISR in ZooKeeper.
        zk.leader_writes_isr_quietly(T0, [1, 3, 2])
        h.controller.context.partition_leadership_info[T0] = LeaderAndIsr(
            1, zk.states[T0].leader_epoch, (1, 3), 1, zk.states[T0].zk_version)   # stale but same version
        zk.kill_broker(2)
        await h.idle()
        assert zk.states[T0].isr == (1, 3) and zk.states[T0].leader == 1
        assert zk.states[T1].leader in (3, 1) and 2 not in zk.states[T1].isr
        await h.controller.shutdown()
    asyncio.run(asyncio.wait_for(scenario(), 15))
