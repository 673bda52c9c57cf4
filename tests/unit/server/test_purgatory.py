"""DelayedOperation and Purgatory, driven by ManualClock."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.common.clock import ManualClock
from kafkapy.server.purgatory import DelayedOperation, Purgatory


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro_fn(), 10)

    return asyncio.run(bounded())


class Counter:
    """A shared condition: operations wait until `value` reaches their target."""

    def __init__(self) -> None:
        self.value = 0


class DelayedUntil(DelayedOperation):
    def __init__(self, clock: ManualClock, timeout_ms: int, counter: Counter, target: int) -> None:
        super().__init__(clock, timeout_ms)
        self.counter = counter
        self.target = target
        self.checks = 0
        self.expirations = 0

    def try_complete(self) -> bool:
        self.checks += 1
        if self.counter.value >= self.target:
            return self.finish(("done", self.counter.value))
        return False

    def result_on_timeout(self) -> Any:
        return ("timeout", self.counter.value)

    def on_expiration(self) -> None:
        self.expirations += 1


def test_completes_immediately_without_watching() -> None:
    async def main() -> None:
        clock = ManualClock()
        counter = Counter()
        counter.value = 5
        p: Purgatory[str] = Purgatory("produce")
        op = DelayedUntil(clock, 100, counter, 3)
        assert p.try_complete_else_watch(op, ["a", "b"])
        assert await op.future == ("done", 5)
        assert p.delayed == 0 and p.watched == 0 and p.completed_count == 1
        assert clock.pending == 0  # the timer was cancelled

    run(main)


def test_check_and_complete_completes_watchers_of_that_key_only() -> None:
    async def main() -> None:
        clock = ManualClock()
        counter = Counter()
        p: Purgatory[str] = Purgatory("fetch")
        ops = [DelayedUntil(clock, 1000, counter, t) for t in (1, 2, 3)]
        assert not p.try_complete_else_watch(ops[0], ["a"])
        assert not p.try_complete_else_watch(ops[1], ["a", "b"])
        assert not p.try_complete_else_watch(ops[2], ["b"])
        assert p.delayed == 3 and p.watched == 4 and p.watchers_for("a") == 2
        counter.value = 2
        assert p.check_and_complete("a") == 2
        assert ops[0].future.result() == ("done", 2) and ops[1].future.result() == ("done", 2)
        assert not ops[2].is_completed
        assert p.delayed == 1 and p.watchers_for("a") == 0
        # ops[1] still sits (completed) in b's list until b is checked or purged.
        assert p.check_and_complete("b") == 0
        assert p.watched == 1 and p.watchers_for("b") == 1
        assert p.check_and_complete("nobody") == 0

    run(main)


def test_expiry_by_the_clock_builds_the_timed_out_result() -> None:
    async def main() -> None:
        clock = ManualClock()
        counter = Counter()
        p: Purgatory[str] = Purgatory("produce")
        op = DelayedUntil(clock, 500, counter, 10)
        assert not p.try_complete_else_watch(op, ["tp"])
        clock.advance(499)
        assert not op.is_completed
        counter.value = 3
        clock.advance(1)
        assert op.future.result() == ("timeout", 3)
        assert op.expired and op.expirations == 1
        assert p.expired_count == 1 and p.delayed == 0
        # A later check neither completes it again nor counts it.
        counter.value = 10
        assert p.check_and_complete("tp") == 0
        assert p.watched == 0 and p.completed_count == 0

    run(main)


def test_finish_once_when_completion_and_timeout_meet() -> None:
    async def main() -> None:
        clock = ManualClock()
        counter = Counter()
        p: Purgatory[str] = Purgatory("produce")
        op = DelayedUntil(clock, 100, counter, 1)
        p.try_complete_else_watch(op, ["k"])
        # The timer fires from inside a completion check of another key: still one result.
        counter.value = 1

        class Racer(DelayedOperation):
            def try_complete(self) -> bool:
                clock.advance(100)  # fires op's timer first
                return self.finish("racer")

            def result_on_timeout(self) -> Any:
                return "racer-timeout"

        racer = Racer(clock, 10_000)
        p.try_complete_else_watch(racer, ["k"])  # completes at once, firing op's timer
        assert op.future.result() == ("timeout", 1) and op.expirations == 1
        assert not op.finish("again") and not op.fail(RuntimeError("x")) and not op.cancel()
        assert op.future.result() == ("timeout", 1)
        assert p.check_and_complete("k") == 0
        assert p.delayed == 0

    run(main)


def test_try_complete_that_rewatches_the_same_key_is_kept() -> None:
    async def main() -> None:
        clock = ManualClock()
        counter = Counter()
        p: Purgatory[str] = Purgatory("x")
        late = DelayedUntil(clock, 1000, counter, 100)

        class Rewatch(DelayedOperation):
            def try_complete(self) -> bool:
                if counter.value == 1:
                    assert not p.try_complete_else_watch(late, ["k"])
                    return self.finish("ok")
                return False

            def result_on_timeout(self) -> Any:
                return "timeout"

        op = Rewatch(clock, 1000)
        assert not p.try_complete_else_watch(op, ["k"])
        counter.value = 1
        assert p.check_and_complete("k") == 1
        assert p.watchers_for("k") == 1 and p.delayed == 1
        counter.value = 100
        assert p.check_and_complete("k") == 1 and late.future.result() == ("done", 100)

    run(main)


def test_completed_operations_do_not_leak_in_unchecked_watch_lists() -> None:
    async def main() -> None:
        clock = ManualClock()
        counter = Counter()
        p: Purgatory[int] = Purgatory("fetch", purge_interval=100)
        for i in range(5000):
            op = DelayedUntil(clock, 10, counter, 1)
            assert not p.try_complete_else_watch(op, [i, -1])
            clock.advance(10)  # expires; lists i and -1 are never checked
            assert op.future.done()
        assert p.delayed == 0 and p.expired_count == 5000
        assert p.watched <= 2 * 100 + 2
        assert p.watched_keys() <= 100 + 1
        p.purge_completed()
        assert p.watched == 0 and p.watched_keys() == 0

    run(main)


def test_cancel_all_on_shutdown() -> None:
    async def main() -> None:
        clock = ManualClock()
        counter = Counter()
        p: Purgatory[str] = Purgatory("x")
        ops = [DelayedUntil(clock, 1000, counter, 9) for _ in range(3)]
        for op in ops:
            p.try_complete_else_watch(op, ["a", "b"])
        assert p.cancel_all() == 3
        assert all(op.future.cancelled() for op in ops)
        assert p.delayed == 0 and p.watched == 0 and clock.pending == 0
        clock.advance(5000)
        assert p.expired_count == 0

    run(main)


def test_timeout_result_failure_fails_the_future() -> None:
    class Broken(DelayedOperation):
        def try_complete(self) -> bool:
            return False

        def result_on_timeout(self) -> Any:
            raise ValueError("cannot build")

    async def main() -> None:
        clock = ManualClock()
        p: Purgatory[str] = Purgatory("x")
        op = Broken(clock, 5)
        p.try_complete_else_watch(op, ["a"])
        clock.advance(5)
        with pytest.raises(ValueError):
            op.future.result()
        assert p.delayed == 0

    run(main)


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(["add", "bump", "tick", "check"]),
                                st.integers(0, 3), st.integers(1, 50)), max_size=60))
def test_model_every_operation_finishes_exactly_once_with_the_right_result(steps: list[tuple[str, int, int]]) -> None:
    async def main() -> None:
        clock = ManualClock()
        counters = [Counter() for _ in range(4)]
        p: Purgatory[int] = Purgatory("model", purge_interval=5)
        ops: list[tuple[DelayedUntil, int, int]] = []  # op, key, deadline
        for action, key, n in steps:
            if action == "add":
                op = DelayedUntil(clock, n, counters[key], counters[key].value + (n % 4))
                ops.append((op, key, clock.monotonic_ms() + n))
                p.try_complete_else_watch(op, [key])
            elif action == "bump":
                counters[key].value += 1
            elif action == "tick":
                clock.advance(n)
            else:
                p.check_and_complete(key)
            for op, k, deadline in ops:
                if op.is_completed:
                    kind, _ = op.future.result()
                    assert (kind == "timeout") == op.expired
                    if kind == "timeout":
                        assert clock.monotonic_ms() >= deadline
                else:
                    assert clock.monotonic_ms() < deadline
        for k in range(4):
            p.check_and_complete(k)
        live = [op for op, _, _ in ops if not op.is_completed]
        assert p.delayed == len(live)
        for op in live:
            assert op.counter.value < op.target  # a satisfied op was always completed by its check
        clock.advance(1000)
        assert p.delayed == 0
        assert all(op.expirations <= 1 for op, _, _ in ops)
        assert p.completed_count + p.expired_count == len(ops)

    run(main)
