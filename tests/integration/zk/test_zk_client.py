"""ZkClient against a real ZooKeeper: reads, writes, multi, watches, chroot, sessions.
Tests taking `backend` also run against the InMemoryZooKeeper double."""
from __future__ import annotations

import asyncio

import pytest

from kafkapy.zk import errors
from kafkapy.zk.client import (CheckOp, CreateOp, DeleteOp, SetDataOp, ZkClient, ZkState,
                               ZkStat, ZkWatchEvent)

pytestmark = [pytest.mark.timeout(90)]
real_zk = pytest.mark.integration


async def _started(connect: str, **kwargs) -> ZkClient:
    client = ZkClient(connect, session_timeout_ms=kwargs.pop("session_timeout_ms", 6000), **kwargs)
    await client.start()
    return client


@real_zk
def test_chroot_is_created(zk_chroot: str, zookeeper, arun) -> None:
    async def main() -> None:
        zk = await _started(zk_chroot)
        try:
            assert zk.connected and zk.session_id
            chroot = zk_chroot.split("/", 1)[1]
            raw = await _started(zookeeper.connect_string)
            assert await raw.exists("/" + chroot) is not None
            await raw.stop()
        finally:
            await zk.stop()
    arun(main)


def test_crud(backend, arun) -> None:
    async def main() -> None:
        zk = await backend.client()
        try:
            path = await zk.create("/a/b/c", b"hello", makepath=True)
            assert path == "/a/b/c"
            data, stat = await zk.get("/a/b/c")
            assert data == b"hello" and isinstance(stat, ZkStat) and stat.version == 0
            assert (await zk.get("/a"))[0] == b""
            assert await zk.get_children("/a") == ["b"]
            new_stat = await zk.set("/a/b/c", b"x", version=0)
            assert new_stat.version == 1
            with pytest.raises(errors.BadVersionError) as bad:
                await zk.set("/a/b/c", b"y", version=0)
            assert bad.value.path == "/a/b/c"
            with pytest.raises(errors.NodeExistsError):
                await zk.create("/a/b/c", b"")
            with pytest.raises(errors.NoNodeError):
                await zk.get("/missing")
            with pytest.raises(errors.NoNodeError):
                await zk.create("/no/parent", b"")
            assert await zk.get_or_none("/missing") is None
            seq = await zk.create("/a/seq_", b"", sequence=True)
            assert seq.startswith("/a/seq_") and len(seq) == len("/a/seq_") + 10
            with pytest.raises(errors.NotEmptyError):
                await zk.delete("/a")
            await zk.delete("/a", recursive=True)
            assert await zk.exists("/a") is None
            await zk.delete("/a", recursive=True)   # missing: no error
        finally:
            await zk.stop()
    arun(main)


def test_multi_success_and_culprit(backend, arun) -> None:
    async def main() -> None:
        zk = await backend.client()
        try:
            await zk.create("/epoch", b"0")
            results = await zk.multi([CheckOp("/epoch", 0), CreateOp("/x", b"1"),
                                      SetDataOp("/epoch", b"1", 0)])
            assert results[0] is True and results[1] == "/x" and results[2].version == 1
            with pytest.raises(errors.BadVersionError) as info:
                await zk.multi([CheckOp("/epoch", 0), CreateOp("/y", b"")])
            assert info.value.op_index == 0 and info.value.path == "/epoch"
            assert await zk.exists("/y") is None
            with pytest.raises(errors.NodeExistsError) as info:
                await zk.multi([CheckOp("/epoch", 1), CreateOp("/x", b"")])
            assert info.value.op_index == 1
            with pytest.raises(errors.NoNodeError) as info:
                await zk.multi([DeleteOp("/nothing")])
            assert info.value.op_index == 0
        finally:
            await zk.stop()
    arun(main)


def test_watches_arrive_on_the_loop(backend, arun) -> None:
    async def main() -> None:
        zk = await backend.client()
        other = await backend.client()
        loop = asyncio.get_running_loop()
        try:
            events: asyncio.Queue[ZkWatchEvent] = asyncio.Queue()

            def on_event(event: ZkWatchEvent) -> None:
                assert asyncio.get_running_loop() is loop   # delivered on the loop
                events.put_nowait(event)

            assert await zk.exists("/w", watch=on_event) is None
            await other.create("/w", b"1")
            event = await events.get()
            assert event == ZkWatchEvent("CREATED", "/w")

            await zk.get_children("/w", watch=on_event)
            await other.create("/w/child", b"")
            assert await events.get() == ZkWatchEvent("CHILD", "/w")

            await zk.get("/w", watch=on_event)
            await other.set("/w", b"2")
            assert await events.get() == ZkWatchEvent("CHANGED", "/w")
            await other.set("/w", b"3")        # one-shot: no second event unless re-armed
            await zk.get("/w", watch=on_event)
            await other.delete("/w", recursive=True)
            assert await events.get() == ZkWatchEvent("DELETED", "/w")
            assert events.empty()
        finally:
            await other.stop()
            await zk.stop()
    arun(main)


def test_ephemeral_vanishes_when_session_stops(backend, arun) -> None:
    async def main() -> None:
        a = await backend.client()
        b = await backend.client()
        try:
            await a.create("/eph", b"", ephemeral=True)
            stat = await b.exists("/eph")
            assert stat is not None and stat.ephemeral_owner == a.session_id
            await a.stop()
            assert await b.exists("/eph") is None
            with pytest.raises(errors.ZkClientClosedError):
                await a.get("/eph")
        finally:
            await b.stop()
    arun(main)


