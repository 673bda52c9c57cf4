"""The pytest plugin attaches every cluster process's log to a failing test's report."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[3]

FAILING = '''
import pytest

@pytest.mark.kafkapy_cluster(brokers=1)
def test_expects_a_controller_that_does_not_exist(kafkapy_cluster):
    assert kafkapy_cluster.controller() == 99

@pytest.mark.kafkapy_zookeeper(servers=1)
def test_zookeeper_fixture(kafkapy_zookeeper):
    assert kafkapy_zookeeper.servers[0].mode() == "standalone"
    assert kafkapy_zookeeper.connect_string.startswith("127.0.0.1:")
'''


def test_failed_test_reports_carry_broker_and_zookeeper_logs(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(FAILING)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:kafkapy", "-p", "kafkapy.testing.pytest_plugin",
                           "-p", "no:cacheprovider", "-q", "test_user.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=170)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert "1 failed, 1 passed" in out
    assert "kafkapy broker 1 (127.0.0.1:" in out and "[KafkaServer id=1] started" in out
    assert "ZooKeeper 0 (127.0.0.1:" in out
