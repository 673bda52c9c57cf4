"""Delayed rebalance operations of the group coordinator (clock-driven, finish once).

* `DelayedJoin`: the rebalance waits until every known member has rejoined (checked by
  `try_complete` after each JoinGroup or departure) or the group's rebalance timeout passes.
* `InitialDelayedJoin`: the first rebalance of an empty group waits
  ``group.initial.rebalance.delay.ms`` and again, while new members keep arriving, up to the
  rebalance timeout, so that a group starting up does one rebalance instead of many.

Both call ``complete_join(group)`` exactly once (unless cancelled).
"""
from __future__ import annotations

from typing import Any, Callable

from kafkapy.common.clock import Clock
from kafkapy.coordinator.group.group_metadata import GroupMetadata


class DelayedJoin:
    """Completes when all members rejoined, or at the rebalance timeout."""

    def __init__(self, clock: Clock, group: GroupMetadata, timeout_ms: int,
                 complete_join: Callable[[GroupMetadata], None]) -> None:
        self.clock = clock
        self.group = group
        self.timeout_ms = timeout_ms
        self._complete_join = complete_join
        self.completed = False
        self._timer: Any = clock.call_later(timeout_ms, self._expire)

    def try_complete(self) -> bool:
        if self.group.has_all_members_joined():
            return self.force_complete()
        return False

    def force_complete(self) -> bool:
        if self.completed:
            return False
        self.completed = True
        self._timer.cancel()
        self._complete_join(self.group)
        return True

    def cancel(self) -> None:
        self.completed = True
        self._timer.cancel()

    def _expire(self) -> None:
        self.force_complete()


class InitialDelayedJoin(DelayedJoin):
    """The delayed first rebalance of an Empty group; only time completes it."""

    def __init__(self, clock: Clock, group: GroupMetadata, delay_ms: int, remaining_ms: int, configured_delay_ms: int,
                 complete_join: Callable[[GroupMetadata], None]) -> None:
        self.remaining_ms = remaining_ms
        self.configured_delay_ms = configured_delay_ms
        super().__init__(clock, group, delay_ms, complete_join)

    def try_complete(self) -> bool:
        return False

    def _expire(self) -> None:
        if self.completed:
            return
        group = self.group
        if group.new_member_added and self.remaining_ms > 0:
            self.completed = True
            group.new_member_added = False
            delay = min(self.configured_delay_ms, self.remaining_ms)
            remaining = max(self.remaining_ms - delay, 0)
            group.delayed_join = InitialDelayedJoin(self.clock, group, delay, remaining, self.configured_delay_ms,
                                                    self._complete_join)
            return
        self.force_complete()


__all__ = ["DelayedJoin", "InitialDelayedJoin"]
