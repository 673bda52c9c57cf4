"""Write a kafkapy ``server.properties`` from ``KAFKA_*`` environment variables.

The convention of the classic Kafka images: ``KAFKA_`` is dropped, the rest is lower-cased
and ``_`` becomes ``.`` (``KAFKA_ZOOKEEPER_CONNECT`` -> ``zookeeper.connect``). A double
underscore stands for a literal ``_`` and a triple one for ``-``
(``KAFKA_LISTENER_NAME_INTERNAL_SSL__KEYSTORE_TYPE``). Variables that configure a JVM
(``KAFKA_HEAP_OPTS``, ``KAFKA_OPTS``...) or this image (``KAFKAPY_*``) are not properties.

Defaults when unset: ``broker.id=-1`` (generated), ``listeners=PLAINTEXT://0.0.0.0:9092``,
``advertised.listeners=PLAINTEXT://<hostname>:9092`` (only with the default listeners),
``log.dirs=/var/lib/kafkapy/data``. ``zookeeper.connect`` is required.

Usage: ``python3 env_config.py OUTPUT`` (``-`` for stdout). Exit 1 with one line on error.
"""
from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping

NOT_PROPERTIES = frozenset({
    "KAFKA_HEAP_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS",
    "KAFKA_LOG4J_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL",
    "KAFKA_HOME", "KAFKA_VERSION", "KAFKA_DEBUG", "KAFKA_CREATE_TOPICS",
})
DEFAULT_DATA_DIR = "/var/lib/kafkapy/data"


def property_name(variable: str) -> str:
    """``KAFKA_LOG_RETENTION_MS`` -> ``log.retention.ms`` (``__`` -> ``_``, ``___`` -> ``-``)."""
    body = variable[len("KAFKA_"):]
    return body.replace("___", "\0dash\0").replace("__", "\0us\0").replace("_", ".") \
        .replace("\0dash\0", "-").replace("\0us\0", "_").lower()


def properties_from_env(env: Mapping[str, str], hostname: str | None = None) -> dict[str, str]:
    props: dict[str, str] = {}
    for variable, value in sorted(env.items()):
        if variable.startswith("KAFKA_") and variable not in NOT_PROPERTIES and len(variable) > len("KAFKA_"):
            props[property_name(variable)] = value
    if not props.get("zookeeper.connect"):
        raise ValueError("KAFKA_ZOOKEEPER_CONNECT is required (e.g. zookeeper:2181)")
    props.setdefault("broker.id", "-1")
    props.setdefault("log.dirs", DEFAULT_DATA_DIR)
    if "listeners" not in props:
        props["listeners"] = "PLAINTEXT://0.0.0.0:9092"
        props.setdefault("advertised.listeners", f"PLAINTEXT://{hostname or socket.gethostname()}:9092")
    return props


def render(props: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in props.items())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: env_config.py OUTPUT", file=sys.stderr)
        return 2
    try:
        text = render(properties_from_env(os.environ))
    except ValueError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    if argv[1] == "-":
        sys.stdout.write(text)
    else:
        with open(argv[1], "w", encoding="utf-8") as out:
            out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
