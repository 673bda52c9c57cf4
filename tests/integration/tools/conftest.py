"""One kafkapy broker subprocess per test module (on the shared ZooKeeper, own chroot)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from kafkapy.testing.broker import BrokerProcess


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    chroot = f"{zookeeper.connect_string}/kafkapy-clients-{uuid.uuid4().hex[:12]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker"), chroot, broker_id=0,
                      overrides={"num.partitions": 3})
    b.start()
    try:
        yield b
    finally:
        b.stop()
