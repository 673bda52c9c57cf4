"""The broker's configuration: Kafka 2.8's broker properties, declared once each.

`BROKER_CONFIG` is the table (name, type, default, validator, importance, doc, dynamic
update mode). `KafkaConfig` parses and validates a set of properties against it and
derives the values Kafka computes from several properties (retention and roll times,
listeners and their security protocols, log directories...).

    config = KafkaConfig.from_file("config/server.properties", ["broker.id=2"])
    config.broker_id, config.log_retention_time_millis, config.listener_endpoints

Every property is an attribute named after it (``num.partitions`` ->
``config.num_partitions``), holding the parsed value (None when unset without a
default). Three attributes hold the effective value Kafka derives instead (the raw
value stays available through ``config.get(name)``):

- `log_dirs`: the list of directories (``log.dirs``, else ``log.dir``);
- `listener_security_protocol_map`: a dict, listener name -> security protocol;
- `inter_broker_listener_name`: the listener brokers use (from
  ``inter.broker.listener.name`` or ``security.inter.broker.protocol``).

Cross-property checks (listeners, broker id range, replica fetch timeouts...) raise
`ConfigError` with the same one-line messages as Kafka 2.8.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import total_ordering
from pathlib import Path
from typing import Any, ClassVar

from kafkapy.common.config import (
    BOOLEAN, CLASS, CLUSTER_WIDE, DOUBLE, HIGH, INT, LIST, LONG, LOW, MEDIUM, PASSWORD, PER_BROKER, SHORT,
    STRING, AbstractConfig, ConfigDef, ConfigError, Validator, at_least, list_of, load_properties,
    one_of, validator,
)

logger = logging.getLogger(__name__)
# Kafka prints the startup dump of the configuration under this logger name.
values_logger = logging.getLogger("kafka.server.KafkaConfig")

__all__ = [
    "BROKER_CONFIG", "KafkaConfig", "EndPoint", "ApiVersion", "API_VERSIONS", "SECURITY_PROTOCOLS",
    "parse_api_version", "parse_listeners", "parse_security_protocol_map", "parse_csv_list",
    "parse_overrides", "BROKER_COMPRESSION_TYPES",
]

INT_MAX = 2 ** 31 - 1
LONG_MAX = 2 ** 63 - 1
DOUBLE_MAX = 1.7976931348623157e308

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
BROKER_COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP = ",".join(f"{p}:{p}" for p in SECURITY_PROTOCOLS)

# Bytes of a v0 record's fixed overhead: the smallest segment must hold one of them.
_RECORD_OVERHEAD_V0 = 14
# message.max.bytes default: 1 MiB plus the 12-byte log overhead (offset + size).
_DEFAULT_MESSAGE_MAX_BYTES = 1024 * 1024 + 12


# ---------------------------------------------------------------------------------------------
# inter.broker.protocol.version / log.message.format.version


@total_ordering
@dataclass(frozen=True, slots=True)
class ApiVersion:
    """One of Kafka's inter-broker protocol versions, e.g. ``2.8-IV1``."""

    version: str          # full name, e.g. "0.10.0-IV1" or "0.9.0"
    short_version: str    # e.g. "0.10.0" or "2.8"
    index: int            # position in Kafka's ordered list
    record_version: int   # message format (magic) this version writes: 0, 1 or 2

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ApiVersion):
            return NotImplemented
        return self.index < other.index

    def __str__(self) -> str:
        return self.version


def _build_api_versions() -> tuple[ApiVersion, ...]:
    names = [
        "0.8.0", "0.8.1", "0.8.2", "0.9.0",
        "0.10.0-IV0", "0.10.0-IV1", "0.10.1-IV0", "0.10.1-IV1", "0.10.1-IV2", "0.10.2-IV0",
        "0.11.0-IV0", "0.11.0-IV1", "0.11.0-IV2", "1.0-IV0", "1.1-IV0", "2.0-IV0", "2.0-IV1",
        "2.1-IV0", "2.1-IV1", "2.1-IV2", "2.2-IV0", "2.2-IV1", "2.3-IV0", "2.3-IV1", "2.4-IV0",
        "2.4-IV1", "2.5-IV0", "2.6-IV0", "2.7-IV0", "2.7-IV1", "2.7-IV2", "2.8-IV0", "2.8-IV1",
    ]
    out = []
    for i, name in enumerate(names):
        short = name.split("-")[0]
        if i < names.index("0.10.0-IV0"):
            magic = 0
        elif i < names.index("0.11.0-IV0"):
            magic = 1
        else:
            magic = 2
        out.append(ApiVersion(name, short, i, magic))
    return tuple(out)


API_VERSIONS: tuple[ApiVersion, ...] = _build_api_versions()
LATEST_API_VERSION = API_VERSIONS[-1]
_API_VERSION_MAP: dict[str, ApiVersion] = {v.version: v for v in API_VERSIONS}
for _v in API_VERSIONS:  # a short version means its latest sub-version
    _API_VERSION_MAP[_v.short_version] = _v


def parse_api_version(text: str) -> ApiVersion:
    """Map "2.8", "2.8-IV0", "0.10.0", "0.10.0.1", "1.0.0"... to an ApiVersion, as Kafka does.

    Raises ValueError for unknown versions.
    """
    segments = text.split(".")
    count = 3 if text.startswith("0.") else 2
    key = ".".join(segments[:count])
    found = _API_VERSION_MAP.get(key)
    if found is None:
        raise ValueError(f"Version `{text}` is not a valid version")
    return found


def _check_api_version(name: str, value: Any) -> None:
    try:
        parse_api_version(str(value))
    except ValueError as e:
        raise ConfigError.invalid(name, value, str(e)) from None


_API_VERSION_VALIDATOR: Validator = validator(
    _check_api_version, "[" + ", ".join(v.version for v in API_VERSIONS) + "]")


def _min_api_version_for_record(record_version: int) -> ApiVersion:
    return next(v for v in API_VERSIONS if v.record_version == record_version)


# ---------------------------------------------------------------------------------------------
# Listeners


@dataclass(frozen=True, slots=True)
class EndPoint:
    """A listener: name, host (None binds every interface), port, security protocol."""

    listener_name: str
    host: str | None
    port: int
    security_protocol: str

    @property
    def connection_string(self) -> str:
        if self.host is None:
            return f"{self.listener_name}://:{self.port}"
        if ":" in self.host:  # IPv6 literal
            return f"{self.listener_name}://[{self.host}]:{self.port}"
        return f"{self.listener_name}://{self.host}:{self.port}"

    def __str__(self) -> str:
        return self.connection_string


_ENDPOINT_RE = re.compile(r"^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)")
_CSV_SPLIT = re.compile(r"\s*,\s*")


def parse_csv_list(text: str | None) -> list[str]:
    """Split on commas (whitespace around them ignored), dropping empty items."""
    if not text:
        return []
    return [item for item in _CSV_SPLIT.split(text) if item != ""]


def _normalise_listener(name: str) -> str:
    return name.upper()


def parse_security_protocol_map(text: str, prop: str = "listener.security.protocol.map") -> dict[str, str]:
    """``"INTERNAL:PLAINTEXT,EXTERNAL:SSL"`` -> ``{"INTERNAL": "PLAINTEXT", "EXTERNAL": "SSL"}``."""
    result: dict[str, str] = {}
    if text == "":
        return result
    for item in _CSV_SPLIT.split(text):
        cut = item.rfind(":")
        if cut < 0:
            raise ConfigError(f"Error parsing configuration property '{prop}': "
                              f"'{item}' is not of the form listener:protocol", name=prop, value=text)
        listener, protocol = item[:cut].strip(), item[cut + 1:].strip()
        result[_normalise_listener(listener)] = _security_protocol(protocol, prop)
    return result


def _security_protocol(name: str, prop: str) -> str:
    upper = name.upper()
    if upper not in SECURITY_PROTOCOLS:
        raise ConfigError(f"Invalid security protocol `{name}` defined in {prop}", name=prop, value=name)
    return upper


