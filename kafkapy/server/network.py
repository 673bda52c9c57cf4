"""The broker's listeners: size-prefixed frames in, ordered responses out.

One `SocketServer` owns one asyncio server per listener. Every accepted socket gets a
`Connection`, an `asyncio.BufferedProtocol` that

* receives into a reusable buffer and cuts it into frames (int32 size, then header + body);
  a negative size or one above `socket.request.max.bytes` closes the connection before
  anything is allocated;
* hands each complete frame to the `RequestHandler`, which returns a `Response`, an awaitable
  of one, `NO_RESPONSE` or `CLOSE_CONNECTION`;
* writes responses strictly in request order. Responses that are ready after one read are
  coalesced into one write; a response still being computed holds back the ones behind it;
* stops reading while too many responses (count or bytes) are held back behind an unfinished
  one, or while the writer is blocked (slow reader), and resumes once they drain;
* sends `FileRegion` chunks without blocking the loop: regions up to
  `inline_region_max_bytes` (64 KiB) are pread and coalesced with the bytes around them (one
  write: cheaper than write + sendfile at that size); larger ones go out with `os.sendfile` on
  the socket once the transport's own buffer is empty, the bytes before them with `os.writev`,
  and a full socket is waited out on a duplicate descriptor (`loop.add_writer`). The
  `region_send_mode="pread"` fallback copies through the transport instead (about twice the
  CPU per byte; bench/bench_network.py);
* closes itself after `connections.max.idle.ms` without traffic; a peer that half-closes
  (EOF) still gets the responses it is owed, then the connection closes.

Frame ownership: the memoryview passed to the handler stays valid for as long as anything
references it. The receive buffer is reused in place only when no frame cut from it is still
alive (checked with the buffer's reference count); otherwise the connection moves on to a
fresh buffer and the old one lives on with its frames.
"""
from __future__ import annotations

import asyncio
import errno
import functools
import itertools
import logging
import os
import socket
import struct
import sys
from collections import deque
from dataclasses import dataclass
from typing import Any, Awaitable, Protocol, Sequence, Union

from kafkapy.common.clock import SYSTEM_CLOCK, Clock, TimerHandle
from kafkapy.common.types import FileRegion
from kafkapy.server.request import CLOSE_CONNECTION, NO_RESPONSE, Response, ResponseAction

log = logging.getLogger(__name__)

_SIZE = struct.Struct(">i")
_unpack_size = _SIZE.unpack_from
_pack_size = _SIZE.pack

HandlerResult = Union[Response, ResponseAction, Awaitable[Any], None]


class RequestHandler(Protocol):
    """Consumes one complete request frame (header + body, no size prefix)."""

    def handle(self, conn: Connection, frame: memoryview) -> HandlerResult:
        ...


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """One entry of `listeners`: name (e.g. PLAINTEXT), host, port (0 = ephemeral)."""

    name: str
    host: str
    port: int
    security_protocol: str = "PLAINTEXT"


@dataclass(frozen=True, slots=True)
class SocketServerConfig:
    socket_request_max_bytes: int = 104857600
    connections_max_idle_ms: int = 600000
    # Kafka's socket.send.buffer.bytes / socket.receive.buffer.bytes; -1 keeps the OS default.
    socket_send_buffer_bytes: int = -1
    socket_receive_buffer_bytes: int = -1
    socket_listen_backlog_size: int = 128
    # Ordered pipeline bound: stop reading once this many responses are held back (behind
    # one still being computed, or because the writer is blocked).
    max_pending_responses: int = 32
    # ... or once the ready responses held back that way take this many bytes of memory.
    max_pending_response_bytes: int = 16 * 1024 * 1024
    # Ready responses from one read are written together, up to this many per write.
    max_coalesced_responses: int = 1024
    # Receive buffer: a connection starts with the small one and switches to the big one
    # while reads fill it (and back after many reads that do not); larger frames get their own.
    initial_receive_buffer_bytes: int = 16 * 1024
    receive_buffer_bytes: int = 256 * 1024
    # A grown buffer above this size is not kept once empty.
    max_retained_receive_buffer_bytes: int = 8 * 1024 * 1024
    # Frames at least this big are read up to their end only, so they never need moving.
    large_frame_bytes: int = 128 * 1024
    # Transport write buffer flow control.
    write_buffer_high_bytes: int = 1024 * 1024
    write_buffer_low_bytes: int = 256 * 1024
    # FileRegion sending: "sendfile" or "pread" (copy through the transport).
    region_send_mode: str = "sendfile"
    # Regions up to this size are read and coalesced with the surrounding bytes: below
    # ~64-128 KiB, pread + one write costs less CPU than write + sendfile (bench_network.py).
    inline_region_max_bytes: int = 64 * 1024
    # pread mode: bytes read per step.
    pread_chunk_bytes: int = 1024 * 1024
    # Bytes-like chunks of a batch up to this total are joined into one buffer.
    join_max_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        if self.region_send_mode not in ("sendfile", "pread"):
            raise ValueError(f"region_send_mode must be 'sendfile' or 'pread', not {self.region_send_mode!r}")


