"""KafkaZkClient scenarios, each run against a real ZooKeeper (one chroot per test) and
against the InMemoryZooKeeper double, so the double is checked by the same assertions."""
from __future__ import annotations

import asyncio
import json

import pytest

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.zk import errors
from kafkapy.zk.kafka_zk import KafkaZkClient, generate_cluster_id
from kafkapy.zk.znodes import PERSISTENT_ZK_PATHS, BrokerInfo, EndPoint

pytestmark = [pytest.mark.timeout(90)]


def broker(broker_id: int, port: int = 9092, rack: str | None = None) -> BrokerInfo:
    return BrokerInfo(broker_id, (EndPoint("127.0.0.1", port + broker_id),), rack=rack,
                      timestamp_ms=1629712345678)


def test_top_level_paths_and_cluster_id(backend, arun) -> None:
    async def main() -> None:
        a, b = await backend.connect(), await backend.connect()
        try:
            await a.create_top_level_paths()
            await a.create_top_level_paths()              # idempotent
            for path in PERSISTENT_ZK_PATHS:
                data, version = await a.get_data_and_version(path)
                assert data == b"" and version == 0, path
            assert await a.get_cluster_id() is None
            ids = await asyncio.gather(a.get_or_create_cluster_id(), b.get_or_create_cluster_id())
            assert ids[0] == ids[1] and len(ids[0]) == 22 and "=" not in ids[0]
            raw, _ = await a.get_data_and_version("/cluster/id")
            assert json.loads(raw) == {"version": "1", "id": ids[0]}
            assert await b.get_or_create_cluster_id() == ids[0]
            assert len(generate_cluster_id()) == 22
        finally:
            await a.close()
            await b.close()
    arun(main)


def test_register_broker_and_conflict(backend, arun) -> None:
    async def main() -> None:
        a, b = await backend.connect(), await backend.connect()
        try:
            await a.create_top_level_paths()
            epoch = await a.register_broker(broker(0))
            data, version = await a.get_data_and_version("/brokers/ids/0")
            assert version == 1                              # create empty + setData, as Kafka
            assert json.loads(data)["endpoints"] == ["PLAINTEXT://127.0.0.1:9092"]
            assert await a.register_broker(broker(0)) == epoch   # ours: accepted
            with pytest.raises(errors.BrokerIdInUseError) as info:
                await b.register_broker(broker(0))
            msg = str(info.value)
            assert msg.startswith("Error while creating ephemeral at /brokers/ids/0, node already exists")
            assert f"'{a.session_id}'" in msg and f"'{b.session_id}'" in msg
            await b.register_broker(broker(2, rack="r1"))
            brokers = await a.get_all_brokers()
            assert [x.broker_id for x in brokers] == [0, 2] and brokers[0].epoch == epoch
            assert brokers[1].rack == "r1" and brokers[1].epoch > epoch
            assert await a.get_sorted_broker_ids() == [0, 2]
            await b.close()
            assert await a.get_sorted_broker_ids() == [0]
            assert await a.generate_broker_sequence_id() == 1001
            assert await a.generate_broker_sequence_id() == 1002
        finally:
            await a.close()
            await b.close()
    arun(main)


