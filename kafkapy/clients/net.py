"""An asyncio client connection to one Kafka broker.

Used by the controller's channel manager, the follower fetchers and kafkapy's
clients::

    conn = await BrokerConnection.connect("127.0.0.1", 9092, client_id="me", timeout_ms=5000)
    conn.negotiated_version(ApiKey.METADATA)          # highest version both sides support
    resp = await conn.send(ApiKey.METADATA, request)  # version defaults to the negotiated one
    await conn.close()

Requests are pipelined: every request gets the next correlation id, and responses
(which a Kafka broker sends in request order) are matched against the oldest
request in flight. A request that times out poisons the ordering, so the
connection is closed and every other in-flight request fails with
:class:`BrokerDisconnectedError`, as Kafka's network client does.
``send_no_response`` writes a request the broker will not answer (Produce acks=0).

Only imports ``kafkapy.common`` and ``kafkapy.protocol``.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import struct
from dataclasses import dataclass
from typing import Any

from kafkapy.common.errors import ErrorCode, NetworkError, RequestTimedOutError, UnsupportedVersionError
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.errors import ProtocolDecodeError
from kafkapy.protocol.header import encode_request_header, parse_response_header
from kafkapy.protocol.messages import get_api

__all__ = ["BrokerConnection", "BrokerDisconnectedError", "BrokerConnectError", "ApiVersionRange",
           "DEFAULT_REQUEST_TIMEOUT_MS", "CLIENT_SOFTWARE_NAME", "CLIENT_SOFTWARE_VERSION"]

log = logging.getLogger(__name__)

DEFAULT_REQUEST_TIMEOUT_MS = 30_000
CLIENT_SOFTWARE_NAME = "kafkapy"
CLIENT_SOFTWARE_VERSION = "0.1.0"
_SIZE = struct.Struct(">i")
_ERROR_CODE = struct.Struct(">h")
SCRATCH_BYTES = 256 * 1024


class BrokerDisconnectedError(NetworkError):
    """The connection closed (or was closed) before the response arrived."""


class BrokerConnectError(BrokerDisconnectedError):
    """The TCP connection or the ApiVersions handshake could not be established."""


@dataclass(frozen=True, slots=True)
class ApiVersionRange:
    api_key: int
    min_version: int
    max_version: int


class _InFlight:
    __slots__ = ("correlation_id", "api_key", "version", "future", "timer")

    def __init__(self, correlation_id: int, api_key: int, version: int, future: asyncio.Future,
                 timer: asyncio.TimerHandle | None):
        self.correlation_id = correlation_id
        self.api_key = api_key
        self.version = version
        self.future = future
        self.timer = timer


class _ClientProtocol(asyncio.BufferedProtocol):
    """Frames responses out of the byte stream and hands each to the connection.

    Small frames are received into a reusable scratch buffer and copied out once. A frame
    larger than half the scratch buffer (typically a fetch response) gets a buffer of its
    exact size, and the socket reads straight into it: no copy at all.
    """

    def __init__(self, conn: BrokerConnection, scratch_bytes: int | None = None):
        self._conn = conn
        self._scratch = bytearray(scratch_bytes or SCRATCH_BYTES)
        self._start = 0
        self._end = 0
        self._big: bytearray | None = None
        self._big_filled = 0
        self._paused = False
        self._drain_waiters: list[asyncio.Future] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport          # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._big is not None:
            return memoryview(self._big)[self._big_filled:]
        scratch = self._scratch
        if self._end == len(scratch):       # full: move the partial frame to the front
            pending = self._end - self._start
            scratch[:pending] = scratch[self._start:self._end]
            self._start, self._end = 0, pending
        return memoryview(scratch)[self._end:]

    def buffer_updated(self, nbytes: int) -> None:
        if self._big is not None:
            self._big_filled += nbytes
            if self._big_filled == len(self._big):
                frame, self._big = self._big, None
                self._conn._on_frame(frame)
            return
        self._end += nbytes
        scratch = self._scratch
        start, end = self._start, self._end
        while end - start >= 4:
            (size,) = _SIZE.unpack_from(scratch, start)
            if size < 0:
                self._conn._fail(BrokerDisconnectedError(f"invalid response frame size {size}"))
                return
            available = end - start - 4
            if available >= size:
                frame = bytes(scratch[start + 4:start + 4 + size])
                start += 4 + size
                self._start = start
                self._conn._on_frame(frame)
                if self._conn._closed:
                    return
                continue
            if size > len(scratch) // 2:    # large: continue straight into its own buffer
                big = bytearray(size)
                big[:available] = scratch[start + 4:end]
                self._big, self._big_filled = big, available
                start = end
            break
        if start == end:
            self._start = self._end = 0
        else:
            self._start = start

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f": {exc}" if exc is not None else ""
        self._conn._fail(BrokerDisconnectedError(f"connection to {self._conn.host}:{self._conn.port} "
                                                 f"closed{reason}"))
        self._wake_drainers(exc)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake_drainers(None)

    def _wake_drainers(self, exc: Exception | None) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for w in waiters:
            if not w.done():
                if exc is None:
                    w.set_result(None)
                else:
                    w.set_exception(BrokerDisconnectedError(str(exc)))

    async def drain(self) -> None:
        if not self._paused:
            return
        fut = asyncio.get_running_loop().create_future()
        self._drain_waiters.append(fut)
        await fut


class BrokerConnection:
    def __init__(self, host: str, port: int, client_id: str | None = CLIENT_SOFTWARE_NAME,
                 request_timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS):
        self.host = host
        self.port = port
        self.client_id = client_id
        self.request_timeout_ms = request_timeout_ms
        self.api_versions: dict[int, ApiVersionRange] = {}
        self._protocol: _ClientProtocol | None = None
        self._in_flight: collections.deque[_InFlight] = collections.deque()
        self._next_correlation_id = 0
        self._closed = False
        self._close_error: Exception | None = None

    def __repr__(self) -> str:
        return f"BrokerConnection({self.host}:{self.port}, in_flight={len(self._in_flight)}, closed={self._closed})"

    # ---- connecting ------------------------------------------------------------------------
    @classmethod
    async def connect(cls, host: str, port: int, client_id: str | None = CLIENT_SOFTWARE_NAME,
                      timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS, *, negotiate: bool = True,
                      request_timeout_ms: int | None = None) -> BrokerConnection:
        """Open a connection and (unless `negotiate` is False) learn the broker's API versions."""
        conn = cls(host, port, client_id, request_timeout_ms if request_timeout_ms is not None else timeout_ms)
        loop = asyncio.get_running_loop()
        try:
            _transport, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _ClientProtocol(conn), host, port), timeout_ms / 1000)
        except asyncio.TimeoutError:
            raise BrokerConnectError(f"timed out connecting to {host}:{port} after {timeout_ms} ms") from None
        except OSError as e:
            raise BrokerConnectError(f"cannot connect to {host}:{port}: {e}") from e
        conn._protocol = protocol
        sock = protocol.transport.get_extra_info("socket") if protocol.transport is not None else None
        if sock is not None:
            import socket
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                log.debug("could not set TCP_NODELAY on the connection to %s:%d", host, port)
        if negotiate:
            try:
                await conn._negotiate_api_versions(timeout_ms)
            except BaseException:
                await conn.close()
                raise
        return conn

    async def _negotiate_api_versions(self, timeout_ms: int) -> None:
        spec = get_api(ApiKey.API_VERSIONS)
        version = spec.max_version
        while True:
            request = spec.request(client_software_name=CLIENT_SOFTWARE_NAME,
                                   client_software_version=CLIENT_SOFTWARE_VERSION)
            try:
                response = await self.send(ApiKey.API_VERSIONS, request, version, timeout_ms=timeout_ms)
            except RequestTimedOutError:
                raise BrokerConnectError(f"ApiVersions to {self.host}:{self.port} timed out") from None
            if response.error_code == ErrorCode.UNSUPPORTED_VERSION and version > 0:
                # The broker answered at v0 with its own ApiVersions range (KIP-511).
                ours = [e for e in response.api_keys if e.api_key == ApiKey.API_VERSIONS]
                version = min(version - 1, ours[0].max_version) if ours else 0
                continue
            if response.error_code != ErrorCode.NONE:
                raise BrokerConnectError(f"ApiVersions to {self.host}:{self.port} failed with error "
                                         f"{response.error_code}")
            self.api_versions = {e.api_key: ApiVersionRange(e.api_key, e.min_version, e.max_version)
                                 for e in response.api_keys}
            return

    def negotiated_version(self, api_key: int) -> int:
        """The highest version of `api_key` both this client and the broker support."""
        spec = get_api(api_key)
        theirs = self.api_versions.get(int(api_key))
        if theirs is None:
            if not self.api_versions:          # not negotiated: assume our own newest version
                return spec.max_version
            raise UnsupportedVersionError(f"broker {self.host}:{self.port} does not support API key {api_key}")
        lo = max(spec.min_version, theirs.min_version)
        hi = min(spec.max_version, theirs.max_version)
        if lo > hi:
            raise UnsupportedVersionError(
                f"no common version of API key {api_key}: ours {spec.min_version}-{spec.max_version}, "
                f"broker's {theirs.min_version}-{theirs.max_version}")
        return hi

    # ---- requests ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def in_flight_count(self) -> int:
        return len(self._in_flight)

    def _encode(self, api_key: int, request: Any, version: int) -> tuple[int, bytes]:
        correlation_id = self._next_correlation_id
        self._next_correlation_id = (correlation_id + 1) & 0x7FFFFFFF
        body = get_api(api_key).request_codec(version).encode(request)
        head = encode_request_header(api_key, version, correlation_id, self.client_id)
        return correlation_id, _SIZE.pack(len(head) + len(body)) + head + body

    def _check_open(self) -> None:
        if self._closed:
            raise BrokerDisconnectedError(f"connection to {self.host}:{self.port} is closed"
                                          + (f": {self._close_error}" if self._close_error else ""))

    async def send(self, api_key: int, request: Any, version: int | None = None, *,
                   timeout_ms: int | None = None) -> Any:
        """Send a request and wait for its decoded response."""
        self._check_open()
        if version is None:
            version = self.negotiated_version(api_key)
        correlation_id, data = self._encode(api_key, request, version)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        timeout = self.request_timeout_ms if timeout_ms is None else timeout_ms
        timer = loop.call_later(timeout / 1000, self._on_timeout, correlation_id, api_key, timeout)
        self._in_flight.append(_InFlight(correlation_id, int(api_key), version, fut, timer))
        assert self._protocol is not None and self._protocol.transport is not None
        self._protocol.transport.write(data)
        await self._protocol.drain()
        return await fut

    async def send_no_response(self, api_key: int, request: Any, version: int | None = None) -> None:
        """Send a request the broker does not answer (Produce with acks=0)."""
        self._check_open()
        if version is None:
            version = self.negotiated_version(api_key)
        _cid, data = self._encode(api_key, request, version)
        assert self._protocol is not None and self._protocol.transport is not None
        self._protocol.transport.write(data)
        await self._protocol.drain()

    def _on_frame(self, frame: bytes) -> None:
        if not self._in_flight:
            self._fail(BrokerDisconnectedError(f"unexpected response from {self.host}:{self.port} with no request "
                                               "in flight"))
            return
        entry = self._in_flight.popleft()
        if entry.timer is not None:
            entry.timer.cancel()
        try:
            correlation_id, pos = parse_response_header(frame, entry.api_key, entry.version)
            if correlation_id != entry.correlation_id:
                raise ProtocolDecodeError(f"correlation id {correlation_id} does not match the expected "
                                          f"{entry.correlation_id}")
            version = entry.version
            if entry.api_key == ApiKey.API_VERSIONS and version > 0 and len(frame) >= pos + 2:
                (code,) = _ERROR_CODE.unpack_from(frame, pos)
                if code == ErrorCode.UNSUPPORTED_VERSION:
                    version = 0
            body, _end = get_api(entry.api_key).response_codec(version).decode(memoryview(frame), pos)
        except (ProtocolDecodeError, struct.error, ValueError, IndexError) as e:
            if not entry.future.done():
                entry.future.set_exception(BrokerDisconnectedError(f"bad response from {self.host}:{self.port}: {e}"))
            self._fail(BrokerDisconnectedError(f"bad response from {self.host}:{self.port}: {e}"))
            return
        if not entry.future.done():
            entry.future.set_result(body)

    def _on_timeout(self, correlation_id: int, api_key: int, timeout_ms: int) -> None:
        for entry in self._in_flight:
            if entry.correlation_id == correlation_id:
                if not entry.future.done():
                    entry.future.set_exception(RequestTimedOutError(
                        f"request {ApiKey(api_key).name} (correlation id {correlation_id}) to "
                        f"{self.host}:{self.port} timed out after {timeout_ms} ms"))
                break
        self._fail(BrokerDisconnectedError(f"connection to {self.host}:{self.port} closed after a request "
                                           "timed out"))

    def _fail(self, error: Exception) -> None:
        """Close the connection and fail everything in flight with `error`."""
        if not self._closed:
            self._closed = True
            self._close_error = error
            if self._protocol is not None and self._protocol.transport is not None:
                self._protocol.transport.close()
        while self._in_flight:
            entry = self._in_flight.popleft()
            if entry.timer is not None:
                entry.timer.cancel()
            if not entry.future.done():
                entry.future.set_exception(error)

    async def close(self) -> None:
        """Close the connection; requests still in flight fail with BrokerDisconnectedError."""
        transport = self._protocol.transport if self._protocol is not None else None
        self._fail(BrokerDisconnectedError(f"connection to {self.host}:{self.port} was closed by the client"))
        if transport is not None:
            transport.close()
            # Give the transport one loop iteration to run connection_lost.
            await asyncio.sleep(0)

    async def __aenter__(self) -> BrokerConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
