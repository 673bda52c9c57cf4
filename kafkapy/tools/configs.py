"""kafka-configs.sh: describe and alter entity configs (Kafka 2.8's ConfigCommand).

``--zookeeper`` reads and writes ``/config/<type>/<name>`` and the ``/config/changes``
notifications through AdminZkClient (topics, clients, users, brokers, ips);
``--bootstrap-server`` uses DescribeConfigs / IncrementalAlterConfigs through the AdminClient
(topics and brokers). Output lines and errors follow Kafka 2.8.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from kafkapy.clients.admin import AdminClient, AlterConfigOp, ConfigResource, ConfigResourceType
from kafkapy.common.config import ConfigError
from kafkapy.common.errors import ApiError
from kafkapy.log.config import TOPIC_CONFIG_DEF
from kafkapy.tools._common import CommandError, Opt, ToolParser, UsageError, load_properties_file, run_tool
from kafkapy.tools.topics import java_hashmap_order
from kafkapy.zk import errors as zk_errors
from kafkapy.zk.admin_zk import AdminZkClient
from kafkapy.zk.kafka_zk import KafkaZkClient
from kafkapy.zk.znodes import ConfigEntityZNode, ConfigType

DESCRIPTION = "This tool helps to manipulate and describe entity config for a topic, client, user, broker or ip"

OPTIONS = [
    Opt("--add-config", "<String>", "Configs to add or change: k1=v1,k2=[v1,v2,v2],k3=v3 (square brackets group "
        "a list value)."),
    Opt("--add-config-file", "<String>", "A properties file of configs to add or change."),
    Opt("--all", None, "With --describe and --bootstrap-server, list every config, not only dynamic ones."),
    Opt("--alter", None, "Change the configs of an entity."),
    Opt("--bootstrap-server", "<String: server to connect to>", "The broker(s) to connect to (required unless "
        "--zookeeper is given)."),
    Opt("--broker", "<String>", "Shorthand for --entity-type brokers --entity-name <id>."),
    Opt("--broker-defaults", None, "Shorthand for --entity-type brokers --entity-default."),
    Opt("--broker-logger", "<String>", "Shorthand for --entity-type broker-loggers --entity-name <id>."),
    Opt("--client", "<String>", "Shorthand for --entity-type clients --entity-name <id>."),
    Opt("--client-defaults", None, "Shorthand for --entity-type clients --entity-default."),
    Opt("--command-config", "<String: command config property file>", "A properties file with admin client "
        "settings (only with --bootstrap-server)."),
    Opt("--delete-config", "<String>", "Config names to remove, comma separated: k1,k2."),
    Opt("--describe", None, "Show the configs of the given entity (or all entities of the type)."),
    Opt("--entity-default", None, "The default entity of the type (clients, users, brokers)."),
    Opt("--entity-name", "<String>", "Name of the entity (topic, client id, user principal or broker id).",
        multi=True),
    Opt("--entity-type", "<String>", "Type of entity: topics, clients, users, brokers, broker-loggers, ips.",
        multi=True),
    Opt("--force", None, "Do not ask for confirmation."),
    Opt("--help", None, "Show this help."),
    Opt("--topic", "<String>", "Shorthand for --entity-type topics --entity-name <topic>."),
    Opt("--user", "<String>", "Shorthand for --entity-type users --entity-name <principal>."),
    Opt("--user-defaults", None, "Shorthand for --entity-type users --entity-default."),
    Opt("--version", None, "Print the Kafka version."),
    Opt("--zookeeper", "<String: urls>", "DEPRECATED: the ZooKeeper connect string (host:port[/chroot]); "
        "use --bootstrap-server instead."),
]

PARSER = ToolParser("kafka-configs.sh", OPTIONS, DESCRIPTION)

ZK_TYPES = ("topics", "clients", "users", "brokers", "ips")
ADMIN_TYPES = ("topics", "clients", "users", "brokers", "broker-loggers")
_TYPE_NAMES = {"topics": "topic", "clients": "client-id", "users": "user-principal", "brokers": "brokers",
               "ips": "ip"}
_SOURCE_NAMES = {0: "UNKNOWN", 1: "DYNAMIC_TOPIC_CONFIG", 2: "DYNAMIC_BROKER_CONFIG",
                 3: "DYNAMIC_DEFAULT_BROKER_CONFIG", 4: "STATIC_BROKER_CONFIG", 5: "DEFAULT_CONFIG",
                 6: "DYNAMIC_BROKER_LOGGER_CONFIG"}
DEFAULT = "<default>"
ZK_WARNING = ("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\n"
              "Use --bootstrap-server instead to specify a broker to connect to.\n")


class IllegalArgument(Exception):
    """Printed alone on stderr (Kafka's IllegalArgumentException / InvalidConfigurationException)."""


def parse_config_list(text: str) -> dict[str, str]:
    """``k1=v1,k2=[a,b],k3=v3`` -> {k1: v1, k2: "a,b", k3: v3}."""
    items: list[str] = []
    depth = 0
    current = ""
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    out: dict[str, str] = {}
    for item in items:
        if not item.strip():
            continue
        parts = item.split("=", 1)
        if len(parts) != 2 or not parts[0].strip():
            raise IllegalArgument('requirement failed: Invalid entity config: all configs to be added must be in '
                                  'the format "key=val".')
        value = parts[1].strip()
        if value.startswith("[") and value.endswith("]"):
            value = value[1:-1]
        out[parts[0].strip()] = value
    return out


def _entities(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """[(entity_type, name or DEFAULT or None)] from the long and the shorthand options."""
    types = list(args.entity_type or [])
    names: list[str | None] = list(args.entity_name or [])
    shorthands = [("topics", args.topic), ("clients", args.client), ("users", args.user),
                  ("brokers", args.broker), ("broker-loggers", args.broker_logger)]
    for t, n in shorthands:
        if n is not None:
            types.append(t)
            names.append(n)
    for t, flag in (("clients", args.client_defaults), ("users", args.user_defaults),
                    ("brokers", args.broker_defaults)):
        if flag:
            types.append(t)
            names.append(DEFAULT)
    if args.entity_default:
        names.append(DEFAULT)
    if not types:
        raise UsageError("At least one entity type must be specified")
    if len(names) > len(types):
        raise UsageError("An entity name must be specified for every entity type")
    return [(t, names[i] if i < len(names) else None) for i, t in enumerate(types)]


def _check(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    if (args.zookeeper is None) == (args.bootstrap_server is None):
        raise UsageError("Only one of --bootstrap-server or --zookeeper must be specified")
    if args.alter == args.describe:
        raise UsageError("Command must include exactly one action: --alter, --describe")
    entities = _entities(args)
    allowed = ZK_TYPES if args.zookeeper is not None else ADMIN_TYPES
    for t, _n in entities:
        if t not in allowed:
            where = "--zookeeper" if args.zookeeper is not None else "--bootstrap-server"
            raise IllegalArgument(f"Invalid entity type {t}, the entity type must be one of "
                                  f"{','.join(allowed)} with the {where} argument")
    if args.alter:
        if not (args.add_config or args.add_config_file or args.delete_config):
            raise UsageError("At least one of --add-config, --add-config-file, or --delete-config must be "
                             "specified with --alter")
        if any(n is None for _t, n in entities):
            raise UsageError("an entity name must be specified with --alter")
    return entities


def entity_description(entity_type: str, name: str | None) -> str:
    type_name = _TYPE_NAMES.get(entity_type, entity_type)
    if name == DEFAULT:
        return f"default {type_name}"
    return f"{type_name} '{name}'"


def _configs_to_add(args: argparse.Namespace) -> dict[str, str]:
    configs: dict[str, str] = {}
    if args.add_config_file:
        configs.update(load_properties_file(args.add_config_file))
    if args.add_config:
        configs.update(parse_config_list(args.add_config))
    return configs


def _configs_to_delete(args: argparse.Namespace) -> list[str]:
    return [c.strip() for c in (args.delete_config or "").split(",") if c.strip()]


# ------------------------------------------------------------------ ZooKeeper path
async def zk_alter(zk: KafkaZkClient, args: argparse.Namespace, entities: Sequence[tuple[str, str | None]],
                   out: TextIO) -> None:
    admin = AdminZkClient(zk)
    entity_type, name = entities[0]
    assert name is not None
    path_name = name
    if len(entities) == 2:           # users/<u>/clients/<c>
        path_name = f"{name}/clients/{entities[1][1]}"
    to_add = _configs_to_add(args)
    to_delete = _configs_to_delete(args)
    if entity_type == "brokers" and to_add:
        live = await zk.get_sorted_broker_ids()
        keys = ", ".join(to_add)
        if name == DEFAULT and live:
            raise IllegalArgument(f"requirement failed: --bootstrap-server option must be specified to update broker "
                                  f"configs Set({keys}). for default cluster if any broker is running. Broker "
                                  "configuration updates using ZooKeeper are supported for bootstrapping before "
                                  "brokers are started to enable encrypted password configs to be stored in "
                                  "ZooKeeper.")
        if name != DEFAULT and int(name) in live:
            raise IllegalArgument(f"requirement failed: --bootstrap-server option must be specified to update broker "
                                  f"configs Set({keys}). when broker {name} is running. Broker configuration updates "
                                  "using ZooKeeper are supported for bootstrapping before brokers are started to "
                                  "enable encrypted password configs to be stored in ZooKeeper.")
    current = await zk.get_entity_config(entity_type, path_name)
    missing = [k for k in to_delete if k not in current]
    if missing:
        raise IllegalArgument(f"Invalid config(s): {','.join(missing)}")
    current.update(to_add)
    for k in to_delete:
        current.pop(k, None)
    if entity_type == "topics":
        for k in current:
            if not TOPIC_CONFIG_DEF.is_known(k):
                raise IllegalArgument(f"Unknown topic config name: {k}")
        try:
            TOPIC_CONFIG_DEF.parse(current)
        except ConfigError as exc:
            raise IllegalArgument(str(exc)) from exc
        if not await zk.topic_exists(name):
            raise ApiError(3, f"Topic '{name}' does not exist.")
    await admin.change_entity_config(entity_type, path_name, current)
    desc = ", ".join(entity_description(t, n) for t, n in entities)
    out.write(f"Completed updating config for entity: {desc}.\n")


async def zk_describe(zk: KafkaZkClient, entities: Sequence[tuple[str, str | None]], out: TextIO) -> None:
    entity_type, name = entities[0]
    if name is None:
        try:
            names = await zk.zk.get_children(f"/config/{entity_type}")
        except zk_errors.NoNodeError:
            names = []
    else:
        names = [name]
    for n in names:
        data = await zk.zk.get_or_none(f"/config/{entity_type}/{n}")
        configs = ConfigEntityZNode.decode(data[0]) if data else {}
        text = ",".join(f"{k}={configs[k]}" for k in java_hashmap_order(list(configs)))
        out.write(f"Configs for {entity_description(entity_type, n)} are {text}\n")


# ------------------------------------------------------------------ broker path
def _resource(entity_type: str, name: str | None) -> ConfigResource:
    if entity_type == "topics":
        return ConfigResource(ConfigResourceType.TOPIC, name or "")
    if entity_type == "broker-loggers":
        return ConfigResource(ConfigResourceType.BROKER_LOGGER, name or "")
    if entity_type == "brokers":
        return ConfigResource(ConfigResourceType.BROKER, "" if name in (None, DEFAULT) else name)
    raise IllegalArgument(f"Entity type {entity_type} is not supported by kafkapy's --bootstrap-server path yet")


def _admin_subject(entity_type: str, name: str | None) -> str:
    if entity_type == "brokers":
        return "default config for brokers in the cluster" if name in (None, DEFAULT, "") else f"config for broker {name}"
    if entity_type == "broker-loggers":
        return f"config for broker-logger {name}"
    return f"config for topic {name}"


async def admin_alter(admin: AdminClient, args: argparse.Namespace,
                      entities: Sequence[tuple[str, str | None]], out: TextIO) -> None:
    entity_type, name = entities[0]
    res = _resource(entity_type, name)
    ops = [(k, v, AlterConfigOp.SET) for k, v in _configs_to_add(args).items()]
    ops += [(k, None, AlterConfigOp.DELETE) for k in _configs_to_delete(args)]
    err = (await admin.incremental_alter_configs({res: ops}))[res]
    if err is not None:
        raise err
    out.write(f"Completed updating {_admin_subject(entity_type, name)}.\n")


async def admin_describe(admin: AdminClient, args: argparse.Namespace,
                         entities: Sequence[tuple[str, str | None]], out: TextIO) -> None:
    entity_type, name = entities[0]
    if name is None:
        if entity_type == "topics":
            names: list[str | None] = list(await admin.list_topics())
        else:
            names = [str(b) for b in sorted((await admin.describe_cluster()).brokers)]
    else:
        names = [name]
    for n in names:
        res = _resource(entity_type, n)
        if entity_type == "brokers" and n in (None, DEFAULT):
            header = "Default configs for brokers in the cluster are:"
            wanted = {3}
        elif entity_type == "brokers":
            header = f"{'All' if args.all else 'Dynamic'} configs for broker {n} are:"
            wanted = {2, 3}
        else:
            header = f"{'All' if args.all else 'Dynamic'} configs for topic {n} are:"
            wanted = {1}
        got = (await admin.describe_configs([res], include_synonyms=True))[res]
        out.write(header + "\n")
        if isinstance(got, Exception):
            raise got
        for e in got:
            if not args.all and e.source not in wanted:
                continue
            synonyms = ", ".join(f"{_SOURCE_NAMES.get(src, 'UNKNOWN')}:{sn}={sv}" for sn, sv, src in e.synonyms
                                 if args.all or src in wanted or True)
            value = "null" if e.is_sensitive else e.value
            out.write(f"  {e.name}={value} sensitive={'true' if e.is_sensitive else 'false'} "
                      f"synonyms={{{synonyms}}}\n")


# ------------------------------------------------------------------ entry point
async def run(argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    if not argv:
        return PARSER.print_usage_and_die(DESCRIPTION, err)
    try:
        args = PARSER.parse(argv)
        if args.help:
            return PARSER.print_usage_and_die(DESCRIPTION, err)
        entities = _check(args)
    except UsageError as exc:
        return PARSER.print_usage_and_die(str(exc), err)
    except IllegalArgument as exc:
        err.write(f"{exc}\n")
        return 1
    try:
        if args.zookeeper is not None:
            out.write(ZK_WARNING)
            out.flush()
            zk = await KafkaZkClient.connect(args.zookeeper, session_timeout_ms=30000)
            try:
                if args.alter:
                    await zk_alter(zk, args, entities, out)
                else:
                    await zk_describe(zk, entities, out)
            finally:
                await zk.close()
        else:
            props = load_properties_file(args.command_config) if args.command_config else {}
            props["bootstrap.servers"] = args.bootstrap_server
            admin = AdminClient(props)
            try:
                if args.alter:
                    await admin_alter(admin, args, entities, out)
                else:
                    await admin_describe(admin, args, entities, out)
            finally:
                await admin.close()
    except IllegalArgument as exc:
        out.flush()
        err.write(f"{exc}\n")
        return 1
    except (ApiError, CommandError, zk_errors.ZkError, OSError, ValueError) as exc:
        out.flush()
        err.write(f"Error while executing config command with args '{' '.join(argv)}'\n")
        err.write(f"{_java_name(exc)}: {exc.message if isinstance(exc, ApiError) else exc}\n")
        return 1
    return 0


def _java_name(exc: BaseException) -> str:
    """The Java exception class name Kafka would show for `exc`."""
    if isinstance(exc, ApiError):
        base = type(exc).__name__
        if base.endswith("Error"):
            base = base[:-5] + "Exception"
        return f"org.apache.kafka.common.errors.{base}"
    return type(exc).__name__


if __name__ == "__main__":
    run_tool(lambda a: run(a, sys.stdout, sys.stderr))
