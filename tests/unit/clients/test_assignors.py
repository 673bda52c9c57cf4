"""Range, round-robin and sticky assignors: the Java client's documented examples and invariants."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.clients.consumer.assignors import (
    RangeAssignor,
    RoundRobinAssignor,
    StickyAssignor,
    Subscription,
    assignors_for,
)
from kafkapy.common.types import TopicPartition


def tps(*pairs: tuple[str, int]) -> tuple[TopicPartition, ...]:
    return tuple(TopicPartition(t, p) for t, p in pairs)


def test_range_javadoc_example() -> None:
    subs = {"C0": Subscription(("t0", "t1")), "C1": Subscription(("t0", "t1"))}
    got = RangeAssignor().assign({"t0": 3, "t1": 3}, subs)
    assert got["C0"].partitions == tps(("t0", 0), ("t0", 1), ("t1", 0), ("t1", 1))
    assert got["C1"].partitions == tps(("t0", 2), ("t1", 2))


def test_roundrobin_javadoc_examples() -> None:
    subs = {"C0": Subscription(("t0", "t1")), "C1": Subscription(("t0", "t1"))}
    got = RoundRobinAssignor().assign({"t0": 3, "t1": 3}, subs)
    assert got["C0"].partitions == tps(("t0", 0), ("t0", 2), ("t1", 1))
    assert got["C1"].partitions == tps(("t0", 1), ("t1", 0), ("t1", 2))
    # Unequal subscriptions: C0 t0; C1 t0,t1; C2 t0,t1,t2 with 1, 2 and 3 partitions.
    subs = {"C0": Subscription(("t0",)), "C1": Subscription(("t0", "t1")), "C2": Subscription(("t0", "t1", "t2"))}
    got = RoundRobinAssignor().assign({"t0": 1, "t1": 2, "t2": 3}, subs)
    assert got["C0"].partitions == tps(("t0", 0))
    assert got["C1"].partitions == tps(("t1", 0))
    assert got["C2"].partitions == tps(("t1", 1), ("t2", 0), ("t2", 1), ("t2", 2))


def test_static_members_sort_first() -> None:
    subs = {"a": Subscription(("t",)), "b": Subscription(("t",), group_instance_id="z")}
    got = RangeAssignor().assign({"t": 3}, subs)
    assert got["b"].partitions == tps(("t", 0), ("t", 1)) and got["a"].partitions == tps(("t", 2))


def test_sticky_keeps_owned_partitions() -> None:
    subs = {"a": Subscription(("t",), owned_partitions=tps(("t", 3), ("t", 4))),
            "b": Subscription(("t",), owned_partitions=tps(("t", 0), ("t", 1))),
            "c": Subscription(("t",))}
    got = StickyAssignor().assign({"t": 6}, subs)
    assert set(tps(("t", 3), ("t", 4))) == set(got["a"].partitions)
    assert set(tps(("t", 0), ("t", 1))) == set(got["b"].partitions)
    assert set(got["c"].partitions) == set(tps(("t", 2), ("t", 5)))


def test_strategy_names() -> None:
    names = [a.name for a in assignors_for("org.apache.kafka.clients.consumer.RoundRobinAssignor,range")]
    assert names == ["roundrobin", "range"]


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 9), min_size=1),
       st.lists(st.sets(st.sampled_from(["a", "b", "c", "d"]), min_size=1), min_size=1, max_size=6))
def test_every_assignor_covers_subscribed_partitions_once(counts: dict[str, int], member_topics: list[set[str]]
                                                          ) -> None:
    subs = {f"m{i}": Subscription(tuple(sorted(ts))) for i, ts in enumerate(member_topics)}
    wanted = {TopicPartition(t, p) for t, n in counts.items() for p in range(n)
              if any(t in s.topics for s in subs.values())}
    for assignor in (RangeAssignor(), RoundRobinAssignor(), StickyAssignor()):
        got = assignor.assign(counts, subs)
        flat = [tp for a in got.values() for tp in a.partitions]
        assert len(flat) == len(set(flat)) and set(flat) == wanted, assignor.name
        for mid, a in got.items():
            assert all(tp.topic in subs[mid].topics for tp in a.partitions)
