"""API keys of Kafka 2.8 and the versions this broker advertises.

``BROKER_SUPPORTED`` is the ONE place saying which (min, max) versions the broker serves;
ApiVersions responses are built from it. A handler module registers its API when it lands::

    from kafkapy.protocol.api_keys import ApiKey, register_supported
    register_supported(ApiKey.PRODUCE, 0, 9)

(or edit the table literal below). The range must lie within what the message schema knows.
"""
from __future__ import annotations

from enum import IntEnum


class ApiKey(IntEnum):
    PRODUCE = 0
    FETCH = 1
    LIST_OFFSETS = 2
    METADATA = 3
    LEADER_AND_ISR = 4
    STOP_REPLICA = 5
    UPDATE_METADATA = 6
    CONTROLLED_SHUTDOWN = 7
    OFFSET_COMMIT = 8
    OFFSET_FETCH = 9
    FIND_COORDINATOR = 10
    JOIN_GROUP = 11
    HEARTBEAT = 12
    LEAVE_GROUP = 13
    SYNC_GROUP = 14
    DESCRIBE_GROUPS = 15
    LIST_GROUPS = 16
    SASL_HANDSHAKE = 17
    API_VERSIONS = 18
    CREATE_TOPICS = 19
    DELETE_TOPICS = 20
    DELETE_RECORDS = 21
    INIT_PRODUCER_ID = 22
    OFFSET_FOR_LEADER_EPOCH = 23
    ADD_PARTITIONS_TO_TXN = 24
    ADD_OFFSETS_TO_TXN = 25
    END_TXN = 26
    WRITE_TXN_MARKERS = 27
    TXN_OFFSET_COMMIT = 28
    DESCRIBE_ACLS = 29
    CREATE_ACLS = 30
    DELETE_ACLS = 31
    DESCRIBE_CONFIGS = 32
    ALTER_CONFIGS = 33
    ALTER_REPLICA_LOG_DIRS = 34
    DESCRIBE_LOG_DIRS = 35
    SASL_AUTHENTICATE = 36
    CREATE_PARTITIONS = 37
    CREATE_DELEGATION_TOKEN = 38
    RENEW_DELEGATION_TOKEN = 39
    EXPIRE_DELEGATION_TOKEN = 40
    DESCRIBE_DELEGATION_TOKEN = 41
    DELETE_GROUPS = 42
    ELECT_LEADERS = 43
    INCREMENTAL_ALTER_CONFIGS = 44
    ALTER_PARTITION_REASSIGNMENTS = 45
    LIST_PARTITION_REASSIGNMENTS = 46
    OFFSET_DELETE = 47
    DESCRIBE_CLIENT_QUOTAS = 48
    ALTER_CLIENT_QUOTAS = 49
    DESCRIBE_USER_SCRAM_CREDENTIALS = 50
    ALTER_USER_SCRAM_CREDENTIALS = 51
    VOTE = 52
    BEGIN_QUORUM_EPOCH = 53
    END_QUORUM_EPOCH = 54
    DESCRIBE_QUORUM = 55
    ALTER_ISR = 56
    UPDATE_FEATURES = 57
    ENVELOPE = 58
    FETCH_SNAPSHOT = 59
    DESCRIBE_CLUSTER = 60
    DESCRIBE_PRODUCERS = 61
    BROKER_REGISTRATION = 62
    BROKER_HEARTBEAT = 63
    UNREGISTER_BROKER = 64

    @property
    def module_name(self) -> str:
        """Name of the schema module under ``kafkapy.protocol.messages`` (``list_offsets``)."""
        return self.name.lower()

    @property
    def api_name(self) -> str:
        """Kafka's CamelCase API name (``ListOffsets``)."""
        return _API_NAMES[self]


_API_NAMES = {k: "".join(p.capitalize() for p in k.name.split("_")) for k in ApiKey}

# ApiVersions must always be answerable (also with the KIP-511 fallback), so it is listed from the start.
BROKER_SUPPORTED: dict[ApiKey, tuple[int, int]] = {
    ApiKey.API_VERSIONS: (0, 3),
}


def register_supported(api_key: ApiKey | int, min_version: int, max_version: int) -> None:
    """Advertise ``api_key`` at ``min_version..max_version`` in ApiVersions responses."""
    key = ApiKey(api_key)
    if not 0 <= min_version <= max_version:
        raise ValueError(f"bad version range {min_version}..{max_version} for {key.name}")
    from kafkapy.protocol.messages import get_api  # local: messages import this module

    spec = get_api(key)
    if min_version < spec.min_version or max_version > spec.max_version:
        raise ValueError(
            f"{key.name} {min_version}..{max_version} exceeds the schema's "
            f"{spec.min_version}..{spec.max_version}"
        )
    BROKER_SUPPORTED[key] = (min_version, max_version)


def supported_range(api_key: int) -> tuple[int, int] | None:
    """The advertised (min, max) of ``api_key``, or None when the broker does not serve it."""
    try:
        return BROKER_SUPPORTED.get(ApiKey(api_key))
    except ValueError:
        return None


def api_versions_entries(supported: dict[ApiKey, tuple[int, int]] | None = None) -> list:
    """ApiVersions response ``api_keys`` entries, ascending by key, from ``BROKER_SUPPORTED``."""
    from kafkapy.protocol.messages.api_versions import ApiVersion

    table = BROKER_SUPPORTED if supported is None else supported
    return [
        ApiVersion(api_key=int(k), min_version=lo, max_version=hi)
        for k, (lo, hi) in sorted(table.items())
    ]
