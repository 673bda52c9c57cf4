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
    assert cfg == FetcherConfig(7, 2, 1000, 5000, 100, 3, 50, 7000)
