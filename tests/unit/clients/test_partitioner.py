"""murmur2 and the default partitioner against Java's results.

Expected values come from two independent sources: the upstream UtilsTest vectors (Java's own
results, quoted in protocol.md §9) and kafka-python's port of Java's murmur2.
"""
from __future__ import annotations

import collections
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.clients.producer.partitioner import (DefaultPartitioner, StickyPartitionCache, murmur2,
                                                  partition_for_key, to_positive)

kafka_default = pytest.importorskip("kafka.partitioner.default")


def _kafka_python(data: bytes) -> int:
    return kafka_default.murmur2(bytearray(data)) & 0xFFFFFFFF


@pytest.mark.parametrize("key,expected", [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
])
def test_murmur2_upstream_vectors(key: bytes, expected: int) -> None:
    assert murmur2(key) == expected


@pytest.mark.parametrize("key", [
    b"", b"a", b"ab", b"abc", b"abcd", b"abcde", "héllo wörld".encode(), "日本語のキー".encode(),
    "🎉".encode(), bytes(range(256)), b"\xff" * 1000, b"k" * 100_003, b"\x00\x00\x00\x00",
])
def test_murmur2_matches_kafka_python(key: bytes) -> None:
    assert murmur2(key) & 0xFFFFFFFF == _kafka_python(key)
    assert -2**31 <= murmur2(key) < 2**31


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_murmur2_property(key: bytes) -> None:
    assert murmur2(key) & 0xFFFFFFFF == _kafka_python(key)


@pytest.mark.parametrize("key,n,expected", [
    (b"key1", 6, 2), (b"hello", 6, 3), (b"foobar", 6, 0),     # protocol.md §9 (Java)
    (b"k1", 3, 2), (b"k2", 3, 0),                             # seen from Kafka 2.8.2's console producer
])
def test_partition_for_key_java_examples(key: bytes, n: int, expected: int) -> None:
    assert partition_for_key(key, n) == expected


class _Cluster:
    def __init__(self, n: int) -> None:
        self.n = n

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.n))

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.n))


def test_partition_for_key_matches_kafka_python_partitioner() -> None:
    partitioner = kafka_default.DefaultPartitioner()
    rng = random.Random(7)
    for _ in range(300):
        key = rng.randbytes(rng.randrange(0, 40))
        n = rng.randrange(1, 50)
        assert partition_for_key(key, n) == partitioner.partition("t", key, key, None, None, _Cluster(n))


def test_to_positive() -> None:
    assert to_positive(-1) == 0x7FFFFFFF
    assert to_positive(-2**31) == 0
    assert to_positive(5) == 5


def test_sticky_partition_stays_until_new_batch() -> None:
    p = DefaultPartitioner(random.Random(1))
    first = p.partition("t", None, 5, [0, 1, 2, 3, 4])
    assert all(p.partition("t", None, 5, [0, 1, 2, 3, 4]) == first for _ in range(20))
    p.on_new_batch("t", 5, [0, 1, 2, 3, 4], first)
    second = p.partition("t", None, 5, [0, 1, 2, 3, 4])
    assert second != first


def test_sticky_prefers_available_and_spreads() -> None:
    cache = StickyPartitionCache(random.Random(3))
    counts: collections.Counter[int] = collections.Counter()
    prev = cache.partition("t", 6, [1, 3, 5])
    for _ in range(600):
        prev = cache.next_partition("t", 6, [1, 3, 5], prev)
        counts[prev] += 1
    assert set(counts) == {1, 3, 5}
    assert min(counts.values()) > 100


def test_sticky_single_available_and_none_available() -> None:
    cache = StickyPartitionCache(random.Random(5))
    assert cache.next_partition("a", 4, [2], -1) == 2
    seen = {cache.next_partition("b", 4, [], p) for p in range(4) for _ in range(10)}
    assert seen <= {0, 1, 2, 3}


def test_stale_on_new_batch_does_not_move() -> None:
    cache = StickyPartitionCache(random.Random(9))
    current = cache.partition("t", 3, [0, 1, 2])
    other = (current + 1) % 3
    assert cache.next_partition("t", 3, [0, 1, 2], other) == current
