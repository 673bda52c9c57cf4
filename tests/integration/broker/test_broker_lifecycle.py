"""Broker lifecycle against a real ZooKeeper: startup, registration, controller, shutdown, restarts, kill -9."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kafkapy.testing.broker import REPO_ROOT, BrokerProcess, create_topic, wait_for_leaders

pytestmark = pytest.mark.integration

START = REPO_ROOT / "bin" / "kafka-server-start.sh"
STOP = REPO_ROOT / "bin" / "kafka-server-stop.sh"


def zk_read(connect: str, *paths: str) -> list[tuple[bytes | None, object]]:
    from kafkapy.zk.client import ZkClient

    async def go():
        zk = ZkClient(connect, session_timeout_ms=6000)
        await zk.start()
        try:
            out = []
            for p in paths:
                got = await zk.get_or_none(p)
                out.append((got[0], got[1]) if got else (None, None))
            return out
        finally:
            await zk.stop()

    return asyncio.run(go())


def kcat_metadata(bootstrap: str) -> str:
    proc = subprocess.run(["kcat", "-b", bootstrap, "-L"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_startup_registration_controller_and_clean_shutdown(zk_chroot: str, tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "b0", zk_chroot, broker_id=0).start()
    try:
        md = kcat_metadata(broker.bootstrap)
        assert f"broker 0 at 127.0.0.1:{broker.port} (controller)" in md, md
        (reg, stat), (ctrl, _), (cluster, _) = zk_read(zk_chroot, "/brokers/ids/0", "/controller", "/cluster/id")
        info = json.loads(reg)
        assert info["version"] == 5
        assert info["endpoints"] == [f"PLAINTEXT://127.0.0.1:{broker.port}"]
        assert info["host"] == "127.0.0.1" and info["port"] == broker.port
        assert info["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT"}
        assert info["features"] == {} and info["jmx_port"] == -1 and isinstance(info["timestamp"], str)
        assert stat.version == 1 and stat.ephemeral_owner != 0
        assert json.loads(ctrl)["brokerid"] == 0
        cluster_id = json.loads(cluster)["id"]
        meta = (broker.data_dir / "meta.properties").read_text()
        assert "broker.id=0" in meta and f"cluster.id={cluster_id}" in meta
        out = broker.read_log()
        assert "[KafkaServer id=0] starting" in out
        # make installs a C compiler, so the produce path runs kafkapy's C helpers (KAFKAPY_NATIVE=0 aside)
        if os.environ.get("KAFKAPY_NATIVE", "1") != "0":
            assert "[KafkaServer id=0] Produce path: kafkapy's C append, CRC-32C by kafkapy " in out
        assert (f"Registered broker 0 at path /brokers/ids/0 with addresses: PLAINTEXT://127.0.0.1:{broker.port}, "
                f"czxid (broker epoch): {stat.czxid}") in out
        assert "[KafkaServer id=0] started" in out
        assert "[KafkaServer id=0] started" in (broker.log_dir / "server.log").read_text()
    finally:
        code = broker.stop()
    assert code == 0, broker.log_tail()
    assert "[KafkaServer id=0] shut down completed" in broker.read_log()
    assert (broker.data_dir / ".kafka_cleanshutdown").exists()
    (reg, _), = zk_read(zk_chroot, "/brokers/ids/0")
    assert reg is None


def test_duplicate_broker_id_is_one_fatal_line(zk_chroot: str, tmp_path: Path) -> None:
    first = BrokerProcess(tmp_path / "b0", zk_chroot, broker_id=3).start()
    try:
        second = BrokerProcess(tmp_path / "b0-again", zk_chroot, broker_id=3)
        second.launch()
        assert second.proc.wait(60) == 1
        out = second.read_log()
        assert "already registered" in out, out
        assert "Traceback" not in out
    finally:
        first.stop()


def test_generated_broker_id_and_restart_keeps_it(zk_chroot: str, tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "gen", zk_chroot, broker_id=-1)
    broker.launch()
    deadline = time.monotonic() + 60
    while "[KafkaServer id=1001] started" not in broker.read_log():
        assert broker.is_running() and time.monotonic() < deadline, broker.log_tail()
        time.sleep(0.1)
    broker.stop()
    assert "broker.id=1001" in (broker.data_dir / "meta.properties").read_text()
    broker.launch()
    deadline = time.monotonic() + 60
    while broker.read_log().count("[KafkaServer id=1001] started") < 2:
        assert broker.is_running() and time.monotonic() < deadline, broker.log_tail()
        time.sleep(0.1)
    assert broker.stop() == 0


def test_usage_and_invalid_config(tmp_path: Path) -> None:
    proc = subprocess.run([str(START)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "USAGE:" in proc.stdout and "[-daemon] server.properties [--override property=value]*" in proc.stdout
    cfg = tmp_path / "server.properties"
    cfg.write_text("broker.id=0\nzookeeper.connect=127.0.0.1:1\nlog.dirs=" + str(tmp_path / "d") + "\n")
    proc = subprocess.run([str(START), str(cfg), "--override", "num.partitions=0"], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and "num.partitions" in lines[0], lines
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([str(START), str(cfg), "stray"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "stray" in proc.stderr


def test_server_stop_script(zk_chroot: str, tmp_path: Path) -> None:
    broker = BrokerProcess(tmp_path / "s", zk_chroot, broker_id=0).start()
    env = dict(os.environ, KAFKAPY_SERVER_STOP_MATCH=str(broker.config_path))
    proc = subprocess.run([str(STOP)], capture_output=True, text=True, timeout=30, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert broker.proc.wait(60) == 0
    proc = subprocess.run([str(STOP)], capture_output=True, text=True, timeout=30, env=env)
    assert proc.returncode == 1 and "No kafka server to stop" in proc.stdout


def test_restart_keeps_data_and_offsets(zk_chroot: str, tmp_path: Path) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    broker = BrokerProcess(tmp_path / "r", zk_chroot, broker_id=0).start()
    try:
        create_topic(zk_chroot, "keep", 1)
        wait_for_leaders(broker.bootstrap, "keep", 1)
        p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
        for i in range(500):
            p.produce("keep", b"v%d" % i, b"k%d" % i)
        assert p.flush(30) == 0
        broker.restart()
        wait_for_leaders(broker.bootstrap, "keep", 1)
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "x", "enable.auto.commit": False})
        c.assign([TopicPartition("keep", 0, OFFSET_BEGINNING)])
        got = []
        deadline = time.monotonic() + 60
        while len(got) < 500 and time.monotonic() < deadline:
            got.extend(m.value() for m in c.consume(1000, 1.0) if m.error() is None)
        lo, hi = c.get_watermark_offsets(TopicPartition("keep", 0), timeout=10)
        c.close()
        assert got == [b"v%d" % i for i in range(500)]
        assert (lo, hi) == (0, 500)
    finally:
        assert broker.stop() == 0


def test_kill_9_loses_no_acknowledged_record(zk_chroot: str, tmp_path: Path) -> None:
    """acks=1 producer running while the broker is SIGKILLed and restarted: every acked record survives."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    broker = BrokerProcess(tmp_path / "k", zk_chroot, broker_id=0).start()
    topic = "crash"
    create_topic(zk_chroot, topic, 2)
    wait_for_leaders(broker.bootstrap, topic, 2)
    acked: set[bytes] = set()
    failed = [0]
    stop = threading.Event()
    sent = [0]

    def on_delivery(err, msg) -> None:
        if err is None:
            acked.add(msg.key())
        else:
            failed[0] += 1

    def produce_loop() -> None:
        p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "1", "linger.ms": 2,
                      "message.timeout.ms": 60000, "enable.idempotence": False,
                      "reconnect.backoff.max.ms": 200, "retry.backoff.ms": 100})
        i = 0
        while not stop.is_set():
            try:
                p.produce(topic, b"payload-%d" % i, b"%d" % i, on_delivery=on_delivery)
                i += 1
            except BufferError:
                pass
            p.poll(0.001)
        sent[0] = i
        p.flush(90)

    t = threading.Thread(target=produce_loop)
    t.start()
    try:
        deadline = time.monotonic() + 60
        while len(acked) < 20000 and time.monotonic() < deadline:
            time.sleep(0.05)
        broker.kill()
        acked_at_kill = len(acked)
        assert acked_at_kill >= 20000
        # As with Kafka, the old session's registration must expire before the broker can register again.
        deadline = time.monotonic() + 30
        while zk_read(zk_chroot, "/brokers/ids/0")[0][0] is not None:
            assert time.monotonic() < deadline, "the killed broker's registration never expired"
            time.sleep(0.2)
        broker.start()
        wait_for_leaders(broker.bootstrap, topic, 2)
        deadline = time.monotonic() + 60
        while len(acked) < acked_at_kill + 20000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(acked) >= acked_at_kill + 20000, "the producer did not resume after the restart"
    finally:
        stop.set()
        t.join(120)
    second_start = broker.read_log().split("===== start 2 =====")[1]
    assert "(recovered " in second_start, "the log was not recovered after kill -9"
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "x", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(2)])
    stored: set[bytes] = set()
    offsets: dict[int, int] = {0: -1, 1: -1}
    deadline = time.monotonic() + 90
    while not acked <= stored and time.monotonic() < deadline:
        for m in c.consume(10000, 1.0):
            assert m.error() is None, m.error()
            assert m.offset() == offsets[m.partition()] + 1, "offsets must be dense after recovery"
            offsets[m.partition()] = m.offset()
            assert m.value() == b"payload-" + m.key()
            stored.add(m.key())
    c.close()
    missing = acked - stored
    assert not missing, f"{len(missing)} acknowledged records are missing after kill -9 (acked {len(acked)})"
    assert broker.stop() == 0


