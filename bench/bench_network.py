"""Network layer benchmark: kafkapy.server.network against a client in another process.

    .venv/bin/python bench/bench_network.py                # everything
    .venv/bin/python bench/bench_network.py produce fetch  # chosen parts

baseline: what this machine does right now without kafkapy code (a BufferedProtocol that only
         counts bytes; a blocking os.sendfile loop), to read the other figures against.
produce: the client pipelines N produce-like frames (16 KiB, 1 MiB, and 100 B) and reads the small
         acks the trivial handler returns; prints MB/s and requests/s.
fetch:   each request is answered with a FileRegion (64 KiB, 1 MiB, 64 MiB) of a cached file;
         compares the default (regions <= 64 KiB read and coalesced, sendfile above), sendfile
         only, pread + transport.write only, and always inlined; prints MB/s and server CPU.
The server runs on uvloop in this process; the client is a plain blocking-socket process
(sender thread + receiver), so both cores are busy. Compare with STYLE.md: ~5 GB/s receive of
1 MiB frames, ~2 GB/s at 16 KiB, sendfile ~8 GB/s, read+send ~4.4 GB/s.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvloop  # noqa: E402

from kafkapy.common.types import FileRegion  # noqa: E402
from kafkapy.server.network import Connection, ListenerConfig, SocketServer, SocketServerConfig  # noqa: E402
from kafkapy.server.request import Response  # noqa: E402

ACK = Response((b"\x00\x00\x00\x01" + b"\x00" * 12,))  # a 16-byte "produce response"


class ProduceHandler:
    def handle(self, conn: Connection, frame: memoryview) -> Response:
        return ACK


class FetchHandler:
    def __init__(self, region: FileRegion) -> None:
        self.head = b"\x00\x00\x00\x02" + b"\x00" * 60
        self.region = region

    def handle(self, conn: Connection, frame: memoryview) -> Response:
        return Response((self.head, self.region))


# ---------------------------------------------------------------------------- client side

_RECV_BUF = memoryview(bytearray(4 * 1024 * 1024))


def _recv_exact_count(sock: socket.socket, total: int) -> None:
    view = _RECV_BUF
    got = 0
    while got < total:
        n = sock.recv_into(view, min(len(view), total - got))
        if n == 0:
            raise ConnectionError(f"server closed after {got} of {total} bytes")
        got += n


def client_produce(port: int, frame_size: int, count: int) -> dict[str, Any]:
    body = b"\x00\x00\x00\x00" + b"p" * (frame_size - 4)
    frame = struct.pack(">i", len(body)) + body
    per_write = max(1, (4 * 1024 * 1024) // len(frame))
    chunk = frame * per_write
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send() -> None:
        left = count
        while left > 0:
            n = min(per_write, left)
            sock.sendall(chunk if n == per_write else frame * n)
            left -= n

    t0 = time.perf_counter()
    sender = threading.Thread(target=send)
    sender.start()
    _recv_exact_count(sock, count * (4 + len(ACK.chunks[0])))
    elapsed = time.perf_counter() - t0
    sender.join()
    sock.close()
    return {"frame_bytes": frame_size, "requests": count, "seconds": elapsed,
            "MB_per_s": count * len(frame) / elapsed / 1e6, "requests_per_s": count / elapsed}


def client_fetch(port: int, region_size: int, count: int, inflight: int) -> dict[str, Any]:
    body = b"\x00\x00\x00\x00f"
    frame = struct.pack(">i", len(body)) + body
    response_size = 4 + 64 + region_size
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as every Kafka client does
    t0 = time.perf_counter()
    sent = 0
    for _ in range(min(inflight, count)):
        sock.sendall(frame)
        sent += 1
    for _ in range(count):
        _recv_exact_count(sock, response_size)
        if sent < count:
            sock.sendall(frame)
            sent += 1
    elapsed = time.perf_counter() - t0
    sock.close()
    return {"region_bytes": region_size, "responses": count, "seconds": elapsed,
            "MB_per_s": count * response_size / elapsed / 1e6}


def client_sink(port: int, total: int) -> dict[str, Any]:
    sock = socket.create_connection(("127.0.0.1", port))
    _recv_exact_count(sock, total)
    return {}


def client_main(argv: list[str]) -> None:
    kind = argv[0]
    port = int(argv[1])
    if kind == "stream":
        result = client_stream(port, int(argv[2]))
    elif kind == "sink":
        result = client_sink(port, int(argv[2]))
    elif kind == "produce":
        result = client_produce(port, int(argv[2]), int(argv[3]))
    else:
        result = client_fetch(port, int(argv[2]), int(argv[3]), int(argv[4]))
    print(json.dumps(result))


# ---------------------------------------------------------------------------- server side

async def serve_and_run(handler: Any, config: SocketServerConfig, client_args: list[str]) -> dict[str, Any]:
    server = SocketServer(handler, [ListenerConfig("PLAINTEXT", "127.0.0.1", 0)], config)
    await server.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client", client_args[0], str(server.bound_port()), *client_args[1:],
        stdout=subprocess.PIPE)
    cpu0 = time.process_time()
    out, _ = await proc.communicate()
    cpu = time.process_time() - cpu0
    await server.shutdown(1000)
    if proc.returncode != 0:
        raise RuntimeError(f"client failed with {proc.returncode}")
    result = json.loads(out)
    result["server_cpu_s"] = cpu
    return result


def run(handler: Any, config: SocketServerConfig, client_args: list[str]) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(serve_and_run(handler, config, client_args))


def bench_produce(repeat: int) -> None:
    print("== produce-like: pipelined frames -> 16-byte responses")
    for frame_size, count in ((100, 400_000), (16 * 1024, 200_000), (1024 * 1024, 4_000)):
        best: dict[str, Any] | None = None
        for _ in range(repeat):
            r = run(ProduceHandler(), SocketServerConfig(), ["produce", str(frame_size), str(count)])
            if best is None or r["server_cpu_s"] < best["server_cpu_s"]:
                best = r
        assert best is not None
        cpu = best["server_cpu_s"]
        print(f"  frame {frame_size:>8} B x {count:>7}: {best['MB_per_s']:9.1f} MB/s "
              f"{best['requests_per_s']:11.0f} req/s  ({best['seconds']:.2f} s; server CPU "
              f"{cpu / count * 1e6:.2f} us/request, {count * (frame_size + 4) / cpu / 1e6:.0f} MB per CPU-s)")


def bench_fetch(repeat: int) -> None:
    file_size = 64 * 1024 * 1024
    with tempfile.NamedTemporaryFile(prefix="bench-segment-", dir="/tmp") as f:
        f.write(os.urandom(1024 * 1024) * (file_size // (1024 * 1024)))
        f.flush()
        fd = os.open(f.name, os.O_RDONLY)
        try:
            os.pread(fd, file_size, 0)  # warm the page cache
            for region_size, count, inflight in ((64 * 1024, 20_000, 8), (1024 * 1024, 2_000, 4),
                                                 (file_size, 32, 2)):
                print(f"== fetch-like: {count} x {region_size >> 10} KiB FileRegion responses, "
                      f"{inflight} in flight")
                configs = {
                    "default": SocketServerConfig(),  # inline up to 64 KiB, sendfile above
                    "sendfile": SocketServerConfig(region_send_mode="sendfile", inline_region_max_bytes=0),
                    "pread": SocketServerConfig(region_send_mode="pread", inline_region_max_bytes=0),
                    "inline": SocketServerConfig(inline_region_max_bytes=1 << 30),
                }
                for mode, config in configs.items():
                    if mode == "inline" and region_size > 4 * 1024 * 1024:
                        continue
                    best: dict[str, Any] | None = None
                    for _ in range(repeat):
                        r = run(FetchHandler(FileRegion(fd, 0, region_size)), config,
                                ["fetch", str(region_size), str(count), str(inflight)])
                        if best is None or r["server_cpu_s"] < best["server_cpu_s"]:
                            best = r
                    assert best is not None
                    cpu = best["server_cpu_s"]
                    print(f"  {mode:>8}: {best['MB_per_s']:9.1f} MB/s  ({best['seconds']:.2f} s; server CPU "
                          f"{cpu:.2f} s = {count * region_size / cpu / 1e6:.0f} MB per CPU-s, "
                          f"{cpu / count * 1e6:.1f} us/response)")
        finally:
            os.close(fd)


class _SinkProtocol(asyncio.BufferedProtocol):
    """Baseline: receives into one buffer and counts bytes, no framing, no responses."""

    def __init__(self, total: int) -> None:
        self.buf = memoryview(bytearray(1024 * 1024))
        self.total = total
        self.got = 0
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buf

    def buffer_updated(self, nbytes: int) -> None:
        self.got += nbytes
        if self.got >= self.total:
            self.transport.write(b"x")


def client_stream(port: int, total: int) -> dict[str, Any]:
    sock = socket.create_connection(("127.0.0.1", port))
    chunk = b"p" * (4 * 1024 * 1024)
    t0 = time.perf_counter()
    for _ in range(total // len(chunk)):
        sock.sendall(chunk)
    sock.recv(1)
    return {"seconds": time.perf_counter() - t0, "MB_per_s": total / (time.perf_counter() - t0) / 1e6}


async def _baseline_receive(total: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _SinkProtocol(total), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--client", "stream", str(port),
                                                str(total), stdout=subprocess.PIPE)
    cpu0 = time.process_time()
    out, _ = await proc.communicate()
    cpu = time.process_time() - cpu0
    server.close()
    result = json.loads(out)
    result["server_cpu_s"] = cpu
    return result


def _baseline_sendfile(fd: int, size: int, count: int) -> dict[str, Any]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    proc = subprocess.Popen([sys.executable, __file__, "--client", "sink", str(listener.getsockname()[1]),
                             str(size * count)], stdout=subprocess.PIPE)
    conn, _ = listener.accept()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(count):
        off = 0
        while off < size:
            off += os.sendfile(conn.fileno(), fd, off, size - off)
    proc.communicate()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    conn.close()
    listener.close()
    return {"MB_per_s": size * count / elapsed / 1e6, "server_cpu_s": cpu}


def bench_baseline(repeat: int) -> None:
    total = 4 << 30
    print("== baselines on this machine now (no kafkapy code)")
    best = min((asyncio.run(_baseline_receive(total)) for _ in range(repeat)), key=lambda r: r["server_cpu_s"])
    print(f"  raw BufferedProtocol receive (stdlib loop): {best['MB_per_s']:9.1f} MB/s, "
          f"{total / best['server_cpu_s'] / 1e6:.0f} MB per CPU-s")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        best = min((runner.run(_baseline_receive(total)) for _ in range(repeat)), key=lambda r: r["server_cpu_s"])
    print(f"  raw BufferedProtocol receive (uvloop):      {best['MB_per_s']:9.1f} MB/s, "
          f"{total / best['server_cpu_s'] / 1e6:.0f} MB per CPU-s")
    size = 64 * 1024 * 1024
    with tempfile.NamedTemporaryFile(prefix="bench-segment-", dir="/tmp") as f:
        f.write(os.urandom(1024 * 1024) * 64)
        f.flush()
        fd = os.open(f.name, os.O_RDONLY)
        try:
            best = min((_baseline_sendfile(fd, size, 32) for _ in range(repeat)), key=lambda r: r["server_cpu_s"])
        finally:
            os.close(fd)
    print(f"  blocking os.sendfile loop:                  {best['MB_per_s']:9.1f} MB/s, "
          f"{size * 32 / best['server_cpu_s'] / 1e6:.0f} MB per CPU-s")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("parts", nargs="*", help="baseline, produce and/or fetch (default: all)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per case; the one with the least server CPU is printed")
    args = ap.parse_args()
    args.parts = args.parts or ["baseline", "produce", "fetch"]
    if "baseline" in args.parts:
        bench_baseline(args.repeat)
    if "produce" in args.parts:
        bench_produce(args.repeat)
    if "fetch" in args.parts:
        bench_fetch(args.repeat)


if __name__ == "__main__":
    main()
