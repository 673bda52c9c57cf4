"""BrokerConnection against a scripted in-process broker on a loopback socket."""
from __future__ import annotations

import asyncio

import pytest

from kafkapy.clients.net import BrokerConnectError, BrokerConnection, BrokerDisconnectedError
from kafkapy.common.errors import RequestTimedOutError
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.frame import frame
from kafkapy.protocol.header import api_versions_fallback_response, decode_request, encode_response
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.messages.api_versions import ApiVersion

pytestmark = pytest.mark.timeout(20)

METADATA = get_api(ApiKey.METADATA)
API_VERSIONS = get_api(ApiKey.API_VERSIONS)


class ScriptedBroker:
    """Decodes every request; answers ApiVersions and echoes Metadata topic names.

    `hold` makes it collect requests without answering until `release()`; `max_api_versions`
    limits the ApiVersions version it accepts (older ones get the KIP-511 fallback).
    """

    def __init__(self, metadata_max: int = 5, max_api_versions: int = 3, answer: bool = True,
                 fragment: int = 0, extra_topics: int = 0):
        self.fragment = fragment            # write responses in pieces of this many bytes
        self.extra_topics = extra_topics    # padding topics per Metadata response (large frames)
        self.metadata_max = metadata_max
        self.max_api_versions = max_api_versions
        self.answer = answer
        self.received: list = []
        self.server: asyncio.AbstractServer | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.got_request = asyncio.Event()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for w in self.writers:
            w.close()
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(4), "big", signed=True)
                payload = await reader.readexactly(size)
                api_key = int.from_bytes(payload[:2], "big")
                version = int.from_bytes(payload[2:4], "big")
                cid = int.from_bytes(payload[4:8], "big")
                if api_key == ApiKey.API_VERSIONS and version > self.max_api_versions:
                    self.received.append((api_key, version, cid, None))
                    body = api_versions_fallback_response(cid)
                    writer.write(frame(body))
                    continue
                header, body = decode_request(memoryview(payload))
                self.received.append((header.api_key, header.api_version, header.correlation_id, body))
                self.got_request.set()
                if not self.answer or header.api_key == ApiKey.PRODUCE:
                    continue
                if header.api_key == ApiKey.API_VERSIONS:
                    resp = API_VERSIONS.response(error_code=0, api_keys=[
                        ApiVersion(api_key=18, min_version=0, max_version=self.max_api_versions),
                        ApiVersion(api_key=3, min_version=0, max_version=self.metadata_max),
                        ApiVersion(api_key=0, min_version=0, max_version=8),
                    ])
                else:
                    topic = METADATA.response.struct("topics")
                    names = [t.name for t in body.topics] + [f"pad-{i:07d}" for i in range(self.extra_topics)]
                    resp = METADATA.response(topics=[topic(name=n, error_code=0) for n in names])
                data = frame(encode_response(header.api_key, header.api_version, header.correlation_id, resp))
                if self.fragment:
                    for i in range(0, len(data), self.fragment):
                        writer.write(data[i:i + self.fragment])
                        await writer.drain()
                else:
                    writer.write(data)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def metadata_request(*topics: str):
    t = METADATA.request.struct("topics")
    return METADATA.request(topics=[t(name=n) for n in topics])


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 15))


def test_negotiates_versions_and_pipelines_requests():
    async def scenario():
        broker = ScriptedBroker(metadata_max=5)
        port = await broker.start()
        conn = await BrokerConnection.connect("127.0.0.1", port, "test-client", 5000)
        assert conn.negotiated_version(ApiKey.METADATA) == 5
        assert broker.received[0][:2] == (ApiKey.API_VERSIONS, API_VERSIONS.max_version)
        results = await asyncio.gather(*(conn.send(ApiKey.METADATA, metadata_request(f"topic-{i}"))
                                         for i in range(20)))
        assert [r.topics[0].name for r in results] == [f"topic-{i}" for i in range(20)]
        cids = [r[2] for r in broker.received]
        assert cids == sorted(cids) and len(set(cids)) == len(cids)
        assert {r[1] for r in broker.received[1:]} == {5}
        # An explicit version is used as given.
        await conn.send(ApiKey.METADATA, metadata_request("x"), 1)
        assert broker.received[-1][1] == 1
        await conn.close()
        assert conn.closed
        with pytest.raises(BrokerDisconnectedError):
            await conn.send(ApiKey.METADATA, metadata_request("late"))
        await broker.stop()
    run(scenario())


