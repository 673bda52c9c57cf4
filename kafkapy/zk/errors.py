"""Exceptions raised by `kafkapy.zk`.

Every kazoo exception is translated into one of these at the `zk/client.py`
boundary, so no caller ever sees kazoo. Admin failures carry Kafka's error code
(`error_code`) so a broker handler can turn them into a response field.
"""
from __future__ import annotations


class ZkError(Exception):
    """A ZooKeeper operation failed. `path` names the znode when known."""

    retriable = False

    def __init__(self, message: str = "", path: str | None = None) -> None:
        super().__init__(message or (f"{type(self).__name__} at {path}" if path else type(self).__name__))
        self.path = path


class NodeExistsError(ZkError):
    """NODEEXISTS: the znode already exists."""


class NoNodeError(ZkError):
    """NONODE: the znode (or, for a create, its parent) does not exist."""


class BadVersionError(ZkError):
    """BADVERSION: a conditional write lost against another writer."""


class NotEmptyError(ZkError):
    """NOTEMPTY: deleting a znode that has children."""


class NoChildrenForEphemeralsError(ZkError):
    """NOCHILDRENFOREPHEMERALS: ephemeral znodes cannot have children."""


class ZkAuthError(ZkError):
    """NOAUTH / AUTHFAILED / INVALIDACL."""


class ConnectionLossError(ZkError):
    """The connection dropped before the answer arrived; the outcome is unknown."""

    retriable = True


class SessionExpiredError(ZkError):
    """The ZooKeeper session expired: ephemerals and watches are gone."""

    retriable = True


class ZkTimeoutError(ZkError):
    """Connecting (or an operation) did not finish in time."""

    retriable = True


class ZkClientClosedError(ZkError):
    """The client was stopped."""


class ControllerMovedError(ZkError):
    """A controller write lost its `/controller_epoch` version check: another
    broker became controller. The caller resigns."""


class BrokerIdInUseError(NodeExistsError):
    """`/brokers/ids/<id>` exists and belongs to another live session."""


# ---------------------------------------------------------------- admin errors
class AdminError(ZkError):
    """An admin request is invalid; `error_code` is Kafka's code for it."""

    error_code = -1  # UNKNOWN_SERVER_ERROR


class InvalidTopicError(AdminError):
    error_code = 17  # INVALID_TOPIC_EXCEPTION


class TopicExistsError(AdminError):
    error_code = 36  # TOPIC_ALREADY_EXISTS


class InvalidPartitionsError(AdminError):
    error_code = 37  # INVALID_PARTITIONS


class InvalidReplicationFactorError(AdminError):
    error_code = 38  # INVALID_REPLICATION_FACTOR


class InvalidReplicaAssignmentError(AdminError):
    error_code = 39  # INVALID_REPLICA_ASSIGNMENT


class InvalidConfigError(AdminError):
    error_code = 40  # INVALID_CONFIG


class UnknownTopicOrPartitionError(AdminError):
    error_code = 3  # UNKNOWN_TOPIC_OR_PARTITION


class BrokerNotAvailableError(AdminError):
    error_code = 8  # BROKER_NOT_AVAILABLE


class TopicAlreadyMarkedForDeletionError(AdminError):
    """`/admin/delete_topics/<t>` exists already."""

    error_code = 3


class AdminOperationError(AdminError):
    """Generic admin failure (Kafka's AdminOperationException)."""

    error_code = -1
