from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.errors import InconsistentBrokerMetadataError, KafkaStorageError
from kafkapy.log.manager import CLEAN_SHUTDOWN_FILE, LogManager

from .helpers import FakeClock, all_records, batch

CFG = LogConfig(segment_bytes=2000, index_interval_bytes=100, file_delete_delay_ms=1000)


def manager(dirs, clock, **kw):
    return LogManager([str(d) for d in dirs], CFG, broker_id=1, cluster_id="c" * 22, clock_ms=clock,
                      sync_checkpoints=False, **kw)


def test_create_append_shutdown_reload(tmp_path):
    clock = FakeClock()
    dirs = [tmp_path / "a", tmp_path / "b"]
    lm = manager(dirs, clock)
    lm.load_logs()
    tps = [TopicPartition("orders", p) for p in range(4)] + [TopicPartition("my-topic-x", 0)]
    for tp in tps:
        lg = lm.get_or_create_log(tp)
        for _ in range(20):
            lg.append_as_leader(batch(2, value_size=50), 0)
        lg.update_high_watermark(30)
    assert {lm.log_dir_of(tp) for tp in tps} == {str(d) for d in dirs}  # spread over dirs
    lm.get_log(tps[0]).delete_records_before(10)
    lm.shutdown()
    for d in dirs:
        assert os.path.exists(d / CLEAN_SHUTDOWN_FILE)
        assert (d / "meta.properties").exists()
        assert (d / "recovery-point-offset-checkpoint").read_text().startswith("0\n")
    hw_text = (dirs[0] / "replication-offset-checkpoint").read_text() + \
        (dirs[1] / "replication-offset-checkpoint").read_text()
    assert "orders 0 30" in hw_text
    lm2 = manager(dirs, clock)
    lm2.load_logs()
    assert all(lm2.had_clean_shutdown.values())
    assert not any(os.path.exists(d / CLEAN_SHUTDOWN_FILE) for d in dirs)
    for tp in tps:
        lg = lm2.get_log(tp)
        assert lg.log_end_offset == 40 and lg.high_watermark == 30
        assert lg.recovery_point == 40
    assert lm2.get_log(tps[0]).log_start_offset == 10
    assert lm2.get_log(TopicPartition("my-topic-x", 0)) is not None
    lm2.shutdown()


def test_startup_in_executor_recovers_unclean_logs(tmp_path):
    clock = FakeClock()
    lm = manager([tmp_path], clock)
    lm.load_logs()
    tp = TopicPartition("t", 0)
    lg = lm.get_or_create_log(tp)
    for _ in range(30):
        lg.append_as_leader(batch(1, value_size=100), 0)
    expected = [(r.offset, r.value) for r in all_records(lg)]
    # crash: no shutdown; damage the tail of the active segment
    active = lg.active_segment.log_path
    lg.close()
    lm._unlock_dirs()
    size = os.path.getsize(active)
    os.truncate(active, size - 5)

    async def start():
        lm2 = manager([tmp_path], clock)
        with ThreadPoolExecutor(2) as ex:
            await asyncio.wait_for(lm2.startup(ex), 30)
        return lm2
    lm2 = asyncio.run(start())
    assert lm2.had_clean_shutdown == {str(tmp_path): False}
    lg2 = lm2.get_log(tp)
    assert [(r.offset, r.value) for r in all_records(lg2)] == expected[:-1]
    lm2.shutdown()


def test_recovery_point_follows_rolls(tmp_path):
    clock = FakeClock()
    lm = manager([tmp_path], clock)
    lm.load_logs()
    lg = lm.get_or_create_log(TopicPartition("t", 0))
    for _ in range(40):
        lg.append_as_leader(batch(1, value_size=200), 0)
    assert lg.num_segments > 2 and lg.recovery_point == 0
    lm.checkpoint_recovery_offsets()
    assert lg.recovery_point == lg.active_segment.base_offset
    assert f"t 0 {lg.recovery_point}" in (tmp_path / "recovery-point-offset-checkpoint").read_text()
    lm.shutdown()


def test_directory_lock_and_identity(tmp_path):
    clock = FakeClock()
    lm = manager([tmp_path], clock)
    with pytest.raises(KafkaStorageError):
        manager([tmp_path], clock)
    lm.shutdown()
    with pytest.raises(InconsistentBrokerMetadataError):
        LogManager([str(tmp_path)], CFG, broker_id=2, clock_ms=clock)


def test_delete_log_and_periodic_jobs(tmp_path):
    clock = FakeClock()
    lm = manager([tmp_path], clock)
    lm.load_logs()
    tp = TopicPartition("t", 0)
    lg = lm.get_or_create_log(tp, CFG.replace(retention_ms=5000, flush_messages=10))
    for i in range(20):
        lg.append_as_leader(batch(1, value_size=300, ts=clock.now - 10_000 + i), 0)
    assert [x[0] for x in lm.logs_to_flush()] == [lg]
    assert lm.flush_dirty_logs() == 1 and lg.recovery_point == 20
    lg.update_high_watermark(20)
    assert lm.cleanup_logs() > 0
    assert lg.log_start_offset > 0
    clock.advance(2000)
    assert lm.delete_pending_files() > 0
    lm.checkpoint_log_start_offsets()
    assert (tmp_path / "log-start-offset-checkpoint").read_text() == "0\n0\n"  # start == first segment base
    for i in range(3):
        lg.append_as_leader(batch(1, value_size=300, ts=clock.now), 0)
    lg.update_high_watermark(lg.log_end_offset)
    lg.delete_records_before(lg.log_start_offset + 1)
    lm.checkpoint_log_start_offsets()
    assert (tmp_path / "log-start-offset-checkpoint").read_text() == f"0\n1\nt 0 {lg.log_start_offset}\n"
    lm.delete_log(tp)
    assert lm.get_log(tp) is None
    names = os.listdir(tmp_path)
    deleted_dirs = [n for n in names if n.endswith("-delete")]
    assert len(deleted_dirs) == 1 and deleted_dirs[0].startswith("t-0.")
    clock.advance(2000)
    lm.delete_pending_files()
    assert not [n for n in os.listdir(tmp_path) if n.endswith("-delete")]
    lm.shutdown()


def test_unparsable_directories_are_skipped(tmp_path):
    clock = FakeClock()
    os.makedirs(tmp_path / "not_a_partition")
    lm = manager([tmp_path], clock)
    lm.load_logs()
    assert lm.all_logs() == []
    lm.shutdown()