def test_api_versions_fallback_to_older_version():
    async def scenario():
        broker = ScriptedBroker(max_api_versions=2)
        port = await broker.start()
        conn = await BrokerConnection.connect("127.0.0.1", port, "c", 5000)
        versions = [r[1] for r in broker.received if r[0] == ApiKey.API_VERSIONS]
        assert versions == [3, 2]
        assert conn.negotiated_version(ApiKey.METADATA) == 5
        await conn.close()
        await broker.stop()
    run(scenario())


def test_unsupported_api_key_raises():
    async def scenario():
        broker = ScriptedBroker()
        port = await broker.start()
        conn = await BrokerConnection.connect("127.0.0.1", port, "c", 5000)
        with pytest.raises(Exception) as err:
            conn.negotiated_version(ApiKey.FETCH)
        assert "does not support" in str(err.value)
        await conn.close()
        await broker.stop()
    run(scenario())


def test_timeout_fails_request_and_closes_connection():
    async def scenario():
        broker = ScriptedBroker()
        port = await broker.start()
        conn = await BrokerConnection.connect("127.0.0.1", port, "c", 5000)
        broker.answer = False
        slow = asyncio.ensure_future(conn.send(ApiKey.METADATA, metadata_request("a"), timeout_ms=50))
        other = asyncio.ensure_future(conn.send(ApiKey.METADATA, metadata_request("b"), timeout_ms=10_000))
        with pytest.raises(RequestTimedOutError):
            await slow
        with pytest.raises(BrokerDisconnectedError):
            await other
        assert conn.closed and conn.in_flight_count == 0
        await broker.stop()
    run(scenario())


def test_server_disconnect_fails_in_flight_requests():
    async def scenario():
        broker = ScriptedBroker()
        port = await broker.start()
        conn = await BrokerConnection.connect("127.0.0.1", port, "c", 5000)
        broker.answer = False
        broker.got_request.clear()
        pending = asyncio.ensure_future(conn.send(ApiKey.METADATA, metadata_request("a")))
        await broker.got_request.wait()
        await broker.stop()
        with pytest.raises(BrokerDisconnectedError):
            await pending
        assert conn.closed
    run(scenario())


def test_send_no_response_keeps_correlation_order():
    async def scenario():
        broker = ScriptedBroker()
        port = await broker.start()
        conn = await BrokerConnection.connect("127.0.0.1", port, "c", 5000)
        produce = get_api(ApiKey.PRODUCE)
        await conn.send_no_response(ApiKey.PRODUCE, produce.request(acks=0, timeout_ms=1000, topic_data=[]))
        r = await conn.send(ApiKey.METADATA, metadata_request("after"))
        assert r.topics[0].name == "after"
        kinds = [x[0] for x in broker.received]
        assert kinds == [ApiKey.API_VERSIONS, ApiKey.PRODUCE, ApiKey.METADATA]
        assert broker.received[1][1] == 8          # negotiated Produce version
        await conn.close()
        await broker.stop()
    run(scenario())


def test_connect_refused_raises_connect_error():
    async def scenario():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        with pytest.raises(BrokerConnectError):
            await BrokerConnection.connect("127.0.0.1", port, "c", 2000)
    run(scenario())


@pytest.mark.parametrize("scratch,fragment,extra", [
    (64, 7, 0),             # tiny scratch buffer, frames arriving in 7-byte pieces
    (64, 0, 200),           # every Metadata frame is "big" for a 64-byte scratch buffer
    (None, 0, 10_000),      # frames above half the default buffer (~200 KB)
    (None, 4093, 3_000),
])
def test_framing_across_buffer_sizes(monkeypatch, scratch, fragment, extra):
    from kafkapy.clients import net
    if scratch is not None:
        monkeypatch.setattr(net, "SCRATCH_BYTES", scratch)

    async def scenario():
        broker = ScriptedBroker(fragment=fragment, extra_topics=extra)
        port = await broker.start()
        conn = await BrokerConnection.connect("127.0.0.1", port, "c", 10_000)
        results = await asyncio.gather(*(conn.send(ApiKey.METADATA, metadata_request(f"t{i}")) for i in range(8)))
        for i, r in enumerate(results):
            assert r.topics[0].name == f"t{i}" and len(r.topics) == 1 + extra
            if extra:
                assert r.topics[-1].name == f"pad-{extra - 1:07d}"
        await conn.close()
        await broker.stop()
    run(scenario())
