"""SocketServer / Connection against real loopback sockets and a scripted handler."""
from __future__ import annotations

import asyncio
import os
import re
import socket
import struct
import tracemalloc
from typing import Any, Awaitable, Callable

import pytest
import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkapy.common.clock import ManualClock
from kafkapy.common.types import FileRegion
from kafkapy.server.network import Connection, ListenerConfig, SocketServer, SocketServerConfig
from kafkapy.server.request import CLOSE_CONNECTION, NO_RESPONSE, Response

TIMEOUT_S = 20.0


def run(coro_fn: Callable[[], Awaitable[Any]], *, timeout: float = TIMEOUT_S,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop) -> Any:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(asyncio.wait_for(coro_fn(), timeout))


# The broker runs on uvloop; a few tests also run on the stock loop, which tests may use.
LOOPS = pytest.mark.parametrize("loop_factory", [uvloop.new_event_loop, asyncio.new_event_loop],
                                ids=["uvloop", "asyncio"])


class ScriptedHandler:
    """Frame = 4-byte request id + 1-byte command + payload; response = request id + payload.

    Commands: E echo, D delayed (future in .delayed[id]), A async coroutine waiting on .gate,
    N no response, C close connection, F file region (.region), G .big bytes + region, X raise,
    K keep the frame.
    """

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.delayed: dict[int, asyncio.Future[Any]] = {}
        self.gate = asyncio.Event()
        self.region: FileRegion | None = None
        self.big = b""
        self.kept: list[memoryview] = []
        self.outstanding = 0
        self.max_outstanding = 0
        self.seen_event = asyncio.Event()
        self.want = 0

    def _note(self, rid: int) -> None:
        self.seen.append(rid)
        if self.want and len(self.seen) >= self.want:
            self.seen_event.set()

    def handle(self, conn: Connection, frame: memoryview) -> Any:
        rid = struct.unpack_from(">i", frame, 0)[0]
        cmd = bytes(frame[4:5])
        payload = frame[5:]
        self._note(rid)
        head = struct.pack(">i", rid)
        if cmd == b"E":
            return Response((head, bytes(payload)))
        if cmd == b"D":
            fut = asyncio.get_running_loop().create_future()
            self.delayed[rid] = fut
            return fut
        if cmd == b"A":
            data = bytes(payload)

            async def later() -> Response:
                self.outstanding += 1
                self.max_outstanding = max(self.max_outstanding, self.outstanding)
                await self.gate.wait()
                self.outstanding -= 1
                return Response((head, data))

            return later()
        if cmd == b"N":
            return NO_RESPONSE
        if cmd == b"C":
            return CLOSE_CONNECTION
        if cmd == b"F":
            assert self.region is not None
            return Response((head, self.region, b"END"))
        if cmd == b"G":  # bytes, then a region, in one response
            assert self.region is not None
            return Response((head, self.big, self.region, b"END"))
        if cmd == b"X":
            raise RuntimeError("scripted failure")
        if cmd == b"B":  # a response chunk that is not bytes-like
            return Response((head, "text"))  # type: ignore[arg-type]
        if cmd == b"K":
            self.kept.append(payload)
            return Response((head, struct.pack(">i", len(payload))))
        raise AssertionError(cmd)


