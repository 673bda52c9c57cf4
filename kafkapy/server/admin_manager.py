"""The broker's admin operations behind the admin APIs (Kafka's ZkAdminManager + ConfigHelper).

Topics are created, grown and marked for deletion in ZooKeeper exactly as
``kafka-topics.sh --zookeeper`` does (through `AdminZkClient`); the controller reacts to the
znodes. The request then waits in a purgatory (a delayed operation checked after every
UpdateMetadata) until the metadata cache shows the outcome: leaders for every new partition
(DelayedCreatePartitions) or the topic gone (DelayedDeleteTopics); on timeout the unfinished
topics answer REQUEST_TIMED_OUT.

Configs: DescribeConfigs renders topic and broker configs with Kafka's sources and synonyms;
AlterConfigs / IncrementalAlterConfigs validate and write ``/config/topics/<t>`` or
``/config/brokers/<id|<default>>`` plus a ``/config/changes`` notification, which every
broker's `DynamicConfigManager` applies.

One `AdminManager` per broker: `admin_manager_for(broker)` creates it on first use (and starts
the broker's DynamicConfigManager with it).
"""
from __future__ import annotations

import asyncio
import base64
import enum
import logging
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from kafkapy.common.config import ConfigError, ConfigKey, Type, format_value
from kafkapy.common.errors import ApiError, ErrorCode, error_info
from kafkapy.log.config import BROKER_DEFAULT_PROPERTY, TOPIC_CONFIG_DEF, TOPIC_CONFIG_NAMES, LogConfig
from kafkapy.server import dynamic_config
from kafkapy.server.config import BROKER_CONFIG
from kafkapy.server.dynamic_config import DynamicBrokerConfig, broker_synonyms, is_dynamic_broker_config
from kafkapy.server.purgatory import DelayedOperation, Purgatory
from kafkapy.zk import errors as zk_errors
from kafkapy.zk.admin_zk import (
    BrokerMetadata,
    assign_replicas_to_brokers,
    has_collision_chars,
    new_partitions_assignment,
    unify_collision_chars,
    validate_topic_name,
)
from kafkapy.zk.znodes import DEFAULT_ENTITY, ConfigType

log = logging.getLogger(__name__)

NO_NUM_PARTITIONS = -1
NO_REPLICATION_FACTOR = -1
_ALL_TOPICS_KEY = "topics"


class ResourceType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    BROKER = 4
    BROKER_LOGGER = 8


class ConfigSource(enum.IntEnum):
    UNKNOWN = 0
    TOPIC_CONFIG = 1               # DYNAMIC_TOPIC_CONFIG in the admin client
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6


class AlterConfigOp(enum.IntEnum):
    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


_CONFIG_TYPE_IDS = {Type.BOOLEAN: 1, Type.STRING: 2, Type.INT: 3, Type.SHORT: 4, Type.LONG: 5,
                    Type.DOUBLE: 6, Type.LIST: 7, Type.CLASS: 8, Type.PASSWORD: 9}


def config_type_id(key: ConfigKey | None) -> int:
    return _CONFIG_TYPE_IDS.get(key.type, 0) if key is not None else 0


# ====================================================================== value objects
@dataclass(frozen=True, slots=True)
class ConfigSynonym:
    name: str
    value: str | None
    source: int


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    name: str
    value: str | None
    source: int
    read_only: bool
    is_sensitive: bool
    synonyms: tuple[ConfigSynonym, ...] = ()
    config_type: int = 0
    documentation: str | None = None

    @property
    def is_default(self) -> bool:
        return self.source == ConfigSource.DEFAULT_CONFIG


@dataclass(frozen=True, slots=True)
class NewTopic:
    name: str
    num_partitions: int = NO_NUM_PARTITIONS
    replication_factor: int = NO_REPLICATION_FACTOR
    assignments: Mapping[int, Sequence[int]] = field(default_factory=dict)
    configs: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopicResult:
    """The outcome of one topic of CreateTopics, DeleteTopics or CreatePartitions."""

    name: str
    error_code: int = 0
    error_message: str | None = None
    num_partitions: int = -1
    replication_factor: int = -1
    configs: tuple[ConfigEntry, ...] | None = None
    topic_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class NewPartitions:
    name: str
    count: int
    assignments: Sequence[Sequence[int]] | None = None


@dataclass(frozen=True, slots=True)
class ResourceResult:
    resource_type: int
    resource_name: str
    error_code: int = 0
    error_message: str | None = None
    configs: tuple[ConfigEntry, ...] = ()


