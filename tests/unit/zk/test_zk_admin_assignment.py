"""Kafka's replica assignment (AdminUtils) and topic-name rules, as pure functions."""
from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.zk import errors
from kafkapy.zk.admin_zk import (BrokerMetadata, RackAwareMode, assign_replicas_to_brokers,
                                 broker_metadatas_for_mode, has_collision, new_partitions_assignment,
                                 rack_alternated_broker_list, validate_replica_assignment,
                                 validate_topic_name)

FAST = settings(max_examples=60, deadline=None)


class FixedDraws(random.Random):
    """An rng whose randrange returns queued values (Kafka draws start, then shift)."""

    def __init__(self, *draws: int) -> None:
        super().__init__(0)
        self.draws = list(draws)

    def randrange(self, *args, **kwargs) -> int:  # type: ignore[override]
        return self.draws.pop(0)


FIVE = [0, 1, 2, 3, 4]

# (fixed start, partitions) -> Kafka's result, worked out in zookeeper-layout.md §6.2
UNAWARE_TABLE = [
    (0, 10, [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 0], [4, 0, 1],
             [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 0, 1], [4, 1, 2]]),
    (2, 6, [[2, 0, 1], [3, 1, 2], [4, 2, 3], [0, 3, 4], [1, 4, 0], [2, 1, 3]]),
]


@pytest.mark.parametrize("start, n, expected", UNAWARE_TABLE)
def test_rack_unaware_known_results(start: int, n: int, expected: list) -> None:
    got = assign_replicas_to_brokers(n, 3, [BrokerMetadata(b) for b in FIVE], fixed_start_index=start)
    assert got == dict(enumerate(expected))


def test_random_start_uses_two_independent_draws() -> None:
    got = assign_replicas_to_brokers(6, 3, FIVE, rng=FixedDraws(3, 1))
    assert got == dict(enumerate([[3, 0, 1], [4, 1, 2], [0, 2, 3], [1, 3, 4], [2, 4, 0], [3, 1, 2]]))


def test_broker_order_does_not_matter_and_ids_are_used() -> None:
    ids = [10, 30, 20]
    got = assign_replicas_to_brokers(3, 2, [BrokerMetadata(b) for b in ids], fixed_start_index=0)
    assert got == {0: [10, 20], 1: [20, 30], 2: [30, 10]}


RACKS = {0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}


def test_rack_alternated_list() -> None:
    assert rack_alternated_broker_list(RACKS) == [0, 3, 1, 5, 4, 2]
    assert rack_alternated_broker_list({0: "a", 1: "a", 2: "b"}) == [0, 2, 1]


def test_rack_aware_known_result() -> None:
    brokers = [BrokerMetadata(b, r) for b, r in RACKS.items()]
    got = assign_replicas_to_brokers(7, 3, brokers, fixed_start_index=0)
    assert got == dict(enumerate([[0, 3, 1], [3, 1, 5], [1, 5, 4], [5, 4, 2], [4, 2, 0], [2, 0, 3],
                                  [0, 4, 2]]))


def test_argument_errors() -> None:
    with pytest.raises(errors.InvalidPartitionsError, match="Number of partitions must be larger than 0."):
        assign_replicas_to_brokers(0, 1, FIVE)
    with pytest.raises(errors.InvalidReplicationFactorError, match="must be larger than 0"):
        assign_replicas_to_brokers(1, 0, FIVE)
    with pytest.raises(errors.InvalidReplicationFactorError) as info:
        assign_replicas_to_brokers(1, 6, FIVE)
    assert str(info.value) == "Replication factor: 6 larger than available brokers: 5."
    with pytest.raises(errors.AdminOperationError, match="Not all brokers have rack information"):
        assign_replicas_to_brokers(1, 1, [BrokerMetadata(0, "a"), BrokerMetadata(1)])


def test_rack_modes() -> None:
    mixed = [BrokerMetadata(1, "a"), BrokerMetadata(0)]
    with pytest.raises(errors.AdminOperationError, match="--disable-rack-aware"):
        broker_metadatas_for_mode(mixed, RackAwareMode.ENFORCED)
    assert broker_metadatas_for_mode(mixed, RackAwareMode.SAFE) == [BrokerMetadata(0), BrokerMetadata(1)]
    assert broker_metadatas_for_mode([BrokerMetadata(0, "a")], RackAwareMode.DISABLED) == [BrokerMetadata(0)]
    assert broker_metadatas_for_mode([BrokerMetadata(0, "a")], RackAwareMode.SAFE) == [BrokerMetadata(0, "a")]


