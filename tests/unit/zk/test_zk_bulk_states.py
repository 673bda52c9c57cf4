"""The controller's bulk partition-state writes share multis, yet every partition gets its own answer:
an existing state, a lost version race or a missing znode fails only that partition; a lost epoch
fails the whole call. Against the in-memory ZooKeeper (same multi semantics as the server)."""
from __future__ import annotations

import asyncio

import pytest

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.testing.zookeeper import InMemoryZooKeeper
from kafkapy.zk import errors
from kafkapy.zk.kafka_zk import KafkaZkClient

pytestmark = pytest.mark.timeout(20)

BATCH = 8
N = 2 * BATCH + 5        # full batches and a partial one


class CountingMulti:
    def __init__(self, client) -> None:
        self.real = client.multi
        self.sizes: list[int] = []
        client.multi = self

    async def __call__(self, ops):
        self.sizes.append(len(ops))
        return await self.real(ops)


def test_bulk_create_and_update_answer_per_partition() -> None:
    async def scenario() -> None:
        server = InMemoryZooKeeper()
        client = server.client()
        await client.start()
        kz = KafkaZkClient(client)
        kz.multi_batch_partitions = BATCH
        await kz.create_top_level_paths()
        epoch = await kz.register_controller_and_increment_controller_epoch(1)
        tps = [TopicPartition(f"t{i % 3}", i) for i in range(N)]
        for topic in ("t0", "t1", "t2"):
            await kz.create_topic_assignment(topic, {tp.partition: [1, 2] for tp in tps if tp.topic == topic})
        existing = tps[5]
        await kz.create_topic_partition_states({existing: LeaderAndIsr(2, 3, (2,), 1)}, epoch.zk_version)

        multis = CountingMulti(client)
        created = await kz.create_topic_partition_states({tp: LeaderAndIsr(1, 0, (1, 2), 1) for tp in tps},
                                                         epoch.zk_version)
        assert isinstance(created[existing], errors.NodeExistsError)
        assert all(s.zk_version == 0 and s.isr == (1, 2) for tp, s in created.items() if tp != existing)
        stored = await kz.get_topic_partition_states(tps)
        assert stored[existing].leader == 2 and all(stored[tp].leader == 1 for tp in tps if tp != existing)
        # One multi per topic for `partitions`, one per batch; only the batch holding the existing
        # state went again partition by partition (two creates each).
        rest = N - 2 * BATCH
        assert sorted(multis.sizes) == sorted([2] * 3 + [2 * BATCH + 1] * 2 + [2 * rest + 1]
                                              + [2] * 2 * BATCH)

        # A leader rewrote two ISRs meanwhile: those lose the race, the rest are written.
        raced = {tps[0], tps[N - 1]}
        for tp in raced:
            await kz.conditional_update_partition_state(tp, stored[tp])
        multis.sizes.clear()
        wanted = {tp: LeaderAndIsr(2, stored[tp].leader_epoch + 1, (2,), 1, stored[tp].zk_version) for tp in tps}
        result = await kz.update_leader_and_isr(wanted, epoch.zk_version)
        assert set(result.partitions_to_retry) == raced
        assert set(result.finished) == set(tps) - raced
        assert all(s.zk_version == stored[tp].zk_version + 1 for tp, s in result.finished.items())
        after = await kz.get_topic_partition_states(tps)
        assert all(after[tp].leader == 2 for tp in tps if tp not in raced)
        assert all(after[tp].leader == stored[tp].leader for tp in raced)
        assert max(multis.sizes) == BATCH + 1            # the epoch check rides along

        # Another controller bumped the epoch: nothing is written, the caller learns it moved.
        await client.set("/controller_epoch", b"7")
        with pytest.raises(errors.ControllerMovedError):
            await kz.update_leader_and_isr({tp: after[tp] for tp in tps}, epoch.zk_version)
        with pytest.raises(errors.ControllerMovedError):
            await kz.create_topic_partition_states({TopicPartition("t0", 10_000): LeaderAndIsr(1, 0, (1,), 1)},
                                                   epoch.zk_version)
        assert await kz.get_topic_partition_states(tps) == after
        await client.stop()
    asyncio.run(asyncio.wait_for(scenario(), 15))