def _error(exc: BaseException) -> tuple[int, str | None]:
    """(code, message) for an expected failure, Kafka's ApiError.fromThrowable."""
    if isinstance(exc, ApiError):
        return int(exc.code), exc.message
    if isinstance(exc, ConfigError):
        return int(ErrorCode.INVALID_CONFIG), str(exc)
    return int(ErrorCode.UNKNOWN_SERVER_ERROR), str(exc) or None


def default_message(code: int) -> str | None:
    info = error_info(code)
    return info.message if info is not None else None


def topic_id_to_uuid(topic_id: str | None) -> uuid.UUID | None:
    if not topic_id:
        return None
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(topic_id + "=" * (-len(topic_id) % 4)))
    except (ValueError, TypeError):
        return None


def uuid_to_topic_id(value: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(value.bytes).rstrip(b"=").decode("ascii")


# ====================================================================== topic config validation
def validate_topic_configs(props: Mapping[str, str | None], broker_defaults: Mapping[str, Any]) -> LogConfig:
    """Kafka's LogConfig.validate: known names, parsable values. Returns the resulting LogConfig."""
    for name in props:
        if name not in TOPIC_CONFIG_NAMES:
            raise ApiError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")
    for name, value in props.items():
        if value is not None:
            TOPIC_CONFIG_DEF.parse_one(name, value)   # ConfigError worded as Kafka's ConfigDef words it
    try:
        return LogConfig.from_props({k: v for k, v in props.items() if v is not None}, broker_defaults)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


# ====================================================================== describe helpers
class ConfigDescriber:
    """Kafka's ConfigHelper: config entries with sources and synonyms."""

    def __init__(self, broker_config: DynamicBrokerConfig) -> None:
        self.broker_config = broker_config

    def _synonyms(self, name: str, synonyms: Sequence[str], sensitive: bool) -> list[ConfigSynonym]:
        bc = self.broker_config
        out: list[ConfigSynonym] = []
        for layer, source in ((bc.dynamic_broker, ConfigSource.DYNAMIC_BROKER_CONFIG),
                              (bc.dynamic_default, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG),
                              (bc.static, ConfigSource.STATIC_BROKER_CONFIG),
                              (bc.static_defaults, ConfigSource.DEFAULT_CONFIG)):
            for syn in synonyms:
                if syn in layer:
                    out.append(ConfigSynonym(syn, None if sensitive else layer[syn], int(source)))
        # Drop what precedes the described name itself (Kafka's dropWhile).
        for i, s in enumerate(out):
            if s.name == name:
                return out[i:]
        return []

    def topic_entries(self, log_config: LogConfig, topic_props: Mapping[str, str],
                      keys: Iterable[str] | None, include_synonyms: bool,
                      include_documentation: bool) -> list[ConfigEntry]:
        wanted = set(keys) if keys else None   # null or empty: every config, as Kafka
        values = log_config.to_props()
        out = []
        for key in TOPIC_CONFIG_DEF:
            name = key.name
            if wanted is not None and name not in wanted:
                continue
            sensitive = key.type is Type.PASSWORD
            value = None if sensitive else values[name]
            broker_name = BROKER_DEFAULT_PROPERTY.get(name)
            syns = self._synonyms(broker_name, broker_synonyms(broker_name), sensitive) if broker_name else []
            if name in topic_props:
                syns.insert(0, ConfigSynonym(name, value, int(ConfigSource.TOPIC_CONFIG)))
            source = syns[0].source if syns else int(ConfigSource.DEFAULT_CONFIG)
            out.append(ConfigEntry(name, value, source, False, sensitive,
                                   tuple(syns) if include_synonyms else (), config_type_id(key),
                                   key.doc if include_documentation else None))
        return out

    def broker_entries(self, per_broker: bool, keys: Iterable[str] | None, include_synonyms: bool,
                       include_documentation: bool) -> list[ConfigEntry]:
        bc = self.broker_config
        wanted = set(keys) if keys else None
        if per_broker:
            names = list(dict.fromkeys([*BROKER_CONFIG.names(), *bc.static, *bc.dynamic_default,
                                        *bc.dynamic_broker]))
        else:
            names = list(bc.dynamic_default)
        out = []
        for name in names:
            if wanted is not None and name not in wanted:
                continue
            key = BROKER_CONFIG[name] if name in BROKER_CONFIG else None
            sensitive = key is None or key.type is Type.PASSWORD   # unknown names are sensitive, as Kafka
            if not per_broker:
                raw: str | None = bc.dynamic_default.get(name)
            else:
                raw = bc.value_of(name)
            value = None if sensitive else raw
            syns = self._synonyms(name, broker_synonyms(name), sensitive)
            if not per_broker:
                syns = [s for s in syns if s.source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]
            source = syns[0].source if syns else int(ConfigSource.DEFAULT_CONFIG)
            read_only = not is_dynamic_broker_config(name)
            out.append(ConfigEntry(name, value, source, read_only, sensitive,
                                   tuple(syns) if include_synonyms else (), config_type_id(key),
                                   (key.doc if key is not None else None) if include_documentation else None))
        return out


_LOG4J_LEVELS = {logging.CRITICAL: "FATAL", logging.ERROR: "ERROR", logging.WARNING: "WARN",
                 logging.INFO: "INFO", logging.DEBUG: "DEBUG", 5: "TRACE"}
_LEVELS_BY_NAME = {"FATAL": logging.CRITICAL, "ERROR": logging.ERROR, "WARN": logging.WARNING,
                   "INFO": logging.INFO, "DEBUG": logging.DEBUG, "TRACE": 5}
ROOT_LOGGER = "root"


def logger_levels() -> dict[str, str]:
    """Logger name -> effective level in log4j's names (Kafka's Log4jController.loggers)."""
    out = {ROOT_LOGGER: _LOG4J_LEVELS.get(logging.getLogger().level, logging.getLevelName(logging.getLogger().level))}
    for name, obj in sorted(logging.root.manager.loggerDict.items()):
        if isinstance(obj, logging.Logger):
            level = obj.getEffectiveLevel()
            out[name] = _LOG4J_LEVELS.get(level, logging.getLevelName(level))
    return out


# ====================================================================== delayed topic operations
class DelayedTopicOperation(DelayedOperation):
    """Completes when `pending()` returns no topics; on timeout those topics answer REQUEST_TIMED_OUT
    (Kafka's DelayedCreatePartitions / DelayedDeleteTopics)."""

    def __init__(self, clock: Any, timeout_ms: int, results: list[TopicResult],
                 pending: Callable[[TopicResult], bool]) -> None:
        super().__init__(clock, timeout_ms)
        self.results = results
        self.pending = pending

    def _waiting(self) -> list[str]:
        return [r.name for r in self.results if r.error_code == 0 and self.pending(r)]

    def try_complete(self) -> bool:
        if self._waiting():
            return False
        return self.finish(list(self.results))

    def result_on_timeout(self) -> list[TopicResult]:
        waiting = set(self._waiting())
        return [TopicResult(r.name, int(ErrorCode.REQUEST_TIMED_OUT), None, topic_id=r.topic_id)
                if r.name in waiting else r for r in self.results]


# ====================================================================== the manager
class AdminManager:
    """Validation and ZooKeeper writes behind the admin handlers of one broker."""

    def __init__(self, broker: Any, broker_config: DynamicBrokerConfig | None = None) -> None:
        self.broker = broker
        self.broker_config = broker_config or DynamicBrokerConfig(broker.config.originals(), int(broker.broker_id))
        self.describer = ConfigDescriber(self.broker_config)
        self.topic_purgatory: Purgatory[str] = Purgatory("topic")
        self.logger = logging.LoggerAdapter(log, {})
        self.dynamic_config_manager: Any = None
        broker.metadata_listeners.append(self._on_metadata_updated)

    def shutdown(self) -> None:
        """Broker shutdown: abandon the waiting topic operations and stop applying config changes."""
        self.topic_purgatory.cancel_all()
        if self.dynamic_config_manager is not None:
            self.dynamic_config_manager.close()

    # ------------------------------------------------------------------ plumbing
    def _on_metadata_updated(self, _deleted: Any) -> None:
        self.topic_purgatory.check_and_complete(_ALL_TOPICS_KEY)

    @property
    def _snapshot(self) -> Any:
        return self.broker.metadata_cache.snapshot

    def is_controller(self) -> bool:
        controller = getattr(self.broker, "controller", None)
        return controller is not None and bool(getattr(controller, "is_active", False))

    def _config(self, name: str) -> Any:
        return self.broker.config.get(name)

    def _broker_defaults(self) -> dict[str, str]:
        return self.broker_config.effective()

    def _has_leaders(self, topic: str, count: int | None = None) -> bool:
        parts = self._snapshot.partitions.get(topic)
        if not parts:
            return False
        wanted = range(count) if count is not None else parts.keys()
        for p in wanted:
            info = parts.get(p)
            if info is None or info.leader < 0:
                return False
        return True

    async def _wait(self, results: list[TopicResult], timeout_ms: int,
                    pending: Callable[[TopicResult], bool]) -> list[TopicResult]:
        if not any(r.error_code == 0 for r in results):
            return results
        if timeout_ms <= 0:
            # Kafka does not wait at all then: the written topics answer REQUEST_TIMED_OUT (clients
            # that asked for no wait, such as librdkafka with operation_timeout=0, read it as success).
            return [TopicResult(r.name, int(ErrorCode.REQUEST_TIMED_OUT), None, topic_id=r.topic_id)
                    if r.error_code == 0 else r for r in results]
        op = DelayedTopicOperation(self.broker.clock, timeout_ms, results, pending)
        self.topic_purgatory.try_complete_else_watch(op, [_ALL_TOPICS_KEY])
        return await op.future

    # ------------------------------------------------------------------ CreateTopics
    async def create_topics(self, topics: Sequence[NewTopic], timeout_ms: int, validate_only: bool,
                            describe_configs: bool) -> list[TopicResult]:
        """Validate and write every topic. Assignments are computed in request order (the random
        draws stay Kafka's); the ZooKeeper reads and writes of the topics then run concurrently, which
        keeps a large request from being interleaved topic by topic with the controller's reactions."""
        live = self._live_brokers()
        created_counts: dict[str, int] = {}
        prepared: list[tuple[NewTopic, Any]] = []
        unified: dict[str, str] = {}
        for topic in topics:
            try:
                prep = self._prepare_topic(topic, live)
                if not validate_only and has_collision_chars(topic.name):
                    other = unified.get(unify_collision_chars(topic.name))
                    if other is not None and other != topic.name:
                        raise ApiError(ErrorCode.INVALID_TOPIC_EXCEPTION,
                                       f"Topic '{topic.name}' collides with existing topics: {other}")
                unified.setdefault(unify_collision_chars(topic.name), topic.name)
                prepared.append((topic, prep))
            except (ApiError, ConfigError) as exc:
                prepared.append((topic, exc))

        async def one(topic: NewTopic, prep: Any) -> TopicResult:
            try:
                if isinstance(prep, BaseException):
                    raise prep
                return await self._validate_and_write(topic.name, prep[0], prep[1], validate_only,
                                                      describe_configs, created_counts)
            except (ApiError, ConfigError) as exc:
                code, message = _error(exc)
                if isinstance(exc, ConfigError):
                    code = int(ErrorCode.INVALID_CONFIG)
                self.logger.info("Error processing create topic request %s: %s", topic.name, message)
                return TopicResult(topic.name, code, message)

        results = list(await asyncio.gather(*(one(t, p) for t, p in prepared)))
        if validate_only:
            return results
        return await self._wait(results, timeout_ms,
                                lambda r: not self._has_leaders(r.name, created_counts.get(r.name)))

    def _live_brokers(self) -> list[BrokerMetadata]:
        snap = self._snapshot
        return [BrokerMetadata(b.broker_id, b.rack) for b in snap.brokers.values()]

    def _prepare_topic(self, topic: NewTopic, live: list[BrokerMetadata]
                       ) -> tuple[dict[str, str], dict[int, list[int]]]:
        """The checks that need no ZooKeeper, then the configs and the replica assignment."""
        name = topic.name
        if self._snapshot.contains_topic(name):
            raise ApiError(ErrorCode.TOPIC_ALREADY_EXISTS, f"Topic '{name}' already exists.")
        null_configs = [k for k, v in topic.configs.items() if v is None]
        if null_configs:
            raise ApiError(ErrorCode.INVALID_REQUEST,
                           f"Null value not supported for topic configs : {','.join(null_configs)}")
        configs = {k: v for k, v in topic.configs.items() if v is not None}
        if topic.assignments:
            if topic.num_partitions != NO_NUM_PARTITIONS or topic.replication_factor != NO_REPLICATION_FACTOR:
                raise ApiError(ErrorCode.INVALID_REQUEST,
                               "Both numPartitions or replicationFactor and replicasAssignments were set. "
                               "Both cannot be used at the same time.")
            assignment = {p: list(r) for p, r in topic.assignments.items()}
        else:
            partitions = (topic.num_partitions if topic.num_partitions != NO_NUM_PARTITIONS
                          else int(self._config("num.partitions")))
            rf = (topic.replication_factor if topic.replication_factor != NO_REPLICATION_FACTOR
                  else int(self._config("default.replication.factor")))
            assignment = assign_replicas_to_brokers(partitions, rf, live, rng=self.broker.admin_zk.rng)
        return configs, assignment

    async def _validate_and_write(self, name: str, configs: dict[str, str], assignment: dict[int, list[int]],
                                  validate_only: bool, describe_configs: bool,
                                  created_counts: dict[str, int]) -> TopicResult:
        admin_zk = self.broker.admin_zk
        defaults = self._broker_defaults()
        log_config: LogConfig | None = None

        def validator(props: Mapping[str, str]) -> None:
            nonlocal log_config
            log_config = validate_topic_configs(props, defaults)

        await admin_zk.validate_topic_create(name, assignment, configs, validator)
        topic_id: uuid.UUID | None = None
        if not validate_only:
            topic_id_text = None
            if getattr(self.broker.config, "uses_topic_id", False):
                topic_id = uuid.uuid4()
                topic_id_text = uuid_to_topic_id(topic_id)
            await admin_zk.create_topic_with_assignment(name, configs, assignment, validate=False,
                                                        topic_id=topic_id_text)
            created_counts[name] = len(assignment)
        entries: tuple[ConfigEntry, ...] | None = None
        if describe_configs and log_config is not None:
            entries = tuple(self.describer.topic_entries(log_config, configs, None, False, False))
        rf_out = len(next(iter(assignment.values()))) if assignment else -1
        return TopicResult(name, 0, None, len(assignment), rf_out, entries, topic_id)

    # ------------------------------------------------------------------ DeleteTopics
    async def delete_topics(self, topics: Sequence[str], timeout_ms: int) -> list[TopicResult]:
        snap = self._snapshot

        async def one(topic: str) -> TopicResult:
            if not snap.contains_topic(topic):
                return TopicResult(topic, int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
                                   default_message(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            try:
                await self.broker.admin_zk.delete_topic(topic)
            except zk_errors.TopicAlreadyMarkedForDeletionError:
                pass   # wait for the deletion already under way, as Kafka does
            except ApiError as exc:
                code, message = _error(exc)
                return TopicResult(topic, code, message)
            self.logger.info("Marked topic %s for deletion", topic)
            return TopicResult(topic, 0, None, topic_id=snap.topic_ids.get(topic))

        results = list(await asyncio.gather(*(one(t) for t in topics)))
        return await self._wait(results, timeout_ms, lambda r: self._snapshot.contains_topic(r.name))

    # ------------------------------------------------------------------ CreatePartitions
    async def create_partitions(self, requests: Sequence[NewPartitions], timeout_ms: int,
                                validate_only: bool) -> list[TopicResult]:
        results: list[TopicResult] = []
        zk = self.broker.zk_client
        live = sorted(self._live_brokers())
        live_ids = {b.broker_id for b in live}
        counts: dict[str, int] = {}
        for req in requests:
            try:
                current = await zk.get_topic_assignment(req.name)
                if current is None or not current.partitions:
                    raise ApiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{req.name}' does not exist.")
                if await zk.is_topic_marked_for_deletion(req.name):
                    raise ApiError(ErrorCode.INVALID_TOPIC_EXCEPTION, "The topic is queued for deletion.")
                old = len(current.partitions)
                increment = req.count - old
                if increment < 0:
                    raise ApiError(ErrorCode.INVALID_PARTITIONS,
                                   f"Topic currently has {old} partitions, which is higher than the requested "
                                   f"{req.count}.")
                if increment == 0:
                    raise ApiError(ErrorCode.INVALID_PARTITIONS, f"Topic already has {old} partitions.")
                manual: dict[int, list[int]] | None = None
                if req.assignments is not None:
                    unknown = sorted({b for r in req.assignments for b in r} - live_ids)
                    if unknown:
                        raise ApiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                                       f"Unknown broker(s) in replica assignment: {', '.join(map(str, unknown))}.")
                    if len(req.assignments) != increment:
                        raise ApiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                                       f"Increasing the number of partitions by {increment} but "
                                       f"{len(req.assignments)} assignments provided.")
                    manual = {old + i: list(r) for i, r in enumerate(req.assignments)}
                added = new_partitions_assignment(req.name, current.partitions, live, req.count, manual)
                if not validate_only:
                    full: dict[int, Any] = dict(current.partitions)
                    full.update(added)
                    await zk.set_topic_assignment(req.name, full, current.topic_id)
                    self.logger.info("Creating %d partitions for '%s' with the following replica assignment: %s",
                                     increment, req.name, added)
                    counts[req.name] = req.count
                results.append(TopicResult(req.name))
            except ApiError as exc:
                code, message = _error(exc)
                self.logger.info("Error processing create partitions request for %s: %s", req.name, message)
                results.append(TopicResult(req.name, code, message))
        if validate_only:
            return results
        return await self._wait(results, timeout_ms,
                                lambda r: not self._has_leaders(r.name, counts.get(r.name)))

    # ------------------------------------------------------------------ DescribeConfigs
    async def describe_configs(self, resources: Sequence[tuple[int, str, Sequence[str] | None]],
                               include_synonyms: bool, include_documentation: bool) -> list[ResourceResult]:
        out: list[ResourceResult] = []
        for rtype, rname, keys in resources:
            try:
                entries = await self._describe_one(rtype, rname, keys, include_synonyms, include_documentation)
                # Kafka leaves the message at its empty default for these two answers.
                if entries is None:
                    out.append(ResourceResult(rtype, rname, int(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION), ""))
                else:
                    out.append(ResourceResult(rtype, rname, 0, "", tuple(entries)))
            except (ApiError, ConfigError) as exc:
                code, message = _error(exc)
                self.logger.info("Error processing describe configs request for resource %s/%s: %s",
                                 rtype, rname, message)
                out.append(ResourceResult(rtype, rname, code, message))
        return out

    async def _describe_one(self, rtype: int, rname: str, keys: Sequence[str] | None, include_synonyms: bool,
                            include_documentation: bool) -> list[ConfigEntry] | None:
        if rtype == ResourceType.TOPIC:
            try:
                validate_topic_name(rname)
            except zk_errors.InvalidTopicError as exc:
                raise ApiError(ErrorCode.INVALID_TOPIC_EXCEPTION, str(exc)) from None
            if not self._snapshot.contains_topic(rname):
                return None   # UNKNOWN_TOPIC_OR_PARTITION without a message, as Kafka answers it
            props = await self.broker.zk_client.get_entity_config(ConfigType.TOPIC, rname)
            log_config = LogConfig.from_props(props, self._broker_defaults())
            return self.describer.topic_entries(log_config, props, keys, include_synonyms, include_documentation)
        if rtype == ResourceType.BROKER:
            if not rname:
                return self.describer.broker_entries(False, keys, include_synonyms, include_documentation)
            self._check_broker_id(rname)
            return self.describer.broker_entries(True, keys, include_synonyms, include_documentation)
        if rtype == ResourceType.BROKER_LOGGER:
            if not rname:
                raise ApiError(ErrorCode.INVALID_REQUEST, "Broker id must not be empty")
            self._check_broker_id(rname, "logger")
            levels = logger_levels()
            wanted = set(keys) if keys else None
            return [ConfigEntry(n, lvl, int(ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG), False, False, (), 0, None)
                    for n, lvl in levels.items() if wanted is None or n in wanted]
        raise ApiError(ErrorCode.INVALID_REQUEST, f"Unsupported resource type: {_resource_type_name(rtype)}")

    def _check_broker_id(self, rname: str, style: str = "describe") -> int:
        """The resource's broker id, which must be ours; `style` picks Kafka's wording of the error."""
        try:
            broker_id = int(rname)
        except ValueError:
            raise ApiError(ErrorCode.INVALID_REQUEST,
                           f"Broker id must be an integer, but it is: {rname}") from None
        if broker_id != int(self.broker.broker_id):
            expected = {"describe": f"{self.broker.broker_id} or empty string,",
                        "logger": f"{self.broker.broker_id}",
                        "alter": f"{self.broker.broker_id},"}[style]
            raise ApiError(ErrorCode.INVALID_REQUEST, f"Unexpected broker id, expected {expected} but received {rname}")
        return broker_id

    # ------------------------------------------------------------------ AlterConfigs
    async def alter_configs(self, resources: Sequence[tuple[int, str, Mapping[str, str | None]]],
                            validate_only: bool) -> list[ResourceResult]:
        """The legacy API: the given configs replace the entity's whole config set."""
        out: list[ResourceResult] = []
        for rtype, rname, configs in resources:
            try:
                nulls = [k for k, v in configs.items() if v is None]
                if nulls:
                    raise ApiError(ErrorCode.INVALID_REQUEST,
                                   f"Null value not supported for : {','.join(nulls)}")
                props = {k: v for k, v in configs.items() if v is not None}
                await self._write_entity(rtype, rname, props, validate_only)
                out.append(ResourceResult(rtype, rname))
            except (ApiError, ConfigError) as exc:
                out.append(self._alter_error(rtype, rname, exc))
        return out

    def _alter_error(self, rtype: int, rname: str, exc: BaseException) -> ResourceResult:
        if isinstance(exc, ConfigError):
            message = (f"Invalid config value for resource ConfigResource(type={_resource_type_name(rtype)}, "
                       f"name='{rname}'): {exc}")
            self.logger.info("%s", message)
            return ResourceResult(rtype, rname, int(ErrorCode.INVALID_REQUEST), message)
        code, message = _error(exc)
        self.logger.info("Error processing alter configs request for resource %s/%s: %s", rtype, rname, message)
        return ResourceResult(rtype, rname, code, message)

    async def _write_entity(self, rtype: int, rname: str, props: dict[str, str], validate_only: bool) -> None:
        admin_zk = self.broker.admin_zk
        if rtype == ResourceType.TOPIC:
            if not self._snapshot.contains_topic(rname):
                raise ApiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{rname}' does not exist.")
            if not await self.broker.zk_client.topic_exists(rname):
                raise ApiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"Topic {rname} does not exist.")
            validate_topic_configs(props, self._broker_defaults())
            if not validate_only:
                await admin_zk.change_entity_config(ConfigType.TOPIC, rname, props)
            return
        if rtype == ResourceType.BROKER:
            per_broker = bool(rname)
            if per_broker:
                self._check_broker_id(rname, "alter")
            self.broker_config.validate(props, per_broker)
            if not validate_only:
                entity = rname if per_broker else DEFAULT_ENTITY
                await admin_zk.change_entity_config(ConfigType.BROKER, entity, props)
            return
        raise ApiError(ErrorCode.INVALID_REQUEST,
                       f"AlterConfigs is only supported for topics and brokers, but resource type is "
                       f"{_resource_type_name(rtype)}")

    # ------------------------------------------------------------------ IncrementalAlterConfigs
    async def incremental_alter_configs(
            self, resources: Sequence[tuple[int, str, Sequence[tuple[str, int, str | None]]]],
            validate_only: bool) -> list[ResourceResult]:
        out: list[ResourceResult] = []
        for rtype, rname, ops in resources:
            try:
                names = [n for n, _, _ in ops]
                dupes = [n for n in dict.fromkeys(names) if names.count(n) > 1]
                if dupes:
                    raise ApiError(ErrorCode.INVALID_REQUEST,
                                   f"Error due to duplicate config keys : {','.join(dupes)}")
                nulls = [f"{_op_name(op)}:{n}" for n, op, v in ops if v is None and op != AlterConfigOp.DELETE]
                if nulls:
                    raise ApiError(ErrorCode.INVALID_REQUEST, f"Null value not supported for : {','.join(nulls)}")
                if rtype == ResourceType.BROKER_LOGGER:
                    self._alter_loggers(rname, ops, validate_only)
                elif rtype in (ResourceType.TOPIC, ResourceType.BROKER):
                    current = await self._current_props(rtype, rname)
                    new = self._apply_ops(rtype, current, ops)
                    await self._write_entity(rtype, rname, new, validate_only)
                else:
                    raise ApiError(ErrorCode.INVALID_REQUEST,
                                   f"AlterConfigs is only supported for topics and brokers, but resource type "
                                   f"is {_resource_type_name(rtype)}")
                out.append(ResourceResult(rtype, rname))
            except (ApiError, ConfigError) as exc:
                out.append(self._alter_error(rtype, rname, exc))
        return out

    async def _current_props(self, rtype: int, rname: str) -> dict[str, str]:
        zk = self.broker.zk_client
        if rtype == ResourceType.TOPIC:
            return dict(await zk.get_entity_config(ConfigType.TOPIC, rname))
        if rname:
            self._check_broker_id(rname, "alter")
        return dict(await zk.get_entity_config(ConfigType.BROKER, rname or DEFAULT_ENTITY))

    def _apply_ops(self, rtype: int, current: dict[str, str],
                   ops: Sequence[tuple[str, int, str | None]]) -> dict[str, str]:
        props = dict(current)
        for name, op, value in ops:
            if op == AlterConfigOp.SET:
                props[name] = value or ""
            elif op == AlterConfigOp.DELETE:
                props.pop(name, None)
            elif op in (AlterConfigOp.APPEND, AlterConfigOp.SUBTRACT):
                key = self._key_of(rtype, name)
                if key is None:
                    raise ApiError(ErrorCode.INVALID_CONFIG, f"Unknown topic config name: {name}")
                if key.type is not Type.LIST:
                    verb = "append" if op == AlterConfigOp.APPEND else "subtract"
                    raise ApiError(ErrorCode.INVALID_REQUEST,
                                   f"Config value {verb} is not allowed for config key: {name}")
                existing = props.get(name)
                if existing is None and key.default is not None:
                    existing = format_value(key.default, key.type)   # the definition's default, as Kafka
                items = [s.strip() for s in (existing or "").split(",") if s.strip()]
                given = [s.strip() for s in (value or "").split(",") if s.strip()]
                if op == AlterConfigOp.APPEND:
                    items += given                                    # a list concatenation, duplicates kept
                else:
                    for g in given:                                   # a multiset difference
                        if g in items:
                            items.remove(g)
                props[name] = ",".join(items)
            else:
                raise ApiError(ErrorCode.INVALID_REQUEST, f"Unknown alter config operation {op} for {name}")
        return props

    def _key_of(self, rtype: int, name: str) -> ConfigKey | None:
        if rtype == ResourceType.TOPIC:
            return TOPIC_CONFIG_DEF[name] if name in TOPIC_CONFIG_DEF else None
        return BROKER_CONFIG[name] if name in BROKER_CONFIG else None

    def _alter_loggers(self, rname: str, ops: Sequence[tuple[str, int, str | None]], validate_only: bool) -> None:
        if rname:
            self._check_broker_id(rname, "alter")
        known = logger_levels()
        changes: list[tuple[str, int | None]] = []
        for name, op, value in ops:
            if op in (AlterConfigOp.SET, AlterConfigOp.DELETE) and name not in known:
                raise ConfigError(f"Logger {name} does not exist!")
            if op == AlterConfigOp.SET:
                level = _LEVELS_BY_NAME.get(value or "")
                if level is None:
                    raise ConfigError(f"Cannot set the log level of {name} to {value} as it is not a supported "
                                      f"log level. Valid log levels are {', '.join(_LEVELS_BY_NAME)}")
                changes.append((name, level))
            elif op == AlterConfigOp.DELETE:
                if name == ROOT_LOGGER:
                    raise ApiError(ErrorCode.INVALID_REQUEST,
                                   f"Removing the log level of the {ROOT_LOGGER} logger is not allowed")
                changes.append((name, None))
            else:
                raise ApiError(ErrorCode.INVALID_REQUEST,
                               f"{_op_name(op)} operation is not allowed for the BROKER_LOGGER resource")
        if validate_only:
            return
        for name, level in changes:
            target = logging.getLogger() if name == ROOT_LOGGER else logging.getLogger(name)
            target.setLevel(level if level is not None else logging.NOTSET)


