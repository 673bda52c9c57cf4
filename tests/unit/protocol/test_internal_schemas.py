"""Schemas of __consumer_offsets / __transaction_state records and consumer protocol bytes.

Fixed byte fixtures are written by hand from the layouts in shared/reference/protocol.md §8
(int16 version first, classic encoding). Hypothesis round-trips every (schema, version), and a
cross-check compares each schema with Kafka 2.8's JSON (skipped when the spec folder is absent).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.protocol.errors import ProtocolDecodeError, ProtocolEncodeError
from kafkapy.protocol.messages import internal
from kafkapy.protocol.messages.internal import (
    CONSUMER_PROTOCOL_ASSIGNMENT, CONSUMER_PROTOCOL_SUBSCRIPTION, DATA_SPECS, GROUP_METADATA_KEY,
    GROUP_METADATA_VALUE, OFFSET_COMMIT_KEY, OFFSET_COMMIT_VALUE, TRANSACTION_LOG_KEY,
    TRANSACTION_LOG_VALUE, decode_offsets_key, decode_offsets_value, decode_versioned,
    encode_versioned,
)
from kafkapy.protocol.schema import (
    BOOL, BYTES, FLOAT64, INT8, INT16, INT32, INT64, STRING, UINT16, ArrayOf, DataSpec, Field,
    Primitive, Struct, snake_case,
)


def h(text: str) -> bytes:
    """Hex with spaces (as in protocol.md) to bytes."""
    return bytes.fromhex(text.replace(" ", ""))


# ----------------------------------------------------------------- fixed bytes

def test_offset_commit_key_bytes() -> None:
    key = OFFSET_COMMIT_KEY.schema(group="g", topic="t", partition=0)
    data = h("0001 0001 67 0001 74 00000000")
    assert encode_versioned(OFFSET_COMMIT_KEY, 1, key) == data
    assert decode_versioned(OFFSET_COMMIT_KEY, data) == (1, key)
    assert decode_offsets_key(data) == (1, key)
    # v0 has the same layout after the version
    assert encode_versioned(OFFSET_COMMIT_KEY, 0, key) == h("0000") + data[2:]


def test_group_metadata_key_bytes() -> None:
    key = GROUP_METADATA_KEY.schema(group="g")
    data = h("0002 0001 67")
    assert encode_versioned(GROUP_METADATA_KEY, 2, key) == data
    version, decoded = decode_offsets_key(data)
    assert version == 2
    assert decoded == key
    assert decoded.__class__ is GROUP_METADATA_KEY.schema.cls


def test_offset_commit_value_v3_bytes() -> None:
    value = OFFSET_COMMIT_VALUE.schema(offset=42, leader_epoch=-1, metadata="",
                                       commit_timestamp=1600000000000)
    data = h("0003 000000000000002a ffffffff 0000 00000174876e8000")
    assert encode_versioned(OFFSET_COMMIT_VALUE, 3, value) == data
    assert decode_versioned(OFFSET_COMMIT_VALUE, data) == (3, value)
    assert decode_offsets_value(1, data) == (3, value)


def test_offset_commit_value_v1_carries_expire_timestamp() -> None:
    value = OFFSET_COMMIT_VALUE.schema(offset=5, metadata="m", commit_timestamp=1000,
                                       expire_timestamp=2000)
    data = h("0001 0000000000000005 0001 6d 00000000000003e8 00000000000007d0")
    assert encode_versioned(OFFSET_COMMIT_VALUE, 1, value) == data
    version, decoded = decode_versioned(OFFSET_COMMIT_VALUE, data)
    assert version == 1
    assert decoded.expire_timestamp == 2000
    assert decoded.leader_epoch == -1          # absent before v3: its default
    # v0 and v2 have no expire timestamp: same bytes minus that field
    assert encode_versioned(OFFSET_COMMIT_VALUE, 2, value) == h("0002") + data[2:-8]


def test_group_metadata_value_v3_one_member_bytes() -> None:
    member = GROUP_METADATA_VALUE.schema.struct("members")(
        member_id="m1", group_instance_id=None, client_id="c", client_host="/127.0.0.1",
        rebalance_timeout=300000, session_timeout=10000, subscription=b"sub", assignment=b"")
    value = GROUP_METADATA_VALUE.schema(
        protocol_type="consumer", generation=1, protocol="range", leader="m1",
        current_state_timestamp=1600000000000, members=[member])
    data = h(
        "0003"
        "0008 636f6e73756d6572"            # protocol_type "consumer"
        "00000001"                         # generation
        "0005 72616e6765"                  # protocol "range"
        "0002 6d31"                        # leader "m1"
        "00000174876e8000"                 # current_state_timestamp
        "00000001"                         # one member
        "0002 6d31"                        # member_id
        "ffff"                             # group_instance_id null
        "0001 63"                          # client_id "c"
        "000a 2f3132372e302e302e31"        # client_host "/127.0.0.1"
        "000493e0"                         # rebalance_timeout 300000
        "00002710"                         # session_timeout 10000
        "00000003 737562"                  # subscription
        "00000000"                         # assignment (empty)
    )
    assert encode_versioned(GROUP_METADATA_VALUE, 3, value) == data
    assert decode_versioned(GROUP_METADATA_VALUE, data) == (3, value)
    assert decode_offsets_value(2, data) == (3, value)


def test_group_metadata_value_v0_drops_newer_fields() -> None:
    member = GROUP_METADATA_VALUE.schema.struct("members")(
        member_id="m1", group_instance_id="static-1", client_id="c", client_host="/h",
        rebalance_timeout=5, session_timeout=6, subscription=b"", assignment=b"\x01")
    value = GROUP_METADATA_VALUE.schema(protocol_type="consumer", generation=2, protocol=None,
                                        leader=None, current_state_timestamp=7, members=[member])
    data = h("0000 0008 636f6e73756d6572 00000002 ffff ffff 00000001"
             "0002 6d31 0001 63 0002 2f68 00000006 00000000 00000001 01")
    assert encode_versioned(GROUP_METADATA_VALUE, 0, value) == data
    version, decoded = decode_versioned(GROUP_METADATA_VALUE, data)
    assert version == 0
    assert decoded.current_state_timestamp == -1
    assert decoded.members[0].group_instance_id is None
    assert decoded.members[0].rebalance_timeout == 0
    assert decoded.members[0].assignment == b"\x01"


def test_offsets_tombstone_and_unknown_versions() -> None:
    assert decode_offsets_value(1, None) is None
    with pytest.raises(ProtocolDecodeError):
        decode_offsets_key(h("0003 0001 67"))
    with pytest.raises(ProtocolDecodeError):
        decode_offsets_value(3, h("0000"))
    with pytest.raises(ProtocolDecodeError):
        decode_versioned(OFFSET_COMMIT_VALUE, h("0004 0000000000000005"))
    with pytest.raises(ProtocolDecodeError):
        decode_versioned(OFFSET_COMMIT_VALUE, h("00"))
    with pytest.raises(ProtocolDecodeError):                 # truncated struct
        decode_versioned(OFFSET_COMMIT_KEY, h("0001 0001 67 0001"))
    with pytest.raises(ProtocolEncodeError):
        encode_versioned(GROUP_METADATA_KEY, 1, GROUP_METADATA_KEY.schema(group="g"))


def test_transaction_log_bytes() -> None:
    key = TRANSACTION_LOG_KEY.schema(transactional_id="tx")
    assert encode_versioned(TRANSACTION_LOG_KEY, 0, key) == h("0000 0002 7478")
    part = TRANSACTION_LOG_VALUE.schema.struct("transaction_partitions")(topic="t",
                                                                         partition_ids=[0, 1])
    value = TRANSACTION_LOG_VALUE.schema(
        producer_id=7, producer_epoch=1, transaction_timeout_ms=60000, transaction_status=1,
        transaction_partitions=[part], transaction_last_update_timestamp_ms=1600000000000,
        transaction_start_timestamp_ms=1600000000000)
    data = h("0000 0000000000000007 0001 0000ea60 01 00000001 0001 74 00000002 00000000 00000001"
             "00000174876e8000 00000174876e8000")
    assert encode_versioned(TRANSACTION_LOG_VALUE, 0, value) == data
    assert decode_versioned(TRANSACTION_LOG_VALUE, data) == (0, value)
    empty = TRANSACTION_LOG_VALUE.schema(transaction_partitions=None)
    encoded = encode_versioned(TRANSACTION_LOG_VALUE, 0, empty)
    assert encoded[2 + 8 + 2 + 4 + 1:][:4] == h("ffffffff")
    assert decode_versioned(TRANSACTION_LOG_VALUE, encoded) == (0, empty)


def test_consumer_subscription_bytes() -> None:
    sub = CONSUMER_PROTOCOL_SUBSCRIPTION.schema(topics=["t"], user_data=None)
    v0 = h("0000 00000001 0001 74 ffffffff")
    assert encode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, 0, sub) == v0
    assert decode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, v0) == (0, sub)

    owned = CONSUMER_PROTOCOL_SUBSCRIPTION.schema.struct("owned_partitions")(topic="t",
                                                                            partitions=[0])
    sub1 = CONSUMER_PROTOCOL_SUBSCRIPTION.schema(topics=["t"], user_data=b"u",
                                                 owned_partitions=[owned])
    v1 = h("0001 00000001 0001 74 00000001 75 00000001 0001 74 00000001 00000000")
    assert encode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, 1, sub1) == v1
    assert decode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, v1) == (1, sub1)


def test_consumer_subscription_from_a_newer_client() -> None:
    # a hypothetical v3 with extra trailing fields: read as v1, the rest ignored
    newer = h("0003 00000001 0001 74 ffffffff 00000000 7fffffff 0001 78")
    with pytest.raises(ProtocolDecodeError):
        decode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, newer)
    version, sub = decode_versioned(CONSUMER_PROTOCOL_SUBSCRIPTION, newer, accept_newer=True)
    assert version == 3
    assert sub == CONSUMER_PROTOCOL_SUBSCRIPTION.schema(topics=["t"], user_data=None,
                                                        owned_partitions=[])


def test_consumer_assignment_bytes() -> None:
    tp = CONSUMER_PROTOCOL_ASSIGNMENT.schema.struct("assigned_partitions")(topic="t",
                                                                          partitions=[0, 1])
    assignment = CONSUMER_PROTOCOL_ASSIGNMENT.schema(assigned_partitions=[tp])
    v0 = h("0000 00000001 0001 74 00000002 00000000 00000001 ffffffff")
    assert encode_versioned(CONSUMER_PROTOCOL_ASSIGNMENT, 0, assignment) == v0
    assert decode_versioned(CONSUMER_PROTOCOL_ASSIGNMENT, v0) == (0, assignment)
    # v1 has the same layout
    assert encode_versioned(CONSUMER_PROTOCOL_ASSIGNMENT, 1, assignment) == h("0001") + v0[2:]
    # decoding from a memoryview slice of a larger buffer works the same
    framed = b"xx" + v0
    assert decode_versioned(CONSUMER_PROTOCOL_ASSIGNMENT, memoryview(framed)[2:]) == (0, assignment)


# ----------------------------------------------------------------- hypothesis round-trips

_INT_RANGES = {INT8: 8, INT16: 16, INT32: 32, INT64: 64}


def _value(f: Field, t: Any, version: int) -> st.SearchStrategy:
    if isinstance(t, ArrayOf):
        items = st.lists(_value(Field("element", t.element), t.element, version), max_size=3)
    elif isinstance(t, Struct):
        items = _struct(t, version)
    elif t is BOOL:
        items = st.booleans()
    elif t in _INT_RANGES:
        bits = _INT_RANGES[t]
        items = st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    elif t is UINT16:
        items = st.integers(0, 0xFFFF)
    elif t is FLOAT64:
        items = st.floats(allow_nan=False)
    elif t is STRING:
        items = st.text(max_size=12)
    elif t is BYTES:
        items = st.binary(max_size=12)
    else:
        raise AssertionError(f"no strategy for {t!r}")
    if f.nullable(version):
        items = st.none() | items
    return items


def _struct(s: Struct, version: int) -> st.SearchStrategy:
    present = {f.name: _value(f, f.type, version) for f in s.fields if f.present(version)}
    return st.fixed_dictionaries(present).map(lambda kw: s(**kw))


_CASES = [(name, v) for name, spec in sorted(DATA_SPECS.items()) for v in spec.versions]


@pytest.mark.parametrize(("name", "version"), _CASES, ids=[f"{n}-v{v}" for n, v in _CASES])
def test_round_trip(name: str, version: int) -> None:
    spec = DATA_SPECS[name]

    @settings(max_examples=60, deadline=None)
    @given(_struct(spec.schema, version))
    def check(obj: Any) -> None:
        data = encode_versioned(spec, version, obj)
        assert data[:2] == version.to_bytes(2, "big")
        assert decode_versioned(spec, data) == (version, obj)

    check()


def test_never_flexible() -> None:
    for spec in DATA_SPECS.values():
        assert spec.flexible_since is None
        assert all(not spec.is_flexible(v) for v in spec.versions)


# ----------------------------------------------------------------- spec cross-check

_SPEC = Path(__file__).resolve().parents[3] / ".." / "shared" / "kafka-spec" / "2.8"
_SPEC_FILES = {
    "OffsetCommitKey": "core-message/OffsetCommitKey.json",
    "OffsetCommitValue": "core-message/OffsetCommitValue.json",
    "GroupMetadataKey": "core-message/GroupMetadataKey.json",
    "GroupMetadataValue": "core-message/GroupMetadataValue.json",
    "TransactionLogKey": "core-message/TransactionLogKey.json",
    "TransactionLogValue": "core-message/TransactionLogValue.json",
    "ConsumerProtocolSubscription": "message/ConsumerProtocolSubscription.json",
    "ConsumerProtocolAssignment": "message/ConsumerProtocolAssignment.json",
}


def _load_json(path: Path) -> dict:
    text = re.sub(r"^\s*//.*$", "", path.read_text(), flags=re.M)
    return json.JSONDecoder().raw_decode(text.strip())[0]


def _range(text: str) -> tuple[int, int | None]:
    if text.endswith("+"):
        return int(text[:-1]), None
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


def _compare(fields: list[dict], s: Struct, common: dict[str, list], path: str) -> list[str]:
    problems = []
    names = [snake_case(f["name"]) for f in fields]
    if names != [f.name for f in s.fields]:
        return [f"{path}: fields {names} != {[f.name for f in s.fields]}"]
    for jf, f in zip(fields, s.fields):
        where = f"{path}.{f.name}"
        if (f.since, f.until) != _range(jf["versions"]):
            problems.append(f"{where}: versions {jf['versions']}")
        nullable = jf.get("nullableVersions")
        if f.nullable_since != (_range(nullable)[0] if nullable else None):
            problems.append(f"{where}: nullable {nullable}")
        if "default" in jf:
            d = jf["default"]
            expected = None if d == "null" else int(d) if isinstance(d, str) else d
            if f.default != expected:
                problems.append(f"{where}: default {d}")
        if f.ignorable != bool(jf.get("ignorable", False)):
            problems.append(f"{where}: ignorable")
        jt = jf["type"]
        t = f.type
        if jt.startswith("[]"):
            if not isinstance(t, ArrayOf):
                problems.append(f"{where}: not an array")
                continue
            t, jt = t.element, jt[2:]
        if isinstance(t, Struct):
            if t.name != jt:
                problems.append(f"{where}: struct {t.name} != {jt}")
            problems += _compare(jf.get("fields") or common[jt], t, common, where)
        elif not isinstance(t, Primitive) or t.spec_name != jt:
            problems.append(f"{where}: type {t!r} != {jt}")
    return problems


@pytest.mark.parametrize("name", sorted(_SPEC_FILES))
def test_matches_kafka_spec(name: str) -> None:
    path = _SPEC / _SPEC_FILES[name]
    if not path.exists():
        pytest.skip(f"Kafka 2.8 spec JSON not found at {path}")
    j = _load_json(path)
    spec: DataSpec = DATA_SPECS[name]
    assert j["name"] == spec.name
    assert _range(j["validVersions"]) in ((spec.min_version, spec.max_version),)
    assert j.get("flexibleVersions", "none") == "none"
    common = {c["name"]: c["fields"] for c in j.get("commonStructs", [])}
    assert _compare(j["fields"], spec.schema, common, name) == []


def test_module_exports() -> None:
    for name in internal.__all__:
        assert hasattr(internal, name), name
