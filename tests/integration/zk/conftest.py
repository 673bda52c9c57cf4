"""Helpers for the zk integration tests: run a coroutine under a timeout."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest


@pytest.fixture
def arun() -> Callable[..., Any]:
    """`arun(coro_fn, timeout_s=30)`: asyncio.run(coro_fn()) bounded by a timeout."""

    def run(coro_fn: Callable[[], Awaitable[Any]], timeout_s: float = 30.0) -> Any:
        async def bounded() -> Any:
            return await asyncio.wait_for(coro_fn(), timeout_s)
        return asyncio.run(bounded())

    return run