def test_add_partitions_known_result() -> None:
    existing = assign_replicas_to_brokers(6, 3, FIVE, fixed_start_index=0)
    brokers = [BrokerMetadata(b) for b in FIVE]
    added = new_partitions_assignment("t", existing, brokers, 9)
    assert added == {6: [1, 2, 3], 7: [2, 3, 4], 8: [3, 4, 0]}
    # start index comes from partition 0's first replica
    added = new_partitions_assignment("t", {0: [3, 4], 1: [4, 0]}, brokers, 3)
    assert added == {2: [0, 4]}   # start index 3 (broker 3), shift 3: first (2+3)%5=0, then 0+1+3


def test_add_partitions_errors_and_manual() -> None:
    brokers = [BrokerMetadata(b) for b in (1, 2, 3)]
    with pytest.raises(errors.InvalidPartitionsError) as info:
        new_partitions_assignment("t", {0: [1], 1: [2]}, brokers, 2)
    assert str(info.value) == ("The number of partitions for a topic can only be increased. "
                               "Topic t currently has 2 partitions, 2 would not be an increase.")
    with pytest.raises(errors.AdminOperationError, match="partition id 0 is missing"):
        new_partitions_assignment("t", {1: [1]}, brokers, 3)
    assert new_partitions_assignment("t", {0: [1, 2]}, brokers, 3, {1: [3, 1], 2: [2, 3]}) == {
        1: [3, 1], 2: [2, 3]}
    with pytest.raises(errors.BrokerNotAvailableError):
        new_partitions_assignment("t", {0: [1, 2]}, brokers, 2, {1: [9, 1]})
    with pytest.raises(errors.InvalidReplicaAssignmentError, match="Duplicate"):
        new_partitions_assignment("t", {0: [1, 2]}, brokers, 2, {1: [1, 1]})
    with pytest.raises(errors.InvalidReplicaAssignmentError, match="Inconsistent replication factor"):
        new_partitions_assignment("t", {0: [1, 2]}, brokers, 2, {1: [1]})


@FAST
@given(st.lists(st.integers(0, 2000), min_size=1, max_size=12, unique=True), st.integers(1, 60),
       st.data())
def test_rack_unaware_properties(brokers: list[int], n_partitions: int, data: st.DataObject) -> None:
    rf = data.draw(st.integers(1, len(brokers)))
    start = data.draw(st.integers(-1, len(brokers) - 1))
    first_pid = data.draw(st.integers(-1, 100))
    got = assign_replicas_to_brokers(n_partitions, rf, brokers, fixed_start_index=start,
                                     start_partition_id=first_pid, rng=random.Random(7))
    assert list(got) == list(range(max(0, first_pid), max(0, first_pid) + n_partitions))
    for replicas in got.values():
        assert len(replicas) == rf and len(set(replicas)) == rf and set(replicas) <= set(brokers)
    leaders = Counter(r[0] for r in got.values())
    if n_partitions >= len(brokers):
        assert max(leaders.values()) - min(leaders[b] for b in brokers) <= 1


@FAST
@given(st.dictionaries(st.integers(0, 50), st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=10),
       st.integers(1, 40), st.data())
def test_rack_aware_properties(racks: dict, n_partitions: int, data: st.DataObject) -> None:
    rf = data.draw(st.integers(1, len(racks)))
    start = data.draw(st.integers(-1, len(racks) - 1))
    metas = [BrokerMetadata(b, r) for b, r in racks.items()]
    got = assign_replicas_to_brokers(n_partitions, rf, metas, fixed_start_index=start,
                                     rng=random.Random(3))
    n_racks = len(set(racks.values()))
    for replicas in got.values():
        assert len(set(replicas)) == rf
        used = [racks[b] for b in replicas]
        assert len(set(used)) == min(rf, n_racks)   # spread over as many racks as possible


def test_topic_name_rules() -> None:
    validate_topic_name("a" * 249)
    validate_topic_name("Orders.v1_x-2")
    for bad, fragment in [("", "can't be empty"), (".", 'cannot be "." or ".."'),
                          ("..", 'cannot be "." or ".."'), ("a" * 250, "longer than 249"),
                          ("a b", "ASCII alphanumerics"), ("ü", "ASCII alphanumerics"),
                          ("a/b", "ASCII alphanumerics")]:
        with pytest.raises(errors.InvalidTopicError, match=fragment):
            validate_topic_name(bad)
    assert has_collision("a.b", "a_b") and not has_collision("a.b", "ab")


def test_validate_replica_assignment() -> None:
    validate_replica_assignment({0: [1, 2], 1: [2, 1]})
    with pytest.raises(errors.InvalidReplicaAssignmentError, match="same number of replicas"):
        validate_replica_assignment({0: [1, 2], 1: [2]})
    with pytest.raises(errors.InvalidReplicaAssignmentError, match="Duplicate"):
        validate_replica_assignment({0: [1, 1]})
    with pytest.raises(errors.InvalidReplicaAssignmentError, match="consecutive"):
        validate_replica_assignment({0: [1], 2: [1]})
