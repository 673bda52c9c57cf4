"""Delayed operations and the purgatory that watches them.

A `DelayedOperation` is a request that cannot be answered yet (acks=-1 produce waiting for
the high watermark, fetch waiting for bytes, join-group waiting for members). It holds a
future that the request handler awaits and a timer from the clock; it finishes exactly once,
either when `try_complete()` finds its condition met or when the timer fires and
`result_on_timeout()` builds the timed-out answer.

A `Purgatory` keeps operations in watch lists keyed by what can complete them (a
TopicPartition, a group id...). Code that changes such a thing calls
`check_and_complete(key)`. Everything here is synchronous and runs on the event loop, so a
check and the completion it triggers can never interleave with another one.

Completed operations are dropped from a watch list whenever that list is checked; lists that
are never checked again are swept once enough completed entries have accumulated
(`purge_interval`), so many operations completing elsewhere (e.g. by timeout) never leak.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Generic, Hashable, Iterable, TypeVar

from kafkapy.common.clock import Clock

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


class DelayedOperation:
    """One delayed request. Subclasses implement `try_complete` and `result_on_timeout`.

    `try_complete()` is a plain synchronous check: when the operation can complete it calls
    `self.finish(result)` and returns True; otherwise it returns False. `finish` is safe to
    call any number of times; only the first call counts.
    """

    def __init__(self, clock: Clock, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.expired = False
        self._purgatory: Purgatory[Any] | None = None
        self._timer = clock.call_later(timeout_ms, self._expire)

    # -- subclass API
    def try_complete(self) -> bool:
        raise NotImplementedError

    def result_on_timeout(self) -> Any:
        raise NotImplementedError

    def on_expiration(self) -> None:
        """Hook run once when the operation times out (before its result is built)."""

    # -- completion
    @property
    def is_completed(self) -> bool:
        return self.future.done()

    def finish(self, result: Any) -> bool:
        """Complete with `result`; False if the operation had already finished."""
        if self.future.done():
            return False
        self._timer.cancel()
        self.future.set_result(result)
        purgatory = self._purgatory
        if purgatory is not None:
            purgatory._on_finished(self)
        return True

    def fail(self, exc: BaseException) -> bool:
        """Complete with an exception; False if the operation had already finished."""
        if self.future.done():
            return False
        self._timer.cancel()
        self.future.set_exception(exc)
        purgatory = self._purgatory
        if purgatory is not None:
            purgatory._on_finished(self)
        return True

    def cancel(self) -> bool:
        """Abandon the operation (shutdown): cancel its timer and its future."""
        if self.future.done():
            return False
        self._timer.cancel()
        self.future.cancel()
        purgatory = self._purgatory
        if purgatory is not None:
            purgatory._on_finished(self)
        return True

    def _expire(self) -> None:
        if self.future.done():
            return
        self.expired = True
        purgatory = self._purgatory
        if purgatory is not None:
            purgatory.expired_count += 1
        self.on_expiration()
        if self.future.done():  # the hook may have completed it
            return
        try:
            result = self.result_on_timeout()
        except Exception as exc:
            log.error("Building the timed-out result of %r failed", self, exc_info=True)
            self.fail(exc)
            return
        self.finish(result)


class Purgatory(Generic[K]):
    """Watch lists of delayed operations, keyed by what can complete them."""

    def __init__(self, name: str, purge_interval: int = 1000) -> None:
        self.name = name
        self.purge_interval = purge_interval
        self._watchers: dict[K, list[DelayedOperation]] = {}
        self._watch_entries = 0  # entries across all watch lists, completed ones included
        self._delayed = 0  # operations watched here and not finished
        self.completed_count = 0  # finished by try_complete (immediately or on a check)
        self.expired_count = 0

    # -- metrics
    @property
    def delayed(self) -> int:
        """Operations waiting here (Kafka's NumDelayedOperations)."""
        return self._delayed

    @property
    def watched(self) -> int:
        """Entries in the watch lists, completed ones not yet purged included (PurgatorySize)."""
        return self._watch_entries

    def watched_keys(self) -> int:
        return len(self._watchers)

    def watchers_for(self, key: K) -> int:
        """Live operations watching `key`."""
        return sum(1 for op in self._watchers.get(key, ()) if not op.future.done())

    # -- operations
    def try_complete_else_watch(self, op: DelayedOperation, keys: Iterable[K]) -> bool:
        """Complete `op` now if it can; otherwise watch it under every key. True if completed."""
        if op.future.done():
            return True
        if op.try_complete():
            self.completed_count += 1
            return True
        if op.future.done():  # finished some other way (failed, cancelled)
            return True
        op._purgatory = self
        self._delayed += 1
        watchers = self._watchers
        added = 0
        for key in keys:
            lst = watchers.get(key)
            if lst is None:
                watchers[key] = [op]
            else:
                lst.append(op)
            added += 1
        self._watch_entries += added
        if self._watch_entries - self._delayed > self.purge_interval:
            self.purge_completed()
        return False

    def check_and_complete(self, key: K) -> int:
        """Try to complete the operations watching `key`; returns how many completed."""
        ops = self._watchers.pop(key, None)
        if ops is None:
            return 0
        completed = 0
        remaining: list[DelayedOperation] = []
        for op in ops:
            if op.future.done():
                continue
            if op.try_complete():
                completed += 1
            elif not op.future.done():
                remaining.append(op)
        self._watch_entries -= len(ops) - len(remaining)
        self.completed_count += completed
        if remaining:
            added_meanwhile = self._watchers.get(key)
            if added_meanwhile:  # try_complete of an operation watched this key again
                remaining.extend(added_meanwhile)
            self._watchers[key] = remaining
        return completed

    def purge_completed(self) -> int:
        """Drop finished operations from every watch list; returns how many entries went."""
        removed = 0
        watchers = self._watchers
        for key in list(watchers):
            lst = watchers[key]
            live = [op for op in lst if not op.future.done()]
            if len(live) != len(lst):
                removed += len(lst) - len(live)
                if live:
                    watchers[key] = live
                else:
                    del watchers[key]
        self._watch_entries -= removed
        if removed:
            log.debug("Purgatory %s purged %d completed entries", self.name, removed)
        return removed

    def cancel_all(self) -> int:
        """Shutdown: cancel every waiting operation. Returns how many were cancelled."""
        cancelled = 0
        for lst in list(self._watchers.values()):
            for op in lst:
                if op.cancel():
                    cancelled += 1
        self._watchers.clear()
        self._watch_entries = 0
        return cancelled

    # -- internal
    def _on_finished(self, op: DelayedOperation) -> None:
        self._delayed -= 1
        op._purgatory = None

    def __repr__(self) -> str:
        return f"Purgatory({self.name!r}, delayed={self._delayed}, watched={self._watch_entries})"