def parse_listeners(text: str, protocol_map: Mapping[str, str], *, require_distinct_ports: bool = True,
                    prop: str = "listeners") -> tuple[EndPoint, ...]:
    """Parse ``NAME://host:port,...``; an empty host means every interface (host None)."""
    endpoints: list[EndPoint] = []
    for item in parse_csv_list(text):
        match = _ENDPOINT_RE.match(item)
        if match is None:
            raise ConfigError(f"Error creating broker listeners from '{text}': "
                              f"Unable to parse {item} to a broker endpoint", name=prop, value=text)
        name = _normalise_listener(match.group(1))
        protocol = protocol_map.get(name)
        if protocol is None:
            raise ConfigError(f"Error creating broker listeners from '{text}': "
                              f"No security protocol defined for listener {name}", name=prop, value=text)
        host = match.group(2) or None
        endpoints.append(EndPoint(name, host, int(match.group(3)), protocol))
    names = [e.listener_name for e in endpoints]
    if len(set(names)) != len(names):
        raise ConfigError(f"Each listener must have a different name, listeners: {text}", name=prop, value=text)
    if require_distinct_ports:
        ports = [e.port for e in endpoints if e.port != 0]
        if len(set(ports)) != len(ports):
            raise ConfigError(f"Each listener must have a different port, listeners: {text}",
                              name=prop, value=text)
    return tuple(endpoints)


def _check_compression(name: str, value: Any) -> None:
    if value not in BROKER_COMPRESSION_TYPES:
        raise ConfigError.invalid(name, value, f"compression.type : {value} is not valid. "
                                  f"Valid options are {','.join(BROKER_COMPRESSION_TYPES)}")


# ---------------------------------------------------------------------------------------------
# The table

BROKER_CONFIG = ConfigDef(known_prefixes=("listener.name.",))
_d = BROKER_CONFIG.define

# ZooKeeper
_d("zookeeper.connect", STRING, importance=HIGH, group="zookeeper",
   doc="ZooKeeper connection string, host:port[,host:port...][/chroot]. A chroot keeps the cluster's "
       "znodes under that path; kafkapy creates it if missing.")
_d("zookeeper.session.timeout.ms", INT, 18000, importance=HIGH, group="zookeeper",
   doc="ZooKeeper session timeout; a broker whose session expires loses its registration and leadership.")
_d("zookeeper.connection.timeout.ms", INT, None, importance=HIGH, group="zookeeper",
   doc="Longest wait for the ZooKeeper connection at startup; unset means zookeeper.session.timeout.ms.")
_d("zookeeper.sync.time.ms", INT, 2000, importance=LOW, group="zookeeper",
   doc="How far a ZooKeeper follower may lag its leader (kept for compatibility).",
   deprecated="unused by the broker")
_d("zookeeper.set.acl", BOOLEAN, False, importance=HIGH, group="zookeeper",
   doc="Create znodes with secure ACLs.")
_d("zookeeper.max.in.flight.requests", INT, 10, at_least(1), importance=HIGH, group="zookeeper",
   doc="Most unacknowledged requests the broker's ZooKeeper client sends before blocking.")
_d("zookeeper.ssl.client.enable", BOOLEAN, False, importance=MEDIUM, group="zookeeper",
   doc="Use TLS to connect to ZooKeeper.")
_d("zookeeper.clientCnxnSocket", STRING, None, importance=MEDIUM, group="zookeeper",
   doc="ZooKeeper client socket implementation (Java-specific; accepted and ignored).")
_d("zookeeper.ssl.keystore.location", STRING, None, importance=MEDIUM, group="zookeeper",
   doc="Keystore for TLS connections to ZooKeeper.")
_d("zookeeper.ssl.keystore.password", PASSWORD, None, importance=MEDIUM, group="zookeeper",
   doc="Password of zookeeper.ssl.keystore.location.")
_d("zookeeper.ssl.keystore.type", STRING, None, importance=MEDIUM, group="zookeeper",
   doc="Format of the ZooKeeper TLS keystore.")
_d("zookeeper.ssl.truststore.location", STRING, None, importance=MEDIUM, group="zookeeper",
   doc="Truststore for TLS connections to ZooKeeper.")
_d("zookeeper.ssl.truststore.password", PASSWORD, None, importance=MEDIUM, group="zookeeper",
   doc="Password of zookeeper.ssl.truststore.location.")
_d("zookeeper.ssl.truststore.type", STRING, None, importance=MEDIUM, group="zookeeper",
   doc="Format of the ZooKeeper TLS truststore.")
_d("zookeeper.ssl.protocol", STRING, "TLSv1.2", importance=LOW, group="zookeeper",
   doc="TLS protocol for ZooKeeper connections.")
_d("zookeeper.ssl.enabled.protocols", LIST, None, importance=LOW, group="zookeeper",
   doc="TLS protocols enabled for ZooKeeper connections.")
_d("zookeeper.ssl.cipher.suites", LIST, None, importance=LOW, group="zookeeper",
   doc="Cipher suites enabled for ZooKeeper connections.")
_d("zookeeper.ssl.endpoint.identification.algorithm", STRING, "HTTPS", importance=LOW, group="zookeeper",
   doc="Hostname verification for ZooKeeper TLS connections.")
_d("zookeeper.ssl.crl.enable", BOOLEAN, False, importance=LOW, group="zookeeper",
   doc="Check certificate revocation lists for ZooKeeper TLS.")
_d("zookeeper.ssl.ocsp.enable", BOOLEAN, False, importance=LOW, group="zookeeper",
   doc="Check OCSP for ZooKeeper TLS.")

# General
_d("broker.id.generation.enable", BOOLEAN, True, importance=MEDIUM, group="general",
   doc="Let ZooKeeper hand out a broker id (above reserved.broker.max.id) when broker.id is unset (-1).")
_d("reserved.broker.max.id", INT, 1000, at_least(0), importance=MEDIUM, group="general",
   doc="Largest broker id an operator may configure; generated ids start above it.")
_d("broker.id", INT, -1, importance=HIGH, group="general",
   doc="This broker's id, unique in the cluster. -1 asks for a generated id (or reuses the one in "
       "meta.properties).")
_d("message.max.bytes", INT, _DEFAULT_MESSAGE_MAX_BYTES, at_least(0), importance=HIGH, group="general",
   dynamic=CLUSTER_WIDE,
   doc="Largest record batch the broker accepts (after compression). Topic override: max.message.bytes.")
_d("num.network.threads", INT, 3, at_least(1), importance=HIGH, group="general", dynamic=CLUSTER_WIDE,
   doc="Threads serving network requests in Kafka; kafkapy serves them on its event loop and keeps the "
       "value for compatibility.")
_d("num.io.threads", INT, 8, at_least(1), importance=HIGH, group="general", dynamic=CLUSTER_WIDE,
   doc="Request handler threads in Kafka; in kafkapy, the size of the pool for blocking disk work.")
_d("num.replica.alter.log.dirs.threads", INT, None, importance=HIGH, group="general",
   doc="Threads moving replicas between log directories (defaults to the number of log dirs).")
_d("background.threads", INT, 10, at_least(1), importance=HIGH, group="general", dynamic=CLUSTER_WIDE,
   doc="Threads for background jobs in Kafka (kept for compatibility).")
_d("queued.max.requests", INT, 500, at_least(1), importance=HIGH, group="general",
   doc="Most requests queued per connection before the broker stops reading from it.")
_d("queued.max.request.bytes", LONG, -1, importance=MEDIUM, group="general",
   doc="Most bytes of queued requests before reading stops; -1 means no limit.")
_d("request.timeout.ms", INT, 30000, importance=HIGH, group="general",
   doc="How long the broker's own clients (controller, replica fetchers) wait for a response.")
_d("socket.connection.setup.timeout.ms", LONG, 10000, importance=MEDIUM, group="general",
   doc="How long the broker's own clients wait for a connection to be established.")
_d("socket.connection.setup.timeout.max.ms", LONG, 30000, importance=MEDIUM, group="general",
   doc="Upper bound of the exponentially growing connection setup timeout.")

# Authorizer
_d("authorizer.class.name", STRING, "", importance=LOW, group="authorizer",
   doc="Authorizer class; empty disables authorization.")

# Socket server
_d("port", INT, 9092, importance=HIGH, group="socket", deprecated="use listeners",
   doc="Port to listen on; only used when listeners is not set.")
