"""Consumer.poll with a group coordinator hook attached and nothing assigned (a group member
left without partitions, or a poll in the middle of a rebalance): the hook runs and the poll
returns no records instead of raising "not subscribed"."""
from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from kafkapy.clients.consumer import Consumer
from kafkapy.clients.errors import IllegalStateError
from kafkapy.common.types import TopicPartition

pytestmark = pytest.mark.timeout(20)


class FakeMembership:
    """Stands in for ConsumerGroupMembership: counts poll_hook calls, can hand out an assignment."""

    def __init__(self, assign_on_poll: int | None = None, partitions: Sequence[TopicPartition] = ()) -> None:
        self.polls = 0
        self.closed = False
        self.assign_on_poll = assign_on_poll
        self.partitions = list(partitions)

    async def subscribe(self, consumer: Consumer, topics: Sequence[str]) -> None:
        consumer.assign([])

    async def poll_hook(self, consumer: Consumer) -> None:
        self.polls += 1
        if self.assign_on_poll is not None and self.polls == self.assign_on_poll:
            consumer.assign(self.partitions)

    async def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        return {tp: None for tp in partitions}

    async def close(self) -> None:
        self.closed = True


def _consumer() -> Consumer:
    return Consumer({"bootstrap.servers": "127.0.0.1:1", "group.id": "g", "retry.backoff.ms": 10})


def test_member_without_partitions_polls_empty() -> None:
    async def go() -> None:
        c = _consumer()
        hook = FakeMembership()
        c.coordinator = hook
        await c.subscribe(["t"])
        assert c.assignment() == set()
        assert await c.poll(0) == []
        assert await c.poll(20) == []
        assert hook.polls == 2
        await c.close()
        assert hook.closed
    asyncio.run(go())


def test_hook_runs_before_the_assignment_is_looked_at() -> None:
    # The rebalance carried out inside poll_hook gives the member its partitions; the poll that
    # ran it must not have rejected the (then empty) assignment.
    async def go() -> None:
        c = _consumer()
        tp = TopicPartition("t", 1)
        hook = FakeMembership(assign_on_poll=1, partitions=[tp])
        c.coordinator = hook
        assert await c.poll(0) == []
        assert c.assignment() == {tp}
        await c.close()
    asyncio.run(go())


def test_without_a_group_an_empty_assignment_is_still_an_error() -> None:
    async def go() -> None:
        c = _consumer()
        with pytest.raises(IllegalStateError, match="not subscribed to any topics or assigned any partitions"):
            await c.poll(0)
        await c.close()
    asyncio.run(go())
