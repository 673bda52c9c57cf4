from __future__ import annotations

import os

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.log.checkpoint import (
    BrokerMetadataCheckpoint,
    LeaderEpochCheckpointFile,
    OffsetCheckpointFile,
    read_properties,
)
from kafkapy.log.epoch_cache import LeaderEpochFileCache
from kafkapy.log.errors import CheckpointError, InconsistentBrokerMetadataError


def test_offset_checkpoint_format_and_roundtrip(tmp_path):
    path = str(tmp_path / "replication-offset-checkpoint")
    cp = OffsetCheckpointFile(path)
    assert os.path.getsize(path) == 0 and cp.read() == {}  # created empty, reads as no entries
    offsets = {TopicPartition("orders", 0): 1500, TopicPartition("__consumer_offsets", 17): 42,
               TopicPartition("a-b-c", 3): 0}
    cp.write(offsets)
    with open(path) as f:
        text = f.read()
    assert text == "0\n3\n__consumer_offsets 17 42\na-b-c 3 0\norders 0 1500\n"
    assert OffsetCheckpointFile(path).read() == offsets
    assert not os.path.exists(path + ".tmp")


def test_checkpoint_accepts_any_whitespace(tmp_path):
    path = tmp_path / "cp"
    path.write_text("0\n2\norders   0\t5\nx 1 7\n")
    assert OffsetCheckpointFile(str(path)).read() == {TopicPartition("orders", 0): 5, TopicPartition("x", 1): 7}


@pytest.mark.parametrize("text", ["1\n0\n", "0\n2\na 0 1\n", "0\n1\na b 1\n", "x\n", "0\n", "0\n1\na 0\n"])
def test_malformed_checkpoints_raise_clear_errors(tmp_path, text):
    path = tmp_path / "cp"
    path.write_text(text)
    with pytest.raises(CheckpointError) as exc:
        OffsetCheckpointFile(str(path)).read()
    assert str(path) in str(exc.value)


def test_leader_epoch_checkpoint_and_cache(tmp_path):
    path = str(tmp_path / "leader-epoch-checkpoint")
    end = [100]
    cache = LeaderEpochFileCache(LeaderEpochCheckpointFile(path), lambda: end[0], sync=False)
    assert cache.assign(0, 0)
    assert not cache.assign(0, 5)  # same epoch, later offset: no change
    assert cache.assign(2, 10)
    assert cache.assign(3, 40)
    assert not cache.assign(1, 50)  # older epoch ignored
    with open(path) as f:
        assert f.read() == "0\n3\n0 0\n2 10\n3 40\n"
    assert cache.end_offset_for(0) == (0, 10)
    assert cache.end_offset_for(1) == (0, 10)
    assert cache.end_offset_for(2) == (2, 40)
    assert cache.end_offset_for(3) == (3, 100)
    assert cache.end_offset_for(7) == (-1, -1)
    assert cache.epoch_for_offset(39) == 2
    reloaded = LeaderEpochFileCache(LeaderEpochCheckpointFile(path), lambda: 0)
    assert [(e.epoch, e.start_offset) for e in reloaded.entries] == [(0, 0), (2, 10), (3, 40)]
    cache.truncate_from_end(40)
    assert cache.latest_epoch == 2
    cache.truncate_from_start(15)
    assert [(e.epoch, e.start_offset) for e in cache.entries] == [(2, 15)]
    # a new epoch starting at or below existing entries replaces them
    cache.assign(5, 12)
    assert [(e.epoch, e.start_offset) for e in cache.entries] == [(5, 12)]


def test_meta_properties(tmp_path):
    path = str(tmp_path / "meta.properties")
    cp = BrokerMetadataCheckpoint(path)
    assert cp.read() is None
    cp.verify_or_write(3, "abcdefghijklmnopqrstuv")
    props = read_properties(path)
    assert props == {"version": "0", "broker.id": "3", "cluster.id": "abcdefghijklmnopqrstuv"}
    cp.verify_or_write(3, "abcdefghijklmnopqrstuv")
    with pytest.raises(InconsistentBrokerMetadataError):
        cp.verify_or_write(4, "abcdefghijklmnopqrstuv")
    with pytest.raises(InconsistentBrokerMetadataError):
        cp.verify_or_write(3, "other")
    # Java's Properties.store format is read too
    with open(path, "w") as f:
        f.write("#\n#Sun Nov 22 03:00:00 UTC 2026\ncluster.id=abcdefghijklmnopqrstuv\nversion=0\nbroker.id=3\n")
    assert cp.verify_or_write(3, None)["cluster.id"] == "abcdefghijklmnopqrstuv"


def test_deferred_epoch_checkpoint_is_written_by_its_pending_write(tmp_path):
    from kafkapy.log.checkpoint import LeaderEpochCheckpointFile
    from kafkapy.log.epoch_cache import LeaderEpochFileCache

    path = tmp_path / "leader-epoch-checkpoint"
    cache = LeaderEpochFileCache(LeaderEpochCheckpointFile(str(path)), lambda: 100)
    cache.assign(1, 0)
    assert LeaderEpochCheckpointFile(str(path)).read() == [(1, 0)]
    assert cache.pending_write() is None
    cache.assign(2, 10, flush=False)
    assert cache.latest_epoch == 2                                   # memory moves at once
    assert LeaderEpochCheckpointFile(str(path)).read() == [(1, 0)]   # the file waits
    write = cache.pending_write()
    assert write is not None
    write()
    assert LeaderEpochCheckpointFile(str(path)).read() == [(1, 0), (2, 10)]
    assert cache.pending_write() is None


def test_an_older_deferred_write_never_replaces_a_newer_checkpoint(tmp_path):
    from kafkapy.log.checkpoint import LeaderEpochCheckpointFile
    from kafkapy.log.epoch_cache import LeaderEpochFileCache

    path = tmp_path / "leader-epoch-checkpoint"
    cache = LeaderEpochFileCache(LeaderEpochCheckpointFile(str(path)), lambda: 100)
    cache.assign(3, 0, flush=False)
    stale = cache.pending_write()
    cache.assign(4, 20)                       # written at once, with epoch 3 and 4
    assert stale is not None
    stale()                                   # the executor runs late: it must not undo epoch 4
    assert LeaderEpochCheckpointFile(str(path)).read() == [(3, 0), (4, 20)]