def _op_name(op: int) -> str:
    try:
        return AlterConfigOp(op).name
    except ValueError:
        return str(op)


def _resource_type_name(rtype: int) -> str:
    try:
        return ResourceType(rtype).name
    except ValueError:
        return str(rtype)


# ====================================================================== one per broker
_MANAGERS: "weakref.WeakKeyDictionary[Any, AdminManager]" = weakref.WeakKeyDictionary()


def admin_manager_for(broker: Any) -> AdminManager:
    """The broker's AdminManager, created (with its DynamicConfigManager started) on first use."""
    manager = _MANAGERS.get(broker)
    if manager is None:
        manager = AdminManager(broker)
        _MANAGERS[broker] = manager
        if getattr(broker, "zk_client", None) is not None and getattr(broker, "tasks", None) is not None:
            manager.dynamic_config_manager = dynamic_config.start(broker, manager.broker_config)
        hooks = getattr(broker, "shutdown_hooks", None)
        if isinstance(hooks, list):   # run by the broker after its listeners stop
            hooks.append(manager.shutdown)
    return manager


def duplicates(names: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    dupes: set[str] = set()
    for n in names:
        if n in seen:
            dupes.add(n)
        seen.add(n)
    return dupes


__all__ = ["AdminManager", "AlterConfigOp", "ConfigDescriber", "ConfigEntry", "ConfigSource", "ConfigSynonym",
           "DelayedTopicOperation", "NewPartitions", "NewTopic", "ResourceResult", "ResourceType", "TopicResult",
           "admin_manager_for", "duplicates", "validate_topic_configs", "logger_levels"]
