"""Kafka 2.8.2's own Java clients (ConsoleProducer / ConsoleConsumer) against a kafkapy broker.

The Java 2.8 client uses the newest versions a 2.8 broker offers: ApiVersions v3, Metadata v11,
Produce v9 and Fetch v12 (flexible encodings), ListOffsets v6, and asks for a fetch session
(epoch 0), which the broker declines with session id 0. Skipped with the reason when Maven or
Java cannot provide Kafka's jars.
"""
from __future__ import annotations

import subprocess
import uuid

import pytest

from kafkapy.testing.broker import BrokerProcess, create_topic, wait_for_leaders
from kafkapy.testing.kafka_dist import KafkaDistUnavailable, java_executable, kafka_classpath

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

N = 10_000


@pytest.fixture(scope="module")
def classpath() -> str:
    try:
        return kafka_classpath()
    except KafkaDistUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory):
    chroot = f"{zookeeper.connect_string}/kafkapy-java-{uuid.uuid4().hex[:10]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker-java"), chroot, broker_id=0)
    b.start()
    yield b
    assert b.stop() == 0, b.log_tail()


def java(classpath: str, main: str, args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess:
    cmd = [java_executable(), "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath,
           main, *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=300)


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_java_console_producer_and_consumer(broker: BrokerProcess, classpath: str, codec: str) -> None:
    topic = f"java-{codec}-{uuid.uuid4().hex[:6]}"
    create_topic(broker.zookeeper_connect, topic, 1)
    wait_for_leaders(broker.bootstrap, topic, 1)
    lines = b"".join(b"key-%d:value-%d-%s\n" % (i, i, b"z" * (i % 13)) for i in range(N))
    proc = java(classpath, "kafka.tools.ConsoleProducer",
                ["--bootstrap-server", broker.bootstrap, "--topic", topic, "--compression-codec", codec,
                 "--request-required-acks", "all", "--property", "parse.key=true", "--property", "key.separator=:",
                 "--producer-property", "linger.ms=10"], stdin=lines)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    proc = java(classpath, "kafka.tools.ConsoleConsumer",
                ["--bootstrap-server", broker.bootstrap, "--topic", topic, "--partition", "0", "--offset",
                 "earliest", "--max-messages", str(N), "--timeout-ms", "60000", "--property", "print.key=true",
                 "--property", "key.separator=:", "--property", "print.offset=true"])
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    got = proc.stdout.splitlines()
    assert len(got) == N, proc.stderr.decode()[-3000:]
    for i, line in enumerate(got):
        assert line == b"Offset:%d:key-%d:value-%d-%s" % (i, i, i, b"z" * (i % 13)), line
