"""Shared fixtures of the protocol codec tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SPEC_ROOT = Path(__file__).resolve().parents[3] / ".." / "shared" / "kafka-spec" / "2.8"


@pytest.fixture
def kafka_spec_dir() -> Path:
    """Kafka 2.8's message JSON folder (test oracle); skips when absent."""
    folder = SPEC_ROOT / "message"
    if not folder.is_dir():
        pytest.skip(f"Kafka spec folder {folder} is absent")
    return folder


@pytest.fixture
def file_region(tmp_path: Path):
    """Factory: a FileRegion over a temporary file holding ``data`` (closed at teardown)."""
    from kafkapy.common.types import FileRegion

    fds: list[int] = []

    def make(data: bytes, prefix: bytes = b"") -> FileRegion:
        path = tmp_path / f"segment{len(fds)}.log"
        path.write_bytes(prefix + data)
        fd = os.open(path, os.O_RDONLY)
        fds.append(fd)
        return FileRegion(fd, len(prefix), len(data))

    yield make
    for fd in fds:
        os.close(fd)
