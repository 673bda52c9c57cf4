"""Dynamic configuration: the broker side of `/config/changes` (Kafka's DynamicConfigManager).

Every broker watches the children of ``/config/changes``. On each trigger it lists the
``config_change_##########`` notifications in sequence order, and for each one newer than the
last it processed it re-reads the whole entity config the notification names (the notification
is only a hint) and applies it:

* ``topics/<t>``: the topic's overrides become the source of the LogConfig of every log of
  ``t`` on this broker (retention, segment size, max.message.bytes... take effect at once);
* ``brokers/<id>`` (this broker) and ``brokers/<default>``: the dynamic broker configs, layered
  as Kafka does (dynamic per-broker > dynamic cluster default > server.properties > defaults);
  log-related defaults (log.retention.ms, message.max.bytes, min.insync.replicas,
  log.cleaner.* ratios and lags, unclean.leader.election.enable...) are pushed to every log
  whose topic does not override them.

Notifications older than 15 minutes are purged (every broker does it; races are harmless).
The watch is re-armed after every trigger and after a new ZooKeeper session.

`DynamicBrokerConfig` is the pure layering, shared with DescribeConfigs/AlterConfigs.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from kafkapy.common.config import PASSWORD, ConfigError, format_value
from kafkapy.server.config import BROKER_CONFIG, KafkaConfig
from kafkapy.zk import errors as zk_errors
from kafkapy.zk.znodes import (
    DEFAULT_ENTITY,
    ConfigEntityChangeNotificationSequenceZNode,
    ConfigEntityChangeNotificationZNode,
    ConfigType,
)

log = logging.getLogger(__name__)

CHANGE_PREFIX = ConfigEntityChangeNotificationSequenceZNode.SEQUENCE_PREFIX
NOTIFICATION_MAX_AGE_MS = 15 * 60 * 1000

# Broker properties that are synonyms of one another (first = the preferred name).
_SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("log.roll.ms", "log.roll.hours"),
    ("log.roll.jitter.ms", "log.roll.jitter.hours"),
    ("log.flush.interval.ms", "log.flush.scheduler.interval.ms"),
    ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
)
_SYNONYMS: dict[str, tuple[str, ...]] = {name: group for group in _SYNONYM_GROUPS for name in group}

# Dynamic broker properties Kafka 2.8 accepts that the broker property table does not declare.
EXTRA_DYNAMIC_CONFIGS = frozenset({
    "leader.replication.throttled.rate", "follower.replication.throttled.rate",
    "replica.alter.log.dirs.io.max.bytes.per.second",
})


def broker_synonyms(name: str) -> tuple[str, ...]:
    """The broker property names that set the same value as `name` (Kafka's brokerConfigSynonyms)."""
    return _SYNONYMS.get(name, (name,))


def is_dynamic_broker_config(name: str) -> bool:
    if name in EXTRA_DYNAMIC_CONFIGS:
        return True
    if name.startswith("listener.name."):
        return True
    return name in BROKER_CONFIG and BROKER_CONFIG[name].is_dynamic


def is_password_config(name: str) -> bool:
    """A broker property of type password, also under a ``listener.name.<l>.[<mechanism>.]`` prefix."""
    parts = name.split(".")
    for i in range(len(parts)):
        key = ".".join(parts[i:])
        if key in BROKER_CONFIG:
            return BROKER_CONFIG[key].type is PASSWORD
    return False


def is_per_broker_only(name: str) -> bool:
    if name.startswith("listener.name."):
        return True
    return name in BROKER_CONFIG and BROKER_CONFIG[name].dynamic == "per-broker"


def _scala_set(names: list[str]) -> str:
    return "Set(" + ", ".join(names) + ")"


class DynamicBrokerConfig:
    """The layers of broker configuration: static (server.properties), dynamic cluster default
    (``/config/brokers/<default>``) and dynamic per-broker (``/config/brokers/<id>``)."""

    def __init__(self, static_props: Mapping[str, Any], broker_id: int) -> None:
        self.broker_id = broker_id
        self.static: dict[str, str] = {k: _as_text(v) for k, v in static_props.items() if v is not None}
        self.dynamic_default: dict[str, str] = {}
        self.dynamic_broker: dict[str, str] = {}
        self.static_defaults: dict[str, str] = {
            key.name: format_value(key.default, key.type)
            for key in BROKER_CONFIG if not key.required and key.default is not None}

    def effective(self) -> dict[str, str]:
        """Every supplied property with the dynamic layers applied (what log configs derive from).
        A dynamic value removes the lower layers' synonyms of its name (a dynamic log.retention.ms
        hides a static log.retention.hours), as Kafka does so that precedence holds."""
        out = dict(self.static)
        for layer in (self.dynamic_default, self.dynamic_broker):
            for name, value in layer.items():
                for synonym in broker_synonyms(name):
                    out.pop(synonym, None)
                out[name] = value
        return out

    def value_of(self, name: str) -> str | None:
        """The current value of a broker property as text (its definition's default when unset)."""
        effective = self.effective()
        if name in effective:
            return effective[name]
        return self.static_defaults.get(name)

    def validate(self, props: Mapping[str, str], per_broker: bool) -> None:
        """Kafka's checks of a dynamic update; raises ConfigError with Kafka's message."""
        non_dynamic = sorted(n for n in props if n in BROKER_CONFIG and not is_dynamic_broker_config(n))
        if non_dynamic:
            raise ConfigError(f"Cannot update these configs dynamically: {_scala_set(non_dynamic)}")
        if not per_broker:
            per_broker_only = sorted(n for n in props if is_per_broker_only(n))
            if per_broker_only:
                raise ConfigError("Cannot update these configs at default cluster level, broker id must be "
                                  f"specified: {_scala_set(per_broker_only)}")
        passwords = sorted(n for n in props if is_password_config(n))
        if passwords:
            # Kafka stores dynamic passwords encrypted with password.encoder.secret, and refuses them
            # without one; kafkapy has no listener that would use them (no SSL or SASL) and no cipher.
            if not self.static.get("password.encoder.secret"):
                raise ConfigError("Password encoder secret not configured")
            raise ConfigError(f"Cannot update these configs dynamically: {_scala_set(passwords)} (password "
                              "configs belong to SSL and SASL listeners, which kafkapy does not have)")
        # The values must parse and pass the cross-property checks as a whole configuration.
        merged = dict(self.static)
        if per_broker:
            merged.update(self.dynamic_default)
            merged.update(props)
        else:
            merged.update(props)
            merged.update(self.dynamic_broker)
        known = {k: v for k, v in merged.items() if k in BROKER_CONFIG}
        KafkaConfig(known, log_unknown=False)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return format_value(value)


class DynamicConfigManager:
    """Applies `/config/changes` notifications on this broker (see the module docstring)."""

    def __init__(self, broker: Any, dynamic_broker_config: DynamicBrokerConfig) -> None:
        self.broker = broker
        self.broker_config = dynamic_broker_config
        self.last_executed_change = -1
        self._processing = False
        self._again = False
        self._closed = False
        self.applied: list[str] = []   # entity paths applied, in order (tests and debugging)
        self._changed_event = asyncio.Event()
        self.logger = logging.LoggerAdapter(log, {})

    # ------------------------------------------------------------------ lifecycle
    async def startup(self) -> None:
        """Load the dynamic broker configs, then process the existing notifications and watch."""
        zk = self.broker.zk_client
        zk.zk.add_new_session_listener(self._on_new_session)
        await self._reload_broker_entity(DEFAULT_ENTITY)
        await self._reload_broker_entity(str(self.broker_id))
        if self.broker_config.dynamic_default or self.broker_config.dynamic_broker:
            self._push_broker_defaults()
        await self.process_notifications()

    def close(self) -> None:
        self._closed = True

    @property
    def broker_id(self) -> int:
        return int(self.broker.broker_id)

    def _on_new_session(self) -> None:
        if self._closed:
            return
        self._spawn()

    def _on_watch(self, _event: Any) -> None:   # runs on the loop (the bridge posts it)
        if self._closed:
            return
        self._spawn()

    def _spawn(self) -> None:
        try:
            self.broker.tasks.spawn("config-change-notifications", self.process_notifications())
        except RuntimeError:   # the broker's task supervisor is closed: shutting down
            self._closed = True

    # ------------------------------------------------------------------ processing
    async def process_notifications(self) -> None:
        """List the notifications (re-arming the watch) and apply the new ones, in order."""
        if self._processing:
            self._again = True
            return
        self._processing = True
        try:
            while True:
                self._again = False
                await self._process_once()
                if not self._again or self._closed:
                    break
        finally:
            self._processing = False
        self._changed_event.set()

    async def _process_once(self) -> None:
        zk = self.broker.zk_client
        try:
            children = await zk.get_sequence_children(ConfigEntityChangeNotificationZNode.path(), CHANGE_PREFIX,
                                                      watch=self._on_watch)
        except zk_errors.ZkError as exc:
            self.logger.warning("Could not read the config change notifications: %s", exc)
            return
        for seq, name in children:
            if seq <= self.last_executed_change:
                continue
            path = f"{ConfigEntityChangeNotificationZNode.path()}/{name}"
            try:
                data, _ = await zk.get_data_and_version(path)
            except zk_errors.ZkError as exc:
                self.logger.warning("Could not read config change notification %s: %s", path, exc)
                continue
            if data is not None:
                try:
                    entity_path = ConfigEntityChangeNotificationSequenceZNode.decode(data)
                except ValueError as exc:
                    self.logger.error("Ignoring config change notification %s: %s", name, exc)
                else:
                    await self.apply_entity_change(entity_path)
            self.last_executed_change = seq
        try:
            await zk.purge_obsolete_notifications(ConfigEntityChangeNotificationZNode.path(), CHANGE_PREFIX,
                                                  NOTIFICATION_MAX_AGE_MS, self.broker.clock.now_ms())
        except zk_errors.ZkError as exc:
            self.logger.debug("Purging old config change notifications failed: %s", exc)

    async def apply_entity_change(self, entity_path: str) -> None:
        entity_type, _, entity_name = entity_path.partition("/")
        if entity_type == ConfigType.TOPIC:
            await self._apply_topic(entity_name)
        elif entity_type == ConfigType.BROKER:
            if entity_name in (DEFAULT_ENTITY, str(self.broker_id)):
                await self._reload_broker_entity(entity_name)
                self._push_broker_defaults()
        else:
            self.logger.debug("Config change of %s not applied by this broker (quotas are not enforced)",
                              entity_path)
        self.applied.append(entity_path)

    async def _apply_topic(self, topic: str) -> None:
        broker = self.broker
        props = await broker.zk_client.get_entity_config(ConfigType.TOPIC, topic)
        old = broker.topic_configs.get(topic, {})
        broker.topic_configs[topic] = props
        try:
            config = broker.log_config_for(topic)
        except ConfigError as exc:
            broker.topic_configs[topic] = old
            self.logger.error("Ignoring invalid config of topic %s: %s", topic, exc)
            return
        log.info("Processing override for entityPath: topics/%s with config: %s", topic, props)
        if broker.log_manager is not None:
            broker.log_manager.update_topic_config(topic, config)
        if (config.unclean_leader_election_enable and not
                str(old.get("unclean.leader.election.enable", "false")).lower() == "true"):
            controller = getattr(broker, "controller", None)
            enable = getattr(controller, "enable_topic_unclean_leader_election", None)
            if controller is not None and getattr(controller, "is_active", False) and enable is not None:
                try:
                    enable(topic)
                except Exception:
                    self.logger.error("Could not ask the controller to run unclean elections for %s", topic,
                                      exc_info=True)

    async def _reload_broker_entity(self, entity: str) -> None:
        props = await self.broker.zk_client.get_entity_config(ConfigType.BROKER, entity)
        if entity == DEFAULT_ENTITY:
            self.broker_config.dynamic_default = dict(props)
        else:
            self.broker_config.dynamic_broker = dict(props)
        if props:
            log.info("Processing override for entityPath: brokers/%s with config: %s", entity,
                     {k: v for k, v in props.items() if "password" not in k})

    def _push_broker_defaults(self) -> None:
        """Make the log configs derive from the new effective broker properties."""
        broker = self.broker
        effective = self.broker_config.effective()
        update = getattr(broker, "update_broker_defaults", None)
        if callable(update):
            update(effective)
        else:
            # Workaround until the broker exposes a hook: the dict its log configs are built from.
            defaults = getattr(broker, "_broker_defaults", None)
            if isinstance(defaults, dict):
                defaults.clear()
                defaults.update(effective)
        lm = broker.log_manager
        if lm is None:
            return
        configs: dict[str, Any] = {}
        for tp, lg in lm.logs.items():   # one pass over the logs, one LogConfig per topic
            config = configs.get(tp.topic)
            if config is None:
                try:
                    config = configs[tp.topic] = broker.log_config_for(tp.topic)
                except ConfigError as exc:
                    self.logger.error("Dynamic broker config not applied to topic %s: %s", tp.topic, exc)
                    configs[tp.topic] = False
                    continue
            if config is not False:
                lg.update_config(config)

    async def wait_processed(self, timeout_s: float = 10.0) -> None:
        """Tests: wait for the next completed processing round."""
        self._changed_event.clear()
        await asyncio.wait_for(self._changed_event.wait(), timeout_s)


def start(broker: Any, dynamic_broker_config: DynamicBrokerConfig | None = None
          ) -> DynamicConfigManager:
    """Create the manager for `broker` and start it as a broker task."""
    if dynamic_broker_config is None:
        dynamic_broker_config = DynamicBrokerConfig(broker.config.originals(), int(broker.broker_id))
    manager = DynamicConfigManager(broker, dynamic_broker_config)
    broker.tasks.spawn("dynamic-config-manager-startup", manager.startup())
    return manager


__all__ = ["DynamicBrokerConfig", "DynamicConfigManager", "broker_synonyms", "is_dynamic_broker_config",
           "start", "CHANGE_PREFIX"]