_d("host.name", STRING, "", importance=HIGH, group="socket", deprecated="use listeners",
   doc="Interface to bind; only used when listeners is not set. Empty binds every interface.")
_d("listeners", STRING, None, importance=HIGH, group="socket", dynamic=PER_BROKER,
   doc="Comma-separated listeners, NAME://host:port. An empty host binds the default interface, 0.0.0.0 "
       "binds all. Unset: PLAINTEXT://host.name:port, i.e. PLAINTEXT://:9092.")
_d("advertised.host.name", STRING, None, importance=HIGH, group="socket", deprecated="use advertised.listeners",
   doc="Host name published in ZooKeeper when advertised.listeners is not set (defaults to host.name).")
_d("advertised.port", INT, None, importance=HIGH, group="socket", deprecated="use advertised.listeners",
   doc="Port published in ZooKeeper when advertised.listeners is not set (defaults to port).")
_d("advertised.listeners", STRING, None, importance=HIGH, group="socket", dynamic=PER_BROKER,
   doc="Listeners published in ZooKeeper for clients and other brokers, when they differ from "
       "listeners. Unset: the listeners. 0.0.0.0 is not allowed here.")
_d("listener.security.protocol.map", STRING, DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP, importance=LOW,
   group="socket", dynamic=PER_BROKER,
   doc="Security protocol of each listener name, NAME:PROTOCOL pairs separated by commas.")
_d("control.plane.listener.name", STRING, None, importance=HIGH, group="socket",
   doc="Listener reserved for controller-to-broker traffic; unset means it shares the data plane.")
_d("socket.send.buffer.bytes", INT, 100 * 1024, importance=HIGH, group="socket",
   doc="SO_SNDBUF of client sockets; -1 keeps the OS default.")
_d("socket.receive.buffer.bytes", INT, 100 * 1024, importance=HIGH, group="socket",
   doc="SO_RCVBUF of client sockets; -1 keeps the OS default.")
_d("socket.request.max.bytes", INT, 100 * 1024 * 1024, at_least(1), importance=HIGH, group="socket",
   doc="Largest request frame accepted; a bigger size prefix closes the connection.")
_d("max.connections.per.ip", INT, INT_MAX, at_least(0), importance=MEDIUM, group="socket",
   dynamic=CLUSTER_WIDE, doc="Most connections accepted from one IP address.")
_d("max.connections.per.ip.overrides", STRING, "", importance=MEDIUM, group="socket", dynamic=CLUSTER_WIDE,
   doc="Per-host or per-IP exceptions to max.connections.per.ip, e.g. hostName:100,127.0.0.1:200.")
_d("max.connections", INT, INT_MAX, at_least(0), importance=MEDIUM, group="socket", dynamic=CLUSTER_WIDE,
   doc="Most connections accepted by the broker at any time.")
_d("max.connection.creation.rate", INT, INT_MAX, at_least(0), importance=MEDIUM, group="socket",
   dynamic=CLUSTER_WIDE, doc="Most new connections accepted per second.")
_d("connections.max.idle.ms", LONG, 10 * 60 * 1000, importance=MEDIUM, group="socket",
   doc="Close connections idle for longer than this.")
_d("connection.failed.authentication.delay.ms", INT, 100, at_least(0), importance=LOW, group="socket",
   doc="Delay before closing a connection whose authentication failed.")

# Rack
_d("broker.rack", STRING, None, importance=MEDIUM, group="rack",
   doc="Rack of this broker, used for rack-aware replica assignment.")

# Log
_d("num.partitions", INT, 1, at_least(1), importance=MEDIUM, group="log",
   doc="Default number of partitions of auto-created topics.")
_d("log.dir", STRING, "/tmp/kafka-logs", importance=HIGH, group="log",
   doc="Directory holding the log data; used when log.dirs is not set.")
_d("log.dirs", STRING, None, importance=HIGH, group="log",
   doc="Comma-separated directories holding the log data; unset means log.dir.")
_d("log.segment.bytes", INT, 1024 * 1024 * 1024, at_least(_RECORD_OVERHEAD_V0), importance=HIGH, group="log",
   dynamic=CLUSTER_WIDE, doc="Size at which a segment is rolled. Topic override: segment.bytes.")
_d("log.roll.ms", LONG, None, importance=HIGH, group="log", dynamic=CLUSTER_WIDE,
   doc="Age at which a segment is rolled even if not full; unset means log.roll.hours. "
       "Topic override: segment.ms.")
_d("log.roll.hours", INT, 24 * 7, at_least(1), importance=HIGH, group="log",
   doc="Segment roll age in hours, used when log.roll.ms is not set.")
_d("log.roll.jitter.ms", LONG, None, importance=HIGH, group="log", dynamic=CLUSTER_WIDE,
   doc="Most random jitter subtracted from the roll age; unset means log.roll.jitter.hours.")
_d("log.roll.jitter.hours", INT, 0, at_least(0), importance=HIGH, group="log",
   doc="Roll jitter in hours, used when log.roll.jitter.ms is not set.")
_d("log.retention.ms", LONG, None, importance=HIGH, group="log", dynamic=CLUSTER_WIDE,
   doc="How long to keep a segment before deleting it; -1 keeps data forever. Takes precedence over "
       "log.retention.minutes and log.retention.hours. Topic override: retention.ms.")
_d("log.retention.minutes", INT, None, importance=HIGH, group="log",
   doc="Retention in minutes, used when log.retention.ms is not set.")
_d("log.retention.hours", INT, 24 * 7, importance=HIGH, group="log",
   doc="Retention in hours, used when neither log.retention.ms nor log.retention.minutes is set.")
_d("log.retention.bytes", LONG, -1, importance=HIGH, group="log", dynamic=CLUSTER_WIDE,
   doc="Largest size of a partition's log before old segments are deleted; -1 means no limit. "
       "Topic override: retention.bytes.")
_d("log.retention.check.interval.ms", LONG, 5 * 60 * 1000, at_least(1), importance=MEDIUM, group="log",
   doc="How often the broker looks for segments to delete.")
_d("log.cleanup.policy", LIST, "delete", list_of("compact", "delete"), importance=MEDIUM, group="log",
   dynamic=CLUSTER_WIDE,
   doc="Default policy for old segments: delete, compact, or both. Topic override: cleanup.policy.")
_d("log.cleaner.threads", INT, 1, at_least(0), importance=MEDIUM, group="log", dynamic=CLUSTER_WIDE,
   doc="Background workers compacting logs.")
_d("log.cleaner.io.max.bytes.per.second", DOUBLE, DOUBLE_MAX, importance=MEDIUM, group="log",
   dynamic=CLUSTER_WIDE, doc="Read plus write rate limit of the log cleaner.")
_d("log.cleaner.dedupe.buffer.size", LONG, 128 * 1024 * 1024, importance=MEDIUM, group="log",
   dynamic=CLUSTER_WIDE, doc="Memory for the cleaner's key-to-offset map, shared by all cleaner threads.")
_d("log.cleaner.io.buffer.size", INT, 512 * 1024, at_least(0), importance=MEDIUM, group="log",
   dynamic=CLUSTER_WIDE, doc="Memory for the cleaner's read and write buffers, shared by all threads.")
_d("log.cleaner.io.buffer.load.factor", DOUBLE, 0.9, importance=MEDIUM, group="log", dynamic=CLUSTER_WIDE,
   doc="How full the cleaner's dedupe map may get before a pass stops.")
_d("log.cleaner.backoff.ms", LONG, 15 * 1000, at_least(0), importance=MEDIUM, group="log",
   dynamic=CLUSTER_WIDE, doc="Pause of the cleaner when no log needs cleaning.")
_d("log.cleaner.min.cleanable.ratio", DOUBLE, 0.5, importance=MEDIUM, group="log", dynamic=CLUSTER_WIDE,
   doc="Dirty-to-total ratio at which a log becomes eligible for compaction. "
       "Topic override: min.cleanable.dirty.ratio.")
_d("log.cleaner.enable", BOOLEAN, True, importance=MEDIUM, group="log",
   doc="Run the log cleaner. Needed for compacted topics, including __consumer_offsets.")
