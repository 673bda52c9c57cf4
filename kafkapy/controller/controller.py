"""KafkaController: the ZooKeeper-era cluster controller (Kafka 2.8), §5 of the ZooKeeper reference.

Every broker runs one. The broker that creates the ephemeral `/controller` znode
(bumping `/controller_epoch` in the same multi) is the active controller: it loads
the cluster state, decides leaders and ISRs, writes them to ZooKeeper (every write
fenced by the `/controller_epoch` version) and tells brokers through LeaderAndIsr,
UpdateMetadata and StopReplica. All work happens in one task that processes events
from one queue (`event_manager.py`); ZooKeeper watches, API requests and timers only
enqueue events.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.types import LeaderAndIsr, TopicPartition
from kafkapy.controller import events as ev
from kafkapy.controller.channel_manager import (
    ControllerBrokerRequestBatch, ControllerChannel, ControllerChannelManager, ResponseSummary, tp_key,
)
from kafkapy.controller.context import (
    BrokerInfo, ControllerContext, PartitionReplica, PartitionState, ReplicaAssignment, ReplicaState,
)
from kafkapy.controller.event_manager import ControllerEventManager, ControllerEventQueueClosed
from kafkapy.controller.partition_state_machine import (
    CONTROLLED_SHUTDOWN, OFFLINE, OFFLINE_UNCLEAN, PREFERRED, REASSIGN, PartitionStateMachine,
)
from kafkapy.controller.replica_state_machine import ReplicaStateMachine
from kafkapy.controller.topic_deletion import TopicDeletionManager
from kafkapy.controller.zk_adapter import KafkaZkControllerAdapter
from kafkapy.controller.zk_verbs import ControllerZk
from kafkapy.zk.errors import (
    ConnectionLossError, ControllerMovedError, SessionExpiredError, ZkClientClosedError, ZkTimeoutError,
)

__all__ = ["KafkaController", "PartitionReassignmentState"]

_controller_log = logging.getLogger("kafka.controller")

AUTO_REBALANCE_INITIAL_DELAY_MS = 5000
ZK_RETRY_BACKOFF_MS = 200


class _Prefixed(logging.LoggerAdapter):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.extra['prefix']}{msg}", kwargs


class PartitionReassignmentState:
    """One entry of a ListPartitionReassignments answer."""
    __slots__ = ("replicas", "adding_replicas", "removing_replicas")

    def __init__(self, replicas: tuple[int, ...], adding: tuple[int, ...], removing: tuple[int, ...]):
        self.replicas, self.adding_replicas, self.removing_replicas = replicas, adding, removing

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PartitionReassignmentState) and (
            (self.replicas, self.adding_replicas, self.removing_replicas)
            == (other.replicas, other.adding_replicas, other.removing_replicas))

    def __repr__(self) -> str:
        return (f"PartitionReassignmentState(replicas={self.replicas}, adding={self.adding_replicas}, "
                f"removing={self.removing_replicas})")


def _new_topic_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")


class KafkaController:
    def __init__(self, config: Any, zk: Any, clock: Any, tasks: Any = None,
                 broker_epoch_provider: Callable[[], int] = lambda: -1, *,
                 controller_zk: ControllerZk | None = None, channel: ControllerChannel | None = None,
                 assign_topic_ids: bool | None = None):
        self.config = config
        self.broker_id: int = int(config.broker_id)
        self.clock = clock
        self.tasks = tasks
        self.broker_epoch_provider = broker_epoch_provider
        if controller_zk is None:
            # zookeeper.max.in.flight.requests bounds what the shared session hands to kazoo at once.
            max_in_flight = getattr(config, "zookeeper_max_in_flight_requests", None)
            if max_in_flight is not None and hasattr(zk, "max_in_flight_requests"):
                zk.max_in_flight_requests = int(max_in_flight)
            controller_zk = KafkaZkControllerAdapter(zk)
        self.zk: ControllerZk = controller_zk
        if channel is None:
            channel = ControllerChannelManager(config, tasks=tasks, controller_id=self.broker_id)
        self.channel: ControllerChannel = channel
        if assign_topic_ids is None:       # 2.8: topic ids once inter.broker.protocol.version >= 2.8-IV0
            assign_topic_ids = bool(getattr(config, "uses_topic_id", True))
        self.assign_topic_ids = assign_topic_ids
        self.log = _Prefixed(_controller_log, {"prefix": f"[Controller id={self.broker_id}] "})

        self.context = ControllerContext()
        self.active_controller_id = -1
        self.batch = ControllerBrokerRequestBatch(
            self.broker_id, self.context, self.channel,
            on_stop_replica_response=self._on_stop_replica_response,
            on_leader_and_isr_response=self._on_leader_and_isr_response)
        self.replica_state_machine = ReplicaStateMachine(self.broker_id, self.context, self.zk, self.batch)
        self.partition_state_machine = PartitionStateMachine(
            self.broker_id, self.context, self.zk, self.batch,
            lambda: bool(getattr(self.config, "unclean_leader_election_enable", False)))
        self.topic_deletion_manager = TopicDeletionManager(
            self.broker_id, self.context, self.zk, self.replica_state_machine, self.partition_state_machine,
            bool(getattr(config, "delete_topic_enable", True)), self._send_update_metadata, self.log)
        self.event_manager = ControllerEventManager(self.broker_id, self, tasks)
        self._rebalance_timer: Any = None
        self._session_lost = False
        self._closing = False
        self._zk_reassignments: set[TopicPartition] = set()
        self._topic_watches: dict[str, Callable[[], None]] = {}
        self._broker_watches: dict[int, Callable[[], None]] = {}
        self._isr_watches: dict[TopicPartition, Callable[[], None]] = {}
        self._handlers: dict[type, Callable[[Any], Any]] = {
            ev.Startup: self._process_startup,
            ev.ControllerChange: self._process_controller_change,
            ev.Reelect: self._process_reelect,
            ev.Expire: self._process_expire,
            ev.RegisterBrokerAndReelect: self._process_register_broker_and_reelect,
            ev.BrokerChange: self._process_broker_change,
            ev.BrokerModifications: self._process_broker_modifications,
            ev.TopicChange: self._process_topic_change,
            ev.PartitionModifications: self._process_partition_modifications,
            ev.TopicDeletion: self._process_topic_deletion,
            ev.IsrChangeNotification: self._process_isr_change_notification,
            ev.LogDirEventNotification: self._process_log_dir_event_notification,
            ev.ReplicaLeaderElection: self._process_replica_leader_election,
            ev.ZkPartitionReassignment: self._process_zk_partition_reassignment,
            ev.ApiPartitionReassignment: self._process_api_partition_reassignment,
            ev.ListPartitionReassignments: self._process_list_partition_reassignments,
            ev.PartitionReassignmentIsrChange: self._process_partition_reassignment_isr_change,
            ev.ControlledShutdown: self._process_controlled_shutdown,
            ev.AutoPreferredReplicaLeaderElection: self._process_auto_preferred_replica_leader_election,
            ev.AlterIsrReceived: self._process_alter_isr,
            ev.TopicUncleanLeaderElectionEnable: self._process_topic_unclean_leader_election_enable,
            ev.TopicDeletionStopReplicaResponseReceived: self._process_topic_deletion_stop_replica_response,
            ev.LeaderAndIsrResponseReceived: self._process_leader_and_isr_response,
        }

    # ================================================================ public API
    @property
    def is_active(self) -> bool:
        return self.active_controller_id == self.broker_id

    @property
    def epoch(self) -> int:
        return self.context.epoch

    async def startup(self) -> None:
        """Start the event task, arm the `/controller` watch and run the election (awaited)."""
        self.event_manager.start()
        fut = asyncio.get_running_loop().create_future()
        self.event_manager.put(_Awaited(ev.Startup(), fut))
        await fut

    async def shutdown(self) -> None:
        self._closing = True
        await self.event_manager.close()
        if self.is_active or self.context.live_brokers:
            await self._on_controller_resignation()
        self.active_controller_id = -1
        await self.channel.shutdown()

    async def on_zk_session_lost(self) -> None:
        self._session_lost = True
        fut = asyncio.get_running_loop().create_future()
        self.event_manager.clear_and_put(ev.Expire(fut))
        await fut

    async def on_zk_session_reestablished(self) -> None:
        self._session_lost = False
        fut = asyncio.get_running_loop().create_future()
        self.event_manager.put(ev.RegisterBrokerAndReelect(fut))
        await fut

    async def controlled_shutdown(self, broker_id: int, broker_epoch: int) -> set[TopicPartition]:
        """Move leadership away from `broker_id`; returns the partitions it still leads."""
        fut = asyncio.get_running_loop().create_future()
        self.event_manager.put(ev.ControlledShutdown(broker_id, broker_epoch, fut))
        return await fut

    async def elect_leaders(self, partitions: Iterable[TopicPartition] | None,
                            election_type: ev.ElectionType | int = ev.ElectionType.PREFERRED
                            ) -> dict[TopicPartition, ApiError | None]:
        """ElectLeaders: per partition None (elected) or the error. `None` partitions: all partitions."""
        try:
            election_type = ev.ElectionType(int(election_type))
        except ValueError:
            raise ApiError(ErrorCode.INVALID_REQUEST, f"Unknown election type {election_type}") from None
        fut = asyncio.get_running_loop().create_future()
        self.event_manager.put(ev.ReplicaLeaderElection(
            None if partitions is None else frozenset(partitions), election_type,
            ev.ElectionTrigger.ADMIN_CLIENT_TRIGGERED, fut))
        return await fut

    async def alter_isr(self, broker_id: int, broker_epoch: int, updates: Mapping[TopicPartition, LeaderAndIsr]
                        ) -> dict[TopicPartition, LeaderAndIsr | ApiError]:
        """AlterIsr from a partition leader. Each update carries leader = the requesting broker,
        its leader epoch, the new ISR and `zk_version` = the ISR version it last saw. Answers per
        partition the stored state (with its new zk_version) or the error; raises ApiError
        (NOT_CONTROLLER, STALE_BROKER_EPOCH) for the whole request."""
        fut = asyncio.get_running_loop().create_future()
        self.event_manager.put(ev.AlterIsrReceived(broker_id, broker_epoch, dict(updates), fut))
        return await fut

    def enable_topic_unclean_leader_election(self, topic: str) -> None:
        """Called by the dynamic config handler when a topic's unclean.leader.election.enable becomes
        true: offline partitions of the topic get an election that may pick an out-of-sync replica."""
        if self.is_active:
            self.event_manager.put(ev.TopicUncleanLeaderElectionEnable(topic))

    # ---- gauges (Kafka's KafkaController metrics) -------------------------------------------
    @property
    def active_controller_count(self) -> int:
        return 1 if self.is_active else 0

    @property
    def offline_partitions_count(self) -> int:
        if not self.is_active:
            return 0
        ctx = self.context
        return sum(1 for tp, state in ctx.partition_states.items()
                   if state is PartitionState.OFFLINE and not ctx.is_topic_queued_up_for_deletion(tp.topic))

    @property
    def preferred_replica_imbalance_count(self) -> int:
        if not self.is_active:
            return 0
        ctx = self.context
        count = 0
        for tp, li in ctx.partition_leadership_info.items():
            replicas = ctx.partition_replica_assignment(tp)
            if replicas and li.leader != replicas[0] and not ctx.is_topic_queued_up_for_deletion(tp.topic):
                count += 1
        return count

    @property
    def global_topic_count(self) -> int:
        return len(self.context.all_topics) if self.is_active else 0

    @property
    def global_partition_count(self) -> int:
        return sum(len(p) for p in self.context.partition_assignments.values()) if self.is_active else 0

    async def alter_partition_reassignments(self, reassignments: Mapping[TopicPartition, Iterable[int] | None]
                                            ) -> dict[TopicPartition, ApiError | None]:
        fut = asyncio.get_running_loop().create_future()
        self.event_manager.put(ev.ApiPartitionReassignment(
            {tp: (None if t is None else tuple(t)) for tp, t in reassignments.items()}, fut))
        return await fut

    async def list_partition_reassignments(self, partitions: Iterable[TopicPartition] | None = None
                                           ) -> dict[TopicPartition, PartitionReassignmentState]:
        fut = asyncio.get_running_loop().create_future()
        self.event_manager.put(ev.ListPartitionReassignments(
            None if partitions is None else frozenset(partitions), fut))
        return await fut

    # ================================================================ event processing
    async def process(self, event: ev.ControllerEvent) -> None:
        awaited: asyncio.Future | None = None
        if isinstance(event, _Awaited):
            event, awaited = event.event, event.future
        try:
            await self._process_with_retries(event)
        except ControllerMovedError as e:
            self.log.info("Controller moved to another broker when processing %s: %s", event.name, e)
            await self._maybe_resign()
            self._fail_event(event, ApiError(ErrorCode.NOT_CONTROLLER))
        except ApiError as e:
            self._fail_event(event, e)
        except (SessionExpiredError, ConnectionLossError, ZkTimeoutError, ZkClientClosedError) as e:
            # The session is going or gone: Expire / RegisterBrokerAndReelect rebuild everything.
            self.log.warning("Could not process %s: %s", event.name, e)
            self._fail_event(event, ApiError(ErrorCode.NOT_CONTROLLER, str(e)))
        except Exception as e:
            self.log.error("Error processing event %s", event, exc_info=True)
            self._fail_event(event, e)
        finally:
            if awaited is not None and not awaited.done():
                awaited.set_result(None)
            fut = getattr(event, "future", None)
            if fut is not None and not fut.done() and isinstance(event, (ev.Expire, ev.RegisterBrokerAndReelect)):
                fut.set_result(None)

    async def _process_with_retries(self, event: ev.ControllerEvent) -> None:
        """Run the handler; when ZooKeeper's connection drops mid-event (session still alive),
        wait and run it again, as Kafka's ZooKeeper client retries requests until it reconnects.
        Handlers re-read what they act on and write conditionally, so a rerun is safe."""
        attempt = 0
        while True:
            try:
                await self._handlers[type(event)](event)
                return
            except (ConnectionLossError, ZkTimeoutError) as e:
                if self._session_lost or self._closing:
                    raise
                attempt += 1
                if attempt == 1 or attempt % 20 == 0:
                    self.log.warning("ZooKeeper connection lost while processing %s (%s); retrying", event.name, e)
                await self._await_zk_reconnection()

    async def _await_zk_reconnection(self) -> None:
        """Wait until ZooKeeper is connected again with the same session; SessionExpiredError when
        the session is gone. Without a way to wait (test doubles), back off briefly."""
        wait = getattr(self.zk, "wait_connected", None)
        if wait is None:
            await asyncio.sleep(ZK_RETRY_BACKOFF_MS / 1000)
            return
        await wait()

    def preempt(self, event: ev.ControllerEvent) -> None:
        if isinstance(event, _Awaited):
            if not event.future.done():
                event.future.set_result(None)
            return
        event.preempt(ControllerEventQueueClosed(f"{event.name} was not processed: controller shutting down"))
        fut = getattr(event, "future", None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    @staticmethod
    def _fail_event(event: ev.ControllerEvent, error: BaseException) -> None:
        fut = getattr(event, "future", None)
        if fut is not None and not fut.done():
            fut.set_exception(error)

    @staticmethod
    def _answer(event: ev.ControllerEvent, result: Any) -> None:
        fut = getattr(event, "future", None)
        if fut is not None and not fut.done():
            fut.set_result(result)

    # ---- watch callbacks (run on the loop; they only enqueue) -----------------------
    def _on_controller_znode_change(self) -> None:
        self.event_manager.put(ev.ControllerChange())

    def _on_broker_change(self) -> None:
        self.event_manager.put(ev.BrokerChange())

    def _on_topic_change(self) -> None:
        self.event_manager.put(ev.TopicChange())

    def _on_topic_deletion(self) -> None:
        self.event_manager.put(ev.TopicDeletion())

    def _on_isr_change_notification(self) -> None:
        self.event_manager.put(ev.IsrChangeNotification())

    def _on_log_dir_event_notification(self) -> None:
        self.event_manager.put(ev.LogDirEventNotification())

    def _on_reassign_partitions(self) -> None:
        self.event_manager.put(ev.ZkPartitionReassignment())

    def _on_preferred_replica_election(self) -> None:
        self.event_manager.put(ev.ReplicaLeaderElection(None))

    def _topic_watch(self, topic: str) -> Callable[[], None]:
        watch = self._topic_watches.get(topic)
        if watch is None:
            def watch(topic: str = topic) -> None:
                self.event_manager.put(ev.PartitionModifications(topic))
            self._topic_watches[topic] = watch
        return watch

    def _reassignment_isr_watch(self, tp: TopicPartition) -> Callable[[], None]:
        watch = self._isr_watches.get(tp)
        if watch is None:
            def watch(tp: TopicPartition = tp) -> None:
                self.event_manager.put(ev.PartitionReassignmentIsrChange(tp))
            self._isr_watches[tp] = watch
        return watch

    def _broker_watch(self, broker_id: int) -> Callable[[], None]:
        watch = self._broker_watches.get(broker_id)
        if watch is None:
            def watch(broker_id: int = broker_id) -> None:
                self.event_manager.put(ev.BrokerModifications(broker_id))
            self._broker_watches[broker_id] = watch
        return watch

    def _on_stop_replica_response(self, broker_id: int, summary: ResponseSummary) -> None:
        self.event_manager.put(ev.TopicDeletionStopReplicaResponseReceived(
            broker_id, dict(summary.partition_errors), summary.error_code))

    def _on_leader_and_isr_response(self, broker_id: int, summary: ResponseSummary) -> None:
        if summary.error_code or any(summary.partition_errors.values()):
            self.event_manager.put(ev.LeaderAndIsrResponseReceived(
                broker_id, dict(summary.partition_errors), summary.error_code))

    # ================================================================ election
    async def _process_startup(self, event: ev.Startup) -> None:
        await self._elect()

    async def _process_controller_change(self, event: ev.ControllerEvent) -> None:
        was_active = self.is_active
        controller_id = await self.zk.get_controller_id(watch=self._on_controller_znode_change)
        self.active_controller_id = -1 if controller_id is None else controller_id
        if was_active and not self.is_active:
            await self._on_controller_resignation()
        if controller_id is None:
            await self._elect()

    async def _process_reelect(self, event: ev.Reelect) -> None:
        await self._maybe_resign()
        await self._elect()

    async def _process_expire(self, event: ev.Expire) -> None:
        was_active = self.is_active
        self.active_controller_id = -1
        reset_watches = getattr(self.zk, "reset_watches", None)
        if reset_watches is not None:
            reset_watches()
        if was_active or self.context.live_brokers:
            await self._on_controller_resignation()

    async def _process_register_broker_and_reelect(self, event: ev.RegisterBrokerAndReelect) -> None:
        # The broker re-registered itself in the new session; watches of the old one are gone.
        reset_watches = getattr(self.zk, "reset_watches", None)
        if reset_watches is not None:
            reset_watches()
        await self._elect()

    async def _maybe_resign(self) -> None:
        was_active = self.is_active
        controller_id = await self.zk.get_controller_id(watch=self._on_controller_znode_change)
        self.active_controller_id = -1 if controller_id is None else controller_id
        if was_active and not self.is_active:
            await self._on_controller_resignation()

    async def _elect(self) -> None:
        controller_id = await self.zk.get_controller_id(watch=self._on_controller_znode_change)
        self.active_controller_id = -1 if controller_id is None else controller_id
        if controller_id is not None:
            self.log.debug("Broker %d has been elected as the controller, so stopping the election process.",
                           controller_id)
            return
        try:
            epoch, epoch_zk_version = await self.zk.register_controller_and_increment_epoch(self.broker_id)
            self.context.epoch = epoch
            self.context.epoch_zk_version = epoch_zk_version
            self.active_controller_id = self.broker_id
            self.log.info("%d successfully elected as the controller. Epoch incremented to %d and epoch zk "
                          "version is now %d", self.broker_id, epoch, epoch_zk_version)
            await self._failover_until_done()
        except (SessionExpiredError, ZkClientClosedError):
            # The session is gone: Expire / RegisterBrokerAndReelect resign and elect again.
            raise
        except ControllerMovedError:
            await self._maybe_resign()
            if self.active_controller_id != -1:
                self.log.debug("Broker %d was elected as controller instead of broker %d",
                               self.active_controller_id, self.broker_id)
            else:
                self.log.warning("A controller has been elected but just resigned, this will result in another "
                                 "round of election")
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log.error("Error while electing or becoming controller on broker %d. Trigger controller "
                           "movement immediately", self.broker_id, exc_info=True)
            await self._trigger_controller_move()

    async def _trigger_controller_move(self) -> None:
        controller_id = await self.zk.get_controller_id(watch=self._on_controller_znode_change)
        self.active_controller_id = -1 if controller_id is None else controller_id
        if not self.is_active:
            self.log.warning("Controller has already moved when trying to trigger controller movement")
            return
        epoch_zk_version = self.context.epoch_zk_version
        await self._on_controller_resignation()
        self.active_controller_id = -1
        try:
            await self.zk.delete_controller(epoch_zk_version)
        except ControllerMovedError:
            self.log.warning("Controller has already moved when trying to trigger controller movement")

    # ================================================================ failover / resignation
    async def _failover_until_done(self) -> None:
        """Run the failover; when the ZooKeeper connection drops under it (session alive), wait
        for the reconnection, forget the half-built state and run it again from ZooKeeper (the only
        source of truth), keeping the epoch just won. Only a lost epoch or session stops it."""
        attempt = 0
        while True:
            try:
                await self._on_controller_failover()
                return
            except (ConnectionLossError, ZkTimeoutError) as e:
                if self._session_lost or self._closing:
                    raise
                attempt += 1
                self.log.warning("ZooKeeper connection lost during the controller failover (%s); retrying it "
                                 "after the reconnection (attempt %d)", e, attempt)
                await self._await_zk_reconnection()
                self._reset_for_failover_retry()

    def _reset_for_failover_retry(self) -> None:
        """Local part of a resignation: everything the failover builds, but not the epoch (nor the
        watches already armed: a retried failover must not arm them twice)."""
        epoch, epoch_zk_version = self.context.epoch, self.context.epoch_zk_version
        self._release_controller_state()
        self.context.epoch, self.context.epoch_zk_version = epoch, epoch_zk_version

    def _release_controller_state(self) -> None:
        """Stop what the failover started: timers, state machines, broker channels, pending requests."""
        if self._rebalance_timer is not None:
            self._rebalance_timer.cancel()
            self._rebalance_timer = None
        self.topic_deletion_manager.reset()
        self.replica_state_machine.shutdown()
        self.partition_state_machine.shutdown()
        for broker_id in list(self.context.live_brokers):
            self.channel.remove_broker(broker_id)
        self.batch.clear()
        self._zk_reassignments.clear()
        self.context.reset()

    async def _on_controller_failover(self) -> None:
        zk, ctx = self.zk, self.context
        self.log.info("Setting up feature ZNode")
        await zk.setup_feature_znode()
        self.log.info("Registering handlers")
        # The reads below arm the child / exists watches (§5.1 step 2).
        seqs = await zk.get_isr_change_notifications(watch=self._on_isr_change_notification)
        log_dir_seqs = await zk.get_log_dir_event_notifications(watch=self._on_log_dir_event_notification)
        self.log.info("Deleting log dir event notifications")
        if log_dir_seqs:
            await zk.delete_log_dir_event_notifications(ctx.epoch_zk_version, log_dir_seqs)
        self.log.info("Deleting isr change notifications")
        if seqs:
            await zk.delete_isr_change_notifications(seqs, ctx.epoch_zk_version)
        self.log.info("Initializing controller context")
        await self._initialize_controller_context()
        self.log.info("Fetching topic deletions in progress")
        topics_to_delete, ineligible = await self._fetch_topic_deletions_in_progress()
        self.log.info("Initializing topic deletion manager")
        await self.topic_deletion_manager.init(topics_to_delete, ineligible)
        self.log.info("Sending update metadata request")
        self._send_update_metadata(ctx.live_or_shutting_down_broker_ids, [])
        await self.replica_state_machine.startup()
        await self.partition_state_machine.startup()
        self.log.info("Ready to serve as the new controller with epoch %d", ctx.epoch)
        await self._initialize_partition_reassignments()
        await self.topic_deletion_manager.try_topic_deletion()
        pending = await zk.get_preferred_replica_election(watch=self._on_preferred_replica_election)
        if pending:
            await self._on_preferred_replica_election_pending(pending, ev.ElectionTrigger.ZK_TRIGGERED)
        self.log.info("Starting the controller scheduler")
        if getattr(self.config, "auto_leader_rebalance_enable", True):
            self._schedule_auto_leader_rebalance(AUTO_REBALANCE_INITIAL_DELAY_MS)

    async def _initialize_controller_context(self) -> None:
        zk, ctx = self.zk, self.context
        brokers = await zk.get_all_brokers(watch=self._on_broker_change)
        ctx.add_live_brokers(brokers)
        for b in brokers:
            await zk.get_broker(b.broker_id, watch=self._broker_watch(b.broker_id))
        self.log.info("Initialized broker epochs cache: %s",
                      {b.broker_id: b.epoch for b in sorted(brokers, key=lambda b: b.broker_id)})
        ctx.all_topics = set(await zk.get_all_topics(watch=self._on_topic_change))
        await self._load_assignments(ctx.all_topics)
        await self._update_leader_and_isr_cache(list(ctx.all_partitions()))
        for b in brokers:
            self.channel.add_broker(b)
        self.log.info("Currently active brokers in the cluster: %s", ",".join(map(str, sorted(ctx.live_broker_ids))))
        self.log.info("Currently shutting brokers in the cluster: %s",
                      ",".join(map(str, sorted(ctx.shutting_down_broker_ids))))
        self.log.info("Current list of topics in the cluster: %s", ",".join(sorted(ctx.all_topics)))

    async def _load_assignments(self, topics: Iterable[str]) -> list[TopicPartition]:
        ctx = self.context
        assignments = await self.zk.get_topic_assignments(sorted(topics), watch_for=self._topic_watch)
        loaded: list[TopicPartition] = []
        for topic, ta in assignments.items():
            topic_id = ta.topic_id
            if topic_id is None and self.assign_topic_ids:
                topic_id = _new_topic_id()
                await self.zk.set_topic_assignment(topic, topic_id, ta.partitions, ctx.epoch_zk_version)
            if topic_id is not None:
                ctx.topic_ids[topic] = topic_id
            for p, a in ta.partitions.items():
                tp = TopicPartition(topic, p)
                ctx.update_partition_full_replica_assignment(tp, a)
                loaded.append(tp)
        return loaded

    async def _update_leader_and_isr_cache(self, partitions: list[TopicPartition]) -> None:
        states = await self.zk.get_partition_states(partitions)
        self.context.partition_leadership_info.update(states)

    async def _fetch_topic_deletions_in_progress(self) -> tuple[set[str], set[str]]:
        ctx = self.context
        to_delete = await self.zk.get_topic_deletions(watch=self._on_topic_deletion)
        ineligible = {t for t in to_delete
                      if any(not ctx.is_replica_online(r, tp) for tp in ctx.partitions_for_topic(t)
                             for r in ctx.partition_replica_assignment(tp))}
        ineligible |= {tp.topic for tp in ctx.partitions_being_reassigned if tp.topic in to_delete}
        self.log.info("List of topics to be deleted: %s", ",".join(sorted(to_delete)))
        self.log.info("List of topics ineligible for deletion: %s", ",".join(sorted(ineligible)))
        return set(to_delete), ineligible

    async def _on_controller_resignation(self) -> None:
        self.log.debug("Resigning")
        self._topic_watches.clear()
        self._broker_watches.clear()
        self._isr_watches.clear()
        self._release_controller_state()
        self.log.info("Resigned")

    # ================================================================ broker changes
    def _send_update_metadata(self, broker_ids: Iterable[int], partitions: Iterable[TopicPartition]) -> None:
        self.batch.new_batch()
        self.batch.add_update_metadata_request_for_brokers(broker_ids, partitions)
        self.batch.send_requests_to_brokers(self.context.epoch)

    async def _process_broker_change(self, event: ev.BrokerChange) -> None:
        if not self.is_active:
            return
        ctx = self.context
        current = {b.broker_id: b for b in await self.zk.get_all_brokers(watch=self._on_broker_change)}
        cached = dict(ctx.live_brokers)
        new_ids = set(current) - set(cached)
        dead_ids = set(cached) - set(current)
        bounced_ids = {b for b in set(current) & set(cached) if current[b].epoch > cached[b].epoch}
        self.log.info("Newly added brokers: %s, deleted brokers: %s, bounced brokers: %s, all live brokers: %s",
                      ",".join(map(str, sorted(new_ids))), ",".join(map(str, sorted(dead_ids))),
                      ",".join(map(str, sorted(bounced_ids))), ",".join(map(str, sorted(current))))
        for b in sorted(new_ids):
            self.channel.add_broker(current[b])
        for b in sorted(bounced_ids):
            self.channel.remove_broker(b)
            self.channel.add_broker(current[b])
        for b in sorted(dead_ids):
            self.channel.remove_broker(b)
            self._broker_watches.pop(b, None)
        if new_ids:
            ctx.add_live_brokers(current[b] for b in new_ids)
            await self._on_broker_startup(sorted(new_ids))
        if bounced_ids:
            ctx.remove_live_brokers(bounced_ids)
            await self._on_broker_failure(sorted(bounced_ids))
            ctx.add_live_brokers(current[b] for b in bounced_ids)
            await self._on_broker_startup(sorted(bounced_ids))
        if dead_ids:
            ctx.remove_live_brokers(dead_ids)
            await self._on_broker_failure(sorted(dead_ids))
        for b in sorted(new_ids | bounced_ids):
            await self.zk.get_broker(b, watch=self._broker_watch(b))

    async def _process_broker_modifications(self, event: ev.BrokerModifications) -> None:
        if not self.is_active:
            return
        ctx = self.context
        new = await self.zk.get_broker(event.broker_id, watch=self._broker_watch(event.broker_id))
        old = ctx.live_brokers.get(event.broker_id)
        if new is None or old is None or (new.endpoints == old.endpoints and new.rack == old.rack):
            return
        self.log.info("Updated broker %d endpoints from %s to %s", event.broker_id, old.endpoints, new.endpoints)
        ctx.live_brokers[event.broker_id] = BrokerInfo(new.broker_id, new.endpoints, new.rack, old.epoch)
        self.channel.remove_broker(event.broker_id)
        self.channel.add_broker(ctx.live_brokers[event.broker_id])
        self._send_update_metadata(ctx.live_or_shutting_down_broker_ids, [])

    async def _on_broker_startup(self, new_brokers: list[int]) -> None:
        ctx = self.context
        self.log.info("New broker startup callback for %s", ",".join(map(str, new_brokers)))
        ctx.shutting_down_broker_ids -= set(new_brokers)
        for b in new_brokers:
            ctx.replicas_on_offline_dirs.pop(b, None)
        existing = ctx.live_or_shutting_down_broker_ids - set(new_brokers)
        self._send_update_metadata(existing, [])
        self._send_update_metadata(new_brokers, ctx.partition_leadership_info)
        await self.replica_state_machine.handle_state_changes(ctx.replicas_on_brokers(new_brokers),
                                                              ReplicaState.ONLINE)
        await self.partition_state_machine.trigger_online_partition_state_change()
        for tp in sorted(ctx.partitions_being_reassigned):
            assignment = ctx.partition_full_replica_assignment(tp)
            if any(r in new_brokers for r in assignment.target_replicas):
                await self._on_partition_reassignment(tp, assignment)
        topics_on_new = {pr.partition.topic for pr in ctx.replicas_on_brokers(new_brokers)}
        if topics_on_new & ctx.topics_to_be_deleted:
            self.log.info("Some replicas %s for topics scheduled for deletion %s are on the newly restarted "
                          "brokers %s. Signaling restart of topic deletion for these topics",
                          ",".join(map(str, sorted(pr for pr in ctx.replicas_on_brokers(new_brokers)
                                                   if pr.partition.topic in ctx.topics_to_be_deleted))),
                          ",".join(sorted(topics_on_new & ctx.topics_to_be_deleted)),
                          ",".join(map(str, new_brokers)))
            await self.topic_deletion_manager.resume_deletion_for_topics(topics_on_new)

    async def _on_broker_failure(self, dead_brokers: list[int]) -> None:
        ctx = self.context
        self.log.info("Broker failure callback for %s", ",".join(map(str, dead_brokers)))
        ctx.shutting_down_broker_ids -= set(dead_brokers)
        await self._on_replicas_become_offline(ctx.replicas_on_brokers(dead_brokers))

    async def _on_replicas_become_offline(self, replicas: set[PartitionReplica]) -> None:
        ctx = self.context
        for_deletion = {pr for pr in replicas if ctx.is_topic_queued_up_for_deletion(pr.partition.topic)}
        not_for_deletion = replicas - for_deletion
        offline_leader = sorted(
            (tp for tp, li in ctx.partition_leadership_info.items()
             if not ctx.is_replica_online(li.leader, tp) and not ctx.is_topic_queued_up_for_deletion(tp.topic)),
            key=tp_key)
        await self.partition_state_machine.handle_state_changes(offline_leader, PartitionState.OFFLINE)
        online_results = await self.partition_state_machine.trigger_online_partition_state_change()
        await self.replica_state_machine.handle_state_changes(not_for_deletion, ReplicaState.OFFLINE)
        if for_deletion:
            await self.topic_deletion_manager.fail_replica_deletion(for_deletion)
        if not offline_leader and all(isinstance(r, Exception) for r in online_results.values()):
            # Nothing changed leader or ISR, so no UpdateMetadata went out: tell brokers who is gone.
            self._send_update_metadata(ctx.live_or_shutting_down_broker_ids, [])

    # ================================================================ topics
    async def _process_topic_change(self, event: ev.TopicChange) -> None:
        if not self.is_active:
            return
        ctx = self.context
        topics = await self.zk.get_all_topics(watch=self._on_topic_change)
        new_topics = topics - ctx.all_topics
        deleted = ctx.all_topics - topics
        ctx.all_topics = set(topics)
        for t in deleted:
            ctx.remove_topic(t)
            self._topic_watches.pop(t, None)
        added = await self._load_assignments(new_topics)
        self.log.info("New topics: [%s], deleted topics: [%s], new partition replica assignment [%s]",
                      ",".join(sorted(new_topics)), ",".join(sorted(deleted)),
                      ", ".join(f"{tp} -> {ctx.partition_full_replica_assignment(tp)}" for tp in sorted(added)))
        if added:
            await self._on_new_partition_creation(sorted(added))

    async def _process_partition_modifications(self, event: ev.PartitionModifications) -> None:
        if not self.is_active:
            return
        ctx, topic = self.context, event.topic
        found = await self.zk.get_topic_assignments([topic], watch_for=self._topic_watch)
        ta = found.get(topic)
        if ta is None:
            return
        existing = ctx.partition_assignments.get(topic, {})
        to_add = {p: a for p, a in ta.partitions.items() if p not in existing}
        if ctx.is_topic_queued_up_for_deletion(topic):
            if to_add:
                self.log.warning("Skipping adding partitions %s for topic %s since it is currently being "
                                 "deleted", ",".join(map(str, sorted(to_add))), topic)
                await self.zk.set_topic_assignment(topic, ctx.topic_ids.get(topic), dict(existing),
                                                   ctx.epoch_zk_version)
            return
        if to_add:
            self.log.info("New partitions to be added %s", {str(TopicPartition(topic, p)): a.replicas
                                                            for p, a in sorted(to_add.items())})
            for p, a in to_add.items():
                ctx.update_partition_full_replica_assignment(TopicPartition(topic, p), a)
            await self._on_new_partition_creation([TopicPartition(topic, p) for p in sorted(to_add)])

    async def _on_new_partition_creation(self, partitions: list[TopicPartition]) -> None:
        ctx = self.context
        self.log.info("New partition creation callback for %s", ",".join(map(str, partitions)))
        replicas = {PartitionReplica(tp, r) for tp in partitions for r in ctx.partition_replica_assignment(tp)}
        await self.partition_state_machine.handle_state_changes(partitions, PartitionState.NEW)
        await self.replica_state_machine.handle_state_changes(replicas, ReplicaState.NEW)
        await self.partition_state_machine.handle_state_changes(partitions, PartitionState.ONLINE, OFFLINE)
        await self.replica_state_machine.handle_state_changes(replicas, ReplicaState.ONLINE)

    async def _process_topic_deletion(self, event: ev.TopicDeletion) -> None:
        if not self.is_active:
            return
        ctx = self.context
        to_delete = await self.zk.get_topic_deletions(watch=self._on_topic_deletion)
        non_existent = to_delete - ctx.all_topics
        if non_existent:
            self.log.warning("Ignoring request to delete non-existing topics %s", ",".join(sorted(non_existent)))
            await self.zk.delete_topic_deletions(non_existent, ctx.epoch_zk_version)
        to_delete -= non_existent
        if not to_delete:
            return
        if self.topic_deletion_manager.delete_topic_enable:
            self.log.info("Starting topic deletion for topics %s", ",".join(sorted(to_delete)))
            reassigning = {tp.topic for tp in ctx.partitions_being_reassigned} & to_delete
            self.topic_deletion_manager.mark_topic_ineligible_for_deletion(reassigning,
                                                                           "topic reassignment in progress")
            await self.topic_deletion_manager.enqueue_topics_for_deletion(to_delete)
        else:
            self.log.info("Removing %s since delete topic is disabled", ",".join(sorted(to_delete)))
            await self.zk.delete_topic_deletions(to_delete, ctx.epoch_zk_version)

    async def _process_topic_deletion_stop_replica_response(
            self, event: ev.TopicDeletionStopReplicaResponseReceived) -> None:
        if not self.is_active:
            return
        ctx = self.context
        self.log.debug("Delete topic callback invoked on StopReplica response received from broker %d: "
                       "request error = %d, partition errors = %s", event.replica_id, event.error_code,
                       dict(event.partition_errors))
        deleting = {PartitionReplica(tp, event.replica_id) for tp in event.partition_errors
                    if ctx.replica_states.get(PartitionReplica(tp, event.replica_id))
                    is ReplicaState.DELETION_STARTED}
        if event.error_code:
            failed = deleting
        else:
            failed = {pr for pr in deleting if event.partition_errors.get(pr.partition, 0)}
        if failed:
            await self.topic_deletion_manager.fail_replica_deletion(failed)
        succeeded = deleting - failed
        if succeeded:
            await self.topic_deletion_manager.complete_replica_deletion(succeeded)

    async def _process_leader_and_isr_response(self, event: ev.LeaderAndIsrResponseReceived) -> None:
        if not self.is_active:
            return
        ctx = self.context
        if event.error_code:
            self.log.error("Received error %d in LeaderAndIsr response from broker %d", event.error_code,
                           event.broker_id)
            return
        in_failed_dirs = {tp for tp, code in event.partition_errors.items() if code == ErrorCode.KAFKA_STORAGE_ERROR}
        known = ctx.replicas_on_offline_dirs.get(event.broker_id, set())
        offline = {PartitionReplica(tp, event.broker_id) for tp in in_failed_dirs - known
                   if tp in ctx.partition_leadership_info}
        if in_failed_dirs:
            ctx.replicas_on_offline_dirs[event.broker_id] = known | in_failed_dirs
        if offline:
            self.log.warning("Replicas %s on broker %d are offline (storage error)",
                             ",".join(map(str, sorted(offline))), event.broker_id)
            await self._on_replicas_become_offline(offline)

    # ================================================================ ISR changes
    async def _process_isr_change_notification(self, event: ev.IsrChangeNotification) -> None:
        if not self.is_active:
            return
        ctx = self.context
        seqs = await self.zk.get_isr_change_notifications(watch=self._on_isr_change_notification)
        if not seqs:
            return
        try:
            partitions = await self.zk.get_partitions_from_isr_change_notifications(seqs)
            partitions = {tp for tp in partitions if tp.topic in ctx.partition_assignments}
            if partitions:
                await self._update_leader_and_isr_cache(sorted(partitions))
                self.log.debug("Sending MetadataRequest to Brokers: %s for TopicPartitions: %s",
                               sorted(ctx.live_or_shutting_down_broker_ids), sorted(partitions))
                self._send_update_metadata(ctx.live_or_shutting_down_broker_ids, sorted(partitions))
                for tp in sorted(partitions & ctx.partitions_being_reassigned):
                    await self._maybe_complete_reassignment(tp)
        finally:
            await self.zk.delete_isr_change_notifications(seqs, ctx.epoch_zk_version)

    async def _process_alter_isr(self, event: ev.AlterIsrReceived) -> None:
        if not self.is_active:
            raise ApiError(ErrorCode.NOT_CONTROLLER)
        ctx = self.context
        if event.broker_id not in ctx.live_brokers:
            self.log.info("Ignoring AlterIsr due to unknown broker %d", event.broker_id)
            raise ApiError(ErrorCode.STALE_BROKER_EPOCH)
        if ctx.broker_epoch(event.broker_id) != event.broker_epoch:
            self.log.info("Ignoring AlterIsr due to stale broker epoch %d for broker %d", event.broker_epoch,
                          event.broker_id)
            raise ApiError(ErrorCode.STALE_BROKER_EPOCH)
        results: dict[TopicPartition, LeaderAndIsr | ApiError] = {}
        to_write: dict[TopicPartition, LeaderAndIsr] = {}
        for tp, new in event.updates.items():
            current = ctx.partition_leadership_info.get(tp)
            if current is None:
                results[tp] = ApiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            elif new.leader_epoch < current.leader_epoch:
                results[tp] = ApiError(ErrorCode.FENCED_LEADER_EPOCH)
            elif (new.leader, new.leader_epoch, tuple(new.isr)) == (current.leader, current.leader_epoch, current.isr):
                results[tp] = current
            else:
                to_write[tp] = LeaderAndIsr(new.leader, new.leader_epoch, tuple(new.isr), ctx.epoch, new.zk_version)
        written: list[TopicPartition] = []
        if to_write:
            outcome = await self.zk.update_leader_and_isr(to_write, ctx.epoch_zk_version)
            for tp, got in outcome.finished.items():
                if isinstance(got, LeaderAndIsr):
                    ctx.partition_leadership_info[tp] = got
                    results[tp] = got
                    written.append(tp)
                else:
                    results[tp] = got if isinstance(got, ApiError) else ApiError(ErrorCode.UNKNOWN_SERVER_ERROR,
                                                                                str(got))
            for tp in outcome.to_retry:
                results[tp] = ApiError(ErrorCode.INVALID_UPDATE_VERSION)
        self._answer(event, results)
        if written:
            self.log.debug("New ISRs from broker %d: %s", event.broker_id,
                           {str(tp): list(ctx.partition_leadership_info[tp].isr) for tp in sorted(written)})
            self._send_update_metadata(ctx.live_or_shutting_down_broker_ids, sorted(written))
            for tp in sorted(set(written) & ctx.partitions_being_reassigned):
                await self._maybe_complete_reassignment(tp)

    async def _process_log_dir_event_notification(self, event: ev.LogDirEventNotification) -> None:
        """§5.3: re-send LeaderAndIsr for every replica of the reporting brokers; those in a failed
        directory answer KAFKA_STORAGE_ERROR and are then taken offline."""
        if not self.is_active:
            return
        ctx = self.context
        seqs = await self.zk.get_log_dir_event_notifications(watch=self._on_log_dir_event_notification)
        if not seqs:
            return
        try:
            broker_ids = sorted(set(await self.zk.get_broker_ids_from_log_dir_events(seqs)))
            live = [b for b in broker_ids if b in ctx.live_brokers]
            self.log.info("Handling log directory failure for brokers %s", ",".join(map(str, live)))
            await self.replica_state_machine.handle_state_changes(
                {pr for pr in ctx.replicas_on_brokers(live) if pr.partition in ctx.partition_leadership_info},
                ReplicaState.ONLINE)
        finally:
            await self.zk.delete_log_dir_event_notifications(ctx.epoch_zk_version, seqs)

    async def _process_topic_unclean_leader_election_enable(self, event: ev.TopicUncleanLeaderElectionEnable) -> None:
        if not self.is_active:
            return
        await self.partition_state_machine.trigger_online_partition_state_change(event.topic)

    # ================================================================ leader elections
    async def _on_preferred_replica_election_pending(self, partitions: set[TopicPartition],
                                                     trigger: ev.ElectionTrigger) -> None:
        await self._elect_replica_leaders(partitions, ev.ElectionType.PREFERRED, trigger)

    async def _process_replica_leader_election(self, event: ev.ReplicaLeaderElection) -> None:
        if not self.is_active:
            raise ApiError(ErrorCode.NOT_CONTROLLER)
        partitions = event.partitions
        if event.trigger is ev.ElectionTrigger.ZK_TRIGGERED:
            pending = await self.zk.get_preferred_replica_election(watch=self._on_preferred_replica_election)
            if pending is None:          # the watch fired for the deletion
                self._answer(event, {})
                return
            partitions = frozenset(pending)
        elif partitions is None:
            partitions = frozenset(self.context.all_partitions())
        results = await self._elect_replica_leaders(set(partitions), event.election_type, event.trigger)
        self._answer(event, results)

    async def _elect_replica_leaders(self, partitions: set[TopicPartition], election_type: ev.ElectionType,
                                     trigger: ev.ElectionTrigger) -> dict[TopicPartition, ApiError | None]:
        ctx = self.context
        results: dict[TopicPartition, ApiError | None] = {}
        try:
            valid: list[TopicPartition] = []
            for tp in sorted(partitions):
                li = ctx.partition_leadership_info.get(tp)
                assignment = ctx.partition_replica_assignment(tp)
                if tp.topic not in ctx.partition_assignments or not assignment:
                    results[tp] = ApiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                                           f"The partition {tp} does not exist.")
                elif ctx.is_topic_queued_up_for_deletion(tp.topic):
                    results[tp] = ApiError(ErrorCode.INVALID_TOPIC_EXCEPTION,
                                           f"Deletion of topic {tp.topic} is in progress")
                elif li is None:
                    results[tp] = ApiError(ErrorCode.LEADER_NOT_AVAILABLE, f"No leadership information for {tp}")
                elif election_type is ev.ElectionType.PREFERRED and li.leader == assignment[0]:
                    results[tp] = ApiError(ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic "
                                           "partition")
                elif election_type is ev.ElectionType.UNCLEAN and ctx.is_replica_online(li.leader, tp):
                    results[tp] = ApiError(ErrorCode.ELECTION_NOT_NEEDED, "Leader election not needed for topic "
                                           "partition")
                else:
                    valid.append(tp)
            if valid:
                if trigger is not ev.ElectionTrigger.AUTO_TRIGGERED:
                    self.log.info("Starting replica leader election (%s) for partitions %s triggered by %s",
                                  election_type.name, ",".join(map(str, valid)), trigger.value)
                strategy = PREFERRED if election_type is ev.ElectionType.PREFERRED else OFFLINE_UNCLEAN
                outcome = await self.partition_state_machine.handle_state_changes(
                    valid, PartitionState.ONLINE, strategy)
                code = (ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE if election_type is ev.ElectionType.PREFERRED
                        else ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE)
                for tp in valid:
                    o = outcome.get(tp)
                    if isinstance(o, LeaderAndIsr):
                        results[tp] = None
                    else:
                        results[tp] = ApiError(code, f"Failed to elect leader for partition {tp}: {o}")
        finally:
            if trigger is ev.ElectionTrigger.ZK_TRIGGERED:
                await self.zk.delete_preferred_replica_election(ctx.epoch_zk_version)
        return results

    # ---- auto leader rebalance -----------------------------------------------------------
    def _schedule_auto_leader_rebalance(self, delay_ms: int) -> None:
        if self._rebalance_timer is not None:
            self._rebalance_timer.cancel()
        self._rebalance_timer = self.clock.call_later(
            delay_ms, lambda: self.event_manager.put(ev.AutoPreferredReplicaLeaderElection()))

    async def _process_auto_preferred_replica_leader_election(
            self, event: ev.AutoPreferredReplicaLeaderElection) -> None:
        if not self.is_active:
            return
        try:
            await self._check_and_trigger_auto_leader_rebalance()
        finally:
            interval_s = int(getattr(self.config, "leader_imbalance_check_interval_seconds", 300))
            self._schedule_auto_leader_rebalance(interval_s * 1000)

    async def _check_and_trigger_auto_leader_rebalance(self) -> None:
        ctx = self.context
        self.log.debug("Checking need to trigger auto leader balancing")
        by_preferred: dict[int, list[TopicPartition]] = {}
        for tp in ctx.all_partitions():
            if ctx.is_topic_queued_up_for_deletion(tp.topic):
                continue
            replicas = ctx.partition_replica_assignment(tp)
            if replicas:
                by_preferred.setdefault(replicas[0], []).append(tp)
        pct = float(getattr(self.config, "leader_imbalance_per_broker_percentage", 10))
        for broker, tps in sorted(by_preferred.items()):
            not_led = [tp for tp in tps if tp in ctx.partition_leadership_info
                       and ctx.partition_leadership_info[tp].leader != broker]
            ratio = len(not_led) / len(tps)
            self.log.debug("Leader imbalance ratio for broker %d is %f", broker, ratio)
            if ratio > pct / 100.0:
                candidates = {tp for tp in not_led
                              if not ctx.partitions_being_reassigned
                              and not ctx.is_topic_queued_up_for_deletion(tp.topic)
                              and broker in ctx.live_broker_ids
                              and broker in ctx.partition_leadership_info[tp].isr}
                if candidates:
                    await self._elect_replica_leaders(candidates, ev.ElectionType.PREFERRED,
                                                      ev.ElectionTrigger.AUTO_TRIGGERED)

    # ================================================================ controlled shutdown
    async def _process_controlled_shutdown(self, event: ev.ControlledShutdown) -> None:
        result = await self._do_controlled_shutdown(event.broker_id, event.broker_epoch)
        self._answer(event, result)

    async def _do_controlled_shutdown(self, broker_id: int, broker_epoch: int) -> set[TopicPartition]:
        ctx = self.context
        if not self.is_active:
            raise ApiError(ErrorCode.NOT_CONTROLLER, "Controller moved to another broker. Aborting controlled "
                                                     "shutdown")
        cached_epoch = ctx.broker_epoch(broker_id)
        if broker_epoch != -1 and broker_id in ctx.live_brokers and broker_epoch < cached_epoch:
            self.log.info("Ignoring controlled shutdown request from broker %d since its epoch %d is older than "
                          "the current epoch %d", broker_id, broker_epoch, cached_epoch)
            raise ApiError(ErrorCode.STALE_BROKER_EPOCH, f"Received controlled shutdown request from an old "
                                                         f"broker epoch {broker_epoch} for broker {broker_id}.")
        self.log.info("Shutting down broker %d", broker_id)
        if broker_id not in ctx.live_or_shutting_down_broker_ids:
            raise ApiError(ErrorCode.BROKER_NOT_AVAILABLE, f"Broker id {broker_id} does not exist.")
        ctx.shutting_down_broker_ids.add(broker_id)
        self.log.debug("All shutting down brokers: %s", ",".join(map(str, sorted(ctx.shutting_down_broker_ids))))
        self.log.debug("Live brokers: %s", ",".join(map(str, sorted(ctx.live_broker_ids))))
        to_act_on = sorted(tp for tp in ctx.partitions_on_broker(broker_id)
                           if len(ctx.partition_replica_assignment(tp)) > 1
                           and tp in ctx.partition_leadership_info
                           and not ctx.is_topic_queued_up_for_deletion(tp.topic))
        led = [tp for tp in to_act_on if ctx.partition_leadership_info[tp].leader == broker_id]
        followed = [tp for tp in to_act_on if ctx.partition_leadership_info[tp].leader != broker_id]
        await self.partition_state_machine.handle_state_changes(led, PartitionState.ONLINE, CONTROLLED_SHUTDOWN)
        if followed:
            self.batch.new_batch()
            for tp in followed:
                self.batch.add_stop_replica_request_for_brokers([broker_id], tp, delete_partition=False)
            self.batch.send_requests_to_brokers(ctx.epoch)
            await self.replica_state_machine.handle_state_changes(
                {PartitionReplica(tp, broker_id) for tp in followed}, ReplicaState.OFFLINE)
        remaining = {tp for tp in ctx.partitions_led_by_broker(broker_id)
                     if len(ctx.partition_replica_assignment(tp)) > 1
                     and not ctx.is_topic_queued_up_for_deletion(tp.topic)}
        self.log.debug("Broker %d leaders %s", broker_id, ",".join(map(str, sorted(remaining))))
        return remaining

    # ================================================================ reassignment
    async def _initialize_partition_reassignments(self) -> None:
        ctx = self.context
        zk_pending = await self.zk.get_partition_reassignment(watch=self._on_reassign_partitions)
        if zk_pending:
            await self._trigger_zk_reassignments(zk_pending)
        for tp in sorted(ctx.partitions_being_reassigned - self._zk_reassignments):
            self.log.info("Resuming reassignment of partition %s", tp)
            await self._on_partition_reassignment(tp, ctx.partition_full_replica_assignment(tp))

    async def _process_zk_partition_reassignment(self, event: ev.ZkPartitionReassignment) -> None:
        if not self.is_active:
            return
        pending = await self.zk.get_partition_reassignment(watch=self._on_reassign_partitions)
        if pending:
            await self._trigger_zk_reassignments(pending)

    async def _trigger_zk_reassignments(self, pending: Mapping[TopicPartition, tuple[int, ...]]) -> None:
        ctx = self.context
        failed: set[TopicPartition] = set()
        for tp, target in sorted(pending.items(), key=lambda item: tp_key(item[0])):
            if tp in self._zk_reassignments and \
                    ctx.partition_full_replica_assignment(tp).target_replicas == tuple(target):
                continue    # already started (the watch fired for our own rewrite of the znode)
            error = self._validate_reassignment_target(tp, target, require_live=False)
            if error is not None:
                self.log.error("Failed to reassign partition %s to %s: %s", tp, target, error)
                failed.add(tp)
                continue
            self._zk_reassignments.add(tp)
            await self._on_partition_reassignment(tp, ctx.partition_full_replica_assignment(tp).reassign_to(target))
        if failed:
            await self._remove_from_zk_reassignment(failed)

    def _validate_reassignment_target(self, tp: TopicPartition, target: tuple[int, ...] | None,
                                      require_live: bool) -> ApiError | None:
        ctx = self.context
        if tp.topic not in ctx.partition_assignments or tp.partition not in ctx.partition_assignments[tp.topic]:
            return ApiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The partition {tp} does not exist.")
        if ctx.is_topic_queued_up_for_deletion(tp.topic):
            return ApiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic {tp.topic} is being deleted.")
        if target is None:
            return None
        if not target:
            return ApiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Empty replica list specified in partition "
                                                                   "reassignment.")
        if len(set(target)) != len(target):
            return ApiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Duplicate replica ids in partition "
                                                                   f"reassignment replica list: {list(target)}")
        if any(r < 0 for r in target):
            return ApiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, "Invalid broker id in replica list: "
                                                                   f"{list(target)}")
        if require_live:
            current = ctx.partition_full_replica_assignment(tp).origin_replicas
            added_dead = [r for r in target if r not in current and r not in ctx.live_broker_ids]
            if added_dead:
                return ApiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                                f"Replica assignment has brokers that are not alive. Replica list: {list(target)}, "
                                f"live broker list: {sorted(ctx.live_broker_ids)}")
        return None

    async def _process_api_partition_reassignment(self, event: ev.ApiPartitionReassignment) -> None:
        if not self.is_active:
            raise ApiError(ErrorCode.NOT_CONTROLLER)
        ctx = self.context
        results: dict[TopicPartition, ApiError | None] = {}
        for tp, target in sorted(event.reassignments.items()):
            error = self._validate_reassignment_target(tp, target, require_live=True)
            if error is not None:
                results[tp] = error
                continue
            current = ctx.partition_full_replica_assignment(tp)
            if target is None:
                if not current.is_being_reassigned:
                    results[tp] = ApiError(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
                                           f"No reassignment in progress for partition {tp}")
                    continue
                new = ReplicaAssignment(current.origin_replicas)
            else:
                new = current.reassign_to(target)
            if tp in self._zk_reassignments:
                await self._remove_from_zk_reassignment({tp})
            try:
                await self._on_partition_reassignment(tp, new)
                results[tp] = None
            except ControllerMovedError:
                raise
            except ApiError as e:
                results[tp] = e
        self._answer(event, results)

    async def _process_list_partition_reassignments(self, event: ev.ListPartitionReassignments) -> None:
        if not self.is_active:
            raise ApiError(ErrorCode.NOT_CONTROLLER)
        ctx = self.context
        wanted = event.partitions if event.partitions is not None else ctx.partitions_being_reassigned
        out: dict[TopicPartition, PartitionReassignmentState] = {}
        for tp in sorted(wanted):
            a = ctx.partition_full_replica_assignment(tp)
            if a.is_being_reassigned:
                out[tp] = PartitionReassignmentState(a.replicas, a.adding_replicas, a.removing_replicas)
        self._answer(event, out)

    async def _process_partition_reassignment_isr_change(self, event: ev.PartitionReassignmentIsrChange) -> None:
        tp = event.partition
        self.log.debug("Partition %s being reassigned: ISR changed", tp)
        if not self.is_active or tp not in self.context.partitions_being_reassigned:
            self._isr_watches.pop(tp, None)
            return
        assignment = self.context.partition_full_replica_assignment(tp)
        # Arm the watch before reading: a change between the read and the arming would be missed.
        await self.zk.watch_partition_state(tp, self._reassignment_isr_watch(tp))
        if await self._is_reassignment_complete(tp, assignment):
            await self._on_partition_reassignment(tp, assignment)

    async def _maybe_complete_reassignment(self, tp: TopicPartition) -> None:
        assignment = self.context.partition_full_replica_assignment(tp)
        if assignment.is_being_reassigned and await self._is_reassignment_complete(tp, assignment):
            await self._on_partition_reassignment(tp, assignment)

    async def _is_reassignment_complete(self, tp: TopicPartition, assignment: ReplicaAssignment) -> bool:
        if not assignment.is_being_reassigned:
            return True
        li = (await self.zk.get_partition_states([tp])).get(tp)
        return li is not None and set(assignment.target_replicas) <= set(li.isr)

    async def _write_assignment(self, tp: TopicPartition, assignment: ReplicaAssignment) -> None:
        ctx = self.context
        partitions = dict(ctx.partition_assignments.get(tp.topic, {}))
        partitions[tp.partition] = assignment
        await self.zk.set_topic_assignment(tp.topic, ctx.topic_ids.get(tp.topic), partitions, ctx.epoch_zk_version)
        ctx.update_partition_full_replica_assignment(tp, assignment)

    async def _on_partition_reassignment(self, tp: TopicPartition, reassignment: ReplicaAssignment) -> None:
        ctx = self.context
        self.topic_deletion_manager.mark_topic_ineligible_for_deletion({tp.topic}, "topic reassignment in progress")
        current = ctx.partition_full_replica_assignment(tp)
        if current != reassignment:
            self.log.info("Updating assignment of partition %s from %s to %s", tp, current, reassignment)
            await self._write_assignment(tp, reassignment)
            if current.is_being_reassigned:
                unneeded = [r for r in current.adding_replicas if r not in reassignment.replicas]
                if unneeded:
                    await self._stop_removed_replicas(tp, unneeded)
        if reassignment.is_being_reassigned:
            ctx.partitions_being_reassigned.add(tp)
            # Leaders that write ISRs to ZooKeeper themselves change the state znode when the targets
            # catch up. Armed before the completeness read, so no change can slip in between.
            await self.zk.watch_partition_state(tp, self._reassignment_isr_watch(tp))
        if not await self._is_reassignment_complete(tp, reassignment):
            await self._update_leader_epoch_and_send_request(tp, reassignment)
            await self.replica_state_machine.handle_state_changes(
                {PartitionReplica(tp, r) for r in reassignment.adding_replicas}, ReplicaState.NEW)
            return
        self.log.info("Target replicas %s have all caught up with the leader for reassigning partition %s",
                      reassignment.target_replicas, tp)
        await self.replica_state_machine.handle_state_changes(
            {PartitionReplica(tp, r) for r in reassignment.adding_replicas}, ReplicaState.ONLINE)
        completed = ReplicaAssignment(reassignment.target_replicas)
        ctx.update_partition_full_replica_assignment(tp, completed)
        await self._move_reassigned_partition_leader_if_required(tp, completed)
        removing = list(reassignment.removing_replicas)
        if removing:
            await self._stop_removed_replicas(tp, removing)
        await self._write_assignment(tp, completed)
        if tp in self._zk_reassignments:
            await self._remove_from_zk_reassignment({tp})
        ctx.partitions_being_reassigned.discard(tp)
        self._isr_watches.pop(tp, None)
        self.log.info("Completed reassignment of partition %s to %s", tp, list(completed.replicas))
        self._send_update_metadata(ctx.live_or_shutting_down_broker_ids, [tp])
        if not any(p.topic == tp.topic for p in ctx.partitions_being_reassigned):
            await self.topic_deletion_manager.resume_deletion_for_topics({tp.topic})

    async def _update_leader_epoch_and_send_request(self, tp: TopicPartition, assignment: ReplicaAssignment) -> None:
        ctx = self.context
        li = (await self.zk.get_partition_states([tp])).get(tp)
        if li is None:
            self.log.error("Failed to update leader epoch of partition %s: no state znode", tp)
            return
        if li.controller_epoch > ctx.epoch:
            self.log.error("Failed to update leader epoch of partition %s: written by a newer controller epoch %d",
                           tp, li.controller_epoch)
            return
        bumped = LeaderAndIsr(li.leader, li.leader_epoch + 1, li.isr, ctx.epoch, li.zk_version)
        result = await self.zk.update_leader_and_isr({tp: bumped}, ctx.epoch_zk_version)
        outcome = result.finished.get(tp)
        if not isinstance(outcome, LeaderAndIsr):
            self.log.error("Failed to update leader epoch of partition %s: %s", tp, outcome or "version conflict")
            return
        ctx.partition_leadership_info[tp] = outcome
        self.batch.new_batch()
        self.batch.add_leader_and_isr_request_for_brokers(assignment.origin_replicas, tp, outcome, assignment, False)
        self.batch.add_leader_and_isr_request_for_brokers(assignment.adding_replicas, tp, outcome, assignment, True)
        self.batch.send_requests_to_brokers(ctx.epoch)
        self.log.info("Sent LeaderAndIsr request %s with new replica assignment %s to leader %d for partition "
                      "being reassigned %s", outcome, assignment, outcome.leader, tp)

    async def _move_reassigned_partition_leader_if_required(self, tp: TopicPartition,
                                                            assignment: ReplicaAssignment) -> None:
        ctx = self.context
        li = ctx.partition_leadership_info.get(tp)
        leader = li.leader if li is not None else -1
        if leader not in assignment.target_replicas:
            self.log.info("Leader %d for partition %s being reassigned, is not in the new list of replicas %s. "
                          "Re-electing leader", leader, tp, list(assignment.target_replicas))
            await self.partition_state_machine.handle_state_changes([tp], PartitionState.ONLINE, REASSIGN)
        elif ctx.is_replica_online(leader, tp):
            self.log.info("Leader %d for partition %s being reassigned is already in the new list of replicas %s "
                          "and is alive", leader, tp, list(assignment.target_replicas))
            await self._update_leader_epoch_and_send_request(tp, assignment)
        else:
            self.log.info("Leader %d for partition %s being reassigned is already in the new list of replicas %s "
                          "but is dead", leader, tp, list(assignment.target_replicas))
            await self.partition_state_machine.handle_state_changes([tp], PartitionState.ONLINE, REASSIGN)

    async def _stop_removed_replicas(self, tp: TopicPartition, replicas: Iterable[int]) -> None:
        prs = {PartitionReplica(tp, r) for r in replicas}
        rsm = self.replica_state_machine
        await rsm.handle_state_changes(prs, ReplicaState.OFFLINE)
        await rsm.handle_state_changes(prs, ReplicaState.DELETION_STARTED)
        await rsm.handle_state_changes(prs, ReplicaState.DELETION_SUCCESSFUL)
        await rsm.handle_state_changes(prs, ReplicaState.NON_EXISTENT)

    async def _remove_from_zk_reassignment(self, partitions: set[TopicPartition]) -> None:
        self._zk_reassignments -= partitions
        current = await self.zk.get_partition_reassignment(watch=self._on_reassign_partitions)
        if current is None:
            return
        remaining = {tp: r for tp, r in current.items() if tp not in partitions}
        await self.zk.set_partition_reassignment(remaining, self.context.epoch_zk_version)


class _Awaited(ev.ControllerEvent):
    """Wraps an event whose caller waits for it to be processed."""

    def __init__(self, event: ev.ControllerEvent, future: asyncio.Future):
        self.event, self.future = event, future
        self.state = event.state

    @property
    def name(self) -> str:
        return self.event.name
