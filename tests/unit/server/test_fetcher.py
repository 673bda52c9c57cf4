"""Replica fetcher pieces: KIP-279 truncation decisions against real logs, fetcher assignment."""
from __future__ import annotations

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log
from kafkapy.protocol.records import SimpleRecord, build_batch
from kafkapy.server.fetcher import FetcherConfig, fetcher_id_for, truncation_offset

pytestmark = pytest.mark.timeout(30)


def make_log(tmp_path, name: str, epochs: list[tuple[int, int]]) -> Log:
    """A log holding `count` single-record batches per (epoch, count), appended as a follower would."""
    lg = Log(str(tmp_path / f"{name}-0"), LogConfig.from_props({}))
    offset = 0
    for epoch, count in epochs:
        for _ in range(count):
            batch = build_batch([SimpleRecord(b"k", b"v" * 10, (), 1000 + offset, 0)], base_offset=offset,
                                partition_leader_epoch=epoch)
            lg.append_as_follower(bytearray(batch))
            offset += 1
    return lg


def leader_answer(leader: Log, epoch: int) -> tuple[int, int]:
    return leader.end_offset_for_epoch(epoch)


def truncate_like_a_follower(leader: Log, follower: Log) -> int:
    """Run the OffsetForLeaderEpoch rounds a follower does; returns the final truncation offset."""
    for _ in range(10):
        asked = follower.latest_epoch
        if asked < 0:
            follower.truncate_to(follower.high_watermark)
            return follower.log_end_offset
        epoch, end = leader_answer(leader, asked)
        offset, complete = truncation_offset(epoch, end, follower.end_offset_for_epoch, follower.log_end_offset,
                                             follower.high_watermark)
        follower.truncate_to(offset)
        if complete:
            return follower.log_end_offset
    raise AssertionError("truncation did not converge")


def test_follower_with_a_diverging_tail_truncates_to_the_leaders_epoch_end(tmp_path) -> None:
    # Both wrote epoch 0 up to offset 5; the follower (old leader) got 3 more at epoch 1 that
    # never replicated; the new leader wrote epoch 2 from offset 5.
    leader = make_log(tmp_path, "leader", [(0, 5), (2, 4)])
    follower = make_log(tmp_path, "follower", [(0, 5), (1, 3)])
    follower.update_high_watermark(2)       # an HW-based truncation would lose offsets 2-4
    assert truncate_like_a_follower(leader, follower) == 5
    assert follower.latest_epoch == 0


def test_follower_that_is_a_prefix_keeps_everything(tmp_path) -> None:
    leader = make_log(tmp_path, "leader", [(0, 5), (1, 5)])
    follower = make_log(tmp_path, "follower", [(0, 5), (1, 2)])
    follower.update_high_watermark(0)
    assert truncate_like_a_follower(leader, follower) == 7


def test_follower_longer_in_the_same_epoch_truncates_to_the_leaders_end(tmp_path) -> None:
    leader = make_log(tmp_path, "leader", [(3, 4)])
    follower = make_log(tmp_path, "follower", [(3, 9)])
    assert truncate_like_a_follower(leader, follower) == 4


def test_leader_without_the_epoch_answers_undefined_then_hw_is_used(tmp_path) -> None:
    assert truncation_offset(-1, -1, lambda e: (-1, -1), 10, 6) == (6, True)


def test_epoch_unknown_to_the_follower_truncates_to_the_leaders_end() -> None:
    assert truncation_offset(4, 8, lambda e: (-1, -1), 12, 3) == (8, True)


def test_v0_answer_without_an_epoch_uses_the_end_offset() -> None:
    assert truncation_offset(-1, 7, lambda e: (0, 100), 12, 3) == (7, True)


def test_older_epoch_in_the_answer_needs_another_round() -> None:
    # The leader answered epoch 2 ending at 20; we only have epoch 1 below it, ending at 15.
    assert truncation_offset(2, 20, lambda e: (1, 15), 30, 3) == (15, False)


