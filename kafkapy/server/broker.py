"""KafkaServer: the composition root of one broker (startup and shutdown order of Kafka 2.8).

Startup (zookeeper-layout.md §4):
 1. connect to ZooKeeper (the chroot is created first when missing) and create the top-level paths;
 2. get or create ``/cluster/id`` and check it against ``meta.properties`` in every log dir;
 3. resolve the broker id: ``broker.id``, else ``meta.properties``, else ``/brokers/seqid``;
 4. load the logs (recovery runs in the executor, results are applied on the loop);
 5. bind the listeners (SocketServer), build the ReplicaManager and the request handlers;
 6. register ``/brokers/ids/<id>`` (its czxid is the broker epoch);
 7. start the controller module (election), then the periodic jobs.
Shutdown: controlled shutdown through the controller, stop the listeners, cancel delayed
requests, close the logs (checkpoints + clean-shutdown marker), stop the controller and close
the ZooKeeper session (which removes the registration).

**Handler table convention.** Every module in ``kafkapy/server/apis/`` that defines
``register(dispatcher, broker)`` is imported and called at startup (alphabetically); such a
function registers its handler(s) with ``dispatcher.register(api_key, fn)`` and advertises the
version range with ``protocol.api_keys.register_supported``. Modules without ``register`` that
serve controller APIs (``handle_<api>(ctx, request, controller)``) are wired by the explicit
``CONTROLLER_HANDLERS`` table below. A new API therefore needs only a new module.

What a handler may use on ``broker``: ``config``, ``broker_id``, ``broker_epoch``,
``cluster_id``, ``clock``, ``tasks``, ``metadata_cache``, ``replica_manager``, ``log_manager``,
``producer_id_manager`` (InitProducerId),
``zk_client`` (KafkaZkClient), ``admin_zk`` (AdminZkClient), ``controller``,
``load_topic_configs(topics)``, ``log_config_for(topic)``, ``topic_configs`` (topic -> overrides),
``update_broker_defaults(props)``, ``metadata_listeners`` (called with the partitions each
UpdateMetadata deleted), ``shutdown_hooks`` (run after the listeners stop) and ``executor``.
Topic and broker config changes (``/config/changes``) are applied by the DynamicConfigManager
that the config API modules start.

uvloop is installed here only, through a loop factory (`new_event_loop`).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import inspect
import logging
import os
import pkgutil
import socket
import time
from typing import Any, Callable

from kafkapy.common.clock import SYSTEM_CLOCK, Clock
from kafkapy.common.config import ConfigError
from kafkapy.common.errors import ApiError, ErrorCode
from kafkapy.common.native import native_enabled
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.coordinator.transaction.producer_id_manager import ProducerIdManager
from kafkapy.log.checkpoint import META_PROPERTIES_FILE, BrokerMetadataCheckpoint
from kafkapy.log.config import LogConfig
from kafkapy.log.core import NATIVE_CORES
from kafkapy.log.manager import LogManager
from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.records.crc import CRC32C_IMPLEMENTATION
from kafkapy.server.config import BROKER_CONFIG, KafkaConfig
from kafkapy.server.dispatch import RequestDispatcher
from kafkapy.server.fetcher import start_replication
from kafkapy.server.metadata_cache import MetadataCache
from kafkapy.server.network import ListenerConfig, SocketServer, SocketServerConfig
from kafkapy.server.replica_manager import ReplicaManager
from kafkapy.zk import errors as zk_errors
from kafkapy.zk.admin_zk import AdminZkClient
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import BrokerInfo, ConfigType, EndPoint

log = logging.getLogger(__name__)

# (api key, module under kafkapy.server.apis, function, (min, max) versions): controller APIs.
CONTROLLER_HANDLERS: tuple[tuple[ApiKey, str, str, tuple[int, int]], ...] = (
    (ApiKey.CONTROLLED_SHUTDOWN, "controlled_shutdown", "handle_controlled_shutdown", (0, 3)),
    (ApiKey.ELECT_LEADERS, "elect_leaders", "handle_elect_leaders", (0, 2)),
    (ApiKey.ALTER_PARTITION_REASSIGNMENTS, "alter_partition_reassignments",
     "handle_alter_partition_reassignments", (0, 0)),
    (ApiKey.LIST_PARTITION_REASSIGNMENTS, "list_partition_reassignments",
     "handle_list_partition_reassignments", (0, 0)),
)

SECURITY_PROTOCOL_IDS = {"PLAINTEXT": 0, "SSL": 1, "SASL_PLAINTEXT": 2, "SASL_SSL": 3}


class FatalStartupError(Exception):
    """Startup cannot continue; the message is the one line the operator sees."""


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The broker's loop: uvloop when installed, else the default asyncio loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class _Prefixed(logging.LoggerAdapter):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.extra['prefix']}{msg}", kwargs


class _BrokerConfigView:
    """The KafkaConfig with the resolved broker id (a generated id is not a valid broker.id value)."""

    def __init__(self, config: Any, broker_id: int) -> None:
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "broker_id", broker_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._config, name)

    def get(self, name: str) -> Any:
        if name == "broker.id":
            return self.broker_id
        return self._config.get(name)


class KafkaServer:
    """One broker. ``await startup()``, then ``await shutdown()`` (or ``await wait_for_shutdown()``)."""

    def __init__(self, config: Any, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.broker_id: int = int(config.get("broker.id"))
        self.broker_epoch = -1
        self.cluster_id: str | None = None
        self.logger = _Prefixed(log, {"prefix": f"[KafkaServer id={self.broker_id}] "})
        self.tasks = TaskSupervisor("broker", self.clock)
        self.jobs = TaskSupervisor("broker-jobs", self.clock)   # periodic jobs, stopped first
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(2, int(config.get("num.recovery.threads.per.data.dir") or 1)),
            thread_name_prefix="kafka-io")
        self.zk_client: KafkaZkClient | None = None
        self.admin_zk: AdminZkClient | None = None
        self.log_manager: LogManager | None = None
        self.socket_server: SocketServer | None = None
        self.dispatcher: RequestDispatcher | None = None
        self.metadata_cache = MetadataCache(self.broker_id)
        self.replica_manager: ReplicaManager | None = None
        self.controller: Any = None
        self.producer_id_manager: ProducerIdManager | None = None
        self.group_coordinator: Any = None
        self.replication: Any = None
        self.topic_configs: dict[str, dict[str, str]] = {}
        self.metadata_listeners: list[Callable[[list[TopicPartition]], None]] = []
        # Run (awaited when they return an awaitable) once the listeners stopped, before the logs close.
        self.shutdown_hooks: list[Callable[[], Any]] = []
        self.advertised_endpoints: tuple[EndPoint, ...] = ()
        self._broker_defaults = {k: str(v) for k, v in config.originals().items() if v is not None}
        self._shutdown_requested = asyncio.Event()
        self._started = False
        self._shutting_down = False
        self._shutdown_done = asyncio.Event()

    # ================================================================ startup
    async def startup(self) -> None:
        self.logger.info("starting")
        if NATIVE_CORES:
            self.logger.info("Produce path: kafkapy's C append, CRC-32C by %s", CRC32C_IMPLEMENTATION)
        else:
            self.logger.warning("Produce path: pure Python (kafkapy's C helpers are %s), CRC-32C by %s",
                                "switched off by KAFKAPY_NATIVE" if not native_enabled() else "not built",
                                CRC32C_IMPLEMENTATION)
        try:
            await self._startup()
        except BaseException:
            await self._abort_startup()
            raise
        self._started = True
        self.logger.info("started")

    async def _startup(self) -> None:
        cfg = self.config
        self.logger.info("Connecting to zookeeper on %s", cfg.get("zookeeper.connect"))
        try:
            self.zk_client = await KafkaZkClient.connect(
                cfg.get("zookeeper.connect"), session_timeout_ms=int(cfg.get("zookeeper.session.timeout.ms")),
                connection_timeout_ms=int(cfg.zk_connection_timeout_ms),
                max_in_flight_requests=int(cfg.get("zookeeper.max.in.flight.requests")))
        except zk_errors.ZkError as exc:
            raise FatalStartupError(f"Timed out waiting for connection to zookeeper "
                                    f"{cfg.get('zookeeper.connect')}: {exc}") from exc
        zk = self.zk_client
        self.admin_zk = AdminZkClient(zk)
        await zk.create_top_level_paths()

        # Cluster id vs meta.properties; broker id from config, meta.properties or /brokers/seqid.
        self.cluster_id = await zk.get_or_create_cluster_id()
        self.logger.info("Cluster ID = %s", self.cluster_id)
        stored_ids: set[int] = set()
        for d in cfg.log_dirs:
            props = BrokerMetadataCheckpoint(os.path.join(d, META_PROPERTIES_FILE)).read()
            if not props:
                continue
            stored_cluster = props.get("cluster.id")
            if stored_cluster is not None and stored_cluster != self.cluster_id:
                raise FatalStartupError(
                    f"The Cluster ID {self.cluster_id} doesn't match stored clusterId Some({stored_cluster}) in "
                    f"meta.properties. The broker is trying to join the wrong cluster. Configured "
                    f"zookeeper.connect may be wrong.")
            if props.get("broker.id") is not None:
                stored_ids.add(int(props["broker.id"]))
        if len(stored_ids) > 1:
            raise FatalStartupError(f"Failed to match broker.id across log.dirs: found {sorted(stored_ids)}")
        configured = int(cfg.get("broker.id"))
        if configured >= 0:
            if stored_ids and configured not in stored_ids:
                raise FatalStartupError(
                    f"Configured broker.id {configured} doesn't match stored broker.id Some({stored_ids.pop()}) "
                    f"in meta.properties. If you moved your data, make sure your configured broker.id matches. "
                    f"If you intend to create a new broker, you should remove all data in your data directories "
                    f"(log.dirs).")
            self.broker_id = configured
        elif stored_ids:
            self.broker_id = stored_ids.pop()
        elif cfg.get("broker.id.generation.enable"):
            self.broker_id = await zk.generate_broker_sequence_id()
        else:
            raise FatalStartupError("broker.id is not set and broker.id.generation.enable is false")
        self.metadata_cache = MetadataCache(self.broker_id)
        self.logger = _Prefixed(log, {"prefix": f"[KafkaServer id={self.broker_id}] "})
        self.broker_config = _BrokerConfigView(cfg, self.broker_id)

        # Logs: topic configs first (the loader builds each log's LogConfig), recovery off the loop.
        self.topic_configs = await self.admin_zk.fetch_all_topic_configs()
        try:
            self.log_manager = LogManager(
                list(cfg.log_dirs), self.log_config_for(None), topic_config=self.log_config_for,
                broker_id=self.broker_id, cluster_id=self.cluster_id, clock_ms=self.clock.now_ms,
                cleaner_enabled=bool(cfg.get("log.cleaner.enable")),
                file_delete_delay_ms=int(cfg.get("log.segment.delete.delay.ms")),
                # Kafka 2.x expires idle producer ids after transactional.id.expiration.ms
                # (producer.id.expiration.ms only came with Kafka 3.4)
                producer_id_expiration_ms=int(cfg.get("transactional.id.expiration.ms")))
        except (ApiError, OSError) as exc:   # another broker holds the dirs, inconsistent meta.properties...
            raise FatalStartupError(str(exc)) from exc
        await self.log_manager.startup(self.executor)

        # Network, replica manager, handlers.
        self.dispatcher = RequestDispatcher(self.clock)
        listeners = [ListenerConfig(ep.listener_name, ep.host or "0.0.0.0", ep.port, ep.security_protocol)
                     for ep in cfg.listener_endpoints]
        self.socket_server = SocketServer(self.dispatcher, listeners, SocketServerConfig(
            socket_request_max_bytes=int(cfg.get("socket.request.max.bytes")),
            connections_max_idle_ms=int(cfg.get("connections.max.idle.ms")),
            socket_send_buffer_bytes=int(cfg.get("socket.send.buffer.bytes")),
            socket_receive_buffer_bytes=int(cfg.get("socket.receive.buffer.bytes")),
            socket_listen_backlog_size=128), self.clock)
        self.replica_manager = ReplicaManager(self.broker_id, self.log_manager, self.metadata_cache, self.clock,
                                              log_config_for=self.log_config_for)
        # Replication (follower fetchers, ISR maintenance); fetchers stop after the listeners, before the logs.
        self.replication = start_replication(self)
        self.shutdown_hooks.append(self.replication.shutdown)
        self.group_coordinator = self._make_group_coordinator()
        self.producer_id_manager = ProducerIdManager(self.broker_id, self.zk_client)
        self._register_handlers()
        await self.socket_server.start()
        self.advertised_endpoints = self._advertised_endpoints()

        # Registration, then the controller module.
        await self._register_broker()
        self.zk_client.zk.add_session_lost_listener(self._on_zk_session_lost)
        self.zk_client.zk.add_new_session_listener(self._on_zk_new_session)
        self.controller = self._make_controller()
        self._register_controller_handlers()
        if self.controller is not None:
            await self.controller.startup()
        self._schedule_jobs()

    def _advertised_endpoints(self) -> tuple[EndPoint, ...]:
        bound = self.socket_server.bound_addresses
        out = []
        for ep in self.config.advertised_listener_endpoints:
            port = ep.port
            if port == 0 and ep.listener_name in bound:
                port = bound[ep.listener_name][1]
            host = ep.host
            if not host:
                host = socket.getfqdn()
            out.append(EndPoint(host, port, ep.listener_name, ep.security_protocol))
        return tuple(out)

    def broker_info(self) -> BrokerInfo:
        rack = self.config.get("broker.rack")
        return BrokerInfo(self.broker_id, self.advertised_endpoints, rack=rack or None, jmx_port=-1,
                          timestamp_ms=self.clock.now_ms(), features={}, version=5)

    async def _register_broker(self) -> None:
        try:
            self.broker_epoch = await self.zk_client.register_broker(self.broker_info())
        except zk_errors.BrokerIdInUseError as exc:
            raise FatalStartupError(
                f"Error while creating ephemeral at /brokers/ids/{self.broker_id}, node already exists: broker id "
                f"{self.broker_id} is already registered by another broker") from exc

    def _make_controller(self) -> Any:
        try:
            from kafkapy.controller.controller import KafkaController
        except ImportError:
            self.logger.error("The controller module cannot be imported; this broker will never be controller",
                              exc_info=True)
            return None
        return KafkaController(config=self.broker_config, zk=self.zk_client, clock=self.clock, tasks=self.tasks,
                               broker_epoch_provider=lambda: self.broker_epoch)

    def _register_handlers(self) -> None:
        import kafkapy.server.apis as apis_pkg
        for info in sorted(pkgutil.iter_modules(apis_pkg.__path__), key=lambda m: m.name):
            module = importlib.import_module(f"{apis_pkg.__name__}.{info.name}")
            register = getattr(module, "register", None)
            if callable(register):
                register(self.dispatcher, self)

    def _register_controller_handlers(self) -> None:
        controller = self.controller
        if controller is None:
            return
        for key, module_name, fn_name, (lo, hi) in CONTROLLER_HANDLERS:
            if int(key) in self.dispatcher.registered_keys:
                continue   # the module registered itself
            try:
                module = importlib.import_module(f"kafkapy.server.apis.{module_name}")
            except ImportError:
                self.logger.warning("No handler module for %s", key.api_name)
                continue
            fn = getattr(module, fn_name)
            register_supported(key, lo, hi)
            self.dispatcher.register(key, lambda ctx, req, fn=fn: fn(ctx, req, controller))

    # ================================================================ topic configs
    def log_config_for(self, topic: str | None) -> LogConfig:
        overrides = self.topic_configs.get(topic, {}) if topic is not None else {}
        return LogConfig.from_props(overrides, self._broker_defaults)

    async def load_topic_configs(self, topics: set[str] | list[str]) -> None:
        """Read `/config/topics/<t>` for `topics` into the cache the log configs are built from."""
        if self.zk_client is None:
            return
        for topic in topics:
            self.topic_configs[topic] = await self.zk_client.get_entity_config(ConfigType.TOPIC, topic)

    def update_broker_defaults(self, props: dict[str, Any]) -> None:
        """New effective broker properties (dynamic broker configs): log configs derive from them, and
        the config the controller reads (e.g. unclean.leader.election.enable) follows them, as Kafka's
        KafkaConfig does after a dynamic update."""
        self._broker_defaults = {k: str(v) for k, v in props.items() if v is not None}
        known = {k: v for k, v in props.items() if k in BROKER_CONFIG and v is not None}
        try:
            updated = KafkaConfig(known, log_unknown=False)
        except ConfigError as exc:       # validated before it was stored; keep the last good one
            self.logger.error("Dynamic broker configs not applied to the broker config: %s", exc)
            return
        object.__setattr__(self.broker_config, "_config", updated)

    def on_metadata_updated(self, deleted: list[TopicPartition]) -> None:
        for listener in self.metadata_listeners:
            try:
                listener(deleted)
            except Exception:
                self.logger.error("Metadata listener %r failed", listener, exc_info=True)

    # ================================================================ periodic jobs
    def _schedule_jobs(self) -> None:
        cfg = self.config
        lm = self.log_manager
        every = self.jobs.every
        retention_ms = int(cfg.get("log.retention.check.interval.ms"))
        every("kafka-log-retention", retention_ms, self._retention_job, initial_delay_ms=30_000)
        flush_ms = int(cfg.log_flush_interval_millis)
        if flush_ms < 2**62:
            every("kafka-log-flusher", flush_ms, self._in_executor, lm.flush_dirty_logs, initial_delay_ms=30_000)
        every("kafka-recovery-point-checkpoint", int(cfg.get("log.flush.offset.checkpoint.interval.ms")),
              self._in_executor, lm.checkpoint_recovery_offsets)
        every("kafka-log-start-offset-checkpoint", int(cfg.get("log.flush.start.offset.checkpoint.interval.ms")),
              self._in_executor, lm.checkpoint_log_start_offsets)
        every("highwatermark-checkpoint", int(cfg.get("replica.high.watermark.checkpoint.interval.ms")),
              self._in_executor, lm.checkpoint_high_watermarks)
        every("kafka-delete-logs", 30_000, self._in_executor, lm.delete_pending_files)
        if cfg.get("log.cleaner.enable"):
            every("kafka-log-cleaner", int(cfg.get("log.cleaner.backoff.ms")), self._in_executor, lm.clean_logs)

    def _retention_job(self) -> None:
        deleted = self.log_manager.cleanup_logs()
        if deleted:
            self.logger.info("Retention deleted %d segments", deleted)

    async def _in_executor(self, fn: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        for attempt in range(3):
            try:
                return await loop.run_in_executor(self.executor, fn)
            except RuntimeError as exc:   # the set of logs changed while the worker walked it
                if "changed size during iteration" not in str(exc) or attempt == 2:
                    raise
        return None

    # ================================================================ ZooKeeper session
    def _on_zk_session_lost(self) -> None:
        self.logger.warning("ZooKeeper session expired")
        if self.controller is not None and not self._shutting_down:
            self.tasks.spawn("controller-session-expired", self.controller.on_zk_session_lost())

    def _on_zk_new_session(self) -> None:
        if self._shutting_down:
            return
        self.tasks.spawn("register-broker-and-reelect", self._register_and_reelect())

    async def _register_and_reelect(self) -> None:
        self.logger.info("Re-registering broker in the new ZooKeeper session")
        await self._register_broker()
        if self.controller is not None:
            await self.controller.on_zk_session_reestablished()

    # ================================================================ shutdown
    def request_shutdown(self) -> None:
        """Signal-safe: ask `wait_for_shutdown` to run the shutdown."""
        self._shutdown_requested.set()

    async def wait_for_shutdown(self) -> None:
        await self._shutdown_requested.wait()
        await self.shutdown()

    async def controlled_shutdown(self) -> bool:
        """Ask the controller to move leadership away; True when it answered with nothing left."""
        cfg = self.config
        retries = int(cfg.get("controlled.shutdown.max.retries"))
        backoff_ms = int(cfg.get("controlled.shutdown.retry.backoff.ms"))
        for attempt in range(retries):
            try:
                remaining = await self._controlled_shutdown_once()
                if remaining is not None and not remaining:
                    self.logger.info("Controlled shutdown succeeded")
                    return True
                self.logger.info("Remaining partitions to move: %s", sorted(map(str, remaining or ())))
            except Exception as exc:   # any failure means "try again"; Kafka logs and retries too
                self.logger.warning("Error during controlled shutdown, possibly because leader movement took "
                                    "longer than the configured controller.socket.timeout.ms: %s", exc)
            if attempt + 1 < retries:
                self.logger.info("Retrying controlled shutdown after the previous attempt failed...")
                await asyncio.sleep(backoff_ms / 1000.0)
        self.logger.warning("Proceeding to do an unclean shutdown as all the controlled shutdown attempts failed")
        return False

    async def _controlled_shutdown_once(self) -> set[TopicPartition] | None:
        controller = self.controller
        if controller is not None and controller.is_active:
            return set(await controller.controlled_shutdown(self.broker_id, self.broker_epoch))
        controller_id = await self.zk_client.get_controller_id()
        if controller_id is None:
            return None
        info = await self.zk_client.get_broker(controller_id)
        if info is None:
            return None
        listener = self.config.inter_broker_listener_name
        ep = info.endpoint(listener)
        if ep is None:
            return None
        from kafkapy.clients.net import BrokerConnection
        from kafkapy.protocol.messages.controlled_shutdown import API
        timeout = int(self.config.get("controller.socket.timeout.ms"))
        conn = await BrokerConnection.connect(ep.host, ep.port, client_id=f"broker-{self.broker_id}",
                                              timeout_ms=timeout)
        try:
            resp = await conn.send(ApiKey.CONTROLLED_SHUTDOWN,
                                   API.request(broker_id=self.broker_id, broker_epoch=self.broker_epoch),
                                   timeout_ms=timeout)
        finally:
            await conn.close()
        if resp.error_code != ErrorCode.NONE:
            self.logger.info("Controlled shutdown request returned error %d", resp.error_code)
            return None
        return {TopicPartition(p.topic_name, p.partition_index) for p in resp.remaining_partitions}

    async def shutdown(self) -> None:
        if self._shutting_down:
            await self._shutdown_done.wait()
            return
        self._shutting_down = True
        self.logger.info("shutting down")
        try:
            if self._started and self.config.get("controlled.shutdown.enable"):
                await self.controlled_shutdown()
            if self.socket_server is not None:
                await self.socket_server.shutdown(5000)
            self.jobs.cancel_all()
            await self.jobs.close()
            await self._run_shutdown_hooks()
            if self.replica_manager is not None:
                self.replica_manager.shutdown()
            if self.log_manager is not None:
                await asyncio.get_running_loop().run_in_executor(self.executor, self.log_manager.shutdown)
            if self.controller is not None:
                await self.controller.shutdown()
            self.tasks.cancel_all()
            await self.tasks.close()
            if self.zk_client is not None:
                await self.zk_client.close()
            self.executor.shutdown(wait=True)
        finally:
            self._shutdown_done.set()
        self.logger.info("shut down completed")

    def _make_group_coordinator(self) -> Any:
        """The group coordinator, started and wired to partition leadership, deletions, expiry and shutdown."""
        from kafkapy.coordinator.group.coordinator import GroupConfig, GroupCoordinator
        from kafkapy.coordinator.group.metadata_manager import GROUP_METADATA_TOPIC
        cache = self.metadata_cache
        coordinator = GroupCoordinator(
            self.broker_id, GroupConfig.from_broker_config(self.config), self.replica_manager, self.clock,
            self.tasks, offsets_partition_count=lambda: cache.snapshot.partition_count(GROUP_METADATA_TOPIC))
        coordinator.startup()
        self.metadata_listeners.append(coordinator.on_partitions_deleted)
        self.jobs.every("delete-expired-group-metadata", coordinator.config.offsets_retention_check_interval_ms,
                        coordinator.cleanup_group_metadata)
        # After the listeners stop: drop groups and answer waiting JoinGroup/SyncGroup with NOT_COORDINATOR.
        self.shutdown_hooks.append(coordinator.shutdown)
        return coordinator

    async def _run_shutdown_hooks(self) -> None:
        for hook in self.shutdown_hooks:
            try:
                result = hook()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self.logger.error("Shutdown hook %r failed", hook, exc_info=True)

    async def _abort_startup(self) -> None:
        """Undo what a failed startup did (release the log dir locks, close ZooKeeper)."""
        self._shutting_down = True
        for step in (self._abort_network, self._abort_logs, self._abort_controller, self._abort_zk):
            try:
                await step()
            except Exception:
                self.logger.debug("Error while undoing a failed startup", exc_info=True)
        self.executor.shutdown(wait=False)
        self._shutdown_done.set()

    async def _abort_network(self) -> None:
        if self.socket_server is not None:
            await self.socket_server.shutdown(1000)
        self.jobs.cancel_all()
        await self.jobs.close()

    async def _abort_logs(self) -> None:
        if self.log_manager is not None and not self.log_manager.closed:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.log_manager.shutdown)

    async def _abort_controller(self) -> None:
        if self.controller is not None:
            await self.controller.shutdown()
        self.tasks.cancel_all()
        await self.tasks.close()

    async def _abort_zk(self) -> None:
        if self.zk_client is not None:
            await self.zk_client.close()

    # ================================================================ info
    @property
    def bound_port(self) -> int:
        return self.socket_server.bound_port() if self.socket_server is not None else -1

    def __repr__(self) -> str:
        return f"KafkaServer(id={self.broker_id}, epoch={self.broker_epoch})"


async def run_server(config: Any, install_signal_handlers: bool = True) -> int:
    """Start a broker, serve until SIGTERM/SIGINT, shut down. Returns the process exit code."""
    import signal
    server = KafkaServer(config)
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, server.request_shutdown)
    try:
        await server.startup()
    except FatalStartupError as exc:
        log.error("[KafkaServer id=%d] Fatal error during KafkaServer startup. Prepare to shutdown: %s",
                  server.broker_id, exc)
        return 1
    except Exception:
        log.exception("[KafkaServer id=%d] Fatal error during KafkaServer startup. Prepare to shutdown",
                      server.broker_id)
        return 1
    await server.wait_for_shutdown()
    return 0


def run(config: Any) -> int:
    """Run a broker on a fresh (uvloop) event loop until it is told to stop."""
    start = time.monotonic()
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        code = runner.run(run_server(config))
    log.debug("Broker ran for %.1f s", time.monotonic() - start)
    return code


__all__ = ["KafkaServer", "FatalStartupError", "new_event_loop", "run", "run_server", "CONTROLLER_HANDLERS"]