def test_controller_race_exactly_one_wins(backend, arun) -> None:
    async def main() -> None:
        clients = [await backend.connect() for _ in range(3)]
        try:
            seen_epochs = []
            for round_no in range(3):
                outcomes = await asyncio.gather(
                    *(c.register_controller_and_increment_controller_epoch(i)
                      for i, c in enumerate(clients)), return_exceptions=True)
                winners = [i for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
                assert len(winners) == 1, outcomes
                assert all(isinstance(o, errors.ControllerMovedError)
                           for o in outcomes if isinstance(o, BaseException))
                winner = winners[0]
                epoch = outcomes[winner]
                seen_epochs.append(epoch.epoch)
                assert await clients[0].get_controller_id() == winner
                stored = await clients[0].get_controller_epoch()
                assert stored == epoch
                await clients[winner].delete_controller(epoch.zk_version)
                assert await clients[0].get_controller_id() is None
            assert seen_epochs == [1, 2, 3]
        finally:
            for c in clients:
                await c.close()
    arun(main)


def test_controller_watch_fires_on_resign(backend, arun) -> None:
    async def main() -> None:
        a, b = await backend.connect(), await backend.connect()
        try:
            events = asyncio.Queue()
            assert await b.get_controller_id(watch=events.put_nowait) is None
            await a.register_controller_and_increment_controller_epoch(1)
            assert (await events.get()).kind == "CREATED"
            assert await b.get_controller_id(watch=events.put_nowait) == 1
            await a.close()                               # session ends: ephemeral gone
            assert (await events.get()).kind == "DELETED"
        finally:
            await a.close()
            await b.close()
    arun(main)


def test_stale_controller_epoch_write_fails(backend, arun) -> None:
    async def main() -> None:
        old, new = await backend.connect(), await backend.connect()
        try:
            await old.create_top_level_paths()
            old_epoch = await old.register_controller_and_increment_controller_epoch(1)
            await old.create_topic_assignment("t", {0: [1, 2]})
            created = await old.create_topic_partition_states(
                {TopicPartition("t", 0): LeaderAndIsr(1, 0, (1, 2), old_epoch.epoch)}, old_epoch.zk_version)
            state = created[TopicPartition("t", 0)]
            assert state == LeaderAndIsr(1, 0, (1, 2), old_epoch.epoch, 0)
            # The old controller loses its session; another broker takes over.
            await old.close()
            new_epoch = await new.register_controller_and_increment_controller_epoch(2)
            assert new_epoch.epoch == old_epoch.epoch + 1
            zombie = await backend.connect()
            try:
                with pytest.raises(errors.ControllerMovedError):
                    await zombie.update_leader_and_isr(
                        {TopicPartition("t", 0): LeaderAndIsr(2, 1, (2,), old_epoch.epoch, 0)},
                        old_epoch.zk_version)
                with pytest.raises(errors.ControllerMovedError):
                    await zombie.set_topic_assignment("t", {0: [2, 1]},
                                                      controller_epoch_zk_version=old_epoch.zk_version)
                with pytest.raises(errors.ControllerMovedError):
                    await zombie.delete_topic_znode("t", old_epoch.zk_version)
            finally:
                await zombie.close()
            unchanged = await new.get_topic_partition_state(TopicPartition("t", 0))
            assert unchanged == state and await new.topic_exists("t")
            # The real controller's writes go through.
            result = await new.update_leader_and_isr(
                {TopicPartition("t", 0): LeaderAndIsr(2, 1, (2,), new_epoch.epoch, 0)}, new_epoch.zk_version)
            assert result.finished[TopicPartition("t", 0)].zk_version == 1
            stale = await new.update_leader_and_isr(
                {TopicPartition("t", 0): LeaderAndIsr(1, 2, (1,), new_epoch.epoch, 0)}, new_epoch.zk_version)
            assert stale.partitions_to_retry == (TopicPartition("t", 0),) and not stale.finished
            await new.delete_topic_znode("t", new_epoch.zk_version)
            assert not await new.topic_exists("t")
        finally:
            await old.close()
            await new.close()
    arun(main)


def test_session_expiry_re_registers_broker(backend, arun) -> None:
    async def main() -> None:
        registered = asyncio.Queue()
        kzc = await backend.connect(session_timeout_ms=2000)
        observer = await backend.connect()
        tasks = []

        def on_new_session() -> None:
            async def re_register() -> None:
                registered.put_nowait(await kzc.register_broker(broker(7)))
            tasks.append(asyncio.get_running_loop().create_task(re_register()))

        kzc.zk.add_new_session_listener(on_new_session)
        try:
            first_epoch = await kzc.register_broker(broker(7))
            first_session = kzc.session_id
            await backend.expire_kafka(kzc)
            second_epoch = await registered.get()
            assert second_epoch > first_epoch and kzc.session_id != first_session
            info = await observer.get_broker(7)
            assert info is not None and info.epoch == second_epoch
            stat = await observer.zk.exists("/brokers/ids/7")
            assert stat.ephemeral_owner == kzc.session_id
        finally:
            await asyncio.gather(*tasks, return_exceptions=True)
            await kzc.close()
            await observer.close()
    arun(main)


def test_conditional_isr_write_by_leader(backend, arun) -> None:
    async def main() -> None:
        zkc = await backend.connect()
        try:
            epoch = await zkc.register_controller_and_increment_controller_epoch(1)
            tp = TopicPartition("t", 0)
            missing = await zkc.create_topic_partition_states({tp: LeaderAndIsr(1, 0, (1,), epoch.epoch)},
                                                              epoch.zk_version)
            assert isinstance(missing[tp], errors.NoNodeError)   # no topic znode yet
            await zkc.create_topic_assignment("t", {0: [1, 2, 3]})
            await zkc.create_topic_partition_states({tp: LeaderAndIsr(1, 0, (1, 2, 3), epoch.epoch)},
                                                    epoch.zk_version)
            shrunk = await zkc.conditional_update_partition_state(tp, LeaderAndIsr(1, 0, (1, 2), epoch.epoch, 0))
            assert shrunk.zk_version == 1
            # A retried identical write at the old version counts as success.
            again = await zkc.conditional_update_partition_state(tp, LeaderAndIsr(1, 0, (1, 2), epoch.epoch, 0))
            assert again.zk_version == 1
            with pytest.raises(errors.BadVersionError):
                await zkc.conditional_update_partition_state(tp, LeaderAndIsr(1, 0, (1,), epoch.epoch, 0))
            again_created = await zkc.create_topic_partition_states(
                {tp: LeaderAndIsr(1, 0, (1,), epoch.epoch)}, epoch.zk_version)
            assert isinstance(again_created[tp], errors.NodeExistsError)
        finally:
            await zkc.close()
    arun(main)


def test_notifications_configs_deletions_offsets(backend, arun) -> None:
    async def main() -> None:
        zkc = await backend.connect()
        try:
            await zkc.create_top_level_paths()
            epoch = await zkc.register_controller_and_increment_controller_epoch(1)
            events = asyncio.Queue()
            assert await zkc.get_all_isr_change_notifications(watch=events.put_nowait) == []
            await zkc.propagate_isr_changes([TopicPartition("a", 0), TopicPartition("b", 1)])
            assert (await events.get()).kind == "CHILD"
            await zkc.propagate_isr_changes([TopicPartition("a", 1)])
            seqs = await zkc.get_all_isr_change_notifications()
            assert len(seqs) == 2 and seqs == sorted(seqs) and len(seqs[0]) == 10
            assert await zkc.get_partitions_from_isr_change_notifications(seqs) == {
                TopicPartition("a", 0), TopicPartition("b", 1), TopicPartition("a", 1)}
            await zkc.delete_isr_change_notifications(epoch.zk_version, seqs)
            assert await zkc.get_all_isr_change_notifications() == []

            await zkc.propagate_log_dir_event(3)
            seqs = await zkc.get_all_log_dir_event_notifications()
            assert await zkc.get_broker_ids_from_log_dir_events(seqs) == [3]
            await zkc.delete_log_dir_event_notifications(epoch.zk_version)
            assert await zkc.get_all_log_dir_event_notifications() == []

            assert await zkc.get_entity_config("topics", "t") == {}
            await zkc.set_or_create_entity_config("topics", "t", {"retention.ms": "1000"})
            await zkc.set_or_create_entity_config("topics", "t", {"retention.ms": "2000"})
            assert await zkc.get_entity_config("topics", "t") == {"retention.ms": "2000"}
            await zkc.set_or_create_entity_config("users", "alice/clients/app", {"producer_byte_rate": "1"})
            assert await zkc.get_all_entities_with_config("topics") == ["t"]
            path = await zkc.create_config_change_notification("topics/t")
            assert path.startswith("/config/changes/config_change_")
            assert await zkc.get_config_change_notifications() == [path.rsplit("/", 1)[1]]

            await zkc.create_delete_topic_path("t")
            with pytest.raises(errors.NodeExistsError):
                await zkc.create_delete_topic_path("t")
            assert await zkc.is_topic_marked_for_deletion("t")
            assert await zkc.get_topic_deletions() == ["t"]
            await zkc.delete_topic_deletions(["t"], epoch.zk_version)
            await zkc.delete_topic_config("t", epoch.zk_version)
            assert await zkc.get_topic_deletions() == [] and await zkc.get_all_entities_with_config("topics") == []

            tp = TopicPartition("foo", 0)
            assert await zkc.get_partition_reassignment() is None
            await zkc.create_partition_reassignment({tp: [4, 5]})
            assert await zkc.get_partition_reassignment() == {tp: (4, 5)}
            await zkc.set_or_delete_partition_reassignment({}, epoch.zk_version)
            assert await zkc.get_partition_reassignment() is None
            await zkc.create_preferred_replica_election([tp])
            with pytest.raises(errors.NodeExistsError):
                await zkc.create_preferred_replica_election([tp])
            assert await zkc.get_preferred_replica_election() == {tp}
            await zkc.delete_preferred_replica_election(epoch.zk_version)
            assert await zkc.get_preferred_replica_election() is None

            assert await zkc.get_consumer_offset("g", tp) is None
            await zkc.set_or_create_consumer_offset("g", tp, 42)
            await zkc.set_or_create_consumer_offset("g", tp, 43)
            assert await zkc.get_consumer_offset("g", tp) == 43
            assert (await zkc.get_data_and_version("/consumers/g/offsets/foo/0"))[0] == b"43"

            blocks = await asyncio.gather(*(zkc.claim_producer_id_block(b) for b in range(3)))
            assert sorted(b.block_start for b in blocks) == [0, 1000, 2000]
            assert (await zkc.get_producer_id_block())[0] in blocks
        finally:
            await zkc.close()
    arun(main)


def test_sequence_children_and_purge(backend, arun) -> None:
    async def main() -> None:
        zkc = await backend.connect()
        try:
            for entity in ("topics/a", "topics/b", "clients/c"):
                await zkc.create_config_change_notification(entity)
            seqs = await zkc.get_sequence_children("/config/changes", "config_change_")
            assert [n for n, _ in seqs] == sorted(n for n, _ in seqs) and len(seqs) == 3
            assert seqs[0][1] == f"config_change_{seqs[0][0]:010d}"
            stat = await zkc.zk.exists(f"/config/changes/{seqs[0][1]}")
            # Nothing is older than 15 minutes yet; pretend the clock moved on.
            assert await zkc.purge_obsolete_notifications("/config/changes", "config_change_", 900_000) == 0
            later = stat.ctime + 900_001 + 60_000
            assert await zkc.purge_obsolete_notifications("/config/changes", "config_change_", 900_000,
                                                          now_ms=later) == 3
            assert await zkc.get_sequence_children("/config/changes", "config_change_") == []
        finally:
            await zkc.close()
    arun(main)


def test_legacy_consumer_registration_and_ownership(backend, arun) -> None:
    from kafkapy.zk.znodes import ConsumerRegistration

    async def main() -> None:
        a, b = await backend.connect(), await backend.connect()
        try:
            reg = ConsumerRegistration({"t": 1}, "static", 5)
            await a.register_consumer("g", "g_c1", reg)
            await a.register_consumer("g", "g_c1", reg)          # same data: success
            with pytest.raises(errors.NodeExistsError):
                await b.register_consumer("g", "g_c1", ConsumerRegistration({"t": 2}))
            await b.register_consumer("g", "g_c2", reg)
            assert await a.get_consumers_in_group("g") == ["g_c1", "g_c2"]
            assert await a.get_consumer_registration("g", "g_c1") == reg
            tp = TopicPartition("t", 0)
            assert await a.claim_partition_ownership("g", tp, "g_c1-0")
            assert await a.claim_partition_ownership("g", tp, "g_c1-0")   # idempotent
            assert not await b.claim_partition_ownership("g", tp, "g_c2-0")
            assert await b.get_partition_owner("g", tp) == "g_c1-0"
            await a.release_partition_ownership("g", tp)
            assert await b.claim_partition_ownership("g", tp, "g_c2-0")
            await b.close()                                   # ephemerals vanish with b
            assert await a.get_consumers_in_group("g") == ["g_c1"]
            assert await a.get_partition_owner("g", tp) is None
        finally:
            await a.close()
            await b.close()
    arun(main)