_d("log.cleaner.delete.retention.ms", LONG, 24 * 60 * 60 * 1000, importance=MEDIUM, group="log",
   dynamic=CLUSTER_WIDE,
   doc="How long tombstones stay in compacted logs. Topic override: delete.retention.ms.")
_d("log.cleaner.min.compaction.lag.ms", LONG, 0, importance=MEDIUM, group="log", dynamic=CLUSTER_WIDE,
   doc="Minimum age of a record before it may be compacted. Topic override: min.compaction.lag.ms.")
_d("log.cleaner.max.compaction.lag.ms", LONG, LONG_MAX, importance=MEDIUM, group="log", dynamic=CLUSTER_WIDE,
   doc="Maximum time a record may stay uncompacted. Topic override: max.compaction.lag.ms.")
_d("log.index.size.max.bytes", INT, 10 * 1024 * 1024, at_least(4), importance=MEDIUM, group="log",
   dynamic=CLUSTER_WIDE, doc="Largest offset index file; a full index rolls the segment. "
                             "Topic override: segment.index.bytes.")
_d("log.index.interval.bytes", INT, 4096, at_least(0), importance=MEDIUM, group="log", dynamic=CLUSTER_WIDE,
   doc="Bytes appended between two offset index entries. Topic override: index.interval.bytes.")
_d("log.flush.interval.messages", LONG, LONG_MAX, at_least(1), importance=HIGH, group="log",
   dynamic=CLUSTER_WIDE,
   doc="Messages appended to a partition before it is flushed to disk. Topic override: flush.messages.")
_d("log.segment.delete.delay.ms", LONG, 60000, at_least(0), importance=HIGH, group="log",
   dynamic=CLUSTER_WIDE,
   doc="Delay between renaming a segment to .deleted and removing it. Topic override: file.delete.delay.ms.")
_d("log.flush.scheduler.interval.ms", LONG, LONG_MAX, importance=HIGH, group="log",
   doc="How often the flusher checks whether any log needs flushing.")
_d("log.flush.interval.ms", LONG, None, importance=HIGH, group="log", dynamic=CLUSTER_WIDE,
   doc="Longest time a message stays in memory before a flush; unset means "
       "log.flush.scheduler.interval.ms. Topic override: flush.ms.")
_d("log.flush.offset.checkpoint.interval.ms", INT, 60000, at_least(0), importance=HIGH, group="log",
   doc="How often the recovery-point checkpoint files are written.")
_d("log.flush.start.offset.checkpoint.interval.ms", INT, 60000, at_least(0), importance=HIGH, group="log",
   doc="How often the log-start-offset checkpoint files are written.")
_d("log.preallocate", BOOLEAN, False, importance=MEDIUM, group="log", dynamic=CLUSTER_WIDE,
   doc="Preallocate segment files at creation. Topic override: preallocate.")
_d("num.recovery.threads.per.data.dir", INT, 1, at_least(1), importance=HIGH, group="log",
   dynamic=CLUSTER_WIDE, doc="Workers per log directory for recovery at startup and flushing at shutdown.")
_d("auto.create.topics.enable", BOOLEAN, True, importance=HIGH, group="log",
   doc="Create a topic when a client asks for metadata of, or produces to, a topic that does not exist.")
_d("min.insync.replicas", INT, 1, at_least(1), importance=HIGH, group="log", dynamic=CLUSTER_WIDE,
   doc="Fewest in-sync replicas an acks=all write needs; fewer fails it with NOT_ENOUGH_REPLICAS. "
       "Topic override: min.insync.replicas.")
_d("log.message.format.version", STRING, LATEST_API_VERSION.version, _API_VERSION_VALIDATOR,
   importance=MEDIUM, group="log",
   doc="Message format the broker writes (e.g. 0.10.2, 2.8); older clients may need down-conversion. "
       "Topic override: message.format.version.")
_d("log.message.timestamp.type", STRING, "CreateTime", one_of("CreateTime", "LogAppendTime"),
   importance=MEDIUM, group="log", dynamic=CLUSTER_WIDE,
   doc="Whether record timestamps come from the producer (CreateTime) or the broker (LogAppendTime). "
       "Topic override: message.timestamp.type.")
_d("log.message.timestamp.difference.max.ms", LONG, LONG_MAX, importance=MEDIUM, group="log",
   dynamic=CLUSTER_WIDE,
   doc="Largest allowed gap between the broker's clock and a CreateTime timestamp. "
       "Topic override: message.timestamp.difference.max.ms.")
_d("create.topic.policy.class.name", CLASS, None, importance=LOW, group="log",
   doc="Policy class validating topic creation requests.")
_d("alter.config.policy.class.name", CLASS, None, importance=LOW, group="log",
   doc="Policy class validating config change requests.")
_d("log.message.downconversion.enable", BOOLEAN, True, importance=LOW, group="log", dynamic=CLUSTER_WIDE,
   doc="Convert records to an older format for old consumers. Topic override: "
       "message.downconversion.enable.")

# Replication
_d("controller.socket.timeout.ms", INT, 30000, importance=MEDIUM, group="replication",
   doc="Socket timeout of controller-to-broker channels.")
_d("default.replication.factor", INT, 1, importance=MEDIUM, group="replication",
   doc="Replication factor of auto-created topics.")
_d("replica.lag.time.max.ms", LONG, 30000, importance=HIGH, group="replication",
   doc="A follower that has not fetched, or not caught up to the leader's log end, for this long "
       "leaves the ISR.")
_d("replica.socket.timeout.ms", INT, 30 * 1000, importance=HIGH, group="replication",
   doc="Socket timeout of replica fetch requests; at least replica.fetch.wait.max.ms.")
_d("replica.socket.receive.buffer.bytes", INT, 64 * 1024, importance=HIGH, group="replication",
   doc="Socket receive buffer of replica fetchers.")
_d("replica.fetch.max.bytes", INT, 1024 * 1024, at_least(0), importance=MEDIUM, group="replication",
   doc="Bytes a follower asks for per partition (a first larger batch still comes whole).")
_d("replica.fetch.wait.max.ms", INT, 500, importance=HIGH, group="replication",
   doc="Longest a follower's fetch waits on the leader; at most replica.lag.time.max.ms.")
_d("replica.fetch.backoff.ms", INT, 1000, at_least(0), importance=MEDIUM, group="replication",
   doc="Pause of a replica fetcher after a fetch error.")
_d("replica.fetch.min.bytes", INT, 1, importance=HIGH, group="replication",
   doc="Bytes a follower's fetch waits for before the leader answers.")
_d("replica.fetch.response.max.bytes", INT, 10 * 1024 * 1024, at_least(0), importance=MEDIUM,
   group="replication", doc="Bytes a follower asks for in a whole fetch response.")
_d("num.replica.fetchers", INT, 1, importance=HIGH, group="replication", dynamic=CLUSTER_WIDE,
   doc="Fetcher tasks per source broker; more gives more parallel follower I/O.")
_d("replica.high.watermark.checkpoint.interval.ms", LONG, 5000, importance=HIGH, group="replication",
   doc="How often high watermarks are saved to disk.")
_d("fetch.purgatory.purge.interval.requests", INT, 1000, importance=MEDIUM, group="replication",
   doc="Completed-request count after which the fetch purgatory is purged.")
_d("producer.purgatory.purge.interval.requests", INT, 1000, importance=MEDIUM, group="replication",
   doc="Completed-request count after which the produce purgatory is purged.")
_d("delete.records.purgatory.purge.interval.requests", INT, 1, importance=MEDIUM, group="replication",
   doc="Completed-request count after which the delete-records purgatory is purged.")
_d("auto.leader.rebalance.enable", BOOLEAN, True, importance=HIGH, group="replication",
   doc="Let the controller move leadership back to preferred replicas periodically.")
_d("leader.imbalance.per.broker.percentage", INT, 10, importance=HIGH, group="replication",
   doc="Share of non-preferred leaders on a broker, in percent, above which the controller rebalances.")
_d("leader.imbalance.check.interval.seconds", LONG, 300, importance=HIGH, group="replication",
   doc="How often the controller checks leader imbalance.")
