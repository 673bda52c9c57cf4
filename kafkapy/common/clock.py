"""Time: wall clock, monotonic clock and timers, behind one small interface.

Broker code never calls `time.time()` or `loop.call_later()` directly; it receives a
`Clock`. Production uses `SystemClock` (timers run on the running asyncio loop); tests
use `ManualClock`, whose time only moves when the test calls `advance()`, and whose
timers then fire synchronously, in deadline order, deterministically.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

logger = logging.getLogger(__name__)

__all__ = ["TimerHandle", "Clock", "SystemClock", "ManualClock", "ManualTimer", "sleep_ms", "SYSTEM_CLOCK"]


@runtime_checkable
class TimerHandle(Protocol):
    def cancel(self) -> None: ...

    def cancelled(self) -> bool: ...


@runtime_checkable
class Clock(Protocol):
    def now_ms(self) -> int:
        """Wall-clock time in milliseconds since the epoch (timestamps, file times)."""
        ...

    def monotonic_ms(self) -> int:
        """A clock that never goes backwards, for measuring intervals and deadlines."""
        ...

    def call_later(self, delay_ms: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        """Run `fn(*args)` after `delay_ms` (on the event loop's thread); returns a cancellable handle."""
        ...


class SystemClock:
    """The real clocks; timers go through the running asyncio loop."""

    __slots__ = ()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000

    def call_later(self, delay_ms: float, fn: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, delay_ms) / 1000.0, fn, *args)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()


class ManualTimer:
    """A timer of a `ManualClock`."""

    __slots__ = ("when_ms", "seq", "fn", "args", "_cancelled", "_fired", "_clock")

    def __init__(self, clock: ManualClock, when_ms: int, seq: int, fn: Callable[..., Any],
                 args: tuple[Any, ...]) -> None:
        self._clock = clock
        self.when_ms = when_ms
        self.seq = seq
        self.fn = fn
        self.args = args
        self._cancelled = False
        self._fired = False

    def cancel(self) -> None:
        if not self._cancelled and not self._fired:
            self._cancelled = True
            self._clock._pending -= 1

    def cancelled(self) -> bool:
        return self._cancelled

    def fired(self) -> bool:
        return self._fired

    def __lt__(self, other: ManualTimer) -> bool:
        return (self.when_ms, self.seq) < (other.when_ms, other.seq)

    def __repr__(self) -> str:
        state = "cancelled" if self._cancelled else ("fired" if self._fired else "pending")
        return f"ManualTimer(when_ms={self.when_ms}, fn={getattr(self.fn, '__qualname__', self.fn)!r}, {state})"


class ManualClock:
    """A clock for tests: time moves only through `advance()`.

    `advance(ms)` fires every timer due up to the new time, in (deadline, creation)
    order; while a timer runs, the clock reads that timer's deadline. Timers created by
    callbacks fire in the same `advance()` if they fall due within it. A callback that
    raises propagates out of `advance()`; time then stays at that timer's deadline and
    the remaining timers stay scheduled.
    """

    def __init__(self, now_ms: int = 1_600_000_000_000, monotonic_ms: int = 0) -> None:
        self._wall_offset = now_ms - monotonic_ms
        self._monotonic = monotonic_ms
        self._heap: list[ManualTimer] = []
        self._seq = itertools.count()
        self._pending = 0

    def now_ms(self) -> int:
        return self._monotonic + self._wall_offset

    def monotonic_ms(self) -> int:
        return self._monotonic

    def call_later(self, delay_ms: float, fn: Callable[..., Any], *args: Any) -> ManualTimer:
        when = self._monotonic + max(0, int(delay_ms))
        timer = ManualTimer(self, when, next(self._seq), fn, args)
        heapq.heappush(self._heap, timer)
        self._pending += 1
        return timer

    def advance(self, delta_ms: int) -> int:
        """Move time forward by `delta_ms` (>= 0), firing due timers. Returns how many fired."""
        if delta_ms < 0:
            raise ValueError("time cannot go backwards")
        target = self._monotonic + int(delta_ms)
        fired = 0
        while self._heap and self._heap[0].when_ms <= target:
            timer = heapq.heappop(self._heap)
            if timer._cancelled:
                continue
            self._monotonic = max(self._monotonic, timer.when_ms)
            timer._fired = True
            self._pending -= 1
            fired += 1
            timer.fn(*timer.args)
        self._monotonic = target
        return fired

    def run_due(self) -> int:
        """Fire the timers that are due now (e.g. created with delay 0)."""
        return self.advance(0)

    def set_wall_ms(self, now_ms: int) -> None:
        """Step the wall clock (it may go backwards, as a real one can); timers are unaffected."""
        self._wall_offset = now_ms - self._monotonic

    @property
    def pending(self) -> int:
        """Timers neither fired nor cancelled."""
        return self._pending

    def next_deadline_ms(self) -> int | None:
        """Monotonic time of the next live timer, or None."""
        while self._heap and self._heap[0]._cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].when_ms if self._heap else None

    def advance_to_next(self) -> int:
        """Advance exactly to the next live timer's deadline and fire what is due then."""
        deadline = self.next_deadline_ms()
        if deadline is None:
            return 0
        return self.advance(deadline - self._monotonic)

    def __repr__(self) -> str:
        return f"ManualClock(monotonic_ms={self._monotonic}, pending={self._pending})"


async def sleep_ms(clock: Clock, delay_ms: float) -> None:
    """Wait `delay_ms` on `clock` (works with ManualClock: resumes once the test advances time)."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()
    handle = clock.call_later(delay_ms, _wake, fut)
    try:
        await fut
    finally:
        handle.cancel()


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
