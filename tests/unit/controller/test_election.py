"""Table tests of the pure leader-election rules (reference §5.8)."""
from __future__ import annotations

import pytest

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller import election

TP = TopicPartition("t", 0)


def state(leader: int, isr: list[int], epoch: int = 4) -> LeaderAndIsr:
    return LeaderAndIsr(leader=leader, leader_epoch=epoch, isr=tuple(isr), controller_epoch=1, zk_version=7)


@pytest.mark.parametrize("assignment,isr,live,unclean,leader,new_isr", [
    ([1, 2, 3], [1, 2, 3], {1, 2, 3}, False, 1, (1, 2, 3)),
    ([1, 2, 3], [1, 2, 3], {2, 3}, False, 2, (2, 3)),
    ([1, 2, 3], [3, 2], {2, 3}, False, 2, (3, 2)),          # assignment order decides, ISR order kept
    ([1, 2, 3], [1], {2, 3}, False, None, None),             # no live ISR member, clean only
    ([1, 2, 3], [1], {2, 3}, True, 2, (2,)),                 # unclean: first live replica, ISR = [leader]
    ([1, 2, 3], [1, 3], {3}, True, 3, (3,)),                 # live ISR member wins even when unclean allowed
    ([1], [1], set(), True, None, None),
    ([1], [1], {1}, False, 1, (1,)),                         # the last ISR member came back
])
def test_offline(assignment, isr, live, unclean, leader, new_isr):
    r = election.offline_election(TP, assignment, state(9, isr), live, unclean)
    if leader is None:
        assert not r.elected and r.leader_and_isr is None
    else:
        assert r.leader_and_isr.leader == leader
        assert r.leader_and_isr.isr == new_isr
        assert r.leader_and_isr.leader_epoch == 5
        assert r.leader_and_isr.zk_version == 7             # the write is conditional on the read version
    assert r.live_replicas == tuple(x for x in assignment if x in live)


@pytest.mark.parametrize("target,isr,live,leader", [
    ([4, 5, 6], [1, 2, 3, 4, 5, 6], {1, 2, 3, 4, 5, 6}, 4),
    ([4, 5, 6], [1, 2, 3, 5, 6], {1, 2, 3, 4, 5, 6}, 5),
    ([4, 5, 6], [1, 2, 3, 4, 5, 6], {1, 2, 3, 6}, 6),
    ([4, 5, 6], [1, 2, 3], {1, 2, 3, 4, 5, 6}, None),
])
def test_reassign(target, isr, live, leader):
    r = election.reassign_election(TP, target, state(1, isr), live)
    assert (r.leader_and_isr.leader if r.elected else None) == leader
    if r.elected:
        assert r.leader_and_isr.isr == tuple(isr)              # ISR unchanged
        assert r.leader_and_isr.leader_epoch == 5
    assert r.live_replicas == tuple(target)


@pytest.mark.parametrize("assignment,isr,live,leader", [
    ([1, 2, 3], [1, 2, 3], {1, 2, 3}, 1),
    ([1, 2, 3], [2, 3], {1, 2, 3}, None),                  # preferred out of ISR
    ([1, 2, 3], [1, 2, 3], {2, 3}, None),                  # preferred dead
    ([], [], {1}, None),
])
def test_preferred(assignment, isr, live, leader):
    r = election.preferred_election(TP, assignment, state(2, isr), live)
    assert (r.leader_and_isr.leader if r.elected else None) == leader
    if r.elected:
        assert r.leader_and_isr.isr == tuple(isr)


@pytest.mark.parametrize("assignment,isr,live_or_sd,sd,leader,new_isr", [
    ([1, 2, 3], [1, 2, 3], {1, 2, 3}, {1}, 2, (2, 3)),
    ([1, 2, 3], [1, 3], {1, 2, 3}, {1}, 3, (3,)),
    ([1, 2, 3], [1], {1, 2, 3}, {1}, None, None),
    ([1, 2, 3], [1, 2, 3], {1, 2, 3}, {1, 2}, 3, (3,)),
    ([1, 2, 3], [1, 2, 3], {1, 3}, {1}, 3, (2, 3)),       # 2 is dead, ISR only loses shutting-down brokers
])
def test_controlled_shutdown(assignment, isr, live_or_sd, sd, leader, new_isr):
    r = election.controlled_shutdown_election(TP, assignment, state(1, isr), live_or_sd, sd)
    assert (r.leader_and_isr.leader if r.elected else None) == leader
    if r.elected:
        assert r.leader_and_isr.isr == new_isr
    assert r.live_replicas == tuple(x for x in assignment if x in live_or_sd)