def req(rid: int, cmd: bytes, payload: bytes = b"") -> bytes:
    body = struct.pack(">i", rid) + cmd + payload
    return struct.pack(">i", len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    return await reader.readexactly(size)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    frame = await read_frame(reader)
    return struct.unpack_from(">i", frame)[0], frame[4:]


async def started(handler: Any, clock: Any = None, **cfg: Any) -> SocketServer:
    server = SocketServer(handler, [ListenerConfig("PLAINTEXT", "127.0.0.1", 0)],
                          SocketServerConfig(**cfg), clock=clock)
    await server.start()
    return server


async def connect(server: SocketServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.bound_port(), limit=64 * 1024 * 1024)


async def until(pred: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


async def assert_closed_by_server(reader: asyncio.StreamReader) -> None:
    try:
        rest = await reader.read()
    except ConnectionResetError:
        return
    assert rest == b""


def only_connection(server: SocketServer) -> Connection:
    conns = server.connections
    assert len(conns) == 1, conns
    return conns[0]


# ---------------------------------------------------------------------------- basics

def test_echo_bound_port_and_connection_id() -> None:
    async def main() -> None:
        server = await started(ScriptedHandler())
        port = server.bound_port("PLAINTEXT")
        assert port > 0
        reader, writer = await connect(server)
        writer.write(req(7, b"E", b"hello"))
        assert await read_response(reader) == (7, b"hello")
        conn = only_connection(server)
        local_port = writer.get_extra_info("sockname")[1]
        assert re.fullmatch(rf"127\.0\.0\.1:{port}-127\.0\.0\.1:{local_port}-\d+", conn.connection_id)
        assert conn.listener_name == "PLAINTEXT" and conn.peer_host == "127.0.0.1"
        writer.close()
        await until(lambda: server.connection_count == 0, "server to notice the close")
        stats = server.stats()
        assert stats["connections_created"] == stats["connections_closed"] == 1
        assert stats["requests_received"] == 1 and stats["connection_count"] == 0
        assert stats["bytes_received"] == len(req(7, b"E", b"hello"))
        assert stats["bytes_sent"] == 4 + 4 + 5
        await server.shutdown(1000)

    run(main)


@LOOPS
def test_responses_keep_request_order_behind_a_delayed_one(loop_factory: Any) -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        handler.want = 4
        server = await started(handler)
        reader, writer = await connect(server)
        writer.write(req(1, b"D") + req(2, b"E", b"b") + req(3, b"D") + req(4, b"E", b"d"))
        await handler.seen_event.wait()
        conn = only_connection(server)
        assert handler.seen == [1, 2, 3, 4]
        assert conn.bytes_sent == 0 and conn.pending_responses == 4
        handler.delayed[3].set_result(Response((struct.pack(">i", 3), b"c")))
        await asyncio.sleep(0)  # let the done callback run: still held behind request 1
        await until(lambda: handler.delayed[3].done(), "future 3")
        assert conn.bytes_sent == 0
        handler.delayed[1].set_result(Response((struct.pack(">i", 1), b"a")))
        got = [await read_response(reader) for _ in range(4)]
        assert got == [(1, b"a"), (2, b"b"), (3, b"c"), (4, b"d")]
        writer.close()
        await server.shutdown(1000)

    run(main, loop_factory=loop_factory)


def test_ready_responses_are_coalesced_into_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[int] = []
    real_write = Connection._write

    def counting_write(self: Connection, batch: list[Any]) -> None:
        writes.append(len(batch))
        real_write(self, batch)

    monkeypatch.setattr(Connection, "_write", counting_write)

    async def main() -> None:
        handler = ScriptedHandler()
        server = await started(handler)  # default bounds: more ready responses than max pending
        reader, writer = await connect(server)
        writer.write(b"".join(req(i, b"E", b"x" * (i % 8)) for i in range(200)))
        got = [await read_response(reader) for _ in range(200)]
        assert got == [(i, b"x" * (i % 8)) for i in range(200)]
        assert writes == [600]  # one write: size prefix + 2 chunks for each of 200 responses

        # A delayed head: the 10 responses behind it leave with it, in one write.
        writes.clear()
        handler.want = 211
        writer.write(req(200, b"D") + b"".join(req(i, b"E") for i in range(201, 211)))
        await handler.seen_event.wait()
        assert writes == []
        handler.delayed[200].set_result(Response((struct.pack(">i", 200),)))
        got = [await read_response(reader) for _ in range(11)]
        assert [rid for rid, _ in got] == list(range(200, 211))
        assert len(writes) == 1
        writer.close()
        await server.shutdown(1000)

    run(main)


def test_no_response_and_close_connection_markers() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        server = await started(handler)
        reader, writer = await connect(server)
        writer.write(req(1, b"N") + req(2, b"E", b"two") + req(3, b"C") + req(4, b"E", b"four"))
        assert await read_response(reader) == (2, b"two")
        await assert_closed_by_server(reader)
        assert 4 not in handler.seen  # nothing is read after the close marker
        await until(lambda: server.connection_count == 0, "connection cleanup")
        await server.shutdown(1000)

    run(main)


def test_coroutine_results_and_handler_exception_closes_only_that_connection() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        handler.gate.set()
        server = await started(handler)
        r1, w1 = await connect(server)
        r2, w2 = await connect(server)
        w1.write(req(1, b"A", b"async") + req(2, b"E", b"sync"))
        assert [await read_response(r1) for _ in range(2)] == [(1, b"async"), (2, b"sync")]
        assert server.inflight_tasks == 0
        w2.write(req(3, b"X"))
        await assert_closed_by_server(r2)
        r3, w3 = await connect(server)
        w3.write(req(5, b"B"))
        await assert_closed_by_server(r3)
        w1.write(req(4, b"E", b"alive"))
        assert await read_response(r1) == (4, b"alive")
        w1.close()
        await server.shutdown(1000)

    run(main)


def test_a_handler_coroutine_outlives_its_closed_connection() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        server = await started(handler)
        reader, writer = await connect(server)
        writer.write(req(1, b"A", b"x"))
        await until(lambda: handler.outstanding == 1, "the coroutine to start")
        # The peer half-closes: its pending request is still answered before the close.
        writer.write_eof()
        await until(lambda: only_connection(server)._eof, "the server to see EOF")
        assert server.connection_count == 1
        only_connection(server).close()  # now drop it for good
        await until(lambda: server.connection_count == 0, "the connection to go")
        assert server.inflight_tasks == 1  # still referenced, still running
        handler.gate.set()
        await until(lambda: server.inflight_tasks == 0, "the coroutine to finish")
        assert handler.outstanding == 0
        await server.shutdown(1000)

    run(main)


# ---------------------------------------------------------------------------- framing

@pytest.mark.parametrize("size", [-1, -2**31, 2**31 - 1, 1001])
def test_bad_size_prefix_closes_that_connection_without_allocating(size: int) -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        server = await started(handler, socket_request_max_bytes=1000)
        good_r, good_w = await connect(server)
        bad_r, bad_w = await connect(server)
        tracemalloc.start()
        try:
            bad_w.write(struct.pack(">i", size) + b"\x00" * 64)
            await assert_closed_by_server(bad_r)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 16 * 1024 * 1024
        assert handler.seen == []
        good_w.write(req(1, b"E", b"x" * 990))  # exactly socket.request.max.bytes
        assert await read_response(good_r) == (1, b"x" * 990)
        r3, w3 = await connect(server)
        w3.write(req(2, b"E", b"new"))
        assert await read_response(r3) == (2, b"new")
        for w in (good_w, w3):
            w.close()
        await server.shutdown(1000)

    run(main)


def test_truncated_frame_then_peer_close() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        server = await started(handler)
        reader, writer = await connect(server)
        writer.write(req(1, b"E", b"whole") + struct.pack(">i", 100) + b"partial")
        writer.write_eof()
        assert await read_response(reader) == (1, b"whole")
        await assert_closed_by_server(reader)
        assert handler.seen == [1]
        await until(lambda: server.connection_count == 0, "connection cleanup")
        await server.shutdown(1000)

    run(main)


def test_large_frames_and_retained_frames_stay_intact() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        server = await started(handler, initial_receive_buffer_bytes=1024, receive_buffer_bytes=4096,
                               large_frame_bytes=8192)
        reader, writer = await connect(server)
        payloads = [os.urandom(n) for n in (10, 3000, 5000, 3 * 1024 * 1024, 1, 20000, 4090, 100)] * 3
        stream = b"".join(req(i, b"K", p) for i, p in enumerate(payloads))
        # Send in odd-sized pieces so frames straddle reads.
        for off in range(0, len(stream), 7777):
            writer.write(stream[off:off + 7777])
        for i, p in enumerate(payloads):
            rid, body = await read_response(reader)
            assert rid == i and struct.unpack(">i", body)[0] == len(p)
        assert [bytes(k) for k in handler.kept] == payloads
        writer.close()
        await server.shutdown(1000)

    run(main)


def test_receive_buffer_grows_under_load_and_shrinks_when_quiet() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        cfg = SocketServerConfig()
        server = await started(handler, max_pending_responses=10_000)
        reader, writer = await connect(server)
        writer.write(req(0, b"E"))
        await read_response(reader)
        conn = only_connection(server)
        assert len(conn._buf) == cfg.initial_receive_buffer_bytes
        sizes: set[int] = set()
        real_handle = handler.handle

        def spy(c: Connection, frame: memoryview) -> Any:
            sizes.add(len(c._buf))
            return real_handle(c, frame)

        handler.handle = spy  # type: ignore[method-assign]
        writer.write(b"".join(req(i, b"E", b"z" * 1000) for i in range(1, 3001)))
        for i in range(1, 3001):
            assert (await read_response(reader))[0] == i
        assert max(sizes) == cfg.receive_buffer_bytes
        handler.handle = real_handle  # type: ignore[method-assign]
        for i in range(40):  # one request at a time: reads never fill the buffer
            writer.write(req(i, b"E", b"q"))
            assert await read_response(reader) == (i, b"q")
        assert len(conn._buf) == cfg.initial_receive_buffer_bytes
        writer.close()
        await server.shutdown(1000)

    run(main)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(0, 70000), min_size=1, max_size=12),
       cuts=st.lists(st.integers(1, 50000), min_size=1, max_size=8))