_d("unclean.leader.election.enable", BOOLEAN, False, importance=HIGH, group="replication",
   dynamic=CLUSTER_WIDE,
   doc="Allow a replica outside the ISR to become leader when no ISR member is alive (may lose data). "
       "Topic override: unclean.leader.election.enable.")
_d("security.inter.broker.protocol", STRING, "PLAINTEXT", importance=MEDIUM, group="replication",
   doc="Security protocol between brokers; do not set together with inter.broker.listener.name.")
_d("inter.broker.protocol.version", STRING, LATEST_API_VERSION.version, _API_VERSION_VALIDATOR,
   importance=MEDIUM, group="replication",
   doc="Inter-broker protocol version, raised step by step during rolling upgrades.")
_d("inter.broker.listener.name", STRING, None, importance=MEDIUM, group="replication",
   doc="Listener used between brokers; unset means the one named after security.inter.broker.protocol.")
_d("replica.selector.class", STRING, None, importance=MEDIUM, group="replication",
   doc="Class choosing a preferred read replica for consumers (KIP-392); unset means the leader.")

# Controlled shutdown
_d("controlled.shutdown.max.retries", INT, 3, importance=MEDIUM, group="controlled shutdown",
   doc="Attempts at a controlled shutdown before shutting down uncleanly.")
_d("controlled.shutdown.retry.backoff.ms", LONG, 5000, importance=MEDIUM, group="controlled shutdown",
   doc="Pause between controlled shutdown attempts.")
_d("controlled.shutdown.enable", BOOLEAN, True, importance=MEDIUM, group="controlled shutdown",
   doc="Ask the controller to move leadership away before this broker stops.")

# Group coordinator
_d("group.min.session.timeout.ms", INT, 6000, importance=MEDIUM, group="group coordinator",
   doc="Smallest session timeout a consumer may ask for.")
_d("group.max.session.timeout.ms", INT, 1800000, importance=MEDIUM, group="group coordinator",
   doc="Largest session timeout a consumer may ask for.")
_d("group.initial.rebalance.delay.ms", INT, 3000, importance=MEDIUM, group="group coordinator",
   doc="How long the coordinator waits for more members to join an empty group before its first "
       "rebalance.")
_d("group.max.size", INT, INT_MAX, at_least(1), importance=MEDIUM, group="group coordinator",
   doc="Most members in one consumer group.")

# Offset management
_d("offset.metadata.max.bytes", INT, 4096, importance=HIGH, group="offsets",
   doc="Longest metadata string allowed with an offset commit.")
_d("offsets.load.buffer.size", INT, 5 * 1024 * 1024, at_least(1), importance=HIGH, group="offsets",
   doc="Read size used when loading a group's offsets into the cache.")
_d("offsets.topic.replication.factor", SHORT, 3, at_least(1), importance=HIGH, group="offsets",
   doc="Replication factor of __consumer_offsets. Creation fails until enough brokers are alive.")
_d("offsets.topic.num.partitions", INT, 50, at_least(1), importance=HIGH, group="offsets",
   doc="Partitions of __consumer_offsets; do not change it after the topic exists.")
_d("offsets.topic.segment.bytes", INT, 100 * 1024 * 1024, at_least(1), importance=HIGH, group="offsets",
   doc="Segment size of __consumer_offsets, kept small for fast compaction and loading.")
_d("offsets.topic.compression.codec", INT, 0, importance=HIGH, group="offsets",
   doc="Compression codec id for __consumer_offsets writes (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).")
_d("offsets.retention.minutes", INT, 7 * 24 * 60, at_least(1), importance=HIGH, group="offsets",
   doc="How long the committed offsets of an empty group are kept.")
_d("offsets.retention.check.interval.ms", LONG, 600000, at_least(1), importance=HIGH, group="offsets",
   doc="How often expired offsets are looked for.")
_d("offsets.commit.timeout.ms", INT, 5000, at_least(1), importance=HIGH, group="offsets",
   doc="How long an offset commit waits for all replicas of the offsets partition.")
_d("offsets.commit.required.acks", SHORT, -1, importance=HIGH, group="offsets",
   doc="Acks required before an offset commit succeeds; keep the default (-1).")
_d("delete.topic.enable", BOOLEAN, True, importance=HIGH, group="general",
   doc="Allow deleting topics; when false, deletion requests fail with TOPIC_DELETION_DISABLED.")
_d("compression.type", STRING, "producer", validator(_check_compression, "[" + ", ".join(
   BROKER_COMPRESSION_TYPES) + "]"), importance=HIGH, group="general", dynamic=CLUSTER_WIDE,
   doc="Final compression of topic data: uncompressed, gzip, snappy, lz4, zstd, or producer (keep the "
       "producer's codec). Topic override: compression.type.")

# Transactions
_d("transactional.id.expiration.ms", INT, 7 * 24 * 3600 * 1000, at_least(1), importance=HIGH,
   group="transactions", doc="How long an idle transactional id is remembered; in Kafka 2.x also how long a "
                              "partition remembers an idle idempotent producer.")
_d("transaction.max.timeout.ms", INT, 15 * 60 * 1000, at_least(1), importance=HIGH, group="transactions",
   doc="Longest transaction timeout a producer may ask for.")
_d("transaction.state.log.min.isr", INT, 2, at_least(1), importance=HIGH, group="transactions",
   doc="min.insync.replicas of __transaction_state.")
_d("transaction.state.log.load.buffer.size", INT, 5 * 1024 * 1024, at_least(1), importance=HIGH,
   group="transactions", doc="Read size used when loading transaction state.")
_d("transaction.state.log.replication.factor", SHORT, 3, at_least(1), importance=HIGH, group="transactions",
   doc="Replication factor of __transaction_state.")
_d("transaction.state.log.num.partitions", INT, 50, at_least(1), importance=HIGH, group="transactions",
   doc="Partitions of __transaction_state.")
_d("transaction.state.log.segment.bytes", INT, 100 * 1024 * 1024, at_least(1), importance=HIGH,
   group="transactions", doc="Segment size of __transaction_state.")
_d("transaction.abort.timed.out.transaction.cleanup.interval.ms", INT, 10000, at_least(1), importance=LOW,
   group="transactions", doc="How often timed-out transactions are rolled back.")
_d("transaction.remove.expired.transaction.cleanup.interval.ms", INT, 3600000, at_least(1), importance=LOW,
   group="transactions", doc="How often expired transactional ids are removed.")

# Fetch sessions
_d("max.incremental.fetch.session.cache.slots", INT, 1000, at_least(0), importance=MEDIUM, group="fetch",
   doc="Most incremental fetch sessions kept by the broker.")
_d("fetch.max.bytes", INT, 55 * 1024 * 1024, at_least(1024), importance=MEDIUM, group="fetch",
   doc="Largest fetch response the broker builds for consumers.")

# Metrics
_d("metrics.num.samples", INT, 2, at_least(1), importance=LOW, group="metrics",
   doc="Samples kept to compute metrics.")
_d("metrics.sample.window.ms", LONG, 30000, at_least(1), importance=LOW, group="metrics",
   doc="Time window of one metrics sample.")
_d("metric.reporters", LIST, "", importance=LOW, group="metrics", dynamic=CLUSTER_WIDE,
   doc="Metrics reporter classes.")
_d("metrics.recording.level", STRING, "INFO", importance=LOW, group="metrics",
   doc="Highest recording level of metrics.")
_d("kafka.metrics.reporters", LIST, "", importance=LOW, group="metrics",
   doc="Yammer-style metrics reporter classes.")
_d("kafka.metrics.polling.interval.secs", INT, 10, at_least(1), importance=LOW, group="metrics",
   doc="Polling interval of kafka.metrics.reporters.")

# Quotas
_d("quota.producer.default", LONG, LONG_MAX, at_least(1), importance=HIGH, group="quotas",
   deprecated="use dynamic quota defaults",
   doc="Bytes per second a producer client id may send by default.")
_d("quota.consumer.default", LONG, LONG_MAX, at_least(1), importance=HIGH, group="quotas",
   deprecated="use dynamic quota defaults",
   doc="Bytes per second a consumer client id may fetch by default.")
_d("quota.window.num", INT, 11, at_least(1), importance=LOW, group="quotas",
   doc="Samples kept for client quotas.")
