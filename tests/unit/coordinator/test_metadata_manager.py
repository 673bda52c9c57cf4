"""`__consumer_offsets` partitioning, key/value bytes and replay."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.common.types import TopicPartition
from kafkapy.coordinator.group.group_metadata import GroupMetadata, GroupState, OffsetAndMetadata
from kafkapy.coordinator.group.member_metadata import MemberMetadata
from kafkapy.coordinator.group.metadata_manager import (
    OffsetsReplay,
    group_from_value,
    group_metadata_key,
    group_metadata_value,
    java_string_hashcode,
    kafka_abs,
    offset_commit_key,
    offset_commit_value,
    partition_for,
)
from kafkapy.protocol.messages.internal import decode_offsets_value


def reference_hash(s: str) -> int:
    """String.hashCode written the obvious way over UTF-16 code units."""
    units = s.encode("utf-16-le", "surrogatepass")
    h = 0
    for i in range(0, len(units), 2):
        h = (h * 31 + int.from_bytes(units[i:i + 2], "little")) % 2 ** 32
    return h - 2 ** 32 if h >= 2 ** 31 else h


def test_documented_partitions() -> None:
    cases = {"my-group": 12, "test-group": 12, "console-consumer-12345": 6, "group1": 40, "": 0, "ä": 28,
             "polygenelubricants": 0}
    assert {g: partition_for(g, 50) for g in cases} == cases
    assert java_string_hashcode("polygenelubricants") == -2 ** 31 and kafka_abs(-2 ** 31) == 0
    assert java_string_hashcode("😀") == reference_hash("😀") == 0xD83D * 31 + 0xDE00


@settings(max_examples=100, deadline=None)
@given(st.text(), st.integers(1, 200))
def test_hash_matches_reference(s: str, n: int) -> None:
    assert java_string_hashcode(s) == reference_hash(s)
    assert 0 <= partition_for(s, n) < n


def test_documented_bytes() -> None:
    assert offset_commit_key("g", TopicPartition("t", 0)).hex() == "000100016700017400000000"
    assert group_metadata_key("g").hex() == "0002000167"
    assert offset_commit_value(OffsetAndMetadata(42, -1, "", 1600000000000)).hex() == \
        "0003000000000000002affffffff000000000174876e8000"
    v1 = offset_commit_value(OffsetAndMetadata(1, 5, "m", 10, 20))
    assert v1[:2] == b"\x00\x01" and decode_offsets_value(1, v1)[1].expire_timestamp == 20


def test_replay_keeps_latest_and_honours_tombstones() -> None:
    group = GroupMetadata("g", GroupState.EMPTY, 0)
    member = MemberMetadata("m-1", "g", "inst", "c", "/1.2.3.4", 300, 100, "consumer", [("range", b"sub")])
    group.add(member)
    group.protocol_name = "range"
    group.generation_id = 4
    replay = OffsetsReplay()
    t0, t1 = TopicPartition("t", 0), TopicPartition("t", 1)
    replay.apply(offset_commit_key("g", t0), offset_commit_value(OffsetAndMetadata(1)))
    replay.apply(offset_commit_key("g", t0), offset_commit_value(OffsetAndMetadata(2, 1, "x", 3)))
    replay.apply(offset_commit_key("g", t1), offset_commit_value(OffsetAndMetadata(5)))
    replay.apply(offset_commit_key("g", t1), None)
    replay.apply(group_metadata_key("g"), group_metadata_value(group, {"m-1": b"asg"}))
    replay.apply(group_metadata_key("h"), group_metadata_value(GroupMetadata("h", GroupState.EMPTY, 0), {}))
    replay.apply(group_metadata_key("h"), None)
    assert replay.offsets["g"] == {t0: OffsetAndMetadata(2, 1, "x", 3)}
    assert set(replay.groups) == {"g"} and replay.removed_groups == {"h"}
    loaded = group_from_value("g", replay.groups["g"], 0)
    assert loaded.state is GroupState.STABLE and loaded.generation_id == 4 and loaded.leader_id == "m-1"
    m = loaded.members["m-1"]
    assert (m.group_instance_id, m.client_host, m.rebalance_timeout_ms, m.session_timeout_ms, m.assignment) == \
        ("inst", "/1.2.3.4", 300, 100, b"asg")
    assert loaded.static_members == {"inst": "m-1"}


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40), st.integers(0, 2**31 - 1), st.integers(-1, 2**62),
       st.integers(-1, 2**31 - 1), st.text(max_size=60), st.integers(-1, 2**50))
def test_fast_offset_encodings_equal_the_schema_codec(group: str, topic: str, partition: int, offset: int,
                                                      epoch: int, metadata: str, ts: int) -> None:
    from kafkapy.protocol.messages.internal import (
        OFFSET_COMMIT_KEY,
        OFFSET_COMMIT_VALUE,
        encode_versioned,
    )
    key = OFFSET_COMMIT_KEY.schema.cls(group=group, topic=topic, partition=partition)
    assert offset_commit_key(group, TopicPartition(topic, partition)) == encode_versioned(OFFSET_COMMIT_KEY, 1, key)
    value = OFFSET_COMMIT_VALUE.schema.cls(offset=offset, leader_epoch=epoch, metadata=metadata, commit_timestamp=ts)
    assert offset_commit_value(OffsetAndMetadata(offset, epoch, metadata, ts)) == \
        encode_versioned(OFFSET_COMMIT_VALUE, 3, value)


def test_replay_reads_every_offset_value_version() -> None:
    from kafkapy.protocol.messages.internal import OFFSET_COMMIT_KEY, OFFSET_COMMIT_VALUE, encode_versioned
    replay = OffsetsReplay()
    cls = OFFSET_COMMIT_VALUE.schema.cls
    for v, tp in ((0, TopicPartition("a", 0)), (1, TopicPartition("a", 1)), (2, TopicPartition("a", 2)),
                  (3, TopicPartition("a", 3))):
        key = encode_versioned(OFFSET_COMMIT_KEY, v % 2, OFFSET_COMMIT_KEY.schema.cls(
            group="g", topic=tp.topic, partition=tp.partition))
        replay.apply(key, encode_versioned(OFFSET_COMMIT_VALUE, v, cls(
            offset=10 + v, leader_epoch=7, metadata="m%d" % v, commit_timestamp=100 + v, expire_timestamp=500)))
    got = replay.offsets["g"]
    assert got[TopicPartition("a", 0)] == OffsetAndMetadata(10, -1, "m0", 100, None)
    assert got[TopicPartition("a", 1)] == OffsetAndMetadata(11, -1, "m1", 101, 500)
    assert got[TopicPartition("a", 2)] == OffsetAndMetadata(12, -1, "m2", 102, None)
    assert got[TopicPartition("a", 3)] == OffsetAndMetadata(13, 7, "m3", 103, None)