def test_two_brokers_and_remote_controlled_shutdown(zk_chroot: str, tmp_path: Path) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    b0 = BrokerProcess(tmp_path / "b0", zk_chroot, broker_id=0).start()
    b1 = BrokerProcess(tmp_path / "b1", zk_chroot, broker_id=1).start()
    try:
        md = kcat_metadata(b1.bootstrap)
        assert f"broker 0 at 127.0.0.1:{b0.port} (controller)" in md and f"broker 1 at 127.0.0.1:{b1.port}" in md, md
        create_topic(zk_chroot, "spread", 4)
        wait_for_leaders(b1.bootstrap, "spread", 4)
        leaders = subprocess.run(["kcat", "-b", b0.bootstrap, "-L", "-t", "spread"], capture_output=True,
                                 text=True, timeout=30).stdout
        assert "leader 0" in leaders and "leader 1" in leaders, leaders
        p = Producer({"bootstrap.servers": b1.bootstrap, "linger.ms": 5})
        for i in range(2000):
            p.produce("spread", b"v%d" % i, b"k%d" % i, partition=i % 4)
        assert p.flush(30) == 0
        c = Consumer({"bootstrap.servers": b0.bootstrap, "group.id": "x", "enable.auto.commit": False})
        c.assign([TopicPartition("spread", i, OFFSET_BEGINNING) for i in range(4)])
        got = []
        deadline = time.monotonic() + 60
        while len(got) < 2000 and time.monotonic() < deadline:
            got.extend(m.value() for m in c.consume(1000, 1.0) if m.error() is None)
        c.close()
        assert sorted(got) == sorted(b"v%d" % i for i in range(2000))
        # broker 1 is not the controller: it asks broker 0 over the network before it stops
        assert b1.stop() == 0
        assert "Controlled shutdown succeeded" in b1.read_log(), b1.log_tail()
        assert "Error during controlled shutdown" not in b1.read_log()
    finally:
        b1.stop()
        assert b0.stop() == 0


