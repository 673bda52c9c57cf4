"""RequestDispatcher with a fake handler table and the real protocol engine."""
from __future__ import annotations

import asyncio
import logging
import struct
import uuid
from typing import Any, Awaitable, Callable

import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.common.clock import ManualClock
from kafkapy.common.errors import ApiError, ErrorCode, NotLeaderOrFollowerError
from kafkapy.protocol import api_keys
from kafkapy.protocol.api_keys import ApiKey, api_versions_entries
from kafkapy.protocol.header import decode_response, encode_request
from kafkapy.protocol.messages import APIS, get_api
from kafkapy.protocol.messages.api_versions import ApiVersion
from kafkapy.protocol.schema import BOOL, BYTES, RECORDS, STRING, UUID, ArrayOf, Struct
from kafkapy.server.dispatch import RequestDispatcher, build_error_response
from kafkapy.server.network import ListenerConfig, SocketServer
from kafkapy.server.request import CLOSE_CONNECTION, NO_RESPONSE, RequestContext, Response


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


class FakeConn:
    def __init__(self) -> None:
        self.connection_id = "127.0.0.1:9092-127.0.0.1:50000-0"
        self.listener_name = "PLAINTEXT"
        self.security_protocol = "PLAINTEXT"
        self.peer_host = "127.0.0.1"
        self.client_id: str | None = None
        self.client_software_name: str | None = None
        self.client_software_version: str | None = None


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(asyncio.wait_for(coro_fn(), 10))


