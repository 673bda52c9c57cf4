"""zookeeper.max.in.flight.requests: the kazoo bridge never hands kazoo more requests at once,
whoever calls (bulk verbs of KafkaZkClient included); and `wait_connected` follows the session."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.zk import errors
from kafkapy.zk.client import ZkClient, ZkState
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import TopicPartitionStateZNode

pytestmark = pytest.mark.timeout(20)


class _Stat:
    czxid = mzxid = ctime = mtime = cversion = aversion = ephemeralOwner = dataLength = numChildren = pzxid = 0
    version = 3


class _AsyncResult:
    """The part of kazoo's IAsyncResult the bridge uses."""

    def __init__(self) -> None:
        self._callbacks: list = []
        self.value: Any = None
        self.exception: BaseException | None = None
        self._done = False

    def rawlink(self, callback) -> None:
        self._callbacks.append(callback)

    def successful(self) -> bool:
        return self._done and self.exception is None

    def finish(self, value: Any = None, exception: BaseException | None = None) -> None:
        self.value, self.exception, self._done = value, exception, True
        for cb in self._callbacks:
            cb(self)


class CountingKazoo:
    """Stands at the kazoo boundary: counts requests outstanding and their peak; the test answers them."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.outstanding: list[_AsyncResult] = []
        self.peak = 0
        self.total = 0

    def get_async(self, path: str, watch: Any = None) -> _AsyncResult:
        result = _AsyncResult()
        self.outstanding.append(result)
        self.total += 1
        self.peak = max(self.peak, len(self.outstanding))
        return result

    def answer_some(self, n: int) -> int:
        batch, self.outstanding = self.outstanding[:n], self.outstanding[n:]
        for result in batch:
            result.finish((self.data, _Stat()))
        return len(batch)


def _client(kazoo: CountingKazoo, max_in_flight: int) -> ZkClient:
    zk = ZkClient("127.0.0.1:1", max_in_flight_requests=max_in_flight)
    zk._loop = asyncio.get_running_loop()
    zk._kazoo = kazoo          # type: ignore[assignment]
    zk._state = ZkState.CONNECTED
    zk._session_id = 0x42
    return zk


async def _drain(kazoo: CountingKazoo, task: asyncio.Task, step: int) -> None:
    while not task.done():
        await asyncio.sleep(0)
        kazoo.answer_some(step)


@pytest.mark.parametrize("window", [1, 3, 10])
def test_bulk_partition_state_read_never_exceeds_the_window(window: int) -> None:
    async def scenario() -> None:
        state = LeaderAndIsr(2, 4, (2, 3), 1, 0)
        kazoo = CountingKazoo(TopicPartitionStateZNode.encode(state))
        kz = KafkaZkClient(_client(kazoo, window))
        tps = [TopicPartition(f"t{i % 7}", i) for i in range(500)]
        task = asyncio.create_task(kz.get_topic_partition_states(tps))
        await _drain(kazoo, task, 2)
        got = task.result()
        assert set(got) == set(tps) and all(s.leader == 2 and s.isr == (2, 3) for s in got.values())
        assert kazoo.total == 500 and kazoo.peak == window
        assert kz.zk.in_flight_requests == 0
    asyncio.run(asyncio.wait_for(scenario(), 15))


def test_window_is_shared_by_concurrent_callers_and_can_change() -> None:
    async def scenario() -> None:
        kazoo = CountingKazoo(b"{}")
        zk = _client(kazoo, 10)
        kz = KafkaZkClient(zk)
        assert kz.max_in_flight_requests == 10
        callers = [asyncio.create_task(zk.get(f"/p{i}")) for i in range(50)]
        await asyncio.sleep(0)
        assert len(kazoo.outstanding) == 10
        kz.max_in_flight_requests = 4               # narrower: no new request until below 4
        kazoo.answer_some(8)
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(kazoo.outstanding) == 4
        kz.max_in_flight_requests = 12              # wider: waiters start at once
        await asyncio.sleep(0)
        assert len(kazoo.outstanding) == 12
        gather = asyncio.ensure_future(asyncio.gather(*callers))
        await _drain(kazoo, gather, 3)
        assert kazoo.total == 50 and kazoo.peak == 12 and zk.in_flight_requests == 0
        with pytest.raises(ValueError):
            kz.max_in_flight_requests = 0
    asyncio.run(asyncio.wait_for(scenario(), 15))


def test_cancelled_waiter_and_failed_request_release_their_slot() -> None:
    async def scenario() -> None:
        kazoo = CountingKazoo(b"")
        zk = _client(kazoo, 1)
        first = asyncio.create_task(zk.get("/a"))
        second = asyncio.create_task(zk.get("/b"))
        third = asyncio.create_task(zk.get("/c"))
        await asyncio.sleep(0)
        assert len(kazoo.outstanding) == 1
        second.cancel()
        from kazoo.exceptions import ConnectionLoss
        kazoo.outstanding.pop(0).finish(exception=ConnectionLoss())
        with pytest.raises(errors.ConnectionLossError):
            await first
        for _ in range(5):
            await asyncio.sleep(0)
        assert second.cancelled() and len(kazoo.outstanding) == 1    # the third got the slot
        kazoo.answer_some(1)
        await third
        assert zk.in_flight_requests == 0 and kazoo.total == 2
    asyncio.run(asyncio.wait_for(scenario(), 15))


def test_wait_connected_returns_on_reconnection_and_raises_on_a_new_session() -> None:
    async def scenario() -> None:
        zk = _client(CountingKazoo(b""), 10)
        await zk.wait_connected()                           # connected: at once
        zk._apply_state(ZkState.SUSPENDED, None)
        waiter = asyncio.create_task(zk.wait_connected())
        await asyncio.sleep(0)
        assert not waiter.done()
        zk._apply_state(ZkState.CONNECTED, 0x42)            # same session back
        await waiter
        zk._apply_state(ZkState.SUSPENDED, None)
        waiter = asyncio.create_task(zk.wait_connected())
        await asyncio.sleep(0)
        zk._apply_state(ZkState.LOST, None)
        with pytest.raises(errors.SessionExpiredError):
            await waiter
        zk._apply_state(ZkState.SUSPENDED, None)
        with pytest.raises(errors.ZkTimeoutError):
            await zk.wait_connected(timeout_ms=10)
    asyncio.run(asyncio.wait_for(scenario(), 15))


def test_pipelined_reads_report_missing_znodes_and_stop_at_the_first_failure() -> None:
    async def scenario() -> None:
        from kazoo.exceptions import ConnectionLoss, NoNodeError
        kazoo = CountingKazoo(b"x")
        zk = _client(kazoo, 4)
        task = asyncio.create_task(zk.get_many([f"/p{i}" for i in range(40)]))
        await asyncio.sleep(0)
        assert len(kazoo.outstanding) == 4
        kazoo.outstanding.pop(0).finish(exception=NoNodeError())      # missing: None, the next one starts
        assert len(kazoo.outstanding) == 4
        kazoo.answer_some(2)
        kazoo.outstanding.pop(0).finish(exception=ConnectionLoss())   # nothing new is sent after this
        assert len(kazoo.outstanding) == 3 and kazoo.total == 7
        kazoo.answer_some(3)
        with pytest.raises(errors.ConnectionLossError):
            await task
        assert kazoo.total == 7 and zk.in_flight_requests == 0
        # A complete run: in order, None where missing.
        task = asyncio.create_task(zk.get_many(["/a", "/b", "/c"]))
        await asyncio.sleep(0)
        kazoo.outstanding.pop(1).finish(exception=NoNodeError())
        kazoo.answer_some(2)
        got = await task
        assert got[1] is None and got[0][0] == b"x" and got[2][1].version == 3
        assert await zk.get_many([]) == []
    asyncio.run(asyncio.wait_for(scenario(), 15))
