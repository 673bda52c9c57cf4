"""docker/env_config.py: KAFKA_* variables -> server.properties (no Docker needed)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from kafkapy.server.config import KafkaConfig

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "env_config.py"
spec = importlib.util.spec_from_file_location("kafkapy_docker_env_config", SCRIPT)
env_config = importlib.util.module_from_spec(spec)
spec.loader.exec_module(env_config)


@pytest.mark.parametrize("variable,prop", [
    ("KAFKA_ZOOKEEPER_CONNECT", "zookeeper.connect"),
    ("KAFKA_ADVERTISED_LISTENERS", "advertised.listeners"),
    ("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "listener.security.protocol.map"),
    ("KAFKA_LISTENER_NAME_INTERNAL_SSL__KEYSTORE_TYPE", "listener.name.internal.ssl_keystore.type"),
    ("KAFKA_SOME___DASHED_NAME", "some-dashed.name"),
])
def test_property_names(variable: str, prop: str) -> None:
    assert env_config.property_name(variable) == prop


def test_env_name_is_the_inverse() -> None:
    pytest.importorskip("testcontainers")
    from kafkapy.testcontainers import env_name
    for prop in ("zookeeper.connect", "listener.name.internal.ssl_keystore.type", "some-dashed.name",
                 "log.retention.ms"):
        assert env_config.property_name(env_name(prop)) == prop


def test_defaults_and_exclusions() -> None:
    props = env_config.properties_from_env({"KAFKA_ZOOKEEPER_CONNECT": "zk:2181", "KAFKA_HEAP_OPTS": "-Xmx1G",
                                            "KAFKAPY_HOME": "/opt", "PATH": "/bin", "KAFKA_BROKER_ID": "7"},
                                           hostname="b7")
    assert props == {"broker.id": "7", "zookeeper.connect": "zk:2181", "log.dirs": "/var/lib/kafkapy/data",
                     "listeners": "PLAINTEXT://0.0.0.0:9092", "advertised.listeners": "PLAINTEXT://b7:9092"}
    explicit = env_config.properties_from_env({"KAFKA_ZOOKEEPER_CONNECT": "zk:2181",
                                               "KAFKA_LISTENERS": "INTERNAL://0.0.0.0:9092"})
    assert explicit["broker.id"] == "-1" and "advertised.listeners" not in explicit
    with pytest.raises(ValueError, match="KAFKA_ZOOKEEPER_CONNECT"):
        env_config.properties_from_env({"KAFKA_BROKER_ID": "1"})


def test_the_generated_file_is_a_valid_broker_config(tmp_path: Path) -> None:
    env = {"KAFKA_ZOOKEEPER_CONNECT": "zk1:2181,zk2:2181", "KAFKA_BROKER_ID": "2",
           "KAFKA_LISTENERS": "INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:9093",
           "KAFKA_ADVERTISED_LISTENERS": "INTERNAL://broker2:9092,EXTERNAL://127.0.0.1:40001",
           "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
           "KAFKA_INTER_BROKER_LISTENER_NAME": "INTERNAL", "PATH": "/usr/bin:/bin"}
    out = tmp_path / "server.properties"
    proc = subprocess.run([sys.executable, str(SCRIPT), str(out)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    config = KafkaConfig.from_file(str(out), [], log_unknown=False)
    assert config.broker_id == 2
    assert config.get("zookeeper.connect") == "zk1:2181,zk2:2181"
    assert config.inter_broker_listener_name == "INTERNAL"
    missing = subprocess.run([sys.executable, str(SCRIPT), "-"], env={"PATH": "/bin"}, capture_output=True,
                             text=True)
    assert missing.returncode == 1 and missing.stderr.startswith("ERROR KAFKA_ZOOKEEPER_CONNECT")
