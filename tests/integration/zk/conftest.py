"""Fixtures for the zk tests.

``arun(coro_fn, timeout_s=30)``
    asyncio.run(coro_fn()) bounded by a timeout.
``backend``
    Parametrized over a real ZooKeeper (marked ``integration``; one chroot per test)
    and the ``InMemoryZooKeeper`` double: ``await backend.client(**kw)`` gives a
    started ZkClient(-like), ``await backend.connect(**kw)`` a KafkaZkClient, and
    ``await backend.expire(zk_client)`` expires that client's session.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from kazoo.client import KazooClient

from kafkapy.testing.zookeeper import InMemoryZooKeeper
from kafkapy.zk.client import ZkClient
from kafkapy.zk.kafka_zk import KafkaZkClient


@pytest.fixture
def arun() -> Callable[..., Any]:
    def run(coro_fn: Callable[[], Awaitable[Any]], timeout_s: float = 30.0) -> Any:
        async def bounded() -> Any:
            return await asyncio.wait_for(coro_fn(), timeout_s)
        return asyncio.run(bounded())

    return run


async def expire_session(hosts: str, client_id: Any) -> None:
    """The classic trick: join the session from a second plain kazoo client and close it."""
    def run() -> None:
        twin = KazooClient(hosts=hosts, client_id=client_id, timeout=2)
        twin.start(timeout=10)
        twin.stop()
        twin.close()
    await asyncio.get_running_loop().run_in_executor(None, run)


@dataclass
class Backend:
    name: str
    client: Callable[..., Awaitable[ZkClient]]
    expire: Callable[[Any], Awaitable[None]]

    async def connect(self, **kwargs: Any) -> KafkaZkClient:
        return KafkaZkClient(await self.client(**kwargs))

    async def expire_kafka(self, kzc: KafkaZkClient) -> None:
        await self.expire(kzc.zk)


@pytest.fixture(params=[pytest.param("real", marks=pytest.mark.integration), "memory"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "real":
        zk_chroot = request.getfixturevalue("zk_chroot")
        hosts = request.getfixturevalue("zookeeper").connect_string

        async def client(session_timeout_ms: int = 6000, **kwargs: Any) -> ZkClient:
            zk = ZkClient(zk_chroot, session_timeout_ms=session_timeout_ms, **kwargs)
            await zk.start()
            return zk

        async def expire(zk: Any) -> None:
            await expire_session(hosts, zk.client_id)
        return Backend("real", client, expire)

    server = InMemoryZooKeeper()

    async def memory_client(session_timeout_ms: int = 6000, **kwargs: Any) -> ZkClient:
        zk = server.client("fake:2181/kafkapy-test", session_timeout_ms=session_timeout_ms, **kwargs)
        await zk.start()
        return zk  # type: ignore[return-value]

    async def memory_expire(zk: Any) -> None:
        server.expire_session(zk.session_id)
    return Backend("memory", memory_client, memory_expire)
