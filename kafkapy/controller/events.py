"""Controller events, named as Kafka names them (``ControllerEvent`` subclasses).

Watches, requests and timers never act on controller state themselves: they put
one of these on the controller's queue and the event task processes them one at
a time. Events that answer a caller carry an ``asyncio.Future``.
"""
from __future__ import annotations

import asyncio
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from kafkapy.common.types import LeaderAndIsr, TopicPartition

__all__ = [
    "ControllerState", "ElectionType", "ElectionTrigger", "ControllerEvent",
    "Startup", "ControllerChange", "Reelect", "Expire", "RegisterBrokerAndReelect", "BrokerChange",
    "BrokerModifications", "TopicChange", "PartitionModifications", "TopicDeletion",
    "IsrChangeNotification", "ReplicaLeaderElection", "ZkPartitionReassignment", "ApiPartitionReassignment",
    "ListPartitionReassignments", "PartitionReassignmentIsrChange", "ControlledShutdown",
    "AutoPreferredReplicaLeaderElection", "TopicDeletionStopReplicaResponseReceived",
    "LeaderAndIsrResponseReceived", "ShutdownEventThread", "AlterIsrReceived",
    "LogDirEventNotification", "TopicUncleanLeaderElectionEnable",
]


class ControllerState(enum.Enum):
    """What the controller is busy with (Kafka's ``ControllerState``), for logs and metrics."""
    IDLE = "Idle"
    CONTROLLER_CHANGE = "ControllerChange"
    BROKER_CHANGE = "BrokerChange"
    TOPIC_CHANGE = "TopicChange"
    TOPIC_DELETION = "TopicDeletion"
    ALTER_PARTITION_REASSIGNMENT = "AlterPartitionReassignment"
    AUTO_LEADER_BALANCE = "AutoLeaderBalance"
    MANUAL_LEADER_BALANCE = "ManualLeaderBalance"
    CONTROLLED_SHUTDOWN = "ControlledShutdown"
    ISR_CHANGE = "IsrChange"
    LOG_DIR_CHANGE = "LogDirChange"
    LEADER_AND_ISR_RESPONSE_RECEIVED = "LeaderAndIsrResponseReceived"
    TOPIC_UNCLEAN_LEADER_ELECTION_ENABLE = "TopicUncleanLeaderElectionEnable"
    LIST_PARTITION_REASSIGNMENT = "ListPartitionReassignment"
    BROKER_CHANGE_MODIFICATIONS = "BrokerModifications"


class ElectionType(enum.IntEnum):
    PREFERRED = 0
    UNCLEAN = 1


class ElectionTrigger(enum.Enum):
    ZK_TRIGGERED = "ZkTriggered"
    AUTO_TRIGGERED = "AutoTriggered"
    ADMIN_CLIENT_TRIGGERED = "AdminClientTriggered"


class ControllerEvent:
    state: ControllerState = ControllerState.IDLE
    preempt_on_shutdown: bool = False

    @property
    def name(self) -> str:
        return type(self).__name__

    def preempt(self, error: BaseException) -> None:
        """Answer a waiting caller when the event will never be processed."""


class _CallbackEvent(ControllerEvent):
    future: asyncio.Future | None

    def preempt(self, error: BaseException) -> None:
        if self.future is not None and not self.future.done():
            self.future.set_exception(error)


@dataclass
class Startup(ControllerEvent):
    state = ControllerState.CONTROLLER_CHANGE


@dataclass
class ControllerChange(ControllerEvent):
    state = ControllerState.CONTROLLER_CHANGE


@dataclass
class Reelect(ControllerEvent):
    state = ControllerState.CONTROLLER_CHANGE


@dataclass
class Expire(_CallbackEvent):
    state = ControllerState.CONTROLLER_CHANGE
    future: asyncio.Future | None = None


@dataclass
class RegisterBrokerAndReelect(_CallbackEvent):
    state = ControllerState.CONTROLLER_CHANGE
    future: asyncio.Future | None = None


@dataclass
class BrokerChange(ControllerEvent):
    state = ControllerState.BROKER_CHANGE