def test_any_split_of_a_pipelined_stream_answers_every_request_in_order(sizes: list[int], cuts: list[int]) -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        server = await started(handler, initial_receive_buffer_bytes=4096, receive_buffer_bytes=16384,
                               large_frame_bytes=32768)
        reader, writer = await connect(server)
        stream = b"".join(req(i, b"E", bytes([i % 251]) * n) for i, n in enumerate(sizes))
        off = 0
        k = 0
        while off < len(stream):
            step = cuts[k % len(cuts)]
            writer.write(stream[off:off + step])
            await writer.drain()
            off += step
            k += 1
        for i, n in enumerate(sizes):
            assert await read_response(reader) == (i, bytes([i % 251]) * n)
        writer.close()
        await server.shutdown(1000)

    run(main)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=st.lists(st.sampled_from([b"E", b"D", b"N"]), min_size=1, max_size=40),
       order=st.randoms(use_true_random=False), max_pending=st.integers(1, 8))
def test_responses_leave_in_request_order_whatever_the_completion_order(
        cmds: list[bytes], order: Any, max_pending: int) -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        server = await started(handler, max_pending_responses=max_pending)
        reader, writer = await connect(server)
        writer.write(b"".join(req(i, c, b"%d" % i) for i, c in enumerate(cmds)))
        expected = [i for i, c in enumerate(cmds) if c != b"N"]
        got: list[int] = []

        def ready(rid: int) -> bool:
            return rid in handler.seen and (cmds[rid] == b"E" or handler.delayed[rid].done())

        await until(lambda: server.connection_count == 1, "accept")
        conn = only_connection(server)
        while len(got) < len(expected):
            assert conn.pending_responses <= max_pending  # the pipeline bound holds
            readable = 0
            while len(got) + readable < len(expected) and ready(expected[len(got) + readable]):
                readable += 1
            if readable:  # these responses must arrive, in this order
                for _ in range(readable):
                    rid, body = await read_response(reader)
                    assert body == b"%d" % rid
                    got.append(rid)
                continue
            waiting = sorted(rid for rid, fut in handler.delayed.items() if not fut.done())
            if waiting:  # complete a random held-back request
                rid = order.choice(waiting)
                handler.delayed[rid].set_result(Response((struct.pack(">i", rid), b"%d" % rid)))
                continue
            seen = len(handler.seen)  # the server has to read further requests first
            await until(lambda: len(handler.seen) > seen, "the server to read on")
        assert got == expected
        writer.close()
        await server.shutdown(1000)

    run(main)