_d("replication.quota.window.num", INT, 11, at_least(1), importance=LOW, group="quotas",
   doc="Samples kept for replication quotas.")
_d("alter.log.dirs.replication.quota.window.num", INT, 11, at_least(1), importance=LOW, group="quotas",
   doc="Samples kept for log-dir move quotas.")
_d("controller.quota.window.num", INT, 11, at_least(1), importance=LOW, group="quotas",
   doc="Samples kept for controller mutation quotas.")
_d("quota.window.size.seconds", INT, 1, at_least(1), importance=LOW, group="quotas",
   doc="Span of one client quota sample.")
_d("replication.quota.window.size.seconds", INT, 1, at_least(1), importance=LOW, group="quotas",
   doc="Span of one replication quota sample.")
_d("alter.log.dirs.replication.quota.window.size.seconds", INT, 1, at_least(1), importance=LOW,
   group="quotas", doc="Span of one log-dir move quota sample.")
_d("controller.quota.window.size.seconds", INT, 1, at_least(1), importance=LOW, group="quotas",
   doc="Span of one controller mutation quota sample.")
_d("client.quota.callback.class", CLASS, None, importance=LOW, group="quotas",
   doc="Custom client quota callback class.")

# Security (accepted for compatibility; kafkapy serves PLAINTEXT)
_d("connections.max.reauth.ms", LONG, 0, importance=MEDIUM, group="security",
   doc="Longest session of an authenticated connection before re-authentication; 0 disables it.")
_d("sasl.server.max.receive.size", INT, 524288, importance=MEDIUM, group="security",
   doc="Largest SASL token accepted before authentication.")
_d("security.providers", STRING, None, importance=LOW, group="security",
   doc="Security provider creator classes.")
