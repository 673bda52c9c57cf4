from __future__ import annotations

import asyncio
import time

import pytest

from kafkapy.common.clock import Clock, ManualClock, SystemClock, sleep_ms


def run(coro, timeout: float = 5.0):
    async def main():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(main())


def test_protocol_conformance():
    assert isinstance(SystemClock(), Clock)
    assert isinstance(ManualClock(), Clock)


def test_system_clock_values():
    clock = SystemClock()
    assert abs(clock.now_ms() - time.time() * 1000) < 5_000
    a = clock.monotonic_ms()
    b = clock.monotonic_ms()
    assert b >= a


def test_system_clock_call_later_runs_on_the_loop():
    async def main():
        clock = SystemClock()
        loop = asyncio.get_running_loop()
        fired: asyncio.Future = loop.create_future()
        start = clock.monotonic_ms()
        clock.call_later(20, fired.set_result, "done")
        cancelled = clock.call_later(1, fired.set_result, "wrong")
        cancelled.cancel()
        assert cancelled.cancelled()
        assert await fired == "done"
        assert clock.monotonic_ms() - start >= 15
    run(main())


def test_system_clock_requires_a_running_loop():
    with pytest.raises(RuntimeError):
        SystemClock().call_later(10, lambda: None)


def test_manual_clock_reads():
    clock = ManualClock(now_ms=1_000_000, monotonic_ms=50)
    assert clock.now_ms() == 1_000_000 and clock.monotonic_ms() == 50
    clock.advance(25)
    assert clock.now_ms() == 1_000_025 and clock.monotonic_ms() == 75
    clock.set_wall_ms(10)
    assert clock.now_ms() == 10 and clock.monotonic_ms() == 75
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_manual_clock_fires_in_deadline_then_creation_order():
    clock = ManualClock(monotonic_ms=0)
    seen = []
    clock.call_later(30, lambda: seen.append(("c", clock.monotonic_ms())))
    clock.call_later(10, lambda: seen.append(("a", clock.monotonic_ms())))
    clock.call_later(10, lambda: seen.append(("b", clock.monotonic_ms())))
    clock.call_later(31, lambda: seen.append(("late", clock.monotonic_ms())))
    assert clock.pending == 4
    assert clock.advance(9) == 0 and seen == []
    assert clock.advance(21) == 3
    assert seen == [("a", 10), ("b", 10), ("c", 30)]
    assert clock.monotonic_ms() == 30 and clock.pending == 1
    clock.advance(1)
    assert seen[-1] == ("late", 31)


def test_manual_clock_cancel_and_args():
    clock = ManualClock()
    seen = []
    t1 = clock.call_later(5, seen.append, 1)
    t2 = clock.call_later(5, seen.append, 2)
    t1.cancel()
    t1.cancel()  # idempotent
    assert t1.cancelled() and not t2.cancelled()
    assert clock.pending == 1
    clock.advance(5)
    assert seen == [2] and t2.fired()
    t2.cancel()  # cancelling a fired timer changes nothing
    assert not t2.cancelled() and clock.pending == 0


def test_manual_clock_timers_scheduled_by_callbacks():
    clock = ManualClock(monotonic_ms=0)
    seen = []

    def tick(n):
        seen.append((n, clock.monotonic_ms()))
        if n < 5:
            clock.call_later(10, tick, n + 1)

    clock.call_later(10, tick, 1)
    clock.advance(35)
    assert seen == [(1, 10), (2, 20), (3, 30)]
    assert clock.next_deadline_ms() == 40
    clock.advance_to_next()
    assert seen[-1] == (4, 40) and clock.monotonic_ms() == 40


def test_manual_clock_zero_delay_needs_run_due():
    clock = ManualClock()
    seen = []
    clock.call_later(0, seen.append, "x")
    clock.call_later(-5, seen.append, "y")  # negative delays count as zero
    assert seen == []
    assert clock.run_due() == 2
    assert seen == ["x", "y"]


def test_manual_clock_callback_error_propagates_and_keeps_the_rest():
    clock = ManualClock(monotonic_ms=0)
    seen = []

    def boom():
        raise RuntimeError("boom")

    clock.call_later(1, boom)
    clock.call_later(2, seen.append, "after")
    with pytest.raises(RuntimeError):
        clock.advance(5)
    assert seen == []
    assert clock.monotonic_ms() == 1  # time stopped at the failing timer
    clock.advance(1)
    assert seen == ["after"]


def test_sleep_ms_with_manual_clock():
    async def main():
        clock = ManualClock(monotonic_ms=0)
        done = asyncio.Event()

        async def sleeper():
            await sleep_ms(clock, 100)
            done.set()

        task = asyncio.create_task(sleeper())
        await asyncio.sleep(0)  # let the sleeper register its timer
        assert clock.pending == 1
        clock.advance(99)
        assert not done.is_set()
        clock.advance(1)
        await done.wait()
        await task
        assert clock.pending == 0
    run(main())


def test_sleep_ms_cancelled_cancels_its_timer():
    async def main():
        clock = ManualClock()
        task = asyncio.create_task(sleep_ms(clock, 100))
        await asyncio.sleep(0)
        assert clock.pending == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert clock.pending == 0
    run(main())
