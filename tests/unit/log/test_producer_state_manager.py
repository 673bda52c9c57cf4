"""LogManager and producer state: producer.id.expiration.ms reaches the logs, the retention job expires
idle producers, and a clean shutdown then restart keeps what the idempotent producer needs."""
from __future__ import annotations

import pytest

from kafkapy.common.errors import OutOfOrderSequenceError
from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.manager import LogManager
from kafkapy.protocol.records import SimpleRecord, build_batch

from .helpers import FakeClock

CFG = LogConfig(segment_bytes=2000, index_interval_bytes=100)


def manager(dirs, clock, **kw) -> LogManager:
    return LogManager([str(d) for d in dirs], CFG, broker_id=1, cluster_id="c" * 22, clock_ms=clock,
                      sync_checkpoints=False, cleaner_enabled=False, **kw)


def pbatch(pid: int, seq: int, ts: int) -> bytearray:
    return bytearray(build_batch([SimpleRecord(None, b"x" * 40, timestamp=ts)], producer_id=pid, producer_epoch=0,
                                 base_sequence=seq))


def test_retention_job_expires_idle_producers(tmp_path):
    clock = FakeClock()
    lm = manager([tmp_path], clock, producer_id_expiration_ms=10_000)
    lm.load_logs()
    lg = lm.get_or_create_log(TopicPartition("t", 0))
    lg.append_as_leader(pbatch(1, 0, clock.now), 0)
    lg.append_as_leader(pbatch(2, 0, clock.now + 5_000), 0)
    clock.advance(10_000)
    lm.cleanup_logs()
    assert set(lg.producer_state.producers) == {2}
    clock.advance(5_000)
    lm.cleanup_logs()
    assert lg.producer_state.is_empty
    lm.shutdown()


def test_clean_restart_keeps_the_producers(tmp_path):
    clock = FakeClock()
    tp = TopicPartition("t", 0)
    lm = manager([tmp_path], clock)
    lm.load_logs()
    lg = lm.get_or_create_log(tp)
    for seq in range(60):                       # several rolls
        lg.append_as_leader(pbatch(9, seq, clock.now), 0)
    assert lg.num_segments > 2
    lm.shutdown()
    lm2 = manager([tmp_path], clock)
    lm2.load_logs()
    lg2 = lm2.get_log(tp)
    assert lg2.append_as_leader(pbatch(9, 59, clock.now), 0).first_offset == 59     # duplicate
    with pytest.raises(OutOfOrderSequenceError):
        lg2.append_as_leader(pbatch(9, 61, clock.now), 0)
    assert lg2.append_as_leader(pbatch(9, 60, clock.now), 0).first_offset == 60
    lm2.shutdown()