# ---------------------------------------------------------------------------- file regions

@pytest.fixture()
def data_file(tmp_path: Any) -> Any:
    data = os.urandom(24 * 1024 * 1024)
    path = tmp_path / "segment.log"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    yield fd, data
    os.close(fd)


@LOOPS
@pytest.mark.parametrize("mode", ["sendfile", "pread"])
def test_file_region_to_a_slow_reader(mode: str, data_file: Any, monkeypatch: pytest.MonkeyPatch,
                                      loop_factory: Any) -> None:
    fd, data = data_file
    drain_waits: list[int] = []
    real_wait = Connection._wait_for_drain

    def counting_wait(self: Connection) -> None:
        drain_waits.append(self._transport.get_write_buffer_size())
        real_wait(self)

    monkeypatch.setattr(Connection, "_wait_for_drain", counting_wait)

    async def main() -> None:
        handler = ScriptedHandler()
        handler.region = FileRegion(fd, 1000, 20 * 1024 * 1024)
        expected_region = data[1000:1000 + 20 * 1024 * 1024]
        # A small kernel send buffer so that the 3 MiB response stays in the transport's buffer.
        server = await started(handler, region_send_mode=mode, socket_send_buffer_bytes=65536)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect(("127.0.0.1", server.bound_port()))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock, limit=64 * 1024 * 1024)
        big = os.urandom(3 * 1024 * 1024)
        handler.big = os.urandom(2 * 1024 * 1024)
        # In-memory responses that fill the transport buffer, regions behind them, small ones.
        writer.write(req(1, b"E", big) + req(2, b"F") + req(3, b"E", b"after") + req(4, b"F")
                     + req(5, b"G"))
        conn = None
        await until(lambda: server.connection_count == 1, "accept")
        conn = only_connection(server)
        # The client has not read anything yet: the server must be blocked, not spinning.
        await until(lambda: conn.reading_paused and conn.pending_responses > 0, "writer to block")
        assert await read_response(reader) == (1, big)
        rid, body = await read_response(reader)
        assert rid == 2 and body[-3:] == b"END" and body[:-3] == expected_region
        assert await read_response(reader) == (3, b"after")
        rid, body = await read_response(reader)
        assert rid == 4 and body[:-3] == expected_region
        rid, body = await read_response(reader)
        assert rid == 5 and body == handler.big + expected_region + b"END"
        if mode == "sendfile":
            assert conn.send_waits > 0  # EAGAIN happened and was waited out
        # A response still sitting in the transport's buffer (below its high-water mark, so
        # reading goes on) when a region comes: sendfile must wait until it has drained.
        mid = os.urandom(900 * 1024)
        writer.write(req(6, b"E", mid))
        await until(lambda: 6 in handler.seen, "request 6")
        writer.write(req(7, b"F"))
        await until(lambda: 7 in handler.seen, "request 7")
        if mode == "sendfile":
            assert drain_waits and all(n > 0 for n in drain_waits)
        assert await read_response(reader) == (6, mid)
        rid, body = await read_response(reader)
        assert rid == 7 and body[:-3] == expected_region
        writer.close()
        await server.shutdown(1000)

    run(main, loop_factory=loop_factory)