_d("principal.builder.class", CLASS, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Class building the principal of a connection.")
_d("ssl.protocol", STRING, "TLSv1.3", importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="TLS protocol used for SSL listeners.")
_d("ssl.provider", STRING, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Security provider for TLS.")
_d("ssl.enabled.protocols", LIST, "TLSv1.2,TLSv1.3", importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="TLS protocols enabled on SSL listeners.")
_d("ssl.keystore.type", STRING, "JKS", importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Keystore format.")
_d("ssl.keystore.location", STRING, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Keystore path.")
_d("ssl.keystore.password", PASSWORD, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Keystore password.")
_d("ssl.key.password", PASSWORD, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Password of the private key.")
_d("ssl.keystore.key", PASSWORD, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Private key given inline (PEM).")
_d("ssl.keystore.certificate.chain", PASSWORD, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Certificate chain given inline (PEM).")
_d("ssl.truststore.type", STRING, "JKS", importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Truststore format.")
_d("ssl.truststore.location", STRING, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Truststore path.")
_d("ssl.truststore.password", PASSWORD, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Truststore password.")
_d("ssl.truststore.certificates", PASSWORD, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Trusted certificates given inline (PEM).")
_d("ssl.keymanager.algorithm", STRING, "SunX509", importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Key manager algorithm.")
_d("ssl.trustmanager.algorithm", STRING, "PKIX", importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Trust manager algorithm.")
_d("ssl.endpoint.identification.algorithm", STRING, "https", importance=LOW, group="security",
   dynamic=PER_BROKER, doc="Hostname verification algorithm; empty disables it.")
_d("ssl.secure.random.implementation", STRING, None, importance=LOW, group="security", dynamic=PER_BROKER,
   doc="SecureRandom implementation for TLS.")
_d("ssl.client.auth", STRING, "none", one_of("required", "requested", "none"), importance=MEDIUM,
   group="security", dynamic=PER_BROKER, doc="Whether SSL listeners ask clients for certificates.")
_d("ssl.cipher.suites", LIST, "", importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Cipher suites enabled on SSL listeners; empty means all supported.")
_d("ssl.principal.mapping.rules", STRING, "DEFAULT", importance=LOW, group="security",
   doc="Rules mapping certificate names to principals.")
_d("ssl.engine.factory.class", CLASS, None, importance=LOW, group="security", dynamic=PER_BROKER,
   doc="Custom TLS engine factory class.")
_d("sasl.mechanism.inter.broker.protocol", STRING, "GSSAPI", importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="SASL mechanism between brokers.")
_d("sasl.jaas.config", PASSWORD, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="JAAS login context for SASL.")
_d("sasl.enabled.mechanisms", LIST, "GSSAPI", importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="SASL mechanisms enabled on SASL listeners.")
_d("sasl.server.callback.handler.class", CLASS, None, importance=MEDIUM, group="security",
   doc="SASL server callback handler class.")
_d("sasl.client.callback.handler.class", CLASS, None, importance=MEDIUM, group="security",
   doc="SASL client callback handler class.")
_d("sasl.login.class", CLASS, None, importance=MEDIUM, group="security", doc="SASL login class.")
_d("sasl.login.callback.handler.class", CLASS, None, importance=MEDIUM, group="security",
   doc="SASL login callback handler class.")
_d("sasl.kerberos.service.name", STRING, None, importance=MEDIUM, group="security", dynamic=PER_BROKER,
   doc="Kerberos principal name of the brokers.")
_d("sasl.kerberos.kinit.cmd", STRING, "/usr/bin/kinit", importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="Kerberos kinit command.")
_d("sasl.kerberos.ticket.renew.window.factor", DOUBLE, 0.8, importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="Fraction of a ticket's lifetime after which it is renewed.")
_d("sasl.kerberos.ticket.renew.jitter", DOUBLE, 0.05, importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="Random jitter added to the renewal time.")
_d("sasl.kerberos.min.time.before.relogin", LONG, 60000, importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="Pause between Kerberos refresh attempts.")
_d("sasl.kerberos.principal.to.local.rules", LIST, "DEFAULT", importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="Rules mapping Kerberos principals to short names.")
_d("sasl.login.refresh.window.factor", DOUBLE, 0.8, importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="Fraction of a credential's lifetime after which it is refreshed.")
_d("sasl.login.refresh.window.jitter", DOUBLE, 0.05, importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="Random jitter added to the refresh time.")
_d("sasl.login.refresh.min.period.seconds", SHORT, 60, importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="Shortest wait before refreshing a credential.")
_d("sasl.login.refresh.buffer.seconds", SHORT, 300, importance=MEDIUM, group="security",
   dynamic=PER_BROKER, doc="Time kept before credential expiry when refreshing.")
_d("delegation.token.master.key", PASSWORD, None, importance=MEDIUM, group="security",
   deprecated="use delegation.token.secret.key", doc="Old name of delegation.token.secret.key.")
_d("delegation.token.secret.key", PASSWORD, None, importance=MEDIUM, group="security",
   doc="Secret used to sign delegation tokens; unset disables them.")
_d("delegation.token.max.lifetime.ms", LONG, 7 * 24 * 60 * 60 * 1000, at_least(1), importance=MEDIUM,
   group="security", doc="Longest life of a delegation token.")
_d("delegation.token.expiry.time.ms", LONG, 24 * 60 * 60 * 1000, at_least(1), importance=MEDIUM,
   group="security", doc="Validity of a delegation token before it must be renewed.")
_d("delegation.token.expiry.check.interval.ms", LONG, 60 * 60 * 1000, at_least(1), importance=LOW,
   group="security", doc="How often expired delegation tokens are removed.")
_d("password.encoder.secret", PASSWORD, None, importance=MEDIUM, group="security",
   doc="Secret encrypting dynamically configured passwords.")
_d("password.encoder.old.secret", PASSWORD, None, importance=MEDIUM, group="security",
   doc="Previous password.encoder.secret, for rotation.")
_d("password.encoder.keyfactory.algorithm", STRING, None, importance=LOW, group="security",
   doc="Key factory algorithm for encoding passwords.")
_d("password.encoder.cipher.algorithm", STRING, "AES/CBC/PKCS5Padding", importance=LOW, group="security",
   doc="Cipher for encoding passwords.")
_d("password.encoder.key.length", INT, 128, at_least(8), importance=LOW, group="security",
   doc="Key length for encoding passwords.")
_d("password.encoder.iterations", INT, 4096, at_least(1024), importance=LOW, group="security",
   doc="Iterations for encoding passwords.")

del _d


# ---------------------------------------------------------------------------------------------
# KafkaConfig


def parse_overrides(overrides: Iterable[str]) -> dict[str, str]:
    """``["k=v", ...]`` (kafka-server-start's --override values) -> dict; the first '=' splits."""
    result: dict[str, str] = {}
    bad = [o for o in overrides if "=" not in o]
    if bad:
        raise ConfigError(f"Invalid command line properties: {', '.join(bad)}")
    for item in overrides:
        key, _, value = item.partition("=")
        result[key.strip()] = value
    return result


_MS_PER_MINUTE = 60 * 1000
_MS_PER_HOUR = 60 * _MS_PER_MINUTE


class KafkaConfig(AbstractConfig):
    """A broker's validated configuration, with the values Kafka derives from it."""

    __slots__ = ("_derived",)
    config_def: ClassVar[ConfigDef] = BROKER_CONFIG

    def __init__(self, props: Mapping[str, Any], *, log_unknown: bool = True) -> None:
        super().__init__(props, log_unknown=log_unknown)
        object.__setattr__(self, "_derived", {})
        self._derive_and_validate()

    # -- construction helpers -----------------------------------------------------------------

    @classmethod
    def from_props(cls, props: Mapping[str, Any], *, log_unknown: bool = True) -> KafkaConfig:
        return cls(props, log_unknown=log_unknown)

    @classmethod
    def from_file(cls, path: str | Path, overrides: Iterable[str] = (), *,
                  log_unknown: bool = True) -> KafkaConfig:
        """Load a server.properties file, then apply ``key=value`` overrides (they win)."""
        props: dict[str, Any] = dict(load_properties(path))
        props.update(parse_overrides(overrides))
        return cls(props, log_unknown=log_unknown)

    def reconfigure(self, updates: Mapping[str, Any]) -> KafkaConfig:
        """A new config with `updates` applied (None removes a property).

        Raises ConfigError if a read-only property would change: only properties whose
        update mode is per-broker or cluster-wide may change at runtime.
        """
        props = dict(self.originals())
        for name, value in updates.items():
            if value is None:
                props.pop(name, None)
            else:
                props[name] = value
        new = type(self)(props, log_unknown=False)
        for name in updates:
            key = BROKER_CONFIG[name] if name in BROKER_CONFIG else None
            if key is not None and not key.is_dynamic and new.get(name) != self.get(name):
                raise ConfigError(f"Cannot update these configs dynamically: {name}", name=name)
        return new

    def log_values(self, log: logging.Logger | logging.LoggerAdapter | None = None,  # type: ignore[override]
                   title: str | None = None) -> None:
        """Log "KafkaConfig values:" and every property, sorted, as Kafka does at startup."""
        super().log_values(log if log is not None else values_logger, title or "KafkaConfig values: ")

    # -- derivation and cross-property validation ---------------------------------------------

    def _derive_and_validate(self) -> None:
        d = self._derived
        get = self.get

        broker_id = get("broker.id")
        if get("broker.id.generation.enable"):
            if not (-1 <= broker_id <= get("reserved.broker.max.id")):
                raise ConfigError("broker.id must be greater than or equal to -1 and not greater than "
                                  "reserved.broker.max.id", name="broker.id", value=broker_id)
        elif broker_id < 0:
            raise ConfigError("broker.id must be greater than or equal to 0", name="broker.id", value=broker_id)

        d["zk_connection_timeout_ms"] = (get("zookeeper.connection.timeout.ms")
                                         if get("zookeeper.connection.timeout.ms") is not None
                                         else get("zookeeper.session.timeout.ms"))

        # Times with several spellings: the most precise unit wins.
        if get("log.retention.ms") is not None:
            retention = get("log.retention.ms")
        elif get("log.retention.minutes") is not None:
            retention = get("log.retention.minutes") * _MS_PER_MINUTE
        else:
            retention = get("log.retention.hours") * _MS_PER_HOUR
        d["log_retention_time_millis"] = -1 if retention < 0 else retention
        d["log_roll_time_millis"] = (get("log.roll.ms") if get("log.roll.ms") is not None
                                     else get("log.roll.hours") * _MS_PER_HOUR)
        d["log_roll_time_jitter_millis"] = (get("log.roll.jitter.ms") if get("log.roll.jitter.ms") is not None
                                            else get("log.roll.jitter.hours") * _MS_PER_HOUR)
        d["log_flush_interval_millis"] = (get("log.flush.interval.ms") if get("log.flush.interval.ms") is not None
                                          else get("log.flush.scheduler.interval.ms"))
        if d["log_roll_time_millis"] < 1:
            raise ConfigError("log.roll.ms must be greater than or equal to 1", name="log.roll.ms")
        if d["log_roll_time_jitter_millis"] < 0:
            raise ConfigError("log.roll.jitter.ms must be greater than or equal to 0", name="log.roll.jitter.ms")
        if not (d["log_retention_time_millis"] >= 1 or d["log_retention_time_millis"] == -1):
            raise ConfigError("log.retention.ms must be unlimited (-1) or, greater than or equal to 1",
                              name="log.retention.ms")

        log_dirs_raw = get("log.dirs") if get("log.dirs") is not None else get("log.dir")
        d["log_dirs"] = tuple(parse_csv_list(log_dirs_raw))
        if not d["log_dirs"]:
            raise ConfigError("At least one log directory must be defined via log.dirs or log.dir.",
                              name="log.dirs")

        if get("log.cleaner.threads") > 0 and \
                get("log.cleaner.dedupe.buffer.size") // get("log.cleaner.threads") <= 1024 * 1024:
            raise ConfigError("log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.",
                              name="log.cleaner.dedupe.buffer.size")
        if get("replica.fetch.wait.max.ms") > get("replica.socket.timeout.ms"):
            raise ConfigError("replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms "
                              "to prevent unnecessary socket timeouts", name="replica.socket.timeout.ms")
        if get("replica.fetch.wait.max.ms") > get("replica.lag.time.max.ms"):
            raise ConfigError("replica.fetch.wait.max.ms should always be less than or equal to "
                              "replica.lag.time.max.ms to prevent frequent changes in ISR",
                              name="replica.fetch.wait.max.ms")
        if not (-1 <= get("offsets.commit.required.acks") <= get("offsets.topic.replication.factor")):
            raise ConfigError("offsets.commit.required.acks must be greater or equal -1 and less or equal to "
                              "offsets.topic.replication.factor", name="offsets.commit.required.acks")

        # Listeners
        protocol_map = parse_security_protocol_map(get("listener.security.protocol.map"))
        d["listener_security_protocol_map"] = protocol_map
        if get("listeners") is not None:
            listeners = parse_listeners(get("listeners"), protocol_map)
        else:
            listeners = parse_listeners(f"PLAINTEXT://{get('host.name')}:{get('port')}", protocol_map)
        d["listener_endpoints"] = listeners
        if get("advertised.listeners") is not None:
            advertised = parse_listeners(get("advertised.listeners"), protocol_map, require_distinct_ports=False,
                                         prop="advertised.listeners")
        elif get("advertised.host.name") is not None or get("advertised.port") is not None:
            host = get("advertised.host.name") if get("advertised.host.name") is not None else get("host.name")
            port = get("advertised.port") if get("advertised.port") is not None else get("port")
            advertised = parse_listeners(f"PLAINTEXT://{host}:{port}", protocol_map, require_distinct_ports=False,
                                         prop="advertised.listeners")
        else:
            advertised = listeners
        d["advertised_listener_endpoints"] = advertised

        if get("inter.broker.listener.name") is not None:
            if self.is_set("security.inter.broker.protocol"):
                raise ConfigError("Only one of inter.broker.listener.name and security.inter.broker.protocol "
                                  "should be set.", name="inter.broker.listener.name")
            ib_name = _normalise_listener(get("inter.broker.listener.name"))
            ib_protocol = protocol_map.get(ib_name)
            if ib_protocol is None:
                raise ConfigError(f"Listener with name {ib_name} defined in inter.broker.listener.name not found "
                                  f"in listener.security.protocol.map.", name="inter.broker.listener.name")
        else:
            ib_protocol = _security_protocol(get("security.inter.broker.protocol"), "security.inter.broker.protocol")
            ib_name = ib_protocol
        d["inter_broker_listener_name"] = ib_name
        d["inter_broker_security_protocol"] = ib_protocol

        advertised_names = [e.listener_name for e in advertised]
        listener_names = {e.listener_name for e in listeners}
        if ib_name not in advertised_names:
            raise ConfigError(f"inter.broker.listener.name must be a listener name defined in advertised.listeners. "
                              f"The valid options based on currently configured listeners are "
                              f"{','.join(advertised_names)}", name="inter.broker.listener.name")
        if not set(advertised_names) <= listener_names:
            raise ConfigError(f"advertised.listeners listener names must be equal to or a subset of the ones "
                              f"defined in listeners. Found {','.join(advertised_names)}. The valid options "
                              f"based on the current configuration are {','.join(sorted(listener_names))}",
                              name="advertised.listeners")
        if any(e.host == "0.0.0.0" for e in advertised):
            raise ConfigError("advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. "
                              "Use a routable IP address.", name="advertised.listeners")

        cp_name = get("control.plane.listener.name")
        control_plane = None
        if cp_name is not None:
            cp_name = _normalise_listener(cp_name)
            if cp_name not in protocol_map:
                raise ConfigError(f"Listener with {cp_name} defined in control.plane.listener.name not found in "
                                  f"listener.security.protocol.map.", name="control.plane.listener.name")
            if cp_name not in advertised_names:
                raise ConfigError(f"control.plane.listener.name must be a listener name defined in "
                                  f"advertised.listeners. The valid options based on currently configured "
                                  f"listeners are {','.join(advertised_names)}", name="control.plane.listener.name")
            if cp_name == ib_name:
                raise ConfigError(f"control.plane.listener.name, when defined, should have a different value from "
                                  f"the inter broker listener name. Currently they both have the value {cp_name}",
                                  name="control.plane.listener.name")
            control_plane = next((e for e in listeners if e.listener_name == cp_name), None)
        d["control_plane_listener"] = control_plane

        # Versions
        ibp = parse_api_version(get("inter.broker.protocol.version"))
        lmf = parse_api_version(get("log.message.format.version"))
        d["inter_broker_protocol"] = ibp
        d["log_message_format"] = lmf
        if ibp.record_version < lmf.record_version:
            raise ConfigError(f"log.message.format.version {get('log.message.format.version')} can only be used "
                              f"when inter.broker.protocol.version is set to version "
                              f"{_min_api_version_for_record(lmf.record_version).short_version} or higher",
                              name="log.message.format.version")
        # Kafka compares message formats here, so only a pre-0.11 protocol (no v2 batches) fails.
        if get("offsets.topic.compression.codec") == 4 and \
                ibp.record_version < parse_api_version("2.1-IV0").record_version:
            raise ConfigError("offsets.topic.compression.codec zstd can only be used when "
                              "inter.broker.protocol.version is set to version 2.1 or higher",
                              name="offsets.topic.compression.codec")

        if 0 < get("queued.max.request.bytes") < get("socket.request.max.bytes"):
            raise ConfigError("queued.max.request.bytes must be larger or equal to socket.request.max.bytes",
                              name="queued.max.request.bytes")

        overrides: dict[str, int] = {}
        raw_overrides = get("max.connections.per.ip.overrides")
        if raw_overrides:
            for item in _CSV_SPLIT.split(raw_overrides):
                host, sep, count = item.rpartition(":")
                if not sep or not re.fullmatch(r"[+-]?\d+", count.strip()):
                    raise ConfigError(f"Error parsing configuration property 'max.connections.per.ip.overrides': "
                                      f"'{item}' is not of the form host:count",
                                      name="max.connections.per.ip.overrides")
                overrides[host.strip()] = int(count)
        if get("max.connections.per.ip") == 0 and not overrides:
            raise ConfigError("max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides "
                              "property is set.", name="max.connections.per.ip")
        d["max_connections_per_ip_overrides_map"] = overrides

        idle = get("connections.max.idle.ms")
        if idle >= 0 and get("connection.failed.authentication.delay.ms") >= idle:
            raise ConfigError(f"connection.failed.authentication.delay.ms="
                              f"{get('connection.failed.authentication.delay.ms')} should always be less than "
                              f"connections.max.idle.ms={idle} to prevent failed authentication responses from "
                              f"timing out", name="connection.failed.authentication.delay.ms")

    # -- derived values -----------------------------------------------------------------------

    @property
    def zk_connection_timeout_ms(self) -> int:
        """zookeeper.connection.timeout.ms, else zookeeper.session.timeout.ms."""
        return self._derived["zk_connection_timeout_ms"]

    @property
    def log_retention_time_millis(self) -> int:
        """log.retention.ms, else minutes, else hours, in ms; -1 (any negative) means unlimited."""
        return self._derived["log_retention_time_millis"]

    @property
    def log_roll_time_millis(self) -> int:
        """log.roll.ms, else log.roll.hours in ms."""
        return self._derived["log_roll_time_millis"]

    @property
    def log_roll_time_jitter_millis(self) -> int:
        """log.roll.jitter.ms, else log.roll.jitter.hours in ms."""
        return self._derived["log_roll_time_jitter_millis"]

    @property
    def log_flush_interval_millis(self) -> int:
        """log.flush.interval.ms, else log.flush.scheduler.interval.ms."""
        return self._derived["log_flush_interval_millis"]

    @property
    def log_dirs(self) -> tuple[str, ...]:  # type: ignore[override]
        """The effective log directories: log.dirs if set, else log.dir, split on commas."""
        return self._derived["log_dirs"]

    @property
    def listener_security_protocol_map(self) -> dict[str, str]:  # type: ignore[override]
        """Listener name -> security protocol (a copy); the raw string is get("listener.security.protocol.map")."""
        return dict(self._derived["listener_security_protocol_map"])

    @property
    def listener_endpoints(self) -> tuple[EndPoint, ...]:
        """Endpoints to bind: listeners, else PLAINTEXT://host.name:port (PLAINTEXT://:9092)."""
        return self._derived["listener_endpoints"]

    @property
    def advertised_listener_endpoints(self) -> tuple[EndPoint, ...]:
        """Endpoints published in ZooKeeper: advertised.listeners, else advertised.host.name/port, else listeners."""
        return self._derived["advertised_listener_endpoints"]

    @property
    def inter_broker_listener_name(self) -> str:  # type: ignore[override]
        """The listener brokers use to talk to each other (normalised to upper case)."""
        return self._derived["inter_broker_listener_name"]

    @property
    def inter_broker_security_protocol(self) -> str:
        return self._derived["inter_broker_security_protocol"]

    @property
    def control_plane_listener(self) -> EndPoint | None:
        return self._derived["control_plane_listener"]

    @property
    def data_plane_listeners(self) -> tuple[EndPoint, ...]:
        cp = self._derived["control_plane_listener"]
        return tuple(e for e in self.listener_endpoints if cp is None or e.listener_name != cp.listener_name)

    @property
    def inter_broker_protocol(self) -> ApiVersion:
        return self._derived["inter_broker_protocol"]

    @property
    def log_message_format(self) -> ApiVersion:
        return self._derived["log_message_format"]

    @property
    def log_message_format_record_version(self) -> int:
        """The message format (magic 0, 1 or 2) the broker writes by default."""
        return self._derived["log_message_format"].record_version

    @property
    def uses_topic_id(self) -> bool:
        return self.inter_broker_protocol >= parse_api_version("2.8-IV0")

    @property
    def max_connections_per_ip_overrides_map(self) -> dict[str, int]:
        return dict(self._derived["max_connections_per_ip_overrides_map"])

    @property
    def offsets_retention_ms(self) -> int:
        return self.get("offsets.retention.minutes") * _MS_PER_MINUTE

    @property
    def leader_imbalance_check_interval_ms(self) -> int:
        return self.get("leader.imbalance.check.interval.seconds") * 1000

    @property
    def requires_broker_id_generation(self) -> bool:
        """True when the broker id must come from meta.properties or ZooKeeper (broker.id unset)."""
        return self.get("broker.id") < 0 and self.get("broker.id.generation.enable")
