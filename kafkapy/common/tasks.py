"""Supervised background tasks.

Every background task in kafkapy is started through a `TaskSupervisor`: it names the
task, keeps a strong reference until the task ends, and logs an exception that ends a
task once, at ERROR, with its traceback. `every()` runs a function periodically (Kafka's
scheduler jobs: retention, checkpoints, ISR expiry...); an exception in one run is
logged and the next run still happens.

    tasks = TaskSupervisor("broker", clock)
    tasks.spawn("controller-event-thread", controller.run())
    tasks.every("kafka-log-retention", 300_000, log_manager.cleanup_logs)
    ...
    await tasks.close()
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from kafkapy.common.clock import SYSTEM_CLOCK, Clock, sleep_ms

logger = logging.getLogger(__name__)

__all__ = ["TaskSupervisor"]

ErrorHook = Callable[[str, BaseException], None]


class TaskSupervisor:
    """Owns a set of named asyncio tasks: start, watch, cancel, await."""

    def __init__(self, name: str = "kafkapy", clock: Clock | None = None,
                 on_error: ErrorHook | None = None, log: logging.Logger | None = None) -> None:
        self.name = name
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self._on_error = on_error
        self._log = log if log is not None else logger
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # -- starting tasks -----------------------------------------------------------------------

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start `coro` as a task called `name`; the supervisor keeps it until it ends."""
        if self._closed:
            coro.close()
            raise RuntimeError(f"TaskSupervisor {self.name} is closed; cannot start {name}")
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._on_done)
        return task

    def every(self, name: str, interval_ms: int, fn: Callable[..., Any], *args: Any,
              initial_delay_ms: int | None = None) -> asyncio.Task[Any]:
        """Call `fn(*args)` every `interval_ms` (plain or async `fn`); first after `initial_delay_ms`
        (default: one interval). Runs are spaced at a fixed rate; runs that would fall in the past
        (the previous one overran) are skipped. An exception is logged and does not stop the job.
        """
        if interval_ms <= 0:
            raise ValueError(f"interval_ms must be positive, got {interval_ms}")
        delay = interval_ms if initial_delay_ms is None else max(0, initial_delay_ms)
        return self.spawn(name, self._periodic(name, interval_ms, delay, fn, args))

    async def _periodic(self, name: str, interval_ms: int, delay_ms: int, fn: Callable[..., Any],
                        args: tuple[Any, ...]) -> None:
        clock = self.clock
        next_run = clock.monotonic_ms() + delay_ms
        while True:
            wait = next_run - clock.monotonic_ms()
            if wait > 0:
                await sleep_ms(clock, wait)
            else:
                await asyncio.sleep(0)  # let others run between back-to-back runs
            try:
                result = fn(*args)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:
                self._log.error("Uncaught exception in scheduled task '%s'", name, exc_info=True)
            next_run += interval_ms
            now = clock.monotonic_ms()
            if next_run <= now:
                missed = (now - next_run) // interval_ms + 1
                next_run += missed * interval_ms

    # -- completion ---------------------------------------------------------------------------

    def _on_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()  # marks it retrieved: asyncio will not log it again
        if exc is None:
            return
        self._log.error("Task %s failed", task.get_name(), exc_info=exc)
        if self._on_error is not None:
            try:
                self._on_error(task.get_name(), exc)
            except Exception:
                self._log.error("Error hook of %s failed", self.name, exc_info=True)

    # -- stopping -----------------------------------------------------------------------------

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        return frozenset(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)

    def find(self, name: str) -> asyncio.Task[Any] | None:
        for task in self._tasks:
            if task.get_name() == name:
                return task
        return None

    def cancel_all(self) -> None:
        """Request cancellation of every running task (does not wait)."""
        for task in list(self._tasks):
            task.cancel()

    async def close(self) -> None:
        """Refuse new tasks, cancel the running ones and wait until they have all ended."""
        self._closed = True
        while self._tasks:
            pending = list(self._tasks)
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)

    async def join(self) -> None:
        """Wait until every task (including ones started meanwhile) has ended, without cancelling."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> TaskSupervisor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"TaskSupervisor({self.name!r}, tasks={len(self._tasks)})"