def test_many_small_responses_then_a_large_region(data_file: Any) -> None:
    fd, data = data_file

    async def main() -> None:
        handler = ScriptedHandler()
        handler.region = FileRegion(fd, 5, 1024 * 1024)
        server = await started(handler)
        reader, writer = await connect(server)
        # 600 small responses coalesced in front of a region: one writev must not exceed IOV_MAX.
        writer.write(b"".join(req(i, b"E", b"s") for i in range(600)) + req(600, b"F"))
        for i in range(600):
            assert await read_response(reader) == (i, b"s")
        rid, body = await read_response(reader)
        assert rid == 600 and body == data[5:5 + 1024 * 1024] + b"END"
        writer.close()
        await server.shutdown(1000)

    run(main)


def test_small_regions_are_inlined_and_ordered(tmp_path: Any) -> None:
    path = tmp_path / "small.log"
    path.write_bytes(bytes(range(256)) * 16)
    fd = os.open(path, os.O_RDONLY)

    async def main() -> None:
        handler = ScriptedHandler()
        handler.region = FileRegion(fd, 10, 300)
        server = await started(handler)
        reader, writer = await connect(server)
        writer.write(b"".join(req(i, b"F") for i in range(5)))
        for i in range(5):
            rid, body = await read_response(reader)
            assert rid == i and body == (bytes(range(256)) * 16)[10:310] + b"END"
        writer.close()
        await server.shutdown(1000)

    try:
        run(main)
    finally:
        os.close(fd)