def _memory_size(response: Response) -> int:
    """Bytes a response keeps in memory (file regions excluded)."""
    return sum(len(c) for c in response.chunks if type(c) is not FileRegion)


class _Pending:
    """A response slot waiting for its awaitable."""

    __slots__ = ("future", "done", "result")

    def __init__(self, future: asyncio.Future[Any]) -> None:
        self.future = future
        self.done = False
        self.result: Any = None


class _CloseMarker:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<close>"


_CLOSE = _CloseMarker()


class Connection(asyncio.BufferedProtocol):
    """One client connection; see the module docstring for the rules it follows."""

    # Settable by dispatch once known (ApiVersions v3 carries the software name/version).
    client_id: str | None
    client_software_name: str | None
    client_software_version: str | None

    def __init__(self, server: SocketServer, listener: ListenerConfig) -> None:
        self._server = server
        self._handler = server.handler
        self._clock = server.clock
        cfg = server.config
        self._cfg = cfg
        self.listener = listener
        self.listener_name = listener.name
        self.security_protocol = listener.security_protocol
        self.connection_id = ""
        self.peer_host = ""
        self.peer_port = 0
        self.client_id = None
        self.client_software_name = None
        self.client_software_version = None
        self.requests_received = 0
        self.bytes_received = 0
        self.bytes_sent = 0
        self.send_waits = 0  # times a region send waited for the socket to become writable

        self._max_frame = cfg.socket_request_max_bytes
        self._max_pending = max(1, cfg.max_pending_responses)
        self._max_held_bytes = max(1, cfg.max_pending_response_bytes)
        self._coalesce_max = max(self._max_pending, cfg.max_coalesced_responses)
        self._large_frame = cfg.large_frame_bytes
        self._use_sendfile = cfg.region_send_mode == "sendfile"
        self._inline_region_max = cfg.inline_region_max_bytes
        self._join_max = cfg.join_max_bytes

        self._transport: asyncio.Transport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock_fd = -1
        self._dup_fd = -1
        self._writer_registered = False
        self._sendfile_waiting = False

        # Receive buffer: bytes [start, end) are unconsumed; `need` is the total size
        # (prefix included) of the partial frame at `start`, 0 while unknown.
        self._buf = bytearray(0)
        self._recv_mv = memoryview(self._buf)
        self._base_refs = 0
        self._start = 0
        self._end = 0
        self._need = 0
        self._wide = False  # reads fill the buffer: use receive_buffer_bytes
        self._small_reads = 0  # consecutive reads that did not fill the buffer
        self._read_room = -1
        self._new_buffer(cfg.initial_receive_buffer_bytes)

        self._queue: deque[Any] = deque()  # Response | _Pending | _CLOSE, request order
        self._unready = 0  # _Pending slots in the queue not done yet
        self._held_bytes = 0  # in-memory bytes of ready responses held behind unfinished ones
        self._out: deque[Any] = deque()  # chunks being written: bytes-like | FileRegion | _CLOSE
        self._write_paused = False
        self._awaiting_drain = False
        self._reading_paused = False
        self._processing = False
        self._eof = False
        self._close_queued = False  # no more requests are read
        self._closing = False  # transport close/abort requested
        self._closed = False
        self._last_active_ms = 0
        self._idle_timer: TimerHandle | None = None
        self.closed_event = asyncio.Event()

    # ------------------------------------------------------------------ info
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending_responses(self) -> int:
        return len(self._queue) + (1 if self._out else 0)

    @property
    def reading_paused(self) -> bool:
        return self._reading_paused

    def __repr__(self) -> str:
        return f"Connection({self.connection_id or '?'}, listener={self.listener_name})"

    # ------------------------------------------------------------- lifecycle
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport
        self._loop = asyncio.get_running_loop()
        sock = transport.get_extra_info("socket")
        local = transport.get_extra_info("sockname") or ("?", 0)
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer_host, self.peer_port = peer[0], peer[1]
        self.connection_id = (
            f"{local[0]}:{local[1]}-{peer[0]}:{peer[1]}-{self._server._next_connection_index()}"
        )
        if sock is not None:
            self._sock_fd = sock.fileno()
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self._cfg.socket_send_buffer_bytes > 0:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._cfg.socket_send_buffer_bytes)
                if self._cfg.socket_receive_buffer_bytes > 0:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._cfg.socket_receive_buffer_bytes)
            except OSError as exc:
                log.debug("Could not set socket options on %s: %s", self.connection_id, exc)
        transport.set_write_buffer_limits(self._cfg.write_buffer_high_bytes, self._cfg.write_buffer_low_bytes)
        self._last_active_ms = self._clock.monotonic_ms()
        self._server._register(self)
        self._schedule_idle_check(self._cfg.connections_max_idle_ms)
        log.debug("Accepted connection %s on listener %s", self.connection_id, self.listener_name)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._closed:
            return
        self._closed = True
        self._closing = True
        if exc is not None:
            log.debug("Connection %s lost: %s", self.connection_id, exc)
        self._stop_writer()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self._queue.clear()
        self._out.clear()
        self._server._unregister(self)
        self.closed_event.set()

    def eof_received(self) -> bool:
        # The peer will send nothing more: answer what it already sent, then close.
        self._eof = True
        if self._end > self._start:
            log.debug("Connection %s: peer closed with %d bytes of an incomplete frame",
                      self.connection_id, self._end - self._start)
        self._process_frames()
        return True

    def close(self) -> None:
        """Close now, dropping pending responses."""
        self._abort(None)

    def close_after_pending(self) -> None:
        """Stop reading requests; close once the responses already owed are written."""
        self._queue_close()
        self._flush()
        self._update_reading()

    # --------------------------------------------------------------- reading
    def _new_buffer(self, capacity: int) -> None:
        self._buf = bytearray(capacity)
        self._recv_mv = memoryview(self._buf)
        self._base_refs = sys.getrefcount(self._buf)

    def _target_capacity(self) -> int:
        return self._cfg.receive_buffer_bytes if self._wide else self._cfg.initial_receive_buffer_bytes

    def _may_shrink(self, capacity: int) -> bool:
        return capacity > self._cfg.max_retained_receive_buffer_bytes or self._small_reads >= 32

    def _relocate(self, capacity: int) -> None:
        """Move the unconsumed bytes to the start of a buffer of at least `capacity` bytes."""
        start, end = self._start, self._end
        partial = end - start
        cur = len(self._buf)
        shared = sys.getrefcount(self._buf) > self._base_refs  # a frame cut from it is alive
        if shared or capacity > cur or (cur > capacity and self._may_shrink(cur)):
            old_mv = self._recv_mv
            self._new_buffer(capacity)
            if partial:
                self._recv_mv[0:partial] = old_mv[start:end]
        elif partial and start:
            mv = self._recv_mv
            mv[0:partial] = mv[start:end]
        self._start = 0
        self._end = partial

    def get_buffer(self, sizehint: int) -> memoryview:
        start, end = self._start, self._end
        need = self._need
        target = self._target_capacity()
        if start == end:
            cap = len(self._buf)
            if start or cap != target:
                # Everything consumed: rewind, changing buffers if a frame still uses this one
                # or the connection's traffic calls for another size.
                self._start = self._end = start = end = 0
                if sys.getrefcount(self._buf) > self._base_refs or target > cap or \
                        (cap > target and self._may_shrink(cap)):
                    self._new_buffer(target)
                    self._small_reads = 0
        if need:
            if start + need > len(self._buf):
                self._relocate(max(need, target))
                start, end = 0, self._end
            if need >= self._large_frame:
                # Read this frame up to its end only: the buffer then empties without copying.
                self._read_room = -1
                return self._recv_mv[end:start + need]
        elif len(self._buf) - end < 4096 or (start and len(self._buf) - end < 65536):
            self._relocate(max(target, end - start + 4096))
            end = self._end
        self._read_room = len(self._buf) - end
        return self._recv_mv[end:]

    def buffer_updated(self, nbytes: int) -> None:
        self._end += nbytes
        room = self._read_room
        if room >= 0:
            if nbytes >= room:  # the socket had more: use the big buffer
                self._wide = True
                self._small_reads = 0
            elif self._small_reads < 1000:
                self._small_reads += 1
                if self._small_reads == 32:
                    self._wide = False
        self.bytes_received += nbytes
        self._last_active_ms = self._clock.monotonic_ms()
        self._process_frames()

    def _process_frames(self) -> None:
        """Handle every complete frame in the buffer, as long as the pipeline allows."""
        if self._processing or self._closing:
            return
        self._processing = True
        try:
            self._process_frames_inner()
        finally:
            self._processing = False
        if self._queue:
            self._flush()
        self._update_reading()

    def _process_frames_inner(self) -> None:
        buf = self._buf
        frames_mv: memoryview | None = None
        max_frame = self._max_frame
        queue = self._queue
        while not self._close_queued and not self._closing:
            start = self._start
            avail = self._end - start
            if avail < 4:
                self._need = 0
                break
            size = _unpack_size(buf, start)[0]
            if size < 0 or size > max_frame:
                self._framing_error(size)
                return
            total = size + 4
            if avail < total:
                self._need = total
                break
            self._need = 0
            if self._out or self._write_paused:
                break  # the writer is blocked: leave the frame in the buffer
            if len(queue) >= self._max_pending or self._held_bytes >= self._max_held_bytes:
                # All ready: keep coalescing (up to max_coalesced_responses). Something still
                # being computed: write what precedes it and respect the bounds.
                if self._unready or len(queue) >= self._coalesce_max:
                    self._flush()
                    if len(queue) >= self._max_pending or self._held_bytes >= self._max_held_bytes \
                            or self._out or self._write_paused:
                        break  # backpressure: too many responses held back
            if frames_mv is None:
                frames_mv = memoryview(buf)
            frame = frames_mv[start + 4:start + total]
            self._start = start + total
            self.requests_received += 1
            try:
                result = self._handler.handle(self, frame)
            except Exception:
                log.exception("Unexpected error from the request handler on connection %s; closing it",
                              self.connection_id)
                self._abort(None)
                return
            del frame
            if type(result) is Response:
                queue.append(result)
                if self._unready:
                    self._held_bytes += _memory_size(result)
            elif result is None or result is NO_RESPONSE:
                pass
            else:
                self._enqueue_other(result)
        if self._eof and not self._close_queued and not self._closing and \
                (self._end - self._start < 4 or self._end - self._start < self._need):
            self._queue_close()

    def _enqueue_other(self, result: Any) -> None:
        if result is CLOSE_CONNECTION:
            self._queue_close()
            return
        if isinstance(result, Response):
            self._queue.append(result)
            if self._unready:
                self._held_bytes += _memory_size(result)
            return
        try:
            fut = asyncio.ensure_future(result)
            if fut is not result:
                # A coroutine became a task: the server keeps it alive even if this
                # connection goes away before it finishes.
                self._server._track(fut)
        except TypeError:
            log.error("Request handler returned %r on connection %s; closing it",
                      type(result).__name__, self.connection_id)
            self._abort(None)
            return
        slot = _Pending(fut)
        self._queue.append(slot)
        self._unready += 1
        fut.add_done_callback(functools.partial(self._on_pending_done, slot))

    def _on_pending_done(self, slot: _Pending, fut: asyncio.Future[Any]) -> None:
        try:
            result = fut.result()
        except asyncio.CancelledError:
            log.info("Response on connection %s was cancelled; closing the connection", self.connection_id)
            result = CLOSE_CONNECTION
        except Exception:
            log.exception("Unexpected error from a delayed response on connection %s; closing it",
                          self.connection_id)
            result = CLOSE_CONNECTION
        if result is None:
            result = NO_RESPONSE
        elif not isinstance(result, (Response, ResponseAction)):
            log.error("Delayed response on connection %s resolved to %r; closing it",
                      self.connection_id, type(result).__name__)
            result = CLOSE_CONNECTION
        slot.result = result
        slot.done = True
        self._unready -= 1
        if self._unready and type(result) is Response:
            self._held_bytes += _memory_size(result)
        if self._closed:
            return
        if self._queue and self._queue[0] is slot:
            self._flush()
            self._update_reading()

    def _queue_close(self) -> None:
        if not self._close_queued:
            self._close_queued = True
            self._queue.append(_CLOSE)

    def _update_reading(self) -> None:
        """Pause or resume reading from the socket according to the pipeline state."""
        if self._closing or self._transport is None:
            return
        blocked = (self._close_queued or len(self._queue) >= self._max_pending
                   or self._held_bytes >= self._max_held_bytes or bool(self._out) or self._write_paused)
        if blocked:
            if not self._reading_paused:
                self._reading_paused = True
                self._transport.pause_reading()
            return
        if self._reading_paused:
            # Frames left in the buffer while paused go first.
            if not self._processing and self._has_complete_frame():
                self._process_frames()
                return  # _process_frames ends with _update_reading
            if self._eof:
                return
            self._reading_paused = False
            self._transport.resume_reading()

    def _has_complete_frame(self) -> bool:
        avail = self._end - self._start
        if avail < 4:
            return False
        size = _unpack_size(self._buf, self._start)[0]
        return size < 0 or size > self._max_frame or avail >= size + 4

    def _framing_error(self, size: int) -> None:
        if size < 0:
            reason = f"invalid negative frame size {size}"
        else:
            reason = f"frame size {size} larger than socket.request.max.bytes {self._max_frame}"
        log.warning("Closing connection %s from %s:%d on listener %s: %s",
                    self.connection_id, self.peer_host, self.peer_port, self.listener_name, reason)
        self._abort(reason)

    # --------------------------------------------------------------- writing
    def _flush(self) -> None:
        """Move the ready prefix of the response queue to the writer and write it."""
        if self._closing or self._out or self._write_paused:
            return
        queue = self._queue
        out = self._out
        while queue:
            item = queue[0]
            if type(item) is _Pending:
                if not item.done:
                    break
                queue.popleft()
                item = item.result
                if item is NO_RESPONSE:
                    continue
                if item is CLOSE_CONNECTION:
                    item = _CLOSE
            else:
                queue.popleft()
            if item is _CLOSE:
                out.append(_CLOSE)
                break
            chunks = item.chunks
            if len(chunks) == 1:
                out.append(_pack_size(len(chunks[0])))
                out.append(chunks[0])
            else:
                out.append(_pack_size(sum(map(len, chunks))))
                out.extend(chunks)
            if item.close_after:
                out.append(_CLOSE)
                break
        self._held_bytes = self._count_held() if self._unready else 0
        if out:
            self._drain_out()

    def _count_held(self) -> int:
        """In-memory bytes of the ready responses waiting in the queue."""
        held = 0
        for item in self._queue:
            if type(item) is _Pending:
                item = item.result if item.done else None
            if type(item) is Response:
                held += _memory_size(item)
        return held

    def _drain_out(self) -> None:
        try:
            self._drain_out_inner()
        except Exception:  # a malformed response (not bytes-like) or a transport bug
            log.exception("Unexpected error writing to connection %s; closing it", self.connection_id)
            self._abort(None)

    def _drain_out_inner(self) -> None:
        out = self._out
        batch: list[Any] = []
        while out:
            if self._closing:
                return
            c = out[0]
            tc = type(c)
            if tc is FileRegion:
                if c.size <= self._inline_region_max:
                    data = self._pread(c, c.size)
                    if data is None:
                        return
                    batch.append(data)
                    out.popleft()
                    continue
                if self._use_sendfile:
                    if self._transport.get_write_buffer_size():  # type: ignore[union-attr]
                        if batch:
                            self._write(batch)
                        self._wait_for_drain()
                        return
                    if batch:
                        # The transport is idle: the bytes before the region go straight to
                        # the socket too, so a full socket costs one wait, not a drain dance.
                        if not self._write_direct(batch):
                            return
                        batch = []
                    out.popleft()
                    if not self._send_region(c):
                        return
                else:
                    if batch:
                        self._write(batch)
                        batch = []
                        if self._closing:
                            return
                    if self._write_paused:
                        return
                    n = min(c.size, self._cfg.pread_chunk_bytes)
                    data = self._pread(c, n)
                    if data is None:
                        return
                    if n == c.size:
                        out.popleft()
                    else:
                        out[0] = FileRegion(c.fd, c.position + n, c.size - n)
                    self._write([data])
                    if self._write_paused:
                        return
            elif c is _CLOSE:
                if batch:
                    self._write(batch)
                out.clear()
                self._close_transport()
                return
            else:
                batch.append(c)
                out.popleft()
        if batch:
            self._write(batch)

    def _pread(self, region: FileRegion, n: int) -> bytes | None:
        """The first `n` bytes of `region`, or None after closing the connection."""
        try:
            data = os.pread(region.fd, n, region.position)
        except OSError as exc:
            log.error("Reading file region %r for connection %s failed: %s; closing it",
                      region, self.connection_id, exc)
            self._abort(None)
            return None
        if len(data) != n:
            self._region_error(region, len(data))
            return None
        return data

    def _write(self, batch: list[Any]) -> None:
        transport = self._transport
        assert transport is not None
        self._last_active_ms = self._clock.monotonic_ms()
        if len(batch) == 1:
            data = batch[0]
            self.bytes_sent += len(data)
            transport.write(data)
            return
        total = sum(map(len, batch))
        self.bytes_sent += total
        if total <= self._join_max:
            transport.write(b"".join(batch))
        else:
            transport.writelines(batch)

    def _write_direct(self, batch: list[Any]) -> bool:
        """writev `batch` to the socket (transport buffer empty); False if the rest must wait."""
        if len(batch) > 64:  # stay far below IOV_MAX; these are headers and small responses
            batch = [b"".join(batch)]
        try:
            n = os.writev(self._sock_fd, batch)
        except BlockingIOError:
            n = 0
        except OSError as exc:
            if exc.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                log.debug("Connection %s closed by peer while sending: %s", self.connection_id, exc)
            else:
                log.warning("Write failed on connection %s: %s", self.connection_id, exc)
            self._abort(None)
            return False
        self.bytes_sent += n
        self._last_active_ms = self._clock.monotonic_ms()
        total = sum(map(len, batch))
        if n == total:
            return True
        # Put the unsent tail back in front of the queue, in order, and wait.
        rest: list[Any] = []
        for chunk in batch:
            size = len(chunk)
            if n >= size:
                n -= size
                continue
            rest.append(memoryview(chunk)[n:] if n else chunk)
            n = 0
        self._out.extendleft(reversed(rest))
        self._wait_writable()
        return False

    def _send_region(self, region: FileRegion) -> bool:
        """Send a region with os.sendfile; False if the rest waits for writability."""
        fd = self._sock_fd
        in_fd, pos, remaining = region.fd, region.position, region.size
        while remaining > 0:
            try:
                n = os.sendfile(fd, in_fd, pos, remaining)
            except BlockingIOError:
                self._out.appendleft(FileRegion(in_fd, pos, remaining))
                self._wait_writable()
                return False
            except OSError as exc:
                if exc.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                    log.debug("Connection %s closed by peer while sending: %s", self.connection_id, exc)
                else:
                    log.warning("sendfile failed on connection %s: %s", self.connection_id, exc)
                self._abort(None)
                return False
            if n == 0:
                self._region_error(FileRegion(in_fd, pos, remaining), 0)
                return False
            pos += n
            remaining -= n
            self.bytes_sent += n
        return True

    def _region_error(self, region: FileRegion, got: int) -> None:
        log.error("File region %r ended early (got %d bytes) on connection %s; closing it",
                  region, got, self.connection_id)
        self._abort(None)

    def _wait_writable(self) -> None:
        loop = self._loop
        assert loop is not None
        self.send_waits += 1
        self._sendfile_waiting = True
        if self._dup_fd < 0:
            # The transport owns the socket's fd; watch a duplicate of it.
            self._dup_fd = os.dup(self._sock_fd)
        if not self._writer_registered:
            loop.add_writer(self._dup_fd, self._on_writable)
            self._writer_registered = True

    def _on_writable(self) -> None:
        self._sendfile_waiting = False
        if not self._closing:
            self._writer_progress()
        # Stay registered while sendfile keeps hitting a full socket (saves two epoll_ctl
        # calls per round); otherwise stop watching, as the fd is level-triggered.
        if self._writer_registered and not self._sendfile_waiting:
            self._writer_registered = False
            self._loop.remove_writer(self._dup_fd)  # type: ignore[union-attr]

    def _wait_for_drain(self) -> None:
        # Ask the transport to report when its buffer is completely empty.
        self._awaiting_drain = True
        self._transport.set_write_buffer_limits(high=0, low=0)  # type: ignore[union-attr]

    def _writer_progress(self) -> None:
        self._drain_out()
        if not self._out:
            self._flush()
        self._update_reading()

    def _stop_writer(self) -> None:
        if self._writer_registered:
            self._writer_registered = False
            try:
                self._loop.remove_writer(self._dup_fd)  # type: ignore[union-attr]
            except (RuntimeError, ValueError) as exc:  # loop closing
                log.debug("remove_writer failed for %s: %s", self.connection_id, exc)
        if self._dup_fd >= 0:
            os.close(self._dup_fd)
            self._dup_fd = -1

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._awaiting_drain:
            self._awaiting_drain = False
            if not self._closing:
                self._transport.set_write_buffer_limits(  # type: ignore[union-attr]
                    self._cfg.write_buffer_high_bytes, self._cfg.write_buffer_low_bytes)
        if self._closing:
            return
        self._writer_progress()

    # --------------------------------------------------------------- closing
    def _close_transport(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._stop_writer()
        if self._transport is not None:
            self._transport.close()

    def _abort(self, reason: str | None) -> None:
        if self._closing:
            return
        self._closing = True
        self._queue.clear()
        self._out.clear()
        self._stop_writer()
        if self._transport is not None:
            self._transport.abort()

    # ------------------------------------------------------------ idle reaping
    def _schedule_idle_check(self, delay_ms: int) -> None:
        if self._cfg.connections_max_idle_ms > 0:
            self._idle_timer = self._clock.call_later(max(1, delay_ms), self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self._closing:
            return
        max_idle = self._cfg.connections_max_idle_ms
        idle_for = self._clock.monotonic_ms() - self._last_active_ms
        if idle_for >= max_idle and not self._queue and not self._out:
            log.debug("Closing connection %s idle for %d ms (connections.max.idle.ms=%d)",
                      self.connection_id, idle_for, max_idle)
            self._server.idle_closed += 1
            self._abort(None)
            return
        self._schedule_idle_check(max_idle - idle_for if idle_for < max_idle else max_idle)



async def bind_address(loop: asyncio.AbstractEventLoop, host: str, port: int) -> str | None:
    """The one address a listener binds, as Kafka's acceptor does: none given (or 0.0.0.0 / ::) means
    every interface; a name means the first address it resolves to, IPv4 first (Java's default).

    Binding every address of a name instead would fail where a name lists an address the machine
    cannot use (``localhost`` -> ``::1`` with IPv6 off).
    """
    if not host:
        return None
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        return host            # already an address
    except OSError:
        pass
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(errno.EADDRNOTAVAIL, f"{host} resolves to no address")
    v4 = [info for info in infos if info[0] == socket.AF_INET]
    return str((v4 or infos)[0][4][0])

class SocketServer:
    """Listeners of one broker and the connections they accepted."""

    def __init__(self, handler: RequestHandler, listeners: Sequence[ListenerConfig],
                 config: SocketServerConfig | None = None, clock: Clock | None = None) -> None:
        self.handler = handler
        self.listeners = tuple(listeners)
        self.config = config or SocketServerConfig()
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self._servers: dict[str, asyncio.AbstractServer] = {}
        self._bound: dict[str, tuple[str, int]] = {}
        self._connections: dict[str, Connection] = {}
        self._index = itertools.count()
        self.connections_created = 0
        self.connections_closed = 0
        self.idle_closed = 0
        self._tasks: set[asyncio.Future[Any]] = set()
        self._closed_totals = [0, 0, 0]  # requests, bytes received, bytes sent of closed connections
        self._stopping = False

    # ------------------------------------------------------------------ start
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        names = [lsn.name for lsn in self.listeners]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate listener names in {names}")
        for lsn in self.listeners:
            try:
                address = await bind_address(loop, lsn.host, lsn.port)
                server = await loop.create_server(
                    functools.partial(Connection, self, lsn), address, lsn.port,
                    reuse_address=True, backlog=self.config.socket_listen_backlog_size)
            except OSError as exc:
                for started in self._servers.values():
                    started.close()
                self._servers.clear()
                self._bound.clear()
                raise OSError(exc.errno, f"cannot bind listener {lsn.name} to {lsn.host}:{lsn.port}: "
                                         f"{exc.strerror}") from exc
            self._servers[lsn.name] = server
            sockname = server.sockets[0].getsockname()
            self._bound[lsn.name] = (sockname[0], sockname[1])
            log.info("Listening on %s (%s:%d) for listener %s",
                     lsn.security_protocol, sockname[0], sockname[1], lsn.name)

    def bound_port(self, listener_name: str | None = None) -> int:
        """The port a listener is bound to (the first listener when no name is given)."""
        if listener_name is None:
            listener_name = self.listeners[0].name
        return self._bound[listener_name][1]

    @property
    def bound_addresses(self) -> dict[str, tuple[str, int]]:
        return dict(self._bound)

    @property
    def connections(self) -> list[Connection]:
        return list(self._connections.values())

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def _next_connection_index(self) -> int:
        return next(self._index) & 0x7FFFFFFF

    def _register(self, conn: Connection) -> None:
        self.connections_created += 1
        self._connections[conn.connection_id] = conn
        if self._stopping:
            conn.close()

    def _unregister(self, conn: Connection) -> None:
        if self._connections.pop(conn.connection_id, None) is not None:
            self.connections_closed += 1
            self._closed_totals[0] += conn.requests_received
            self._closed_totals[1] += conn.bytes_received
            self._closed_totals[2] += conn.bytes_sent

    def _track(self, task: asyncio.Future[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def inflight_tasks(self) -> int:
        """Handler coroutines still running (their connection may be gone)."""
        return len(self._tasks)

    def stats(self) -> dict[str, int]:
        """Counters for metrics: connections, requests and bytes (closed connections included)."""
        live = list(self._connections.values())
        return {
            "connection_count": len(live),
            "connections_created": self.connections_created,
            "connections_closed": self.connections_closed,
            "idle_connections_closed": self.idle_closed,
            "requests_received": self._closed_totals[0] + sum(c.requests_received for c in live),
            "bytes_received": self._closed_totals[1] + sum(c.bytes_received for c in live),
            "bytes_sent": self._closed_totals[2] + sum(c.bytes_sent for c in live),
            "reading_paused": sum(1 for c in live if c.reading_paused),
        }

    # --------------------------------------------------------------- shutdown
    async def shutdown(self, timeout_ms: int = 30000) -> None:
        """Stop accepting, let in-flight responses finish within the deadline, close everything."""
        self._stopping = True
        for server in self._servers.values():
            server.close()
        conns = list(self._connections.values())
        for conn in conns:
            conn.close_after_pending()
        if conns:
            waits = [asyncio.ensure_future(c.closed_event.wait()) for c in conns]
            done, pending = await asyncio.wait(waits, timeout=timeout_ms / 1000.0)
            for w in pending:
                w.cancel()
            if pending:
                log.warning("Shutdown deadline of %d ms passed with %d connections still open; aborting them",
                            timeout_ms, len(pending))
        for conn in list(self._connections.values()):
            conn.close()
        for conn in conns:
            if not conn.closed:
                await asyncio.wait_for(conn.closed_event.wait(), timeout=5.0)
        for server in self._servers.values():
            await server.wait_closed()
        self._servers.clear()
        log.info("Socket server shut down")