def test_session_expiry_fires_lost_then_new_session(backend, arun) -> None:
    async def main() -> None:
        states: list[ZkState] = []
        lost = asyncio.Event()
        renewed = asyncio.Event()
        zk = await backend.client(session_timeout_ms=2000, on_state_change=states.append,
                                  on_session_lost=lost.set, on_new_session=renewed.set)
        try:
            first_session = zk.session_id
            await zk.create("/eph", b"", ephemeral=True)
            await backend.expire(zk)
            await lost.wait()
            await renewed.wait()
            assert zk.session_id != first_session and zk.connected
            assert ZkState.LOST in states and states[-1] is ZkState.CONNECTED
            assert await zk.exists("/eph") is None
        finally:
            await zk.stop()
    arun(main)


@real_zk
def test_start_times_out_without_server(arun) -> None:
    async def main() -> None:
        zk = ZkClient("127.0.0.1:1", session_timeout_ms=2000, connection_timeout_ms=500)
        with pytest.raises(errors.ZkTimeoutError):
            await zk.start()
    arun(main)


@real_zk
def test_works_under_uvloop(zk_chroot: str) -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        zk = await _started(zk_chroot)
        try:
            await zk.create("/u", b"v")
            assert (await zk.get("/u"))[0] == b"v"
        finally:
            await zk.stop()
    uvloop.run(asyncio.wait_for(main(), 30))


@real_zk
def test_connection_loss_suspends_and_keeps_session(tmp_path, arun) -> None:
    """A server restart within the session timeout: SUSPENDED then CONNECTED with the
    same session (no new-session callback); dropped watches fire as NONE."""
    from kafkapy.testing.zookeeper import ZooKeeperServer

    server = ZooKeeperServer(tmp_path / "zk").start()
    try:
        async def main() -> None:
            states: asyncio.Queue[ZkState] = asyncio.Queue()
            renewed: list[bool] = []
            zk = ZkClient(server.connect_string + "/c", session_timeout_ms=10000,
                          on_state_change=states.put_nowait, on_new_session=lambda: renewed.append(True))
            await zk.start()
            try:
                assert await states.get() is ZkState.CONNECTED
                session = zk.session_id
                events: asyncio.Queue[ZkWatchEvent] = asyncio.Queue()
                await zk.exists("/w", watch=events.put_nowait)
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, server.kill)
                assert await states.get() is ZkState.SUSPENDED
                assert (await events.get()).kind == "NONE"
                await loop.run_in_executor(None, server.restart)
                assert await states.get() is ZkState.CONNECTED
                assert zk.session_id == session and not renewed
                await zk.exists("/w", watch=events.put_nowait)
                await zk.create("/w", b"")
                assert await events.get() == ZkWatchEvent("CREATED", "/w")
            finally:
                await zk.stop()
        arun(main, timeout_s=60)
    finally:
        server.stop()


def test_watch_paths_inside_a_chroot_keep_their_full_name(backend, arun) -> None:
    """A znode whose name repeats the chroot's is reported as is (no double strip)."""
    async def main() -> None:
        zk = await backend.client()
        chroot_name = zk.chroot.lstrip("/")
        try:
            events: asyncio.Queue[ZkWatchEvent] = asyncio.Queue()
            path = f"/{chroot_name}/inner"
            await zk.exists(path, watch=events.put_nowait)
            await zk.create(path, b"", makepath=True)
            assert await events.get() == ZkWatchEvent("CREATED", path)
        finally:
            await zk.stop()
    arun(main)


@real_zk
def test_cancelled_start_leaves_no_client_behind(arun) -> None:
    async def main() -> None:
        zk = ZkClient("127.0.0.1:1", session_timeout_ms=2000, connection_timeout_ms=60000)
        task = asyncio.ensure_future(zk.start())
        await asyncio.sleep(0)   # let start() begin connecting
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(errors.ZkClientClosedError):
            await zk.get("/")
    arun(main)


@real_zk
@pytest.mark.slow
def test_ensemble_member_loss_keeps_session(tmp_path, arun) -> None:
    """Killing the leader of three servers forces an election; the client reconnects with
    the same session and its ephemeral node survives."""
    from kafkapy.testing.zookeeper import ZooKeeperEnsemble

    ensemble = ZooKeeperEnsemble(3, tmp_path).start()
    try:
        async def main() -> None:
            zk = ZkClient(ensemble.connect_string + "/e", session_timeout_ms=10000)
            await zk.start()
            try:
                session = zk.session_id
                await zk.create("/eph", b"", ephemeral=True)
                loop = asyncio.get_running_loop()
                leader = ensemble.leader()
                assert leader is not None
                await loop.run_in_executor(None, leader.kill)
                # A write needs the new quorum of the two members left. While the client reconnects (its server
                # may be the one killed) and the two survivors elect, operations fail with ConnectionLoss:
                # retry those, as every ZooKeeper user must, until a deadline.
                from kafkapy.zk.errors import ConnectionLossError
                deadline = loop.time() + 60
                while True:
                    try:
                        await zk.set("/eph", b"after")
                        break
                    except ConnectionLossError:
                        if loop.time() > deadline:
                            raise
                        await asyncio.sleep(0.2)
                assert zk.session_id == session
                assert (await zk.get("/eph"))[0] == b"after"
            finally:
                await zk.stop()
        arun(main, timeout_s=90)
    finally:
        ensemble.stop()
