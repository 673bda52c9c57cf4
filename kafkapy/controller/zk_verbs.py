"""The ZooKeeper verbs the controller uses, as one ``Protocol``.

The controller talks to ZooKeeper only through this interface. `zk_adapter.py`
implements it over `kafkapy.zk` (the real ensemble); unit tests implement it in
memory. Every write takes ``epoch_zk_version`` — the version of `/controller_epoch`
this controller obtained when elected — and fails with
:class:`kafkapy.zk.errors.ControllerMovedError` when another controller bumped it.

Watches are one-shot, payload-less callbacks run on the event loop: a read that
takes ``watch=cb`` arms a watch that calls ``cb()`` once on the next change.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller.context import BrokerInfo, ControllerContext, ReplicaAssignment

__all__ = ["Watch", "TopicAssignment", "UpdateLeaderAndIsrResult", "ControllerZk", "read_partition_states"]

Watch = Callable[[], None]


@dataclass(frozen=True, slots=True)
class TopicAssignment:
    topic: str
    topic_id: str | None
    partitions: Mapping[int, ReplicaAssignment]


@dataclass(frozen=True, slots=True)
class UpdateLeaderAndIsrResult:
    """Per partition: the written state (with its new zk_version) or the exception;
    plus the partitions that lost a version race and must be re-read and retried."""
    finished: Mapping[TopicPartition, LeaderAndIsr | Exception]
    to_retry: frozenset[TopicPartition]


class ControllerZk(Protocol):
    # ---- election ------------------------------------------------------------------------
    async def register_controller_and_increment_epoch(self, broker_id: int) -> tuple[int, int]:
        """The election multi: create `/controller`, bump `/controller_epoch`.
        Returns (epoch, epoch_zk_version); ControllerMovedError when another broker won."""

    async def get_controller_id(self, watch: Watch | None = None) -> int | None:
        """Read `/controller` (arming an exists/data watch); None when absent."""

    async def delete_controller(self, epoch_zk_version: int) -> None: ...

    # ---- brokers -------------------------------------------------------------------------
    async def get_all_brokers(self, watch: Watch | None = None) -> list[BrokerInfo]:
        """Every registered broker with its epoch (czxid); the watch is on the children."""

    async def get_broker(self, broker_id: int, watch: Watch | None = None) -> BrokerInfo | None: ...

    # ---- topics --------------------------------------------------------------------------
    async def get_all_topics(self, watch: Watch | None = None) -> set[str]: ...

    async def get_topic_assignments(self, topics: Iterable[str],
                                    watch_for: Callable[[str], Watch] | None = None
                                    ) -> dict[str, TopicAssignment]:
        """Assignments of existing topics (missing ones are absent), data watch per topic."""

    async def set_topic_assignment(self, topic: str, topic_id: str | None,
                                   partitions: Mapping[int, ReplicaAssignment], epoch_zk_version: int) -> None: ...

    async def get_topic_config(self, topic: str) -> dict[str, str]: ...

    async def get_partition_states(self, partitions: Iterable[TopicPartition]
                                   ) -> dict[TopicPartition, LeaderAndIsr]:
        """State znodes that exist; `zk_version` is the znode's data version."""

    async def create_partition_states(self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
                                      ) -> dict[TopicPartition, LeaderAndIsr | Exception]:
        """Create `partitions/<p>/state` (and parents); the result has zk_version 0."""

    async def update_leader_and_isr(self, states: Mapping[TopicPartition, LeaderAndIsr], epoch_zk_version: int
                                    ) -> UpdateLeaderAndIsrResult:
        """Conditional setData of each state znode on its `zk_version`."""

    async def delete_topic(self, topic: str, epoch_zk_version: int) -> None:
        """Remove `/brokers/topics/<t>` recursively and `/config/topics/<t>`."""

    # ---- admin / notifications -------------------------------------------------------
    async def get_topic_deletions(self, watch: Watch | None = None) -> set[str]: ...

    async def delete_topic_deletions(self, topics: Iterable[str], epoch_zk_version: int) -> None: ...

    async def get_isr_change_notifications(self, watch: Watch | None = None) -> list[str]:
        """Sorted sequence numbers of `/isr_change_notification` children."""

    async def get_partitions_from_isr_change_notifications(self, seqs: Iterable[str]) -> set[TopicPartition]: ...

    async def delete_isr_change_notifications(self, seqs: Iterable[str], epoch_zk_version: int) -> None: ...

    async def get_partition_reassignment(self, watch: Watch | None = None
                                         ) -> dict[TopicPartition, tuple[int, ...]] | None:
        """`/admin/reassign_partitions` content, None when absent (exists watch either way)."""

    async def set_partition_reassignment(self, reassignment: Mapping[TopicPartition, tuple[int, ...]],
                                         epoch_zk_version: int) -> None:
        """Rewrite `/admin/reassign_partitions`; an empty mapping deletes it."""

    async def get_preferred_replica_election(self, watch: Watch | None = None) -> set[TopicPartition] | None: ...

    async def delete_preferred_replica_election(self, epoch_zk_version: int) -> None: ...

    async def delete_log_dir_event_notifications(self, epoch_zk_version: int,
                                                 seqs: Iterable[str] | None = None) -> None:
        """Delete the given `/log_dir_event_notification` children (all when `seqs` is None)."""

    async def get_log_dir_event_notifications(self, watch: Watch | None = None) -> list[str]: ...

    async def get_broker_ids_from_log_dir_events(self, seqs: Iterable[str]) -> list[int]: ...

    async def watch_partition_state(self, partition: TopicPartition, watch: Watch) -> None:
        """Arm a data watch on the partition's state znode (reassignment progress, IBP < 2.7-IV2)."""

    async def setup_feature_znode(self) -> None:
        """Failover step 1: create `/feature` (enabled) or enable it (§2.15)."""


async def read_partition_states(zk: ControllerZk, ctx: ControllerContext, partitions: list[TopicPartition],
                                fresh: bool) -> dict[TopicPartition, LeaderAndIsr]:
    """Leader and ISR of `partitions` to base a conditional write on. Not `fresh`: the cached
    state (with its zk_version) where there is one, ZooKeeper for the rest; every write is
    conditional on that version, so a stale entry only loses the race and comes back for a
    `fresh` read. Saves a read per partition in failovers and broker failures (thousands of
    ZooKeeper requests at 10,000 partitions)."""
    if fresh:
        return await zk.get_partition_states(partitions)
    cached = ctx.partition_leadership_info
    states = {tp: cached[tp] for tp in partitions if tp in cached}
    missing = [tp for tp in partitions if tp not in states]
    if missing:
        states.update(await zk.get_partition_states(missing))
    return states
