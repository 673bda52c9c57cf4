"""Partition leadership state and high-watermark rules, against a small fake log."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.common.errors import NotEnoughReplicasError, NotLeaderOrFollowerError
from kafkapy.common.types import TopicPartition
from kafkapy.server.partition import Partition, PartitionState

TP = TopicPartition("t", 0)


@dataclass
class FakeConfig:
    min_insync_replicas: int = 1


class FakeAppendInfo:
    def __init__(self, first: int, last: int) -> None:
        self.first_offset = first
        self.last_offset = last


class FakeLog:
    def __init__(self, min_isr: int = 1) -> None:
        self.config = FakeConfig(min_isr)
        self.log_start_offset = 0
        self.log_end_offset = 0
        self.high_watermark = 0
        self.epochs: list[tuple[int, int]] = []

    def append_as_leader(self, records, leader_epoch, *_flags, **_kw):
        n = len(records)
        first = self.log_end_offset
        self.log_end_offset += n
        return FakeAppendInfo(first, self.log_end_offset - 1)

    def maybe_increment_high_watermark(self, hw: int) -> bool:
        if hw > self.high_watermark:
            self.high_watermark = min(hw, self.log_end_offset)
            return True
        return False

    def maybe_assign_epoch_start_offset(self, epoch: int, offset: int, flush: bool = True) -> None:
        self.epochs.append((epoch, offset))


def make(isr=(1,), replicas=(1,), leader=1, epoch=0, min_isr=1) -> tuple[Partition, FakeLog]:
    lg = FakeLog(min_isr)
    p = Partition(TP, 1, lambda tp, is_new: lg, lambda: 1000)
    state = PartitionState(1, leader, epoch, tuple(isr), 0, tuple(replicas))
    if leader == 1:
        assert p.make_leader(state) is True
    else:
        assert p.make_follower(state) is True
    return p, lg


def test_single_replica_hw_follows_the_log_end() -> None:
    p, lg = make()
    p.append_records_to_leader(b"abc", 1)
    assert lg.high_watermark == 3
    assert p.check_enough_replicas_reach_offset(3) == (True, 0)
    assert lg.epochs == [(0, 0)]


def test_hw_is_the_smallest_log_end_over_the_isr() -> None:
    p, lg = make(isr=(1, 2, 3), replicas=(1, 2, 3))
    p.append_records_to_leader(b"0123456789", -1)
    assert lg.high_watermark == 0          # followers' positions unknown
    assert p.update_follower_fetch_state(2, 6, 0, lg.log_end_offset) is False
    assert p.update_follower_fetch_state(3, 4, 0, lg.log_end_offset) is True
    assert lg.high_watermark == 4
    assert p.check_enough_replicas_reach_offset(10) == (False, 0)
    p.update_follower_fetch_state(3, 10, 0, lg.log_end_offset)
    p.update_follower_fetch_state(2, 10, 0, lg.log_end_offset)
    assert lg.high_watermark == 10 and p.check_enough_replicas_reach_offset(10) == (True, 0)
    # a replica outside the ISR does not hold the HW back
    p2, lg2 = make(isr=(1,), replicas=(1, 2))
    p2.append_records_to_leader(b"xy", 1)
    assert lg2.high_watermark == 2


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([2, 3]), st.integers(0, 50)), max_size=30))
def test_hw_never_exceeds_any_isr_member_and_never_moves_back(fetches) -> None:
    p, lg = make(isr=(1, 2, 3), replicas=(1, 2, 3))
    p.append_records_to_leader(b"x" * 50, -1)
    positions = {2: -1, 3: -1}
    expected = 0
    for replica, offset in fetches:
        p.update_follower_fetch_state(replica, offset, 0, lg.log_end_offset)
        positions[replica] = offset
        if min(positions.values()) >= 0:
            expected = max(expected, min(min(positions.values()), lg.log_end_offset))
        assert lg.high_watermark == expected


def test_min_insync_replicas_and_leadership_checks() -> None:
    p, lg = make(isr=(1,), replicas=(1, 2), min_isr=2)
    with pytest.raises(NotEnoughReplicasError):
        p.append_records_to_leader(b"a", -1)
    assert lg.log_end_offset == 0
    p.append_records_to_leader(b"a", 1)        # acks=1 ignores min.insync.replicas
    assert lg.log_end_offset == 1
    assert p.check_enough_replicas_reach_offset(1) == (True, 20)   # NOT_ENOUGH_REPLICAS_AFTER_APPEND
    follower, _ = make(leader=2, replicas=(1, 2), isr=(1, 2))
    with pytest.raises(NotLeaderOrFollowerError):
        follower.append_records_to_leader(b"a", 1)
    assert follower.check_enough_replicas_reach_offset(0) == (False, 6)


def test_leader_then_follower_then_leader_again() -> None:
    p, lg = make(epoch=1)
    assert p.is_leader
    assert p.make_follower(PartitionState(1, 2, 2, (1, 2), 1, (1, 2))) is True
    assert not p.is_leader and p.leader_replica_id == 2 and p.leader_epoch == 2
    assert p.make_follower(PartitionState(1, 2, 3, (1, 2), 2, (1, 2))) is False   # same leader
    lg.log_end_offset = 7
    assert p.make_leader(PartitionState(1, 1, 4, (1, 2), 3, (1, 2))) is True
    assert p.leader_epoch == 4 and p.leader_epoch_start_offset == 7 and (4, 7) in lg.epochs


def test_list_offsets_offset_not_available_while_the_hw_lags_the_epoch_start() -> None:
    from kafkapy.common.errors import OffsetNotAvailableError
    p, lg = make(isr=(1, 2), replicas=(1, 2))
    p.append_records_to_leader(b"abcd", 1)
    lg.high_watermark = 0
    p.make_leader(PartitionState(1, 1, 1, (1, 2), 1, (1, 2)))   # new epoch starts at offset 4
    with pytest.raises(OffsetNotAvailableError):
        p.fetch_offset_for_timestamp(-1, 0, -1, True)
    assert p.fetch_offset_for_timestamp(-1, None, -1, True) == (-1, 4, 1)   # replicas may ask
    p.update_follower_fetch_state(2, 4, 0, lg.log_end_offset)
    assert lg.high_watermark == 4
    assert p.fetch_offset_for_timestamp(-1, 0, -1, True) == (-1, 4, 1)