@dataclass
class BrokerModifications(ControllerEvent):
    broker_id: int
    state = ControllerState.BROKER_CHANGE_MODIFICATIONS


@dataclass
class TopicChange(ControllerEvent):
    state = ControllerState.TOPIC_CHANGE


@dataclass
class PartitionModifications(ControllerEvent):
    topic: str
    state = ControllerState.TOPIC_CHANGE


@dataclass
class TopicDeletion(ControllerEvent):
    state = ControllerState.TOPIC_DELETION


@dataclass
class IsrChangeNotification(ControllerEvent):
    state = ControllerState.ISR_CHANGE


@dataclass
class LogDirEventNotification(ControllerEvent):
    state = ControllerState.LOG_DIR_CHANGE


@dataclass
class ReplicaLeaderElection(_CallbackEvent):
    """Elect leaders for `partitions` (None: ZK-triggered, read the admin znode)."""
    partitions: frozenset[TopicPartition] | None
    election_type: ElectionType = ElectionType.PREFERRED
    trigger: ElectionTrigger = ElectionTrigger.ZK_TRIGGERED
    future: asyncio.Future | None = None     # -> dict[TopicPartition, ApiError | int (leader)]
    state = ControllerState.MANUAL_LEADER_BALANCE
    preempt_on_shutdown = True


@dataclass
class ZkPartitionReassignment(ControllerEvent):
    state = ControllerState.ALTER_PARTITION_REASSIGNMENT


@dataclass
class ApiPartitionReassignment(_CallbackEvent):
    """target None cancels a reassignment."""
    reassignments: Mapping[TopicPartition, tuple[int, ...] | None]
    future: asyncio.Future | None = None     # -> dict[TopicPartition, ApiError | None]
    state = ControllerState.ALTER_PARTITION_REASSIGNMENT
    preempt_on_shutdown = True


@dataclass
class ListPartitionReassignments(_CallbackEvent):
    partitions: frozenset[TopicPartition] | None
    future: asyncio.Future | None = None
    state = ControllerState.LIST_PARTITION_REASSIGNMENT
    preempt_on_shutdown = True


@dataclass
class PartitionReassignmentIsrChange(ControllerEvent):
    partition: TopicPartition
    state = ControllerState.ALTER_PARTITION_REASSIGNMENT


@dataclass
class ControlledShutdown(_CallbackEvent):
    broker_id: int
    broker_epoch: int
    future: asyncio.Future | None = None     # -> set[TopicPartition]
    state = ControllerState.CONTROLLED_SHUTDOWN
    preempt_on_shutdown = True


@dataclass
class AlterIsrReceived(_CallbackEvent):
    """A partition leader's AlterIsr (KIP-497): new ISRs at `zk_version` = current_isr_version."""
    broker_id: int
    broker_epoch: int
    updates: Mapping[TopicPartition, LeaderAndIsr]
    future: asyncio.Future | None = None     # -> dict[TopicPartition, LeaderAndIsr | ApiError]
    state = ControllerState.ISR_CHANGE
    preempt_on_shutdown = True


@dataclass
class AutoPreferredReplicaLeaderElection(ControllerEvent):
    state = ControllerState.AUTO_LEADER_BALANCE


@dataclass
class TopicDeletionStopReplicaResponseReceived(ControllerEvent):
    replica_id: int
    partition_errors: Mapping[TopicPartition, int] = field(default_factory=dict)
    error_code: int = 0
    state = ControllerState.TOPIC_DELETION


@dataclass
class LeaderAndIsrResponseReceived(ControllerEvent):
    broker_id: int
    partition_errors: Mapping[TopicPartition, int] = field(default_factory=dict)
    error_code: int = 0
    state = ControllerState.LEADER_AND_ISR_RESPONSE_RECEIVED


@dataclass
class TopicUncleanLeaderElectionEnable(ControllerEvent):
    """The topic's unclean.leader.election.enable was switched on dynamically."""
    topic: str
    state = ControllerState.TOPIC_UNCLEAN_LEADER_ELECTION_ENABLE


@dataclass
class ShutdownEventThread(ControllerEvent):
    state = ControllerState.IDLE
