"""The controller's single event queue and its one consumer task (Kafka's ``ControllerEventManager``).

Everything that changes controller state arrives here as an event; one task takes
them off an ``asyncio.Queue`` and awaits the processor for each, so events never
interleave. ``clear_and_put`` drops what is queued (answering waiting callers) and
enqueues one event, as Kafka does for ``Expire`` and shutdown.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from kafkapy.controller.events import ControllerEvent, ControllerState, ShutdownEventThread

__all__ = ["ControllerEventProcessor", "ControllerEventManager", "TaskSpawner", "spawn_task",
           "ControllerEventQueueClosed"]

log = logging.getLogger(__name__)


class ControllerEventQueueClosed(Exception):
    """The event manager was shut down before the event could be processed."""


class ControllerEventProcessor(Protocol):
    async def process(self, event: ControllerEvent) -> None: ...

    def preempt(self, event: ControllerEvent) -> None: ...


class TaskSpawner(Protocol):
    """The slice of ``kafkapy.common.tasks.TaskSupervisor`` the controller uses."""

    def spawn(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task: ...


def spawn_task(tasks: Any, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
    """Start a supervised task through the broker's task supervisor when one is given.

    ``tasks`` is a ``kafkapy.common.tasks.TaskSupervisor`` (``spawn(name, coro)``); without one
    the task is created here, kept referenced and its failure logged.
    """
    if tasks is not None:
        return tasks.spawn(name, coro)
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _UNSUPERVISED.add(task)
    task.add_done_callback(_on_unsupervised_done)
    return task


_UNSUPERVISED: set[asyncio.Task] = set()


def _on_unsupervised_done(task: asyncio.Task) -> None:
    _UNSUPERVISED.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("Task %s failed", task.get_name(), exc_info=task.exception())


class ControllerEventManager:
    def __init__(self, controller_id: int, processor: ControllerEventProcessor, tasks: Any = None,
                 on_state_change: Callable[[ControllerState], None] | None = None):
        self._controller_id = controller_id
        self._processor = processor
        self._tasks = tasks
        self._queue: asyncio.Queue[ControllerEvent] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._on_state_change = on_state_change
        self.state = ControllerState.IDLE
        self._closed = False
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        if self._task is None:
            self._task = spawn_task(self._tasks, self._run(), f"controller-event-thread-{self._controller_id}")

    def put(self, event: ControllerEvent) -> ControllerEvent:
        if self._closed:
            event.preempt(ControllerEventQueueClosed("controller event queue is closed"))
            return event
        self._idle.clear()
        self._queue.put_nowait(event)
        return event

    def clear_and_put(self, event: ControllerEvent) -> ControllerEvent:
        while True:
            try:
                dropped = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            self._processor.preempt(dropped)
        return self.put(event)

    def queue_size(self) -> int:
        return self._queue.qsize()

    async def wait_idle(self) -> None:
        """Wait until every event queued so far was processed (tests, shutdown)."""
        while not (self._queue.empty() and self.state is ControllerState.IDLE):
            self._idle.clear()
            await self._idle.wait()

    async def close(self) -> None:
        if self._task is None:
            self._closed = True
            return
        self.clear_and_put(ShutdownEventThread())
        self._closed = True
        task, self._task = self._task, None
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            if isinstance(event, ShutdownEventThread):
                self._set_state(ControllerState.IDLE)
                self._idle.set()
                return
            self._set_state(event.state)
            try:
                await self._processor.process(event)
            except asyncio.CancelledError:
                raise
            except Exception:               # a bug in one event must not stop the controller
                log.error("[Controller id=%d] Uncaught error processing event %s", self._controller_id,
                          event.name, exc_info=True)
                event.preempt(ControllerEventQueueClosed(f"{event.name} failed"))
            finally:
                self._set_state(ControllerState.IDLE)
            if self._queue.empty():
                self._idle.set()

    def _set_state(self, state: ControllerState) -> None:
        self.state = state
        if self._on_state_change is not None:
            self._on_state_change(state)