@pytest.fixture()
def advertised(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A private copy of the advertised-version table (other modules may register into it)."""
    table = {ApiKey.API_VERSIONS: (0, 3), ApiKey.PRODUCE: (0, 9), ApiKey.METADATA: (0, 11),
             ApiKey.FETCH: (4, 12)}
    monkeypatch.setattr(api_keys, "BROKER_SUPPORTED", table)
    import kafkapy.server.dispatch as dispatch_module
    monkeypatch.setattr(dispatch_module, "BROKER_SUPPORTED", table)
    import kafkapy.protocol.header as header_module
    monkeypatch.setattr(header_module, "BROKER_SUPPORTED", table)
    return table


def api_versions_handler(seen: list[RequestContext]) -> Callable[[RequestContext, Any], Any]:
    def handle(ctx: RequestContext, request: Any) -> Any:
        seen.append(ctx)
        spec = get_api(ApiKey.API_VERSIONS)
        return spec.response(error_code=0, api_keys=[
            ApiVersion(api_key=0, min_version=0, max_version=9),
            ApiVersion(api_key=18, min_version=0, max_version=3),
        ])
    return handle


def produce_request(acks: int = -1) -> Any:
    spec = get_api(ApiKey.PRODUCE)
    topic = spec.request.struct("topic_data")
    part = spec.request.struct("topic_data", "partition_data")
    return spec.request(acks=acks, timeout_ms=1000, topic_data=[
        topic(name="a", partition_data=[part(index=0, records=b""), part(index=3, records=b"")]),
        topic(name="b", partition_data=[part(index=1, records=None)]),
    ])


# ---------------------------------------------------------------------------- ApiVersions

def test_api_versions_v0_and_v3_bytes(advertised: dict) -> None:
    seen: list[RequestContext] = []
    d = RequestDispatcher(ManualClock())
    d.register(ApiKey.API_VERSIONS, api_versions_handler(seen))
    conn = FakeConn()
    # protocol.md worked bytes (without the size prefix).
    v0 = h("0012 0000 00000001 0007 72646b61666b61")
    out = d.handle(conn, memoryview(v0))
    assert isinstance(out, Response)
    assert out.to_bytes() == h("00000001 0000 00000002 0000 0000 0009 0012 0000 0003")
    assert conn.client_id == "rdkafka"
    v3 = h("0012 0003 00000001 0007 72646b61666b61 00 0b 6c696272646b61666b61 06 322e332e30 00")
    out = d.handle(conn, memoryview(v3))
    assert isinstance(out, Response)
    assert out.to_bytes(size_prefix=True) == h(
        "0000001a 00000001 0000 03 0000 0000 0009 00 0012 0000 0003 00 00000000 00")
    assert (conn.client_software_name, conn.client_software_version) == ("librdkafka", "2.3.0")
    ctx = seen[-1]
    assert (ctx.api_key, ctx.api_version, ctx.correlation_id, ctx.client_id) == (18, 3, 1, "rdkafka")
    assert ctx.response_header_version == 0 and ctx.header_version == 2
    assert ctx.connection_id == conn.connection_id and ctx.listener_name == "PLAINTEXT"
    assert ctx.client_software_name == "librdkafka"


def test_api_versions_unsupported_version_gets_the_kip_511_fallback(advertised: dict) -> None:
    d = RequestDispatcher(ManualClock())
    seen: list[RequestContext] = []
    d.register(ApiKey.API_VERSIONS, api_versions_handler(seen))
    # v4 (kafka-python 2.2+): header v2, a body we never parse.
    frame = h("0012 0004 00000001 0007 72646b61666b61 00") + b"\xff\xff garbage"
    out = d.handle(FakeConn(), memoryview(frame))
    assert isinstance(out, Response)
    assert out.to_bytes(size_prefix=True) == h("00000010 00000001 0023 00000001 0012 0000 0003")
    assert seen == []


def test_api_versions_handler_built_from_the_advertised_table(advertised: dict) -> None:
    d = RequestDispatcher(ManualClock())
    spec = get_api(ApiKey.API_VERSIONS)
    d.register(ApiKey.API_VERSIONS, lambda ctx, req: spec.response(api_keys=api_versions_entries()))
    out = d.handle(FakeConn(), memoryview(encode_request(18, 2, 5, "c", spec.request())))
    corr, body = decode_response(out.to_bytes(), 18, 2)
    assert corr == 5 and [(k.api_key, k.min_version, k.max_version) for k in body.api_keys] == \
        [(0, 0, 9), (1, 4, 12), (3, 0, 11), (18, 0, 3)]


# ---------------------------------------------------------------------------- closing

def test_unknown_key_unadvertised_key_and_bad_versions_close(advertised: dict, caplog: pytest.LogCaptureFixture) -> None:
    d = RequestDispatcher(ManualClock())
    called: list[int] = []
    for key in (ApiKey.PRODUCE, ApiKey.METADATA, ApiKey.LIST_OFFSETS):
        d.register(key, lambda ctx, req, key=key: called.append(key) or NO_RESPONSE)
    conn = FakeConn()
    caplog.set_level(logging.INFO, logger="kafkapy.server.dispatch")
    meta = get_api(ApiKey.METADATA)
    cases = [
        (h("03e7 0000 00000001 0000"), "unknown API key 999"),
        (h("0041 0000 00000001 0000"), "unknown API key 65"),
        (encode_request(2, 1, 1, "x", get_api(2).request()), "not enabled"),  # registered, not advertised
        (encode_request(1, 4, 1, "x", get_api(1).request()), "no handler"),  # advertised, no handler
        (h("0003 000c 00000001 0001 78 00"), "unsupported version 12"),  # Metadata v12 (header v2)
        (h("0001 0002 00000001 0001 78"), "unsupported version 2"),  # Fetch v2 < advertised min 4
        (h("0003 00"), "unparsable request header"),
        (encode_request(3, 4, 1, "x", meta.request(topics=[]))[:-3], "unparsable request body"),
    ]
    for frame, _ in cases:
        assert d.handle(conn, memoryview(frame)) is CLOSE_CONNECTION
    assert called == []
    assert d.connections_closed == len(cases)
    closes = [r for r in caplog.records if "Closing connection" in r.getMessage()]
    assert len(closes) == len(cases) and all(r.levelno == logging.INFO for r in closes)
    for record, (_, reason) in zip(closes, cases):
        assert reason in record.getMessage()
    assert "999" in closes[0].getMessage() and "client id x" in closes[2].getMessage()


# ---------------------------------------------------------------------------- handler results

def test_no_response_close_and_prebuilt_response_pass_through(advertised: dict) -> None:
    d = RequestDispatcher(ManualClock())
    answers = iter([NO_RESPONSE, CLOSE_CONNECTION, Response((b"\x00\x00\x00\x07raw",))])
    d.register(ApiKey.PRODUCE, lambda ctx, req: next(answers))
    frame = memoryview(encode_request(0, 7, 7, "p", produce_request()))
    assert d.handle(FakeConn(), frame) is NO_RESPONSE
    assert d.handle(FakeConn(), frame) is CLOSE_CONNECTION
    assert d.handle(FakeConn(), frame).to_bytes() == b"\x00\x00\x00\x07raw"


def test_flexible_response_header_and_records_stay_views(advertised: dict) -> None:
    d = RequestDispatcher(ManualClock())
    got: list[Any] = []

    def handle(ctx: RequestContext, req: Any) -> Any:
        got.append(req)
        return get_api(3).response(controller_id=1)

    d.register(ApiKey.METADATA, handle)
    d.register(ApiKey.PRODUCE, lambda ctx, req: got.append(req) or NO_RESPONSE)
    out = d.handle(FakeConn(), memoryview(encode_request(3, 9, 42, "m", get_api(3).request(topics=None))))
    raw = out.to_bytes()
    assert raw[:5] == h("0000002a 00")  # response header v1: correlation id + empty tags
    assert decode_response(raw, 3, 9)[1].controller_id == 1
    records = b"R" * 100
    req = produce_request()
    req.topic_data[0].partition_data[0].records = records
    frame = memoryview(encode_request(0, 9, 1, "p", req))
    d.handle(FakeConn(), frame)
    rec = got[-1].topic_data[0].partition_data[0].records
    assert isinstance(rec, memoryview) and rec.obj is frame.obj and bytes(rec) == records


def test_async_and_future_results_are_encoded(advertised: dict) -> None:
    async def main() -> None:
        d = RequestDispatcher(ManualClock())
        spec = get_api(3)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def coro_handler(ctx: RequestContext, req: Any) -> Any:
            await asyncio.sleep(0)
            return spec.response(controller_id=7)

        d.register(ApiKey.METADATA, coro_handler)
        d.register(ApiKey.PRODUCE, lambda ctx, req: fut)
        out = await d.handle(FakeConn(), memoryview(encode_request(3, 1, 3, "m", spec.request())))
        assert decode_response(out.to_bytes(), 3, 1) == (3, spec.response(controller_id=7))

        pending = d.handle(FakeConn(), memoryview(encode_request(0, 8, 4, "p", produce_request())))
        assert isinstance(pending, asyncio.Future) and not pending.done()
        fut.set_exception(NotLeaderOrFollowerError())
        out = await pending
        _, body = decode_response(out.to_bytes(), 0, 8)
        codes = [p.error_code for t in body.responses for p in t.partition_responses]
        assert codes == [ErrorCode.NOT_LEADER_OR_FOLLOWER] * 3

    run(main)


# ---------------------------------------------------------------------------- errors

def test_api_error_for_the_whole_request_becomes_the_generic_error_response(advertised: dict) -> None:
    d = RequestDispatcher(ManualClock())

    def fail(ctx: RequestContext, req: Any) -> Any:
        raise ApiError(ErrorCode.NOT_ENOUGH_REPLICAS, "only 1 in sync")

    d.register(ApiKey.PRODUCE, fail)
    out = d.handle(FakeConn(), memoryview(encode_request(0, 8, 9, "p", produce_request())))
    corr, body = decode_response(out.to_bytes(), 0, 8)
    assert corr == 9 and body.throttle_time_ms == 0
    got = [(t.name, p.index, p.error_code, p.base_offset, p.log_start_offset, p.error_message)
           for t in body.responses for p in t.partition_responses]
    assert got == [("a", 0, 19, -1, -1, "only 1 in sync"), ("a", 3, 19, -1, -1, "only 1 in sync"),
                   ("b", 1, 19, -1, -1, "only 1 in sync")]
    # acks=0: the client expects no answer, so the connection is closed instead.
    assert d.handle(FakeConn(), memoryview(encode_request(0, 8, 10, "p", produce_request(acks=0)))) \
        is CLOSE_CONNECTION


def test_unexpected_exception_logs_once_and_answers_unknown_server_error(
        advertised: dict, caplog: pytest.LogCaptureFixture) -> None:
    d = RequestDispatcher(ManualClock())

    def boom(ctx: RequestContext, req: Any) -> Any:
        raise RuntimeError("bug in handler")

    d.register(ApiKey.METADATA, boom)
    spec = get_api(3)
    req = spec.request(topics=[spec.request.struct("topics")(name="orders")])
    caplog.set_level(logging.ERROR)
    out = d.handle(FakeConn(), memoryview(encode_request(3, 5, 77, "cli", req)))
    _, body = decode_response(out.to_bytes(), 3, 5)
    assert [(t.name, t.error_code) for t in body.topics] == [("orders", -1)]
    assert body.brokers == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    msg = errors[0].getMessage()
    assert "Metadata" in msg and "v5" in msg and "77" in msg and "cli" in msg
    assert errors[0].exc_info is not None and "bug in handler" in str(errors[0].exc_info[1])


def test_encoding_failure_answers_unknown_server_error(advertised: dict) -> None:
    d = RequestDispatcher(ManualClock())
    d.register(ApiKey.METADATA, lambda ctx, req: get_api(3).response(brokers="not a list"))
    out = d.handle(FakeConn(), memoryview(encode_request(3, 1, 1, "c", get_api(3).request())))
    _, body = decode_response(out.to_bytes(), 3, 1)
    assert body.topics == [] and body.brokers == []


# ---------------------------------------------------------------------------- generic error bodies

def _sample(s: Struct, version: int, tag: str = "") -> Any:
    kwargs: dict[str, Any] = {}
    for i, f in enumerate(s.fields):
        if not f.present(version):
            continue
        t = f.type
        if isinstance(t, ArrayOf):
            el = t.element
            if isinstance(el, Struct):
                kwargs[f.name] = [_sample(el, version, f"{tag}{j}") for j in range(2)]
            elif el is STRING:
                kwargs[f.name] = [f"{f.name}{tag}{j}" for j in range(2)]
            else:
                kwargs[f.name] = [10 + j for j in range(2)]
        elif isinstance(t, Struct):
            kwargs[f.name] = _sample(t, version, tag)
        elif t is STRING:
            kwargs[f.name] = f"{f.name}{tag}"
        elif t is BOOL:
            kwargs[f.name] = True
        elif t is UUID:
            kwargs[f.name] = uuid.UUID(int=i + 1)
        elif t is BYTES:
            kwargs[f.name] = b"b"
        elif t is RECORDS:
            kwargs[f.name] = b""
        elif f.name == "acks":
            kwargs[f.name] = -1
        else:
            kwargs[f.name] = i + 1
    return s(**kwargs)


def _error_codes(obj: Any, s: Struct, version: int) -> list[int]:
    out: list[int] = []
    for f in s.fields:
        if not f.present(version):
            continue
        v = getattr(obj, f.name)
        if f.name == "error_code":
            out.append(v)
        elif isinstance(f.type, ArrayOf) and isinstance(f.type.element, Struct):
            for item in v or ():
                out.extend(_error_codes(item, f.type.element, version))
    return out


# DescribeLogDirs v0-2 has no top-level error and its results name log dirs, which the
# request does not list (Kafka answers with empty results too); AlterUserScramCredentials
# keys its results by user, which the generic mirror does not know.
_NO_GENERIC_ERROR_FIELD = {(35, 0), (35, 1), (35, 2), (51, 0)}


@pytest.mark.parametrize("key", sorted(k for k in APIS if k <= 61))
def test_generic_error_response_encodes_for_every_version(key: int) -> None:
    spec = APIS[key]
    for version in spec.versions:
        req = _sample(spec.request, version)
        body = build_error_response(spec, version, req, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "denied")
        codec = spec.response_codec(version)
        decoded, _ = codec.decode(memoryview(codec.encode(body)))
        codes = _error_codes(decoded, spec.response, version)
        if (key, version) in _NO_GENERIC_ERROR_FIELD:
            assert codes == []
            continue
        assert codes, f"{spec.name} v{version}: no error field set"
        assert set(codes) == {ErrorCode.CLUSTER_AUTHORIZATION_FAILED}, f"{spec.name} v{version}"


def test_generic_error_response_mirrors_requests_shapes() -> None:
    def build(key: int, version: int) -> tuple[Any, Any]:
        spec = APIS[key]
        req = _sample(spec.request, version)
        return req, build_error_response(spec, version, req, 29, "m")

    req, resp = build(1, 12)  # Fetch: top-level error and every partition
    assert resp.error_code == 29 and resp.session_id == 0
    assert [(t.topic, [(p.partition, p.high_watermark, p.error_code, p.record_set) for p in t.partition_responses])
            for t in resp.responses] == \
        [(t.topic, [(p.partition, -1, 29, b"") for p in t.partitions]) for t in req.topics]
    req, resp = build(9, 7)  # OffsetFetch: partitions from an int array
    assert [(t.name, [(p.partition_index, p.committed_offset) for p in t.partitions]) for t in resp.topics] == \
        [(t.name, [(i, -1) for i in t.partition_indexes]) for t in req.topics]
    assert resp.error_code == 29
    req, resp = build(15, 5)  # DescribeGroups: groups from a string array
    assert [(g.group_id, g.error_code) for g in resp.groups] == [(g, 29) for g in req.groups]
    req, resp = build(30, 2)  # CreateAcls: one result per creation
    assert [(r.error_code, r.error_message) for r in resp.results] == [(29, "m")] * len(req.creations)
    req, resp = build(4, 3)  # LeaderAndIsr v3: flat partition errors from topic_states/partition_states
    assert [(p.topic_name, p.partition_index) for p in resp.partition_errors] == \
        [(t.topic_name, p.partition_index) for t in req.topic_states for p in t.partition_states]
    req, resp = build(32, 3)  # DescribeConfigs: per resource
    assert [(r.resource_type, r.resource_name, r.error_code) for r in resp.results] == \
        [(r.resource_type, r.resource_name, 29) for r in req.resources]
    assert all(r.configs == [] for r in resp.results)
    req, resp = build(3, 11)  # Metadata: per requested topic, no brokers
    assert [t.name for t in resp.topics] == [t.name for t in req.topics] and resp.brokers == []
    assert all(t.partitions == [] for t in resp.topics)
    _, resp = build(22, 4)  # InitProducerId: ids unknown
    assert (resp.error_code, resp.producer_id, resp.producer_epoch) == (29, -1, -1)


# ---------------------------------------------------------------------------- over the network

def test_dispatcher_behind_a_real_socket_server(advertised: dict) -> None:
    async def main() -> None:
        d = RequestDispatcher()
        seen: list[RequestContext] = []
        d.register(ApiKey.API_VERSIONS, api_versions_handler(seen))

        def boom(ctx: RequestContext, req: Any) -> Any:
            raise RuntimeError("kaput")

        d.register(ApiKey.METADATA, boom)
        server = SocketServer(d, [ListenerConfig("PLAINTEXT", "127.0.0.1", 0)])
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port())
        meta = encode_request(3, 1, 2, "rdkafka", get_api(3).request())
        v3 = h("0012 0003 00000001 0007 72646b61666b61 00 0b 6c696272646b61666b61 06 322e332e30 00")
        writer.write(struct.pack(">i", len(v3)) + v3 + struct.pack(">i", len(meta)) + meta)
        assert await reader.readexactly(0x1a + 4) == h(
            "0000001a 00000001 0000 03 0000 0000 0009 00 0012 0000 0003 00 00000000 00")
        size = struct.unpack(">i", await reader.readexactly(4))[0]
        corr, body = decode_response(await reader.readexactly(size), 3, 1)
        assert corr == 2 and body.topics == []
        # still open after the handler bug; then an unknown key closes it
        writer.write(struct.pack(">i", len(v3)) + v3)
        assert len(await reader.readexactly(0x1a + 4)) == 0x1e
        conn = server.connections[0]
        assert conn.client_software_name == "librdkafka" and conn.client_id == "rdkafka"
        bad = h("03e7 0000 00000001 0000")
        writer.write(struct.pack(">i", len(bad)) + bad)
        assert await reader.read() == b""
        await server.shutdown(1000)

    run(main)


def test_cached_routes_follow_the_advertised_table_and_still_check_headers(advertised: dict) -> None:
    d = RequestDispatcher(ManualClock())
    seen: list[RequestContext] = []
    d.register(ApiKey.PRODUCE, lambda ctx, req: seen.append(ctx) or NO_RESPONSE)
    v9 = encode_request(0, 9, 1, "p", produce_request())
    assert d.handle(FakeConn(), memoryview(v9)) is NO_RESPONSE
    assert d.handle(FakeConn(), memoryview(v9)) is NO_RESPONSE  # served from the cached route
    assert [(c.client_id, c.header_version, c.response_header_version) for c in seen] == [("p", 2, 1)] * 2
    null_client = encode_request(0, 9, 2, None, produce_request())
    assert d.handle(FakeConn(), memoryview(null_client)) is NO_RESPONSE and seen[-1].client_id is None
    # Truncated or invalid client ids on the cached path close the connection.
    assert d.handle(FakeConn(), memoryview(v9[:9])) is CLOSE_CONNECTION
    assert d.handle(FakeConn(), memoryview(v9[:8] + b"\x00\x05ab")) is CLOSE_CONNECTION
    assert d.handle(FakeConn(), memoryview(v9[:8] + b"\xff\xfe" + v9[10:])) is CLOSE_CONNECTION
    assert d.handle(FakeConn(), memoryview(v9[:8] + b"\x00\x01\xff" + v9[11:])) is CLOSE_CONNECTION
    # Narrowing what the broker advertises takes effect at once.
    advertised[ApiKey.PRODUCE] = (0, 8)
    assert d.handle(FakeConn(), memoryview(v9)) is CLOSE_CONNECTION
    assert len(seen) == 3


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from([0, 1, 3, 18, 7, 99]), version=st.integers(-1, 13),
       rest=st.binary(max_size=64))
def test_any_frame_is_answered_or_closes_never_raises(key: int, version: int, rest: bytes) -> None:
    table = {ApiKey.API_VERSIONS: (0, 3), ApiKey.PRODUCE: (0, 9), ApiKey.METADATA: (0, 11),
             ApiKey.FETCH: (4, 12), ApiKey.CONTROLLED_SHUTDOWN: (0, 3)}
    import kafkapy.server.dispatch as dispatch_module
    saved = dispatch_module.BROKER_SUPPORTED
    dispatch_module.BROKER_SUPPORTED = table  # type: ignore[assignment]
    try:
        d = RequestDispatcher(ManualClock())
        for k in (0, 1, 3, 7, 18):
            d.register(k, lambda ctx, req: NO_RESPONSE)
        frame = struct.pack(">hhi", key, version, 1) + rest
        for _ in range(2):  # the second time through the cached route
            out = d.handle(FakeConn(), memoryview(frame))
            assert out is NO_RESPONSE or out is CLOSE_CONNECTION or isinstance(out, Response)
            if key == 18 and version > 3 and rest.startswith(b"\x00\x00\x00"):
                # a readable header (empty client id, no tags): the KIP-511 fallback, whatever the body
                assert isinstance(out, Response)
    finally:
        dispatch_module.BROKER_SUPPORTED = saved
