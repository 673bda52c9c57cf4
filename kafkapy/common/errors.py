"""Kafka's error codes (as of 2.8) and the exceptions that carry them.

One table (`ERROR_TABLE`) lists every code with Kafka's enum name, the name of the
kafkapy exception class, whether a client may retry it, whether it means the client's
metadata is stale (Java's `InvalidMetadataException` family), and a default message.
Codes are wire values: never renumber them.

Everything else is derived from the table:

- `ErrorCode`, an `IntEnum` (`ErrorCode.NOT_LEADER_OR_FOLLOWER == 6`);
- one `ApiError` subclass per code except NONE, e.g. `NotLeaderOrFollowerError`;
- `error_for_code()` and `raise_for_code()`.

`ApiError(code, message)` builds the subclass that belongs to `code`, so
``raise ApiError(ErrorCode.OFFSET_OUT_OF_RANGE, "...")`` can be caught as
`OffsetOutOfRangeError`. An unknown code yields a plain `ApiError` carrying that code.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: int
    name: str
    class_name: str | None  # None for NONE (no exception)
    retriable: bool
    invalid_metadata: bool
    message: str


def _e(code: int, name: str, class_name: str | None, retriable: bool, message: str,
       invalid_metadata: bool = False) -> ErrorInfo:
    return ErrorInfo(code, name, class_name, retriable or invalid_metadata, invalid_metadata, message)


_R = True   # retriable
_N = False  # not retriable
_M = True   # invalid metadata (implies retriable)

# fmt: off
ERROR_TABLE: tuple[ErrorInfo, ...] = (
    _e(-1, "UNKNOWN_SERVER_ERROR", "UnknownServerError", _N,
       "The server hit an unexpected error while handling the request."),
    _e(0, "NONE", None, _N, ""),
    _e(1, "OFFSET_OUT_OF_RANGE", "OffsetOutOfRangeError", _N,
       "The requested offset is outside the range of offsets the server holds for this partition."),
    _e(2, "CORRUPT_MESSAGE", "CorruptRecordError", _R,
       "The message failed its CRC check, has an invalid size, or is otherwise corrupt."),
    _e(3, "UNKNOWN_TOPIC_OR_PARTITION", "UnknownTopicOrPartitionError", _R,
       "This server does not host this topic-partition.", _M),
    _e(4, "INVALID_FETCH_SIZE", "InvalidFetchSizeError", _N, "The requested fetch size is invalid."),
    _e(5, "LEADER_NOT_AVAILABLE", "LeaderNotAvailableError", _R,
       "The partition has no leader at the moment (a leader election may be under way).", _M),
    _e(6, "NOT_LEADER_OR_FOLLOWER", "NotLeaderOrFollowerError", _R,
       "This server is neither the leader nor a follower of this partition.", _M),
    _e(7, "REQUEST_TIMED_OUT", "RequestTimedOutError", _R, "The request timed out."),
    _e(8, "BROKER_NOT_AVAILABLE", "BrokerNotAvailableError", _N, "The broker is not available."),
    _e(9, "REPLICA_NOT_AVAILABLE", "ReplicaNotAvailableError", _R,
       "The replica is not available for the requested topic-partition.", _M),
    _e(10, "MESSAGE_TOO_LARGE", "RecordTooLargeError", _N,
       "The request contains a message larger than the largest message the server accepts."),
    _e(11, "STALE_CONTROLLER_EPOCH", "ControllerMovedError", _N,
       "The controller epoch in the request is older than the current one: the controller moved."),
    _e(12, "OFFSET_METADATA_TOO_LARGE", "OffsetMetadataTooLargeError", _N,
       "The metadata attached to the committed offset is too large."),
    _e(13, "NETWORK_EXCEPTION", "NetworkError", _R,
       "The server disconnected before a response was received.", _M),
    _e(14, "COORDINATOR_LOAD_IN_PROGRESS", "CoordinatorLoadInProgressError", _R,
       "The coordinator is still loading its state and cannot serve this request yet."),
    _e(15, "COORDINATOR_NOT_AVAILABLE", "CoordinatorNotAvailableError", _R,
       "The coordinator is not available."),
    _e(16, "NOT_COORDINATOR", "NotCoordinatorError", _R, "This broker is not the coordinator for that key."),
    _e(17, "INVALID_TOPIC_EXCEPTION", "InvalidTopicError", _N,
       "The request names an invalid topic, or tries to write to an internal topic."),
    _e(18, "RECORD_LIST_TOO_LARGE", "RecordBatchTooLargeError", _N,
       "The produce request for one partition is larger than the configured segment size."),
    _e(19, "NOT_ENOUGH_REPLICAS", "NotEnoughReplicasError", _R,
       "There are fewer in-sync replicas than required."),
    _e(20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "NotEnoughReplicasAfterAppendError", _R,
       "The messages were written, but to fewer in-sync replicas than required."),
    _e(21, "INVALID_REQUIRED_ACKS", "InvalidRequiredAcksError", _N,
       "The requested acks value is invalid (it must be -1, 0 or 1)."),
    _e(22, "ILLEGAL_GENERATION", "IllegalGenerationError", _N,
       "The generation id does not match the group's current generation."),
    _e(23, "INCONSISTENT_GROUP_PROTOCOL", "InconsistentGroupProtocolError", _N,
       "The member's protocol type or protocols do not match the group's, or are empty."),
    _e(24, "INVALID_GROUP_ID", "InvalidGroupIdError", _N, "The group id is not valid."),
    _e(25, "UNKNOWN_MEMBER_ID", "UnknownMemberIdError", _N, "The coordinator does not know this member id."),
    _e(26, "INVALID_SESSION_TIMEOUT", "InvalidSessionTimeoutError", _N,
       "The session timeout is outside the range the broker allows "
       "(group.min.session.timeout.ms, group.max.session.timeout.ms)."),
    _e(27, "REBALANCE_IN_PROGRESS", "RebalanceInProgressError", _N,
       "The group is rebalancing; the member must rejoin."),
    _e(28, "INVALID_COMMIT_OFFSET_SIZE", "InvalidCommitOffsetSizeError", _N,
       "The offset commit was rejected because its metadata is too large."),
    _e(29, "TOPIC_AUTHORIZATION_FAILED", "TopicAuthorizationFailedError", _N,
       "Not authorized to access the topic."),
    _e(30, "GROUP_AUTHORIZATION_FAILED", "GroupAuthorizationFailedError", _N,
       "Not authorized to access the group."),
    _e(31, "CLUSTER_AUTHORIZATION_FAILED", "ClusterAuthorizationFailedError", _N,
       "Not authorized for this cluster-level action."),
    _e(32, "INVALID_TIMESTAMP", "InvalidTimestampError", _N,
       "The timestamp of a message is outside the accepted range."),
    _e(33, "UNSUPPORTED_SASL_MECHANISM", "UnsupportedSaslMechanismError", _N,
       "The broker does not support the requested SASL mechanism."),
    _e(34, "ILLEGAL_SASL_STATE", "IllegalSaslStateError", _N,
       "The request is not valid in the current SASL state."),
    _e(35, "UNSUPPORTED_VERSION", "UnsupportedVersionError", _N, "This version of the API is not supported."),
    _e(36, "TOPIC_ALREADY_EXISTS", "TopicExistsError", _N, "The topic already exists."),
    _e(37, "INVALID_PARTITIONS", "InvalidPartitionsError", _N, "The number of partitions is invalid."),
    _e(38, "INVALID_REPLICATION_FACTOR", "InvalidReplicationFactorError", _N,
       "The replication factor is invalid."),
    _e(39, "INVALID_REPLICA_ASSIGNMENT", "InvalidReplicaAssignmentError", _N,
       "The replica assignment is invalid."),
    _e(40, "INVALID_CONFIG", "InvalidConfigurationError", _N, "A configuration value is invalid."),
    _e(41, "NOT_CONTROLLER", "NotControllerError", _R, "This broker is not the active controller."),
    _e(42, "INVALID_REQUEST", "InvalidRequestError", _N,
       "The request is malformed or inconsistent; see the broker log for details."),
    _e(43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", "UnsupportedForMessageFormatError", _N,
       "The topic's message format version does not support this request."),
    _e(44, "POLICY_VIOLATION", "PolicyViolationError", _N, "The request violates a configured policy."),
    _e(45, "OUT_OF_ORDER_SEQUENCE_NUMBER", "OutOfOrderSequenceError", _N,
       "The broker received a sequence number out of order."),
    _e(46, "DUPLICATE_SEQUENCE_NUMBER", "DuplicateSequenceError", _N,
       "The broker received a duplicate sequence number."),
    _e(47, "INVALID_PRODUCER_EPOCH", "InvalidProducerEpochError", _N,
       "The producer epoch is stale or otherwise invalid."),
    _e(48, "INVALID_TXN_STATE", "InvalidTxnStateError", _N,
       "The operation is not valid in the transaction's current state."),
    _e(49, "INVALID_PRODUCER_ID_MAPPING", "InvalidPidMappingError", _N,
       "The producer id does not match the one mapped to this transactional id."),
    _e(50, "INVALID_TRANSACTION_TIMEOUT", "InvalidTxnTimeoutError", _N,
       "The transaction timeout exceeds transaction.max.timeout.ms."),
    _e(51, "CONCURRENT_TRANSACTIONS", "ConcurrentTransactionsError", _N,
       "Another transaction operation for this transactional id is still in progress."),
    _e(52, "TRANSACTION_COORDINATOR_FENCED", "TransactionCoordinatorFencedError", _N,
       "A newer transaction coordinator has fenced this one."),
    _e(53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "TransactionalIdAuthorizationFailedError", _N,
       "Not authorized for this transactional id."),
    _e(54, "SECURITY_DISABLED", "SecurityDisabledError", _N, "Security features are disabled."),
    _e(55, "OPERATION_NOT_ATTEMPTED", "OperationNotAttemptedError", _N,
       "The operation was skipped because another operation in the same batch failed."),
    _e(56, "KAFKA_STORAGE_ERROR", "KafkaStorageError", _R,
       "The broker cannot access the log directory holding this replica.", _M),
    _e(57, "LOG_DIR_NOT_FOUND", "LogDirNotFoundError", _N,
       "The log directory is not configured on the broker or is offline."),
    _e(58, "SASL_AUTHENTICATION_FAILED", "SaslAuthenticationError", _N, "SASL authentication failed."),
    _e(59, "UNKNOWN_PRODUCER_ID", "UnknownProducerIdError", _N,
       "The broker holds no state for this producer id (it may have expired)."),
    _e(60, "REASSIGNMENT_IN_PROGRESS", "ReassignmentInProgressError", _N,
       "A partition reassignment is in progress."),
    _e(61, "DELEGATION_TOKEN_AUTH_DISABLED", "DelegationTokenDisabledError", _N,
       "Delegation token authentication is disabled."),
    _e(62, "DELEGATION_TOKEN_NOT_FOUND", "DelegationTokenNotFoundError", _N,
       "The delegation token does not exist."),
    _e(63, "DELEGATION_TOKEN_OWNER_MISMATCH", "DelegationTokenOwnerMismatchError", _N,
       "The principal is neither the owner nor a renewer of the delegation token."),
    _e(64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", "UnsupportedByAuthenticationError", _N,
       "Delegation token requests are not allowed on this connection's authentication method."),
    _e(65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", "DelegationTokenAuthorizationError", _N,
       "Not authorized for this delegation token operation."),
    _e(66, "DELEGATION_TOKEN_EXPIRED", "DelegationTokenExpiredError", _N, "The delegation token has expired."),
    _e(67, "INVALID_PRINCIPAL_TYPE", "InvalidPrincipalTypeError", _N, "The principal type is not supported."),
    _e(68, "NON_EMPTY_GROUP", "GroupNotEmptyError", _N, "The group still has members."),
    _e(69, "GROUP_ID_NOT_FOUND", "GroupIdNotFoundError", _N, "The group id does not exist."),
    _e(70, "FETCH_SESSION_ID_NOT_FOUND", "FetchSessionIdNotFoundError", _R,
       "The fetch session id was not found."),
    _e(71, "INVALID_FETCH_SESSION_EPOCH", "InvalidFetchSessionEpochError", _R,
       "The fetch session epoch is not the expected one."),
    _e(72, "LISTENER_NOT_FOUND", "ListenerNotFoundError", _R,
       "The leader has no endpoint on the listener the request arrived on.", _M),
    _e(73, "TOPIC_DELETION_DISABLED", "TopicDeletionDisabledError", _N,
       "Topic deletion is disabled on this cluster."),
    _e(74, "FENCED_LEADER_EPOCH", "FencedLeaderEpochError", _R,
       "The leader epoch in the request is older than the broker's.", _M),
    _e(75, "UNKNOWN_LEADER_EPOCH", "UnknownLeaderEpochError", _R,
       "The leader epoch in the request is newer than the broker's."),
    _e(76, "UNSUPPORTED_COMPRESSION_TYPE", "UnsupportedCompressionTypeError", _N,
       "This request version does not support the compression type used."),
    _e(77, "STALE_BROKER_EPOCH", "StaleBrokerEpochError", _N, "The broker epoch is stale."),
    _e(78, "OFFSET_NOT_AVAILABLE", "OffsetNotAvailableError", _R,
       "The leader's high watermark is not yet known, so the offset cannot be served."),
    _e(79, "MEMBER_ID_REQUIRED", "MemberIdRequiredError", _N,
       "The group member must rejoin using the member id given in the response."),
    _e(80, "PREFERRED_LEADER_NOT_AVAILABLE", "PreferredLeaderNotAvailableError", _R,
       "The preferred leader is not available.", _M),
    _e(81, "GROUP_MAX_SIZE_REACHED", "GroupMaxSizeReachedError", _N,
       "The group already has the maximum number of members (group.max.size)."),
    _e(82, "FENCED_INSTANCE_ID", "FencedInstanceIdError", _N,
       "Another member with the same group.instance.id has fenced this one."),
    _e(83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", "EligibleLeadersNotAvailableError", _R,
       "No eligible leader is available for this partition.", _M),
    _e(84, "ELECTION_NOT_NEEDED", "ElectionNotNeededError", _R,
       "No leader election was needed for this partition.", _M),
    _e(85, "NO_REASSIGNMENT_IN_PROGRESS", "NoReassignmentInProgressError", _N,
       "No partition reassignment is in progress."),
    _e(86, "GROUP_SUBSCRIBED_TO_TOPIC", "GroupSubscribedToTopicError", _N,
       "The group is actively subscribed to the topic, so its offsets cannot be deleted."),
    _e(87, "INVALID_RECORD", "InvalidRecordError", _N,
       "The broker rejected the record because it failed a validation check."),
    _e(88, "UNSTABLE_OFFSET_COMMIT", "UnstableOffsetCommitError", _R,
       "Transactional offsets for this partition are still pending."),
    _e(89, "THROTTLING_QUOTA_EXCEEDED", "ThrottlingQuotaExceededError", _R,
       "The throttling quota was exceeded."),
    _e(90, "PRODUCER_FENCED", "ProducerFencedError", _N,
       "A newer producer with the same transactional id has fenced this one."),
    _e(91, "RESOURCE_NOT_FOUND", "ResourceNotFoundError", _N, "The resource does not exist."),
    _e(92, "DUPLICATE_RESOURCE", "DuplicateResourceError", _N, "The resource already exists."),
    _e(93, "UNACCEPTABLE_CREDENTIAL", "UnacceptableCredentialError", _N, "The credential is not acceptable."),
    _e(94, "INCONSISTENT_VOTER_SET", "InconsistentVoterSetError", _N,
       "The voter set in the request does not match the receiver's."),
    _e(95, "INVALID_UPDATE_VERSION", "InvalidUpdateVersionError", _N, "The update version is invalid."),
    _e(96, "FEATURE_UPDATE_FAILED", "FeatureUpdateFailedError", _N,
       "The feature update could not be applied."),
    _e(97, "PRINCIPAL_DESERIALIZATION_FAILURE", "PrincipalDeserializationError", _N,
       "The forwarded principal could not be deserialized."),
    _e(98, "SNAPSHOT_NOT_FOUND", "SnapshotNotFoundError", _N, "The snapshot was not found."),
    _e(99, "POSITION_OUT_OF_RANGE", "PositionOutOfRangeError", _N,
       "The requested position is outside the snapshot."),
    _e(100, "UNKNOWN_TOPIC_ID", "UnknownTopicIdError", _R, "This server does not know the topic id.", _M),
    _e(101, "DUPLICATE_BROKER_REGISTRATION", "DuplicateBrokerRegistrationError", _N,
       "This broker id is already registered."),
    _e(102, "BROKER_ID_NOT_REGISTERED", "BrokerIdNotRegisteredError", _N,
       "The broker id is not registered."),
    _e(103, "INCONSISTENT_TOPIC_ID", "InconsistentTopicIdError", _R,
       "The topic id in the request does not match the topic id of the log.", _M),
    _e(104, "INCONSISTENT_CLUSTER_ID", "InconsistentClusterIdError", _N,
       "The cluster id in the request does not match the one the receiver knows."),
)
# fmt: on

ErrorCode = enum.IntEnum("ErrorCode", [(info.name, info.code) for info in ERROR_TABLE],
                         module=__name__)
ErrorCode.__doc__ = "Kafka's error codes, by Kafka's enum names."

_INFO_BY_CODE: dict[int, ErrorInfo] = {info.code: info for info in ERROR_TABLE}


def error_info(code: int) -> ErrorInfo | None:
    """The table row for `code`, or None for a code Kafka 2.8 does not define."""
    return _INFO_BY_CODE.get(code)


class ApiError(Exception):
    """An expected failure that maps to a Kafka error code.

    Construct it as ``ApiError(code, message=None)`` (this returns the code's subclass)
    or as ``SomeError(message=None)``. `str(err)` is the message (the table's default
    message when none is given).
    """

    code: int = ErrorCode.UNKNOWN_SERVER_ERROR
    error_name: str = "UNKNOWN_SERVER_ERROR"
    retriable: bool = False
    invalid_metadata: bool = False
    default_message: str = "Unknown error code."

    def __new__(cls, *args: Any, **kwargs: Any) -> ApiError:
        if cls is ApiError:
            code = args[0] if args and isinstance(args[0], int) else kwargs.get("code")
            sub = _CLASS_BY_CODE.get(-1 if code is None else int(code))
            if sub is not None:
                cls = sub
        return Exception.__new__(cls)

    def __init__(self, code_or_message: int | str | None = None, message: str | None = None, *,
                 code: int | None = None) -> None:
        if code_or_message.__class__ is str:
            if message is not None:
                raise TypeError("ApiError takes (code, message) or (message)")
            message = code_or_message  # type: ignore[assignment]
        elif code_or_message is not None:
            code = code_or_message  # type: ignore[assignment]
        if code is not None and code != self.code:
            if type(self) is not ApiError:
                raise ValueError(f"{type(self).__name__} carries error code {type(self).code}, not {code}")
            self.code = int(code)
            self.error_name = f"UNKNOWN_{code}"
        if message is None:
            message = self.default_message
        self.message: str = message
        self.args = (message,)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.code, self.message))

    @property
    def error_code(self) -> ErrorCode | int:
        try:
            return ErrorCode(self.code)
        except ValueError:
            return self.code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error_name}({self.code}): {self.message!r})"


def _rebuild(cls: type[ApiError], code: int, message: str) -> ApiError:
    if cls is ApiError:
        return ApiError(code, message)
    return cls(message)


_CLASS_BY_CODE: dict[int, type[ApiError]] = {}
_ALL_CLASSES: list[str] = []


def _make_classes() -> None:
    namespace = globals()
    for info in ERROR_TABLE:
        if info.class_name is None:
            continue
        if info.class_name in namespace:
            raise RuntimeError(f"duplicate error class name {info.class_name}")
        cls = type(info.class_name, (ApiError,), {
            "__module__": __name__,
            "__qualname__": info.class_name,
            "__doc__": f"{info.name} ({info.code}): {info.message}",
            "code": info.code,
            "error_name": info.name,
            "retriable": info.retriable,
            "invalid_metadata": info.invalid_metadata,
            "default_message": info.message,
        })
        namespace[info.class_name] = cls
        _CLASS_BY_CODE[info.code] = cls
        _ALL_CLASSES.append(info.class_name)


_make_classes()


def error_for_code(code: int) -> type[ApiError] | None:
    """The exception class for a wire error code; None for NONE (0).

    A code this table does not know maps to `ApiError` itself (as a client does,
    treating it as an unknown server error while keeping the number).
    """
    if code == 0:  # NONE
        return None
    return _CLASS_BY_CODE.get(code, ApiError)


def raise_for_code(code: int, message: str | None = None) -> None:
    """Raise the exception for `code`; do nothing for NONE (0)."""
    if code == 0:  # NONE
        return
    raise ApiError(code, message)


def is_retriable(code: int) -> bool:
    info = _INFO_BY_CODE.get(code)
    return info.retriable if info is not None else False


def is_invalid_metadata(code: int) -> bool:
    info = _INFO_BY_CODE.get(code)
    return info.invalid_metadata if info is not None else False


def error_code_of(exc: BaseException) -> int:
    """The wire code to answer for an exception: its own for ApiError, else UNKNOWN_SERVER_ERROR."""
    if isinstance(exc, ApiError):
        return exc.code
    return ErrorCode.UNKNOWN_SERVER_ERROR


# Kafka's pre-2.6 name for code 6, still used by older clients and docs.
NotLeaderForPartitionError = NotLeaderOrFollowerError  # type: ignore[name-defined]  # noqa: F821
MessageTooLargeError = RecordTooLargeError  # type: ignore[name-defined]  # noqa: F821

__all__ = ["ERROR_TABLE", "ErrorInfo", "ErrorCode", "ApiError", "error_info", "error_for_code",
           "raise_for_code", "is_retriable", "is_invalid_metadata", "error_code_of",
           "NotLeaderForPartitionError", "MessageTooLargeError", *_ALL_CLASSES]
