"""Exceptions raised by `kafkapy.zk`.

Every kazoo exception is translated into one of these at the `zk/client.py`
boundary, so no caller ever sees kazoo. Admin failures and ControllerMovedError are also
`kafkapy.common.errors.ApiError`s carrying Kafka's error code.
"""
from __future__ import annotations

from kafkapy.common import errors as ce


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


class ControllerMovedError(ZkError, ce.ControllerMovedError):
    """A controller write lost its `/controller_epoch` version check: another
    broker became controller. The caller resigns."""


class BrokerIdInUseError(NodeExistsError):
    """`/brokers/ids/<id>` exists and belongs to another live session."""


# ---------------------------------------------------------------- admin errors
# Each admin error is also the matching `kafkapy.common.errors` ApiError, so a broker
# handler turns it into its response error code with `error_code_of(exc)`.
class AdminError(ZkError, ce.ApiError):
    """An admin request is invalid (UNKNOWN_SERVER_ERROR unless a subclass says otherwise)."""


class InvalidTopicError(AdminError, ce.InvalidTopicError):
    pass


class TopicExistsError(AdminError, ce.TopicExistsError):
    pass


class InvalidPartitionsError(AdminError, ce.InvalidPartitionsError):
    pass


class InvalidReplicationFactorError(AdminError, ce.InvalidReplicationFactorError):
    pass


class InvalidReplicaAssignmentError(AdminError, ce.InvalidReplicaAssignmentError):
    pass


class InvalidConfigError(AdminError, ce.InvalidConfigurationError):
    pass


class UnknownTopicOrPartitionError(AdminError, ce.UnknownTopicOrPartitionError):
    pass


class BrokerNotAvailableError(AdminError, ce.BrokerNotAvailableError):
    pass


class TopicAlreadyMarkedForDeletionError(AdminError):
    """`/admin/delete_topics/<t>` exists already."""


class AdminOperationError(AdminError):
    """Generic admin failure (Kafka's AdminOperationException)."""