def test_fetcher_ids_are_stable_and_in_range() -> None:
    tps = [TopicPartition("t", p) for p in range(50)]
    ids = [fetcher_id_for(tp, 4) for tp in tps]
    assert ids == [fetcher_id_for(tp, 4) for tp in tps]
    assert set(ids) == {0, 1, 2, 3}
    assert {fetcher_id_for(tp, 1) for tp in tps} == {0}


def test_fetcher_config_reads_kafkas_property_names() -> None:
    props = {"num.replica.fetchers": 2, "replica.fetch.max.bytes": 1000, "replica.fetch.response.max.bytes": 5000,
             "replica.fetch.wait.max.ms": 100, "replica.fetch.min.bytes": 3, "replica.fetch.backoff.ms": 50,
             "replica.socket.timeout.ms": 7000}
    cfg = FetcherConfig.from_broker_config(7, props)
    assert cfg == FetcherConfig(7, 2, 1000, 5000, 100, 3, 50, 7000, True)
    old = FetcherConfig.from_broker_config(7, {**props, "inter.broker.protocol.version": "0.11.0-IV1"})
    assert old.use_leader_epochs is False
    assert FetcherConfig.from_broker_config(7, {**props, "inter.broker.protocol.version": "2.8"}).use_leader_epochs


# ---------------------------------------------------------------------------------------------
# The fetcher loop against an in-memory leader (real logs on both sides, a fake connection).
import asyncio  # noqa: E402
from types import SimpleNamespace as NS  # noqa: E402

from kafkapy.common.clock import SYSTEM_CLOCK  # noqa: E402
from kafkapy.common.errors import ErrorCode  # noqa: E402
from kafkapy.protocol.api_keys import ApiKey  # noqa: E402
from kafkapy.server.fetcher import ReplicaFetcherManager  # noqa: E402
from kafkapy.server.partition import Partition, PartitionState  # noqa: E402

TP = TopicPartition("t", 0)


class FakeLeader:
    """Answers Fetch and OffsetForLeaderEpoch from a real Log, like a leader broker would."""

    def __init__(self, lg: Log, epoch: int) -> None:
        self.log = lg
        self.epoch = epoch
        self.fail_next: list[int] = []     # error codes for the next fetches
        self.requests: list[tuple[int, object]] = []
        self.api_versions = {int(ApiKey.FETCH): 1, int(ApiKey.OFFSET_FOR_LEADER_EPOCH): 1,
                             int(ApiKey.LIST_OFFSETS): 1}
        self.closed = False

    def negotiated_version(self, key: int) -> int:
        return {int(ApiKey.FETCH): 11, int(ApiKey.OFFSET_FOR_LEADER_EPOCH): 3, int(ApiKey.LIST_OFFSETS): 5}[int(key)]

    async def close(self) -> None:
        self.closed = True

    async def send(self, key: int, request, version: int | None = None, *, timeout_ms: int | None = None):
        self.requests.append((int(key), request))
        await asyncio.sleep(0)
        if key == ApiKey.OFFSET_FOR_LEADER_EPOCH:
            return NS(topics=[NS(topic=t.topic, partitions=[
                NS(partition=p.partition, error_code=0, **dict(zip(("leader_epoch", "end_offset"),
                                                                 self.log.end_offset_for_epoch(p.leader_epoch))))
                for p in t.partitions]) for t in request.topics])
        assert key == ApiKey.FETCH and request.replica_id == 2
        parts = []
        for t in request.topics:
            for p in t.partitions:
                if self.fail_next:
                    parts.append(NS(partition=p.partition, error_code=self.fail_next.pop(0), high_watermark=-1,
                                    log_start_offset=-1, record_set=b""))
                    continue
                data = b""
                if p.fetch_offset < self.log.log_end_offset:
                    data = self.log.read(p.fetch_offset, p.partition_max_bytes).records.read()
                parts.append(NS(partition=p.partition, error_code=0, high_watermark=self.log.high_watermark,
                                log_start_offset=self.log.log_start_offset, record_set=memoryview(data)))
        return NS(error_code=0, responses=[NS(topic=request.topics[0].topic, partition_responses=parts)])


