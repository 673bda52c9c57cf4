"""InMemoryZooKeeper specifics that the shared real/double scenarios do not cover."""
from __future__ import annotations

import asyncio

import pytest

from kafkapy.testing.zookeeper import InMemoryZooKeeper
from kafkapy.zk import errors
from kafkapy.zk.client import CreateOp, SetDataOp, ZkState, ZkWatchEvent

pytestmark = pytest.mark.timeout(30)


def run(coro_fn):
    return asyncio.run(asyncio.wait_for(coro_fn(), 10))


def test_connection_loss_suspends_then_resumes_same_session() -> None:
    async def main() -> None:
        server = InMemoryZooKeeper()
        states: asyncio.Queue[ZkState] = asyncio.Queue()
        renewed: list[bool] = []
        zk = server.client("fake:2181/c", on_state_change=states.put_nowait,
                           on_new_session=lambda: renewed.append(True))
        await zk.start()
        assert await states.get() is ZkState.CONNECTED
        session = zk.session_id
        events: asyncio.Queue[ZkWatchEvent] = asyncio.Queue()
        await zk.exists("/w", watch=events.put_nowait)
        server.drop_connection(zk)
        assert await states.get() is ZkState.SUSPENDED
        assert (await events.get()).kind == "NONE"
        pending = asyncio.ensure_future(zk.create("/w", b""))   # waits for the connection
        await asyncio.sleep(0)
        assert not pending.done() and "/c/w" not in server.nodes
        server.restore_connection(zk)
        assert await pending == "/w"
        assert await states.get() is ZkState.CONNECTED and zk.session_id == session and not renewed
        assert events.empty()            # the dropped watch does not fire again
        await zk.stop()
    run(main)


def test_sequence_names_follow_parent_cversion_and_failed_multi_rolls_back() -> None:
    async def main() -> None:
        server = InMemoryZooKeeper(time_ms=lambda: 1234)
        zk = server.client()
        await zk.start()
        await zk.create("/p", b"")
        await zk.create("/p/other", b"")
        assert await zk.create("/p/n_", b"", sequence=True) == "/p/n_0000000001"
        events: asyncio.Queue[ZkWatchEvent] = asyncio.Queue()
        await zk.get_children("/p", watch=events.put_nowait)
        zxid = server.zxid
        with pytest.raises(errors.BadVersionError) as info:
            await zk.multi([CreateOp("/p/x"), SetDataOp("/p", b"v", 7)])
        assert info.value.op_index == 1 and "/p/x" not in server.nodes and server.zxid == zxid
        await zk.create("/p/y", b"")
        assert await events.get() == ZkWatchEvent("CHILD", "/p")   # the watch survived the rollback
        stat = await zk.exists("/p/y")
        assert stat.ctime == 1234 and stat.version == 0
        await zk.create("/e", b"", ephemeral=True)
        with pytest.raises(errors.NoChildrenForEphemeralsError):
            await zk.create("/e/c", b"")
        await zk.stop()
        with pytest.raises(errors.ZkClientClosedError):
            await zk.get("/p")
    run(main)
