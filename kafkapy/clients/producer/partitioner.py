"""Java's default partitioner (Kafka 2.4+): murmur2 for keyed records, sticky for the rest.

Keyed records go to ``to_positive(murmur2(key)) % num_partitions`` over *all* partitions,
exactly as the Java client, so kafkapy and Java producers place a key identically.
Records without a key stick to one partition (preferring partitions with a leader) until
the accumulator opens a new batch for it (KIP-480), then a different one is drawn.
"""
from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = ["murmur2", "to_positive", "partition_for_key", "StickyPartitionCache", "DefaultPartitioner"]

_M = 0x5BD1E995
_SEED = 0x9747B28C
_MASK = 0xFFFFFFFF


def murmur2(data: bytes | bytearray | memoryview) -> int:
    """Kafka's 32-bit murmur2 of ``data`` as a signed int32 (``Utils.murmur2``)."""
    data = bytes(data)
    length = len(data)
    h = (_SEED ^ length) & _MASK
    whole = length & ~3
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length & 3
    if rest:
        if rest == 3:
            h ^= data[whole + 2] << 16
        if rest >= 2:
            h ^= data[whole + 1] << 8
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def to_positive(n: int) -> int:
    """Java's ``Utils.toPositive``: clear the sign bit of an int32."""
    return n & 0x7FFFFFFF


def partition_for_key(key: bytes, num_partitions: int) -> int:
    return to_positive(murmur2(key)) % num_partitions


class StickyPartitionCache:
    """The current sticky partition of each topic (Java's StickyPartitionCache)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._current: dict[str, int] = {}

    def partition(self, topic: str, num_partitions: int, available: Sequence[int]) -> int:
        current = self._current.get(topic)
        if current is None:
            return self.next_partition(topic, num_partitions, available, -1)
        return current

    def next_partition(self, topic: str, num_partitions: int, available: Sequence[int],
                       previous: int) -> int:
        """Move `topic` off `previous` (if it is still current) and return the new choice."""
        old = self._current.get(topic)
        if old is not None and old != previous:
            return old
        rand = self._rng.getrandbits(31)
        if not available:
            new = rand % num_partitions
        elif len(available) == 1:
            new = available[0]
        else:
            new = old if old is not None else -1
            while new == old or new == -1:
                new = available[self._rng.getrandbits(31) % len(available)]
        self._current[topic] = new
        return new


class DefaultPartitioner:
    """``partition(topic, key, num_partitions, available)`` plus ``on_new_batch`` for null keys."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.sticky = StickyPartitionCache(rng)

    def partition(self, topic: str, key: bytes | None, num_partitions: int,
                  available: Sequence[int] = ()) -> int:
        if key is None:
            return self.sticky.partition(topic, num_partitions, available)
        return partition_for_key(key, num_partitions)

    def on_new_batch(self, topic: str, num_partitions: int, available: Sequence[int], previous: int) -> None:
        self.sticky.next_partition(topic, num_partitions, available, previous)