def test_zookeeper_session_expiry_re_registers_and_re_elects(zk_chroot: str, tmp_path: Path) -> None:
    """The broker is frozen past its session timeout; on waking it registers again and becomes controller."""
    import signal

    broker = BrokerProcess(tmp_path / "x", zk_chroot, broker_id=0).start()
    try:
        (_, stat_before), = zk_read(zk_chroot, "/brokers/ids/0")
        broker.proc.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 90   # 6 s session timeout; generous for a loaded ZooKeeper
        try:
            while zk_read(zk_chroot, "/brokers/ids/0")[0][0] is not None:
                assert time.monotonic() < deadline, "the frozen broker's session never expired"
                time.sleep(0.2)
        finally:
            broker.proc.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 60
        while True:
            (reg, stat), (ctrl, _) = zk_read(zk_chroot, "/brokers/ids/0", "/controller")
            if reg is not None and ctrl is not None:
                break
            assert time.monotonic() < deadline, broker.log_tail()
            time.sleep(0.2)
        assert stat.czxid > stat_before.czxid            # a new broker epoch
        assert json.loads(ctrl)["brokerid"] == 0
        create_topic(zk_chroot, "after-expiry", 1)
        wait_for_leaders(broker.bootstrap, "after-expiry", 1)
        proc = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", "after-expiry"], input=b"a\nb\n",
                              capture_output=True, timeout=30)
        assert proc.returncode == 0
        proc = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", "after-expiry", "-e", "-o", "beginning"],
                              capture_output=True, timeout=30)
        assert proc.stdout.split() == [b"a", b"b"]
    finally:
        assert broker.stop() == 0


