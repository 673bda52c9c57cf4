"""What real clients put on the wire: capture their Produce requests and decode them down to records.

A tiny asyncio listener on 127.0.0.1 speaks just enough protocol (ApiVersions, Metadata, Produce)
for unmodified clients to produce to partition 0 of a topic, with kafkapy's own codecs on both
directions. Every captured Produce request is decoded with the protocol engine and the record
parser, and each record's key, value and headers must equal what the client was asked to send.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass, field

import pytest

from kafkapy.protocol.api_keys import ApiKey, api_versions_entries
from kafkapy.protocol.frame import frame
from kafkapy.protocol.header import api_versions_fallback_response, decode_request, encode_response
from kafkapy.protocol.messages import APIS, get_api
from kafkapy.protocol.records import (
    MAGIC_V2,
    CompressionType,
    Record,
    iter_batches,
    records_of,
    scan_valid_prefix,
)

logger = logging.getLogger(__name__)

pytestmark = pytest.mark.timeout(90)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
NODE_ID = 1
# Advertise every API at the version range of its (Kafka 2.8) schema, as a 2.8 broker would;
# clients derive features from the whole table (librdkafka uses magic 2 only when Fetch v4+
# is there too). Only ApiVersions, Metadata and Produce are answered.
SUPPORTED = {ApiKey(key): (spec.min_version, spec.max_version) for key, spec in APIS.items() if key < 50}


@dataclass
class CapturedProduce:
    api_version: int
    client_id: str | None
    acks: int
    records: dict[tuple[str, int], list[bytes]] = field(default_factory=dict)


class CaptureBroker:
    """Records Produce requests; answers ApiVersions, Metadata and Produce (success)."""

    def __init__(self) -> None:
        self.produces: list[CapturedProduce] = []
        self.unexpected: list[tuple[int, int]] = []
        self.errors: list[BaseException] = []       # failures while decoding or answering
        self._offsets = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="capture-broker", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Task] = set()
        self.port = 0

    def start(self) -> None:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        fut.result(timeout=10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def produced_to(self, topic: str) -> list[CapturedProduce]:
        return [p for p in self.produces if any(t == topic for t, _ in p.records)]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                size_bytes = await reader.readexactly(4)
                payload = await reader.readexactly(int.from_bytes(size_bytes, "big", signed=True))
                response = self._handle(payload)
                if response is not None:
                    writer.write(frame(response))
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as exc:    # recorded for the test to report, then the connection closes
            logger.exception("capture broker failed on a request")
            self.errors.append(exc)
        finally:
            self._connections.discard(task)
            writer.close()

    def _handle(self, payload: bytes) -> bytes | None:
        api_key = int.from_bytes(payload[0:2], "big", signed=True)
        api_version = int.from_bytes(payload[2:4], "big", signed=True)
        if api_key == ApiKey.API_VERSIONS and api_version > SUPPORTED[ApiKey.API_VERSIONS][1]:
            return api_versions_fallback_response(int.from_bytes(payload[4:8], "big", signed=True))
        header, body = decode_request(payload)
        key, version, cid = header.api_key, header.api_version, header.correlation_id
        if key == ApiKey.API_VERSIONS:
            spec = get_api(key)
            resp = spec.response(error_code=0, api_keys=api_versions_entries(SUPPORTED), throttle_time_ms=0)
            return encode_response(key, version, cid, resp)
        if key == ApiKey.METADATA:
            return encode_response(key, version, cid, self._metadata(body))
        if key == ApiKey.PRODUCE:
            return self._produce(header, body)
        self.unexpected.append((key, version))
        raise ConnectionError(f"capture broker does not answer api key {key} v{version}")

    def _metadata(self, body):
        spec = get_api(ApiKey.METADATA).response
        broker = spec.struct("brokers")(node_id=NODE_ID, host="127.0.0.1", port=self.port, rack=None)
        names = [t.name for t in body.topics] if body.topics else []
        topic_cls = spec.struct("topics")
        part_cls = spec.struct("topics", "partitions")
        topics = [
            topic_cls(error_code=0, name=name, is_internal=False, partitions=[
                part_cls(error_code=0, partition_index=0, leader_id=NODE_ID, leader_epoch=0,
                         replica_nodes=[NODE_ID], isr_nodes=[NODE_ID], offline_replicas=[])])
            for name in names
        ]
        return spec(throttle_time_ms=0, brokers=[broker], cluster_id="kafkapy-capture",
                    controller_id=NODE_ID, topics=topics)

    def _produce(self, header, body) -> bytes | None:
        captured = CapturedProduce(header.api_version, header.client_id, body.acks)
        spec = get_api(ApiKey.PRODUCE).response
        topic_cls = spec.struct("responses")
        part_cls = spec.struct("responses", "partition_responses")
        responses = []
        for topic in body.topic_data:
            parts = []
            for pd in topic.partition_data:
                records = bytes(pd.records) if pd.records is not None else b""
                captured.records.setdefault((topic.name, pd.index), []).append(records)
                parts.append(part_cls(index=pd.index, error_code=0, base_offset=next(self._offsets),
                                      log_append_time_ms=-1, log_start_offset=0))
            responses.append(topic_cls(name=topic.name, partition_responses=parts))
        self.produces.append(captured)
        if body.acks == 0:
            return None
        return encode_response(ApiKey.PRODUCE, header.api_version, header.correlation_id,
                               spec(responses=responses, throttle_time_ms=0))


@pytest.fixture(scope="module")
def capture_broker():
    broker = CaptureBroker()
    broker.start()
    yield broker
    broker.stop()


_topic_ids = itertools.count()


def fresh_topic(client: str, codec: str) -> str:
    return f"capture-{client}-{codec}-{next(_topic_ids)}"


def sample(n: int = 3) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """Compressible values, so that every client really compresses."""
    return [(b"key-%d" % i, b"value-%d-" % i + b"kafkapy " * 120,
             [("trace", b"t-%d" % i), ("empty", b"")]) for i in range(n)]


def decoded(broker: CaptureBroker, topic: str, codec: str) -> tuple[list[Record], list[int]]:
    """Every record captured for ``topic``, after checking the batch-level facts; plus the
    Produce versions seen."""
    assert broker.errors == [], f"the capture broker failed: {broker.errors!r}"
    assert broker.unexpected == [], f"clients sent requests the capture broker does not answer: {broker.unexpected}"
    records: list[Record] = []
    versions = []
    for produce in broker.produced_to(topic):
        versions.append(produce.api_version)
        for (name, partition), chunks in produce.records.items():
            assert (name, partition) == (topic, 0)
            for buf in chunks:
                scan = scan_valid_prefix(buf)
                assert scan.error is None and scan.valid_end == len(buf), scan.error
                for info in iter_batches(buf):
                    assert info.magic == MAGIC_V2
                    assert info.compression == CompressionType[codec.upper()], (
                        f"batch written with codec {info.compression}, expected {codec}")
                    batch = list(records_of(buf, info))
                    assert [r.offset for r in batch] == list(range(info.base_offset, info.last_offset + 1))
                    assert len(batch) == info.record_count
                    if codec == "snappy":
                        framing = "xerial" if bytes(buf[info.position + 61:info.position + 69]) == (
                            b"\x82SNAPPY\x00") else "raw"
                        logger.info("%s: snappy payload framing is %s", topic, framing)
                    records.extend(batch)
    return records, versions


def assert_same(records: list[Record], sent) -> None:
    got = [(r.key, r.value, [(k, v) for k, v in r.headers]) for r in records]
    assert got == [(k, v, list(h)) for k, v, h in sent]


# --- confluent-kafka (librdkafka) ------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_confluent_kafka(capture_broker, codec):
    confluent_kafka = pytest.importorskip("confluent_kafka")
    topic = fresh_topic("confluent", codec)
    sent = sample()
    errors = []
    producer = confluent_kafka.Producer({
        "bootstrap.servers": capture_broker.bootstrap,
        "compression.codec": codec,
        "linger.ms": 20,
        "acks": 1,
        "enable.idempotence": False,
    })
    for key, value, headers in sent:
        producer.produce(topic, value=value, key=key, partition=0, headers=headers,
                         on_delivery=lambda err, msg: errors.append(err) if err else None)
    assert producer.flush(30) == 0, "confluent-kafka did not deliver every message"
    assert errors == []
    records, versions = decoded(capture_broker, topic, codec)
    assert versions
    logger.info("%s produced with Produce versions %s", topic, versions)
    assert_same(records, sent)


# --- kafka-python ------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_kafka_python(capture_broker, codec):
    kafka = pytest.importorskip("kafka")
    topic = fresh_topic("kafka-python", codec)
    sent = sample()
    producer = kafka.KafkaProducer(
        bootstrap_servers=capture_broker.bootstrap,
        compression_type=None if codec == "none" else codec,
        linger_ms=20, acks=1, enable_idempotence=False, request_timeout_ms=20000,
    )
    try:
        futures = [producer.send(topic, value=v, key=k, partition=0, headers=h) for k, v, h in sent]
        producer.flush(timeout=30)
        for f in futures:
            f.get(timeout=30)
    finally:
        producer.close(timeout=10)
    records, versions = decoded(capture_broker, topic, codec)
    assert versions
    logger.info("%s produced with Produce versions %s", topic, versions)
    assert_same(records, sent)


# --- aiokafka --------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_aiokafka(capture_broker, codec):
    aiokafka = pytest.importorskip("aiokafka")
    topic = fresh_topic("aiokafka", codec)
    sent = sample()

    async def produce() -> None:
        producer = aiokafka.AIOKafkaProducer(
            bootstrap_servers=capture_broker.bootstrap,
            compression_type=None if codec == "none" else codec,
            linger_ms=20, acks=1, enable_idempotence=False,
        )
        await producer.start()
        try:
            futures = [await producer.send(topic, value=v, key=k, partition=0, headers=h) for k, v, h in sent]
            await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
        finally:
            await producer.stop()

    asyncio.run(asyncio.wait_for(produce(), timeout=60))
    records, versions = decoded(capture_broker, topic, codec)
    assert versions
    logger.info("%s produced with Produce versions %s", topic, versions)
    assert_same(records, sent)


# --- kcat ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_kcat(capture_broker, codec):
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if kcat is None:
        pytest.skip("kcat binary not found on PATH")
    topic = fresh_topic("kcat", codec)
    headers = [("trace", b"kcat"), ("source", b"cli")]
    sent = [(k, v, headers) for k, v, _ in sample()]
    lines = b"".join(k + b"|" + v + b"\n" for k, v, _ in sent)
    cmd = [kcat, "-P", "-b", capture_broker.bootstrap, "-t", topic, "-p", "0", "-z", codec, "-K", "|",
           "-X", "linger.ms=20", "-X", "acks=1"]
    for k, v in headers:
        cmd += ["-H", f"{k}={v.decode()}"]
    proc = subprocess.run(cmd, input=lines, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    records, versions = decoded(capture_broker, topic, codec)
    assert versions
    logger.info("%s produced with Produce versions %s", topic, versions)
    assert_same(records, sent)
