from __future__ import annotations

import pickle

import pytest

from kafkapy.common import errors
from kafkapy.common.errors import (
    ERROR_TABLE,
    ApiError,
    ErrorCode,
    NotLeaderOrFollowerError,
    OffsetOutOfRangeError,
    RecordTooLargeError,
    error_for_code,
    raise_for_code,
)


def test_codes_and_names_are_unique_and_contiguous():
    codes = [info.code for info in ERROR_TABLE]
    names = [info.name for info in ERROR_TABLE]
    classes = [info.class_name for info in ERROR_TABLE if info.class_name]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
    assert len(set(classes)) == len(classes)
    # Kafka 2.8 defines every code from -1 to 104 without gaps.
    assert sorted(codes) == list(range(-1, 105))


@pytest.mark.parametrize("name,code", [
    ("UNKNOWN_SERVER_ERROR", -1), ("NONE", 0), ("OFFSET_OUT_OF_RANGE", 1), ("CORRUPT_MESSAGE", 2),
    ("UNKNOWN_TOPIC_OR_PARTITION", 3), ("LEADER_NOT_AVAILABLE", 5), ("NOT_LEADER_OR_FOLLOWER", 6),
    ("REQUEST_TIMED_OUT", 7), ("MESSAGE_TOO_LARGE", 10), ("NOT_COORDINATOR", 16),
    ("INVALID_TOPIC_EXCEPTION", 17), ("NOT_ENOUGH_REPLICAS", 19), ("ILLEGAL_GENERATION", 22),
    ("UNKNOWN_MEMBER_ID", 25), ("REBALANCE_IN_PROGRESS", 27), ("UNSUPPORTED_VERSION", 35),
    ("TOPIC_ALREADY_EXISTS", 36), ("INVALID_CONFIG", 40), ("NOT_CONTROLLER", 41),
    ("KAFKA_STORAGE_ERROR", 56), ("FENCED_LEADER_EPOCH", 74), ("MEMBER_ID_REQUIRED", 79),
    ("INVALID_RECORD", 87), ("PRODUCER_FENCED", 90), ("UNKNOWN_TOPIC_ID", 100),
    ("INCONSISTENT_CLUSTER_ID", 104),
])
def test_spot_check_codes(name, code):
    assert ErrorCode[name] == code
    assert ErrorCode(code).name == name


@pytest.mark.parametrize("code,retriable,invalid_metadata", [
    (-1, False, False), (1, False, False), (2, True, False), (3, True, True), (5, True, True),
    (6, True, True), (7, True, False), (9, True, True), (10, False, False), (13, True, True),
    (14, True, False), (15, True, False), (16, True, False), (22, False, False), (25, False, False),
    (27, False, False), (41, True, False), (56, True, True), (72, True, True), (74, True, True),
    (75, True, False), (79, False, False), (80, True, True), (83, True, True), (84, True, True),
    (100, True, True), (103, True, True), (104, False, False),
])
def test_retriable_and_invalid_metadata_flags(code, retriable, invalid_metadata):
    cls = error_for_code(code)
    assert cls.retriable is retriable
    assert cls.invalid_metadata is invalid_metadata
    assert errors.is_retriable(code) is retriable
    assert errors.is_invalid_metadata(code) is invalid_metadata


def test_invalid_metadata_set_matches_kafka():
    got = {info.code for info in ERROR_TABLE if info.invalid_metadata}
    assert got == {3, 5, 6, 9, 13, 56, 72, 74, 80, 83, 84, 100, 103}
    # every invalid-metadata error is retriable
    assert all(info.retriable for info in ERROR_TABLE if info.invalid_metadata)


def test_one_subclass_per_code_except_none():
    for info in ERROR_TABLE:
        cls = error_for_code(info.code)
        if info.code == 0:
            assert cls is None
            continue
        assert issubclass(cls, ApiError)
        assert cls.code == info.code
        assert cls.error_name == info.name
        assert cls.__name__ == info.class_name
        assert getattr(errors, info.class_name) is cls
        assert info.class_name in errors.__all__
        assert cls.default_message


def test_named_classes():
    assert NotLeaderOrFollowerError.code == 6
    assert OffsetOutOfRangeError.code == 1
    assert RecordTooLargeError.code == 10
    assert errors.InvalidTopicError.code == 17
    assert errors.ControllerMovedError.code == 11
    assert errors.NotLeaderForPartitionError is NotLeaderOrFollowerError


def test_api_error_constructs_the_subclass():
    err = ApiError(ErrorCode.NOT_LEADER_OR_FOLLOWER, "not leader for orders-3")
    assert type(err) is NotLeaderOrFollowerError
    assert err.code == 6 and err.retriable and err.invalid_metadata
    assert str(err) == "not leader for orders-3"
    assert err.message == "not leader for orders-3"
    with pytest.raises(NotLeaderOrFollowerError):
        raise ApiError(6)


def test_default_message_and_message_only_form():
    err = OffsetOutOfRangeError()
    assert err.message == OffsetOutOfRangeError.default_message
    err2 = OffsetOutOfRangeError("offset 10 > 5")
    assert str(err2) == "offset 10 > 5" and err2.code == 1
    assert type(ApiError("boom")) is errors.UnknownServerError


def test_subclass_rejects_a_different_code():
    with pytest.raises(ValueError):
        OffsetOutOfRangeError(3, "x")


def test_unknown_code_keeps_number():
    err = ApiError(999, "from the future")
    assert type(err) is ApiError
    assert err.code == 999 and not err.retriable
    assert error_for_code(999) is ApiError
    assert errors.error_code_of(err) == 999


def test_raise_for_code():
    raise_for_code(0)  # NONE: nothing happens
    with pytest.raises(errors.UnknownTopicOrPartitionError) as info:
        raise_for_code(3, "no such topic")
    assert str(info.value) == "no such topic"
    with pytest.raises(errors.UnknownServerError):
        raise_for_code(-1)


def test_error_code_of_other_exceptions():
    assert errors.error_code_of(RuntimeError("bug")) == -1
    assert errors.error_code_of(RecordTooLargeError()) == 10


def test_pickle_round_trip():
    for err in (RecordTooLargeError("big"), ApiError(999, "x"), ApiError(27)):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and back.code == err.code and back.message == err.message