def run_fetcher(follower: Partition, leader: FakeLeader, done, config: FetcherConfig | None = None) -> None:
    async def main() -> None:
        reached = asyncio.Event()

        def progress(tp: TopicPartition) -> None:
            if done():
                reached.set()

        async def connect(host, port, **_kw):
            return leader

        tasks: list[asyncio.Task] = []
        mgr = ReplicaFetcherManager(config or FetcherConfig(2, fetch_max_bytes=200, fetch_backoff_ms=5), SYSTEM_CLOCK,
                                    lambda name, coro: tasks.append(asyncio.get_running_loop().create_task(coro))
                                    or tasks[-1], lambda b: ("127.0.0.1", 1), progress, connect=connect)
        mgr.add_fetcher_for_partitions({TP: follower})
        await asyncio.wait_for(reached.wait(), 10)
        await mgr.shutdown()
    asyncio.run(main())


def follower_of(lg: Log, epoch: int) -> Partition:
    p = Partition(TP, 2, lambda tp, new: lg, lambda: 0)
    p.make_follower(PartitionState(1, 1, epoch, (1, 2), 0, (1, 2)))
    return p


def test_fetcher_truncates_a_diverging_tail_then_copies_the_leader(tmp_path) -> None:
    leader_log = make_log(tmp_path, "leader", [(0, 5), (2, 6)])
    leader_log.update_high_watermark(9)
    follower_log = make_log(tmp_path, "follower", [(0, 5), (1, 3)])
    follower_log.update_high_watermark(3)
    leader = FakeLeader(leader_log, 2)
    run_fetcher(follower_of(follower_log, 2), leader,
                lambda: follower_log.log_end_offset == 11 and follower_log.high_watermark == 9)
    assert follower_log.log_end_offset == 11 and follower_log.high_watermark == 9
    assert follower_log.read(0, 1 << 20).records.read() == leader_log.read(0, 1 << 20).records.read()
    assert follower_log.end_offset_for_epoch(2) == (2, 11)
    assert follower_log.end_offset_for_epoch(1) == (0, 5)     # epoch 1 is gone
    fetches = [r for k, r in leader.requests if k == ApiKey.FETCH]
    assert fetches[0].topics[0].partitions[0].fetch_offset == 5   # truncated to the epoch end, not the HW (3)
    assert all(r.replica_id == 2 and r.topics[0].partitions[0].current_leader_epoch == 2 for r in fetches)
    assert len(fetches) >= 3                                      # 200-byte partition limit: several fetches


def test_old_inter_broker_protocol_truncates_to_the_high_watermark(tmp_path) -> None:
    leader_log = make_log(tmp_path, "leader", [(0, 5), (2, 6)])
    leader_log.update_high_watermark(9)
    follower_log = make_log(tmp_path, "follower", [(0, 5), (1, 3)])
    follower_log.update_high_watermark(3)
    leader = FakeLeader(leader_log, 2)
    run_fetcher(follower_of(follower_log, 2), leader, lambda: follower_log.log_end_offset == 11,
                config=FetcherConfig(2, fetch_max_bytes=200, fetch_backoff_ms=5, use_leader_epochs=False))
    fetches = [r for k, r in leader.requests if k == ApiKey.FETCH]
    assert not [r for k, r in leader.requests if k == ApiKey.OFFSET_FOR_LEADER_EPOCH]
    assert fetches[0].topics[0].partitions[0].fetch_offset == 3      # the HW


def test_fetcher_backs_off_on_errors_and_follows_the_log_start(tmp_path) -> None:
    leader_log = make_log(tmp_path, "leader", [(0, 6)])
    leader_log.update_high_watermark(6)
    leader_log.maybe_increment_log_start_offset(2, "test")
    follower_log = make_log(tmp_path, "follower", [(0, 3)])
    leader = FakeLeader(leader_log, 0)
    leader.fail_next = [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_LEADER_EPOCH]
    run_fetcher(follower_of(follower_log, 0), leader,
                lambda: follower_log.log_end_offset == 6 and follower_log.log_start_offset == 2)
    assert follower_log.high_watermark == 6 and follower_log.log_start_offset == 2
    assert leader.fail_next == []
