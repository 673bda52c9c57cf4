from __future__ import annotations

import asyncio
import logging

import pytest

from kafkapy.common.clock import ManualClock
from kafkapy.common.tasks import TaskSupervisor


def run(coro, timeout: float = 5.0):
    async def main():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(main())


def test_spawn_names_and_keeps_tasks():
    async def main():
        tasks = TaskSupervisor("t")
        release = asyncio.Event()

        async def worker():
            await release.wait()
            return 42

        task = tasks.spawn("kafka-worker", worker())
        assert task.get_name() == "kafka-worker"
        assert len(tasks) == 1 and tasks.find("kafka-worker") is task
        release.set()
        assert await task == 42
        await tasks.join()
        assert len(tasks) == 0
    run(main())


def test_failure_logged_once_at_error(caplog):
    errors = []

    async def main():
        tasks = TaskSupervisor("t", on_error=lambda name, exc: errors.append((name, exc)))

        async def broken():
            raise ValueError("bad thing")

        task = tasks.spawn("broken-task", broken())
        await asyncio.wait([task])
        await tasks.join()

    with caplog.at_level(logging.ERROR, logger="kafkapy.common.tasks"):
        run(main())
    records = [r for r in caplog.records if r.name == "kafkapy.common.tasks"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert "broken-task" in records[0].getMessage()
    assert records[0].exc_info[0] is ValueError
    assert len(errors) == 1 and errors[0][0] == "broken-task" and isinstance(errors[0][1], ValueError)
    # asyncio's own "exception was never retrieved" must not appear
    assert not any("never retrieved" in r.getMessage() for r in caplog.records)


def test_cancelled_tasks_are_not_errors(caplog):
    async def main():
        tasks = TaskSupervisor("t")
        tasks.spawn("forever", asyncio.Event().wait())
        tasks.spawn("forever2", asyncio.Event().wait())
        await asyncio.sleep(0)
        assert len(tasks) == 2
        await tasks.close()
        assert len(tasks) == 0 and tasks.closed
        with pytest.raises(RuntimeError):
            tasks.spawn("late", asyncio.sleep(0))

    with caplog.at_level(logging.ERROR):
        run(main())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_cancel_all_without_waiting():
    async def main():
        tasks = TaskSupervisor("t")
        task = tasks.spawn("forever", asyncio.Event().wait())
        await asyncio.sleep(0)
        tasks.cancel_all()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(tasks) == 0 and not tasks.closed
    run(main())


def test_async_context_manager_closes():
    async def main():
        async with TaskSupervisor("t") as tasks:
            task = tasks.spawn("forever", asyncio.Event().wait())
        assert task.cancelled()
    run(main())


def test_every_with_manual_clock_plain_and_async():
    async def main():
        clock = ManualClock(monotonic_ms=0)
        tasks = TaskSupervisor("t", clock)
        runs: asyncio.Queue = asyncio.Queue()

        def plain():
            runs.put_nowait(("plain", clock.monotonic_ms()))

        async def coro_fn(tag):
            await asyncio.sleep(0)
            runs.put_nowait((tag, clock.monotonic_ms()))

        tasks.every("plain-job", 1000, plain)
        tasks.every("async-job", 500, coro_fn, "async", initial_delay_ms=0)
        await asyncio.sleep(0)
        clock.run_due()  # the async job's first run is due immediately
        assert await runs.get() == ("async", 0)
        for now in (500, 1000):
            clock.advance(500)
            got = {await runs.get() for _ in range(2 if now == 1000 else 1)}
            expected = {("async", now)} | ({("plain", 1000)} if now == 1000 else set())
            assert got == expected
        assert runs.empty()
        await tasks.close()
    run(main())


def test_every_survives_exceptions(caplog):
    async def main():
        clock = ManualClock(monotonic_ms=0)
        tasks = TaskSupervisor("t", clock)
        calls: asyncio.Queue = asyncio.Queue()
        count = 0

        def flaky():
            nonlocal count
            count += 1
            calls.put_nowait(count)
            if count == 1:
                raise OSError("disk hiccup")

        tasks.every("kafka-flaky", 100, flaky)
        await asyncio.sleep(0)
        clock.advance(100)
        assert await calls.get() == 1
        clock.advance(100)
        assert await calls.get() == 2
        await tasks.close()

    with caplog.at_level(logging.ERROR, logger="kafkapy.common.tasks"):
        run(main())
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "kafka-flaky" in errors[0].getMessage() and errors[0].exc_info[0] is OSError


def test_every_skips_missed_periods():
    async def main():
        clock = ManualClock(monotonic_ms=0)
        tasks = TaskSupervisor("t", clock)
        calls: asyncio.Queue = asyncio.Queue()
        tasks.every("job", 100, lambda: calls.put_nowait(clock.monotonic_ms()))
        await asyncio.sleep(0)
        clock.advance(350)  # one timer fires (at 100); the task runs after time is at 350
        assert await calls.get() == 350
        # next run is aligned to the fixed rate: 400, not 450
        clock.advance(49)
        clock.advance(1)
        assert await calls.get() == 400
        await tasks.close()
    run(main())


def test_every_rejects_bad_interval():
    async def main():
        with pytest.raises(ValueError):
            TaskSupervisor("t").every("x", 0, lambda: None)
    run(main())


def test_every_with_system_clock():
    async def main():
        tasks = TaskSupervisor("t")
        calls: asyncio.Queue = asyncio.Queue()
        tasks.every("fast", 5, lambda: calls.put_nowait(1))
        for _ in range(3):
            await calls.get()
        await tasks.close()
    run(main())