def test_daemon_mode_detaches_and_logs_to_kafka_server_out(zk_chroot: str, tmp_path: Path) -> None:
    from kafkapy.testing.broker import free_port

    port = free_port()
    cfg = tmp_path / "server.properties"
    cfg.write_text(f"broker.id=0\nlisteners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={tmp_path / 'data'}\n"
                   f"zookeeper.connect={zk_chroot}\noffsets.topic.replication.factor=1\n")
    logs = tmp_path / "logs"
    env = dict(os.environ, LOG_DIR=str(logs), KAFKAPY_SERVER_STOP_MATCH=str(cfg))
    proc = subprocess.run([str(START), "-daemon", str(cfg), "--override", "num.partitions=3"], capture_output=True,
                          text=True, timeout=30, env=env)
    assert proc.returncode == 0, proc.stderr
    out = logs / "kafkaServer.out"
    try:
        deadline = time.monotonic() + 60
        while "[KafkaServer id=0] started" not in (out.read_text() if out.exists() else ""):
            assert time.monotonic() < deadline, out.read_text() if out.exists() else "no kafkaServer.out"
            time.sleep(0.1)
        assert "num.partitions = 3" in out.read_text()
        assert f"broker 0 at 127.0.0.1:{port}" in kcat_metadata(f"127.0.0.1:{port}")
    finally:
        stop = subprocess.run([str(STOP)], capture_output=True, text=True, timeout=30, env=env)
    assert stop.returncode == 0
    deadline = time.monotonic() + 60
    while "[KafkaServer id=0] shut down completed" not in out.read_text():
        assert time.monotonic() < deadline, out.read_text()[-3000:]
        time.sleep(0.1)


def test_topic_config_change_applies_to_live_logs(zk_chroot: str, tmp_path: Path) -> None:
    from confluent_kafka import KafkaError, Producer

    from kafkapy.zk.admin_zk import AdminZkClient
    from kafkapy.zk.kafka_zk import KafkaZkClient

    broker = BrokerProcess(tmp_path / "c", zk_chroot, broker_id=0).start()
    try:
        create_topic(zk_chroot, "cfg", 1)
        wait_for_leaders(broker.bootstrap, "cfg", 1)

        def produce_one(size: int):
            result = []
            p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "message.send.max.retries": 0})
            p.produce("cfg", b"x" * size, on_delivery=lambda err, msg: result.append(err))
            p.flush(30)
            return result[0]

        assert produce_one(2000) is None

        async def alter() -> None:
            zk = await KafkaZkClient.connect(zk_chroot, session_timeout_ms=6000)
            try:
                await AdminZkClient(zk).change_topic_config("cfg", {"max.message.bytes": "1000"})
            finally:
                await zk.close()

        asyncio.run(alter())
        deadline = time.monotonic() + 30
        while True:
            err = produce_one(2000)
            if err is not None:
                break
            assert time.monotonic() < deadline, "the new max.message.bytes never applied"
            time.sleep(0.2)
        assert err.code() == KafkaError.MSG_SIZE_TOO_LARGE, err
        assert produce_one(100) is None
        assert "Processing override for entityPath: topics/cfg" in broker.read_log()
    finally:
        assert broker.stop() == 0


def test_log_dirs_in_use_is_one_fatal_line(zk_chroot: str, tmp_path: Path) -> None:
    first = BrokerProcess(tmp_path / "b", zk_chroot, broker_id=0).start()
    try:
        second = BrokerProcess(tmp_path / "b2", zk_chroot, broker_id=0,
                               overrides={"log.dirs": str(first.data_dir)})
        second.launch()
        assert second.proc.wait(60) == 1
        out = second.read_log()
        assert "Fatal error during KafkaServer startup" in out and "lock" in out, out
        assert "Traceback" not in out
        # a different broker id on the same data: the meta.properties check speaks first
        third = BrokerProcess(tmp_path / "b3", zk_chroot, broker_id=5, overrides={"log.dirs": str(first.data_dir)})
        third.launch()
        assert third.proc.wait(60) == 1
        assert "doesn't match stored broker.id Some(0) in meta.properties" in third.read_log()
    finally:
        assert first.stop() == 0
