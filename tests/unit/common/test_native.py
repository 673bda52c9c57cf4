"""KAFKAPY_NATIVE switches kafkapy's C helpers off: the pure-Python code then runs, with the same results."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kafkapy.common.native import native_enabled

PROBE = r"""
import os, sys, tempfile
from kafkapy.common.types import TopicPartition
from kafkapy.log import log as log_module
from kafkapy.log.config import LogConfig
from kafkapy.log.log import Log
from kafkapy.protocol.records import SimpleRecord, build_batch, crc32c, iter_batches, records_of
from kafkapy.protocol.records.crc import CRC32C_IMPLEMENTATION

d = tempfile.mkdtemp()
lg = Log(os.path.join(d, "t-0"), LogConfig(), topic_partition=TopicPartition("t", 0), sync_checkpoints=False)
for i in range(5):
    lg.append_as_leader(bytearray(build_batch([SimpleRecord(b"k", b"v%d" % i, timestamp=1000 + i)] * 3)), 0)
data = lg.read(0, 1 << 20).records.read()
values = [r.value for b in iter_batches(data) for r in records_of(data, b)]
lg.close()
print(CRC32C_IMPLEMENTATION.split()[0], log_module._native_append_v2 is not None, crc32c(b"123456789"),
      lg.log_end_offset, values == [b"v%d" % i for i in range(5) for _ in range(3)])
"""


def probe(native: str | None) -> list[str]:
    env = dict(os.environ)
    env.pop("KAFKAPY_NATIVE", None)
    if native is not None:
        env["KAFKAPY_NATIVE"] = native
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.parametrize("value", ["0", "off", "false", "no", " NO "])
def test_native_can_be_switched_off(value):
    assert probe(value) == ["crc32c", "False", str(0xE3069283), "15", "True"]


def test_native_is_on_by_default():
    """With the helpers built (make installs the compiler), both are used unless switched off."""
    assert probe(None) == ["kafkapy", "True", str(0xE3069283), "15", "True"]
    assert probe("1") == ["kafkapy", "True", str(0xE3069283), "15", "True"]


def test_native_enabled_reads_the_environment(monkeypatch):
    monkeypatch.delenv("KAFKAPY_NATIVE", raising=False)
    assert native_enabled()
    monkeypatch.setenv("KAFKAPY_NATIVE", "0")
    assert not native_enabled()
    monkeypatch.setenv("KAFKAPY_NATIVE", "yes")
    assert native_enabled()