@pytest.mark.parametrize("mode,size", [("sendfile", 1 << 20), ("pread", 1 << 20), ("sendfile", 100)])
def test_region_past_the_end_of_its_file_closes_only_that_connection(
        tmp_path: Any, mode: str, size: int, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "short.log"
    path.write_bytes(b"s" * (size // 2))
    fd = os.open(path, os.O_RDONLY)

    async def main() -> None:
        handler = ScriptedHandler()
        handler.region = FileRegion(fd, 0, size)
        server = await started(handler, region_send_mode=mode)
        r1, w1 = await connect(server)
        r2, w2 = await connect(server)
        w1.write(req(1, b"F"))
        try:
            partial = await r1.read()  # whatever was sent before the region failed, then EOF
        except ConnectionResetError:
            partial = b""
        assert len(partial) < 4 + 4 + size + 3
        w2.write(req(2, b"E", b"fine"))
        assert await read_response(r2) == (2, b"fine")
        w2.close()
        await server.shutdown(1000)

    try:
        run(main)
    finally:
        os.close(fd)
    assert any(r.levelname == "ERROR" and "ended early" in r.getMessage() for r in caplog.records)


def test_peer_closing_mid_region_does_not_hurt_the_server(data_file: Any) -> None:
    fd, _ = data_file

    async def main() -> None:
        handler = ScriptedHandler()
        handler.region = FileRegion(fd, 0, 24 * 1024 * 1024)
        server = await started(handler)
        reader, writer = await connect(server)
        writer.write(req(1, b"F"))
        await reader.readexactly(1024)
        writer.transport.abort()
        await until(lambda: server.connection_count == 0, "server to drop the connection")
        r2, w2 = await connect(server)
        w2.write(req(2, b"E", b"ok"))
        assert await read_response(r2) == (2, b"ok")
        w2.close()
        await server.shutdown(1000)

    run(main)


# ---------------------------------------------------------------------------- idle + backpressure

def test_idle_connections_are_reaped_by_the_clock() -> None:
    async def main() -> None:
        clock = ManualClock()
        handler = ScriptedHandler()
        server = await started(handler, clock=clock, connections_max_idle_ms=1000)
        reader, writer = await connect(server)
        await until(lambda: server.connection_count == 1, "accept")
        conn = only_connection(server)
        clock.advance(500)
        writer.write(req(1, b"E", b"x"))
        assert await read_response(reader) == (1, b"x")  # activity at t=500
        clock.advance(999)  # t=1499: idle 999 ms
        assert not conn.closed and server.idle_closed == 0
        clock.advance(1)  # t=1500: idle 1000 ms
        await assert_closed_by_server(reader)
        assert server.idle_closed == 1
        await until(lambda: server.connection_count == 0, "cleanup")
        await server.shutdown(1000)

    run(main)


def test_bytes_held_behind_a_delayed_response_are_bounded() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        handler.want = 1
        server = await started(handler, max_pending_responses=1000, max_pending_response_bytes=10_000)
        reader, writer = await connect(server)
        writer.write(req(0, b"D") + b"".join(req(i, b"E", b"b" * 996) for i in range(1, 101)))
        await handler.seen_event.wait()
        conn = only_connection(server)
        await until(lambda: conn.reading_paused, "reading to pause")
        await asyncio.sleep(0)
        # 1000-byte responses: the 10th reaches the bound, nothing is read after it.
        assert handler.seen == list(range(11)) and conn.pending_responses == 11
        handler.delayed[0].set_result(Response((struct.pack(">i", 0),)))
        for i in range(101):
            rid, body = await read_response(reader)
            assert rid == i and body == (b"b" * 996 if i else b"")
        writer.close()
        await server.shutdown(1000)

    run(main)


def test_a_connection_waiting_for_its_response_is_not_idle() -> None:
    async def main() -> None:
        clock = ManualClock()
        handler = ScriptedHandler()
        handler.want = 1
        server = await started(handler, clock=clock, connections_max_idle_ms=1000)
        reader, writer = await connect(server)
        writer.write(req(1, b"D"))
        await handler.seen_event.wait()
        conn = only_connection(server)
        clock.advance(5000)  # a long poll: the request is still being served
        assert not conn.closed and server.idle_closed == 0
        handler.delayed[1].set_result(Response((struct.pack(">i", 1), b"late")))
        assert await read_response(reader) == (1, b"late")  # activity at t=5000
        clock.advance(999)
        assert server.idle_closed == 0
        clock.advance(1)
        await assert_closed_by_server(reader)
        assert server.idle_closed == 1
        await server.shutdown(1000)

    run(main)


@LOOPS
def test_pipelining_many_requests_into_a_slow_handler_is_bounded(loop_factory: Any) -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        server = await started(handler, max_pending_responses=8)
        reader, writer = await connect(server)
        writer.write(b"".join(req(i, b"A", b"p" * 200) for i in range(1000)))
        await until(lambda: len(handler.seen) >= 8, "the handler to fill the pipeline")
        conn = only_connection(server)
        await until(lambda: conn.reading_paused, "reading to pause")
        await asyncio.sleep(0)  # give the loop a chance to (wrongly) read more
        assert len(handler.seen) == 8 and conn.pending_responses == 8
        handler.gate.set()
        for i in range(1000):
            rid, body = await read_response(reader)
            assert rid == i and body == b"p" * 200
        assert handler.max_outstanding <= 8
        assert len(conn._buf) <= SocketServerConfig().receive_buffer_bytes
        writer.close()
        await server.shutdown(1000)

    run(main, loop_factory=loop_factory)


# ---------------------------------------------------------------------------- shutdown

def test_graceful_shutdown_finishes_in_flight_responses() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        handler.want = 1
        server = await started(handler)
        reader, writer = await connect(server)
        writer.write(req(1, b"D"))
        await handler.seen_event.wait()
        stop = asyncio.ensure_future(server.shutdown(5000))
        await asyncio.sleep(0)
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", server.bound_port())
        handler.delayed[1].set_result(Response((struct.pack(">i", 1), b"late")))
        assert await read_response(reader) == (1, b"late")
        await assert_closed_by_server(reader)
        await stop
        assert server.connection_count == 0

    run(main)


def test_shutdown_deadline_aborts_stuck_connections() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        handler.want = 1
        server = await started(handler)
        reader, writer = await connect(server)
        writer.write(req(1, b"D"))
        await handler.seen_event.wait()
        await server.shutdown(50)
        await assert_closed_by_server(reader)
        assert server.connection_count == 0

    run(main)


def test_two_listeners_and_a_port_clash() -> None:
    async def main() -> None:
        handler = ScriptedHandler()
        server = SocketServer(handler, [ListenerConfig("PLAINTEXT", "127.0.0.1", 0),
                                        ListenerConfig("REPLICATION", "127.0.0.1", 0)])
        await server.start()
        ports = server.bound_addresses
        assert set(ports) == {"PLAINTEXT", "REPLICATION"} and ports["PLAINTEXT"][1] != ports["REPLICATION"][1]
        r, w = await asyncio.open_connection("127.0.0.1", server.bound_port("REPLICATION"))
        w.write(req(1, b"E", b"r"))
        assert await read_response(r) == (1, b"r")
        assert only_connection(server).listener_name == "REPLICATION"
        clash = SocketServer(handler, [ListenerConfig("A", "127.0.0.1", 0),
                                       ListenerConfig("B", "127.0.0.1", server.bound_port("PLAINTEXT"))])
        with pytest.raises(OSError, match="listener B"):
            await clash.start()
        assert clash.bound_addresses == {}
        w.close()
        await server.shutdown(1000)

    run(main)
