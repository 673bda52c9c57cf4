"""Bad input on raw sockets: each offending connection is answered or closed as Kafka does, with one log
line, while a concurrent producer keeps working."""
from __future__ import annotations

import os
import socket
import struct
import threading
import time
import uuid

import pytest

from kafkapy.testing.broker import BrokerProcess, create_topic, wait_for_leaders

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker(zookeeper, tmp_path_factory):
    chroot = f"{zookeeper.connect_string}/kafkapy-bad-{uuid.uuid4().hex[:10]}"
    b = BrokerProcess(tmp_path_factory.mktemp("broker-bad"), chroot, broker_id=0)
    b.start()
    yield b
    assert b.stop() == 0, b.log_tail()


def connect(broker: BrokerProcess) -> socket.socket:
    s = socket.create_connection((broker.host, broker.port), timeout=10)
    return s


def request(api_key: int, version: int, correlation_id: int, body: bytes = b"", client_id: bytes = b"bad") -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _flexible_request(api_key: int, version: int, correlation_id: int, body: bytes = b"\x00") -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation_id, 3) + b"bad" + b"\x00"
    return struct.pack(">i", len(header) + len(body)) + header + body


def read_frame(s: socket.socket) -> bytes:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf
    size = struct.unpack(">i", exact(4))[0]
    return exact(size)


def assert_closed(s: socket.socket, timeout_s: float = 10.0) -> None:
    s.settimeout(timeout_s)
    try:
        data = s.recv(65536)
    except ConnectionResetError:
        data = b""
    assert data == b"", f"expected the broker to close the connection, got {data!r}"


class BackgroundProducer:
    def __init__(self, broker: BrokerProcess, topic: str) -> None:
        from confluent_kafka import Producer
        self.producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "acks": "1"})
        self.topic = topic
        self.delivered = 0
        self.errors: list = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def on_delivery(self, err, msg) -> None:
        if err is not None:
            self.errors.append(err)
        else:
            self.delivered += 1

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            try:
                self.producer.produce(self.topic, b"v%d" % i, on_delivery=self.on_delivery)
                i += 1
            except BufferError:
                pass
            self.producer.poll(0.002)
        self.producer.flush(30)

    def wait_progress(self, at_least: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.delivered < at_least:
            assert time.monotonic() < deadline, f"producer stalled at {self.delivered} deliveries"
            time.sleep(0.02)


def log_lines_since(broker: BrokerProcess, offset: int, needle: str) -> list[str]:
    return [ln for ln in broker.read_log()[offset:].splitlines() if needle in ln]


def test_bad_input_closes_only_the_offending_connection(broker: BrokerProcess) -> None:
    topic = f"bg-{uuid.uuid4().hex[:6]}"
    create_topic(broker.zookeeper_connect, topic, 1)
    wait_for_leaders(broker.bootstrap, topic, 1)
    bg = BackgroundProducer(broker, topic)
    bg.thread.start()
    try:
        bg.wait_progress(200)
        start = len(broker.read_log())

        cases = {
            "garbage": struct.pack(">i", 32) + os.urandom(32),
            "two_gigabytes": struct.pack(">i", 0x7FFFFFF0) + b"\x00" * 16,
            "negative_size": struct.pack(">i", -5) + b"\x00" * 16,
            "unknown_api_key": request(999, 0, 1),
            "unsupported_metadata_version": request(3, 99, 2),
            "truncated_body": request(0, 7, 3, b"\x00\x01"),
        }
        for name, data in cases.items():
            s = connect(broker)
            s.sendall(data)
            assert_closed(s)
            s.close()
            bg.wait_progress(bg.delivered + 50)

        # A frame cut short by the client: the broker just sees the connection go away.
        s = connect(broker)
        s.sendall(struct.pack(">i", 1000) + b"\x00\x03\x00\x01")
        s.close()

        # ApiVersions at an unknown version is answered (KIP-511), then the connection keeps working.
        s = connect(broker)
        s.sendall(_flexible_request(18, 77, 41))
        frame = read_frame(s)
        corr, error, n = struct.unpack(">ihi", frame[:10])
        assert (corr, error, n) == (41, 35, 1)
        assert struct.unpack(">hhh", frame[10:16]) == (18, 0, 3)
        s.sendall(request(18, 0, 42))
        frame = read_frame(s)
        corr, error, n = struct.unpack(">ihi", frame[:10])
        assert corr == 42 and error == 0 and n > 5
        s.close()

        bg.wait_progress(bg.delivered + 200)
        closed = log_lines_since(broker, start, "Closing connection")
        assert len(closed) >= 3, closed
        assert not bg.errors
        assert broker.is_running()
    finally:
        bg.stop.set()
        bg.thread.join(60)
    assert not bg.errors


def test_api_versions_v3_bad_software_name_is_invalid_request(broker: BrokerProcess) -> None:
    def compact(s: bytes) -> bytes:
        return bytes([len(s) + 1]) + s
    s = connect(broker)
    header = struct.pack(">hhih", 18, 3, 7, 3) + b"bad" + b"\x00"
    body = compact(b"-bad name-") + compact(b"1.0") + b"\x00"
    s.sendall(struct.pack(">i", len(header + body)) + header + body)
    frame = read_frame(s)
    corr, error = struct.unpack(">ih", frame[:6])
    assert (corr, error) == (7, 42)
    s.close()


def test_acks_0_produce_error_closes_connection(broker: BrokerProcess) -> None:
    from kafkapy.protocol.messages.produce import API
    req = API.request(transactional_id=None, acks=0, timeout_ms=1000, topic_data=[
        API.request.struct("topic_data")(name="no-such-topic-here", partition_data=[
            API.request.struct("topic_data", "partition_data")(index=0, records=b"")])])
    body = API.request_codec(7).encode(req)
    s = connect(broker)
    s.sendall(request(0, 7, 5, body))
    assert_closed(s)
    s.close()
