from __future__ import annotations

import os

import pytest

from kafkapy.common.types import TopicPartition
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log

from .helpers import FakeClock

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_log(tmp_path, clock):
    logs = []

    def factory(config: LogConfig | None = None, name: str = "topic-0", **kwargs) -> Log:
        lg = Log(os.path.join(tmp_path, name), config or LogConfig(), clock_ms=clock,
                 topic_partition=TopicPartition(name.rsplit("-", 1)[0], int(name.rsplit("-", 1)[1])),
                 sync_checkpoints=False, **kwargs)
        logs.append(lg)
        return lg

    yield factory
    for lg in logs:
        if not lg.local.closed:
            lg.close()
