"""Real ZooKeeper servers for tests and development: JVMs started as subprocesses.

`ZooKeeperServer` runs one standalone server (or one member of an ensemble) with a
generated `zoo.cfg` tuned for tests: a short tick (so sessions expire quickly), every
four-letter word allowed, the AdminServer disabled, `forceSync=no`, small log
pre-allocation. Readiness is the `srvr` four-letter word answering `Mode:`.
`ZooKeeperEnsemble` runs 1 or 3 of them on free loopback ports.
`InMemoryZooKeeper` (at the end) is a no-JVM double with the `ZkClient` interface for
fast unit tests; the zk test-suite runs the same scenarios against both.

Where ZooKeeper comes from, in order:
  * `ZOOKEEPER_CLASSPATH`: a ready Java classpath (jars and config dirs, `:`-separated);
  * `ZOOKEEPER_HOME`: an Apache tarball install (`lib/*.jar`, `*.jar`, `conf/`);
  * Debian/Ubuntu's `zookeeper` package: `/usr/share/java/zookeeper.jar`, whose manifest
    lists its dependencies, plus an SLF4J binding so the server log is readable.
`JAVA_HOME/bin/java` is used when `JAVA_HOME` is set, else `java` from PATH.

Example::

    server = ZooKeeperServer(tmp_path / "zk")
    server.start()                    # blocks until the server answers `srvr`
    print(server.connect_string)      # 127.0.0.1:<port>
    server.stop()
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import glob
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kafkapy.testing.process import die_with_parent, forget_at_exit, free_port, kill_at_exit
from kafkapy.zk import errors as zkerrors
from kafkapy.zk.client import (CheckOp, CreateOp, DeleteOp, SetDataOp, ZkStat, ZkState, ZkWatchEvent,
                               split_chroot)

log = logging.getLogger(__name__)

QUORUM_PEER_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
DEBIAN_JAVA_DIR = Path("/usr/share/java")
_INSTALL_HINT = ("ZooKeeper is not installed: install Debian's zookeeper package (e.g. `make deps`, "
                 "or `apt-get install zookeeper`), or set ZOOKEEPER_HOME to an Apache ZooKeeper "
                 "install, or ZOOKEEPER_CLASSPATH to its jars")
# Small, quick-starting JVMs: tests run many of them on small machines.
DEFAULT_JVM_OPTIONS = ("-Xms16m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                       "-Djava.net.preferIPv4Stack=true")


class ZooKeeperNotInstalledError(RuntimeError):
    """No ZooKeeper jars (or no java) could be found."""


class ZooKeeperStartError(RuntimeError):
    """The server process exited or did not become ready in time."""


def java_executable() -> str:
    """The java binary: `$JAVA_HOME/bin/java`, else `java` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("java")
    if not found:
        raise ZooKeeperNotInstalledError("java not found on PATH (and no JAVA_HOME): " + _INSTALL_HINT)
    return found


def zookeeper_classpath() -> str:
    """The Java classpath that runs QuorumPeerMain (see the module docstring)."""
    explicit = os.environ.get("ZOOKEEPER_CLASSPATH")
    if explicit:
        return explicit
    home = os.environ.get("ZOOKEEPER_HOME")
    if home:
        jars = sorted(glob.glob(os.path.join(home, "lib", "*.jar")))
        jars += sorted(glob.glob(os.path.join(home, "*.jar")))
        if not jars:
            raise ZooKeeperNotInstalledError(f"ZOOKEEPER_HOME={home} holds no jars: " + _INSTALL_HINT)
        conf = os.path.join(home, "conf")
        return os.pathsep.join(([conf] if os.path.isdir(conf) else []) + jars)
    main_jar = DEBIAN_JAVA_DIR / "zookeeper.jar"
    if not main_jar.exists():
        raise ZooKeeperNotInstalledError(_INSTALL_HINT)
    entries = [str(main_jar)]
    # The jar's manifest names its dependencies but no SLF4J binding; without one the
    # server logs nothing. slf4j-simple writes to stderr, which we capture.
    for binding in ("slf4j-simple.jar", "slf4j-jdk14.jar"):
        if (DEBIAN_JAVA_DIR / binding).exists():
            entries.append(str(DEBIAN_JAVA_DIR / binding))
            break
    return os.pathsep.join(entries)


def logging_jvm_options() -> list[str]:
    """System properties that make slf4j-simple print timestamps at INFO."""
    return ["-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss,SSS",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=info"]


def four_letter_word(host: str, port: int, word: str, timeout_s: float = 2.0) -> str:
    """Send a ZooKeeper four-letter word (`srvr`, `ruok`, `mntr`...) and return the answer."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(word.encode("ascii"))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def server_mode(host: str, port: int, timeout_s: float = 2.0) -> str | None:
    """`standalone`, `leader`, `follower`... from `srvr`, or None if not serving."""
    try:
        answer = four_letter_word(host, port, "srvr", timeout_s)
    except OSError:
        return None
    for line in answer.splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None


class ZooKeeperServer:
    """One real ZooKeeper JVM. `client_port=0` picks a free port at start."""

    def __init__(self, data_dir: str | os.PathLike[str], client_port: int = 0, *,
                 host: str = "127.0.0.1", tick_time_ms: int = 500,
                 min_session_timeout_ms: int | None = None, max_session_timeout_ms: int = 60000,
                 server_id: int | None = None, quorum: dict[int, tuple[int, int]] | None = None,
                 extra_config: dict[str, str] | None = None,
                 jvm_options: tuple[str, ...] = DEFAULT_JVM_OPTIONS) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self._requested_port = client_port
        self.client_port = client_port
        self.tick_time_ms = tick_time_ms
        self.min_session_timeout_ms = (2 * tick_time_ms if min_session_timeout_ms is None
                                       else min_session_timeout_ms)
        self.max_session_timeout_ms = max_session_timeout_ms
        self.server_id = server_id
        self.quorum = quorum          # server id -> (peer port, election port); None = standalone
        self.extra_config = dict(extra_config or {})
        self.jvm_options = tuple(jvm_options)
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file = None

    # ------------------------------------------------------------------ paths
    @property
    def config_path(self) -> Path:
        return self.data_dir / "zoo.cfg"

    @property
    def log_path(self) -> Path:
        """stdout+stderr of the JVM (the server log), appended across restarts."""
        return self.data_dir / "zookeeper.log"

    @property
    def connect_string(self) -> str:
        if not self.client_port:
            raise RuntimeError("server not started yet: its port is unknown")
        return f"{self.host}:{self.client_port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # ----------------------------------------------------------------- config
    def config_text(self) -> str:
        lines = [
            f"tickTime={self.tick_time_ms}",
            f"dataDir={self.data_dir / 'data'}",
            f"clientPort={self.client_port}",
            f"clientPortAddress={self.host}",
            f"minSessionTimeout={self.min_session_timeout_ms}",
            f"maxSessionTimeout={self.max_session_timeout_ms}",
            "maxClientCnxns=0",
            "4lw.commands.whitelist=*",
            "admin.enableServer=false",
            "forceSync=no",
            "preAllocSize=1024",
            "initLimit=20",
            "syncLimit=10",
            "autopurge.purgeInterval=0",
        ]
        if self.quorum:
            for sid, (peer_port, election_port) in sorted(self.quorum.items()):
                lines.append(f"server.{sid}={self.host}:{peer_port}:{election_port}")
        lines += [f"{k}={v}" for k, v in self.extra_config.items()]
        return "\n".join(lines) + "\n"

    def _write_config(self) -> None:
        (self.data_dir / "data").mkdir(parents=True, exist_ok=True)
        if self.quorum:
            if self.server_id is None:
                raise ValueError("an ensemble member needs a server_id")
            (self.data_dir / "data" / "myid").write_text(f"{self.server_id}\n")
        self.config_path.write_text(self.config_text())

    def command(self) -> list[str]:
        return [java_executable(), *self.jvm_options, *logging_jvm_options(),
                "-Dzookeeper.log.dir=" + str(self.data_dir),
                "-cp", zookeeper_classpath(), QUORUM_PEER_MAIN, str(self.config_path)]

    # -------------------------------------------------------------- lifecycle
    def launch(self) -> None:
        """Start the JVM without waiting for it to serve (see `wait_ready`)."""
        if self.is_running():
            raise RuntimeError(f"ZooKeeper already running (pid {self.pid})")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.client_port:
            self.client_port = free_port(self.host)
        self._write_config()
        cmd = self.command()
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"=== kafkapy: starting {' '.join(cmd)}\n".encode())
        self._log_file.flush()
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                        stderr=subprocess.STDOUT, cwd=self.data_dir,
                                        preexec_fn=die_with_parent())
        kill_at_exit(self)
        log.info("started ZooKeeper pid %s on %s:%s (log %s)", self.process.pid, self.host,
                 self.client_port, self.log_path)

    def wait_ready(self, timeout_s: float = 60.0) -> str:
        """Poll `srvr` until the server reports a mode; returns the mode."""
        deadline = time.monotonic() + timeout_s
        delay = 0.05
        while True:
            if not self.is_running():
                raise ZooKeeperStartError(
                    f"ZooKeeper exited with {self.process.returncode if self.process else None} "
                    f"during startup; log tail:\n{self.log_tail()}")
            mode = server_mode(self.host, self.client_port)
            if mode:
                return mode
            if time.monotonic() > deadline:
                raise ZooKeeperStartError(
                    f"ZooKeeper on {self.host}:{self.client_port} not serving after {timeout_s}s; "
                    f"log tail:\n{self.log_tail()}")
            time.sleep(delay)  # polling another process: there is nothing to await
            delay = min(delay * 1.5, 0.5)

    def start(self, timeout_s: float = 60.0) -> "ZooKeeperServer":
        """Launch and wait until serving. A free port lost to a race is re-picked."""
        for attempt in range(3):
            self.launch()
            try:
                self.wait_ready(timeout_s)
                return self
            except ZooKeeperStartError:
                lost_port = (not self.is_running() and self._requested_port == 0
                             and self.quorum is None and "Address already in use" in self.log_tail())
                self.kill()
                if not lost_port or attempt == 2:
                    raise
                self.client_port = 0
        return self

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM and wait (SIGKILL if it does not exit in time)."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("ZooKeeper pid %s ignored SIGTERM; killing it", proc.pid)
                proc.kill()
                proc.wait()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL (a crash): no clean shutdown, sessions stay until they time out."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self._close_log()

    def restart(self, timeout_s: float = 60.0) -> None:
        """Stop, then start again on the same port and data directory."""
        self.stop()
        self.launch()
        self.wait_ready(timeout_s)

    def _close_log(self) -> None:
        forget_at_exit(self)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -------------------------------------------------------------- inspection
    def mode(self) -> str | None:
        return server_mode(self.host, self.client_port) if self.client_port else None

    def four_letter_word(self, word: str) -> str:
        return four_letter_word(self.host, self.client_port, word)

    def read_log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.read_log().splitlines()[-lines:])

    def __enter__(self) -> "ZooKeeperServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ZooKeeperServer({self.host}:{self.client_port}, pid={self.pid}, dir={self.data_dir})"


class ZooKeeperEnsemble:
    """`n` real servers (1 = standalone, 3 = a quorum) on free loopback ports."""

    def __init__(self, n: int, base_dir: str | os.PathLike[str], *, tick_time_ms: int = 500,
                 **server_kwargs: object) -> None:
        if n < 1:
            raise ValueError("an ensemble needs at least one server")
        self.base_dir = Path(base_dir)
        quorum = None
        if n > 1:
            quorum = {sid: (free_port(), free_port()) for sid in range(1, n + 1)}
        self.servers = [
            ZooKeeperServer(self.base_dir / f"zk{sid}", free_port(), tick_time_ms=tick_time_ms,
                            server_id=sid if quorum else None, quorum=quorum,
                            **server_kwargs)  # type: ignore[arg-type]
            for sid in range(1, n + 1)
        ]

    @property
    def connect_string(self) -> str:
        return ",".join(s.connect_string for s in self.servers)

    def start(self, timeout_s: float = 90.0) -> "ZooKeeperEnsemble":
        for server in self.servers:
            server.launch()
        try:
            for server in self.servers:
                server.wait_ready(timeout_s)
        except ZooKeeperStartError:
            self.kill()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def kill(self) -> None:
        for server in self.servers:
            server.kill()

    def leader(self) -> ZooKeeperServer | None:
        for server in self.servers:
            if server.is_running() and server.mode() in ("leader", "standalone"):
                return server
        return None

    def wait_serving(self, timeout_s: float = 60.0) -> None:
        """Wait until every running member answers `srvr` with a mode (quorum formed)."""
        for server in self.servers:
            if server.is_running():
                server.wait_ready(timeout_s)

    def __enter__(self) -> "ZooKeeperEnsemble":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_zookeeper(data_dir: str | os.PathLike[str], **kwargs: object):  # type: ignore[no-untyped-def]
    """`with running_zookeeper(dir) as server:` for scripts and benchmarks."""
    server = ZooKeeperServer(data_dir, **kwargs)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


# =====================================================================================
# An in-memory ZooKeeper double for fast unit tests (controller event sequences etc.)
# =====================================================================================
# `InMemoryZooKeeper` keeps one znode tree with ZooKeeper's semantics for what kafkapy
# uses: versions and stats, ephemerals owned by sessions, sequential names from the
# parent's cversion, one-shot data/exists/child watches, atomic multi with a culprit,
# session expiry and connection loss. `client()` returns an object with ZkClient's
# interface, so KafkaZkClient / AdminZkClient run on it unchanged. Watches and state
# changes are delivered with `loop.call_soon`, like the real bridge delivers them.
@dataclass
class _Node:
    data: bytes
    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int = 0
    cversion: int = 0
    ephemeral_owner: int = 0
    pzxid: int = 0
    children: set[str] = field(default_factory=set)


def _parent(path: str) -> str:
    head = path.rsplit("/", 1)[0]
    return head or "/"


def _check_path(path: str) -> None:
    if not path.startswith("/") or (len(path) > 1 and path.endswith("/")) or "//" in path:
        raise ValueError(f"invalid znode path {path!r}")


class InMemoryZooKeeper:
    """The shared "server" of in-memory clients. `time_ms` feeds ctime/mtime."""

    def __init__(self, time_ms: Callable[[], int] | None = None) -> None:
        self._time_ms = time_ms or (lambda: int(time.time() * 1000))
        self.zxid = 0
        self.nodes: dict[str, _Node] = {"/": _Node(b"", 0, 0, 0, 0)}
        self._next_session = 0x100
        self.clients: list[InMemoryZkClient] = []
        # path -> list of (client, callback); kinds: data (get/exists on existing), exists
        # (exists on missing), child
        self._data_watches: dict[str, list[tuple[InMemoryZkClient, Callable[[ZkWatchEvent], None]]]] = {}
        self._child_watches: dict[str, list[tuple[InMemoryZkClient, Callable[[ZkWatchEvent], None]]]] = {}

    def client(self, connect_string: str = "fake:2181", **kwargs: object) -> "InMemoryZkClient":
        c = InMemoryZkClient(self, connect_string, **kwargs)  # type: ignore[arg-type]
        self.clients.append(c)
        return c

    # ------------------------------------------------------------------ sessions
    def _open_session(self) -> int:
        self._next_session += 1
        return self._next_session

    def _close_session(self, session_id: int) -> list[tuple[InMemoryZkClient, Callable, ZkWatchEvent]]:
        fired = []
        for path in sorted((p for p, n in self.nodes.items() if n.ephemeral_owner == session_id),
                           key=len, reverse=True):
            fired += self._apply_delete(path)
        return fired

    def expire_session(self, session_id: int) -> None:
        """Expire a session as the server would: its ephemerals vanish (firing watches);
        its client sees LOST, loses its watches, then connects with a new session."""
        fired = self._close_session(session_id)
        self._deliver(fired)
        for c in self.clients:
            if c.session_id == session_id and c._started and not c._stopped:
                c._expired()

    def drop_connection(self, client: "InMemoryZkClient") -> None:
        """Connection loss without expiry: SUSPENDED, watches dropped (NONE), ops wait."""
        client._suspend()

    def restore_connection(self, client: "InMemoryZkClient") -> None:
        client._resume()

    # ------------------------------------------------------------------ tree ops
    def _stat(self, node: _Node) -> ZkStat:
        return ZkStat(czxid=node.czxid, mzxid=node.mzxid, ctime=node.ctime, mtime=node.mtime,
                      version=node.version, cversion=node.cversion, aversion=0,
                      ephemeral_owner=node.ephemeral_owner, data_length=len(node.data),
                      num_children=len(node.children), pzxid=node.pzxid)

    def _pop_watches(self, table: dict, path: str, kind: str) -> list:
        return [(c, cb, ZkWatchEvent(kind, c._unroot(path))) for c, cb in table.pop(path, [])]

    def _apply_create(self, path: str, data: bytes, owner: int, sequence: bool) -> tuple[str, list]:
        parent_path = _parent(path)
        parent = self.nodes.get(parent_path)
        if parent is None:
            raise zkerrors.NoNodeError(path=path)
        if parent.ephemeral_owner:
            raise zkerrors.NoChildrenForEphemeralsError(path=path)
        if sequence:
            path = f"{path}{parent.cversion:010d}"
        if path in self.nodes:
            raise zkerrors.NodeExistsError(path=path)
        self.zxid += 1
        now = self._time_ms()
        self.nodes[path] = _Node(bytes(data), self.zxid, self.zxid, now, now, ephemeral_owner=owner,
                                 pzxid=self.zxid)
        parent.children.add(path.rsplit("/", 1)[1])
        parent.cversion += 1
        parent.pzxid = self.zxid
        fired = self._pop_watches(self._data_watches, path, "CREATED")
        fired += self._pop_watches(self._child_watches, parent_path, "CHILD")
        return path, fired

    def _apply_set(self, path: str, data: bytes, version: int) -> tuple[ZkStat, list]:
        node = self.nodes.get(path)
        if node is None:
            raise zkerrors.NoNodeError(path=path)
        if version != -1 and version != node.version:
            raise zkerrors.BadVersionError(path=path)
        self.zxid += 1
        node.data = bytes(data)
        node.version += 1
        node.mzxid = self.zxid
        node.mtime = self._time_ms()
        return self._stat(node), self._pop_watches(self._data_watches, path, "CHANGED")

    def _apply_delete(self, path: str, version: int = -1) -> list:
        node = self.nodes.get(path)
        if node is None or path == "/":
            raise zkerrors.NoNodeError(path=path)
        if version != -1 and version != node.version:
            raise zkerrors.BadVersionError(path=path)
        if node.children:
            raise zkerrors.NotEmptyError(path=path)
        self.zxid += 1
        del self.nodes[path]
        parent_path = _parent(path)
        parent = self.nodes[parent_path]
        parent.children.discard(path.rsplit("/", 1)[1])
        parent.cversion += 1
        parent.pzxid = self.zxid
        fired = self._pop_watches(self._data_watches, path, "DELETED")
        fired += self._pop_watches(self._child_watches, path, "DELETED")
        fired += self._pop_watches(self._child_watches, parent_path, "CHILD")
        return fired

    def _apply_check(self, path: str, version: int) -> None:
        node = self.nodes.get(path)
        if node is None:
            raise zkerrors.NoNodeError(path=path)
        if version != -1 and version != node.version:
            raise zkerrors.BadVersionError(path=path)

    @staticmethod
    def _deliver(fired: list) -> None:
        for client, callback, event in fired:
            client._fire(callback, event)


class InMemoryZkClient:
    """ZkClient's interface over an InMemoryZooKeeper (see there)."""

    def __init__(self, server: InMemoryZooKeeper, connect_string: str = "fake:2181", *,
                 session_timeout_ms: int = 18000, connection_timeout_ms: int | None = None,
                 create_chroot: bool = True,
                 on_state_change: Callable[[ZkState], None] | None = None,
                 on_session_lost: Callable[[], None] | None = None,
                 on_new_session: Callable[[], None] | None = None) -> None:
        self.server = server
        self.connect_string = connect_string
        self.hosts, self.chroot = split_chroot(connect_string)
        self.session_timeout_ms = session_timeout_ms
        self.create_chroot = create_chroot
        self._state_listeners = [on_state_change] if on_state_change else []
        self._session_lost_listeners = [on_session_lost] if on_session_lost else []
        self._new_session_listeners = [on_new_session] if on_new_session else []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.session_id: int | None = None
        self.state = ZkState.LOST
        self._started = False
        self._stopped = False
        self._connected: asyncio.Event | None = None

    # ------------------------------------------------------------- ZkClient surface
    def add_state_listener(self, fn: Callable[[ZkState], None]) -> None:
        self._state_listeners.append(fn)

    def add_session_lost_listener(self, fn: Callable[[], None]) -> None:
        self._session_lost_listeners.append(fn)

    def add_new_session_listener(self, fn: Callable[[], None]) -> None:
        self._new_session_listeners.append(fn)

    @property
    def connected(self) -> bool:
        return self.state is ZkState.CONNECTED

    @property
    def client_id(self) -> tuple[int, bytes] | None:
        return (self.session_id, b"") if self.session_id is not None else None

    async def start(self, timeout_ms: int | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._connected = asyncio.Event()
        if self.chroot and self.create_chroot:
            parts = self.chroot.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                p = "/" + "/".join(parts[:i])
                if p not in self.server.nodes:
                    self.server._apply_create(p, b"", 0, False)
        self._started = True
        self.session_id = self.server._open_session()
        self._set_state(ZkState.CONNECTED)
        self._connected.set()

    async def stop(self) -> None:
        if not self._started or self._stopped:
            return
        self._stopped = True
        if self.session_id is not None:
            self.server._deliver(self.server._close_session(self.session_id))
        self._drop_watches(fire=False)
        self.state = ZkState.LOST

    # ------------------------------------------------------------- internals
    def _root(self, path: str) -> str:
        _check_path(path)
        if not self.chroot:
            return path
        return self.chroot if path == "/" else self.chroot + path

    def _unroot(self, path: str) -> str:
        if self.chroot and path.startswith(self.chroot):
            return path[len(self.chroot):] or "/"
        return path

    def _fire(self, callback: Callable[[ZkWatchEvent], None], event: ZkWatchEvent) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon(callback, event)

    def _set_state(self, state: ZkState) -> None:
        self.state = state
        for fn in list(self._state_listeners):
            self._loop.call_soon(fn, state)  # type: ignore[union-attr]

    def _drop_watches(self, fire: bool) -> None:
        for table in (self.server._data_watches, self.server._child_watches):
            for path in list(table):
                mine = [(c, cb) for c, cb in table[path] if c is self]
                table[path] = [(c, cb) for c, cb in table[path] if c is not self]
                if not table[path]:
                    del table[path]
                if fire:
                    for _, cb in mine:
                        self._fire(cb, ZkWatchEvent("NONE", None))

    def _suspend(self) -> None:
        assert self._connected is not None
        self._connected.clear()
        self._set_state(ZkState.SUSPENDED)
        self._drop_watches(fire=True)

    def _resume(self) -> None:
        assert self._connected is not None
        self._set_state(ZkState.CONNECTED)
        self._connected.set()

    def _expired(self) -> None:
        assert self._loop is not None and self._connected is not None
        self._set_state(ZkState.LOST)
        for fn in list(self._session_lost_listeners):
            self._loop.call_soon(fn)
        self._drop_watches(fire=True)
        self.session_id = self.server._open_session()
        self._set_state(ZkState.CONNECTED)
        self._connected.set()
        for fn in list(self._new_session_listeners):
            self._loop.call_soon(fn)

    async def _ready(self) -> None:
        if not self._started or self._stopped:
            raise zkerrors.ZkClientClosedError("ZooKeeper client is not started")
        await asyncio.sleep(0)                # operations complete asynchronously
        assert self._connected is not None
        await self._connected.wait()

    def _watch(self, table: dict, path: str, watch: Callable[[ZkWatchEvent], None] | None) -> None:
        if watch is not None:
            table.setdefault(path, []).append((self, watch))

    # ------------------------------------------------------------- reads
    async def get(self, path: str, watch: Callable[[ZkWatchEvent], None] | None = None
                  ) -> tuple[bytes, ZkStat]:
        await self._ready()
        full = self._root(path)
        node = self.server.nodes.get(full)
        if node is None:
            raise zkerrors.NoNodeError(path=path)
        self._watch(self.server._data_watches, full, watch)
        return node.data, self.server._stat(node)

    async def get_or_none(self, path: str, watch: Callable[[ZkWatchEvent], None] | None = None
                          ) -> tuple[bytes, ZkStat] | None:
        try:
            return await self.get(path, watch)
        except zkerrors.NoNodeError:
            return None

    async def get_children(self, path: str, watch: Callable[[ZkWatchEvent], None] | None = None
                           ) -> list[str]:
        return (await self.get_children_with_stat(path, watch))[0]

    async def get_children_with_stat(self, path: str, watch: Callable[[ZkWatchEvent], None] | None = None
                                     ) -> tuple[list[str], ZkStat]:
        await self._ready()
        full = self._root(path)
        node = self.server.nodes.get(full)
        if node is None:
            raise zkerrors.NoNodeError(path=path)
        self._watch(self.server._child_watches, full, watch)
        return list(node.children), self.server._stat(node)

    async def exists(self, path: str, watch: Callable[[ZkWatchEvent], None] | None = None) -> ZkStat | None:
        await self._ready()
        full = self._root(path)
        node = self.server.nodes.get(full)
        self._watch(self.server._data_watches, full, watch)
        return self.server._stat(node) if node is not None else None

    # ------------------------------------------------------------- writes
    async def create(self, path: str, data: bytes = b"", *, ephemeral: bool = False,
                     sequence: bool = False, makepath: bool = False) -> str:
        return (await self.create_with_stat(path, data, ephemeral=ephemeral, sequence=sequence,
                                            makepath=makepath))[0]

    async def create_with_stat(self, path: str, data: bytes = b"", *, ephemeral: bool = False,
                               sequence: bool = False, makepath: bool = False) -> tuple[str, ZkStat]:
        await self._ready()
        full = self._root(path)
        fired: list = []
        if makepath:
            missing = []
            p = _parent(full)
            while p not in self.server.nodes:
                missing.append(p)
                p = _parent(p)
            for p in reversed(missing):
                fired += self.server._apply_create(p, b"", 0, False)[1]
        try:
            created, more = self.server._apply_create(full, data, self.session_id if ephemeral else 0,
                                                      sequence)
        except zkerrors.ZkError as exc:
            self.server._deliver(fired)
            exc.path = path
            raise
        self.server._deliver(fired + more)
        return self._unroot(created), self.server._stat(self.server.nodes[created])

    async def ensure_path(self, path: str) -> None:
        try:
            await self.create(path, b"", makepath=True)
        except zkerrors.NodeExistsError:
            pass

    async def set(self, path: str, data: bytes, version: int = -1) -> ZkStat:
        await self._ready()
        try:
            stat, fired = self.server._apply_set(self._root(path), data, version)
        except zkerrors.ZkError as exc:
            exc.path = path
            raise
        self.server._deliver(fired)
        return stat

    async def delete(self, path: str, version: int = -1, *, recursive: bool = False) -> None:
        await self._ready()
        full = self._root(path)
        if recursive:
            if full not in self.server.nodes:
                return
            for child in sorted(self.server.nodes[full].children):
                await self.delete(f"{path.rstrip('/')}/{child}", recursive=True)
        try:
            fired = self.server._apply_delete(full, version)
        except zkerrors.ZkError as exc:
            exc.path = path
            raise
        self.server._deliver(fired)

    async def multi(self, ops: Sequence[CheckOp | CreateOp | DeleteOp | SetDataOp]) -> list[object]:
        await self._ready()
        server = self.server
        saved_tree = (copy.deepcopy(server.nodes), server.zxid)
        saved_watch_lists = ({k: list(v) for k, v in server._data_watches.items()},
                             {k: list(v) for k, v in server._child_watches.items()})
        results: list[object] = []
        fired: list = []
        for index, op in enumerate(ops):
            full = self._root(op.path)
            try:
                if isinstance(op, CreateOp):
                    created, more = server._apply_create(full, op.data,
                                                         self.session_id if op.ephemeral else 0, op.sequence)
                    results.append(self._unroot(created))
                elif isinstance(op, SetDataOp):
                    stat, more = server._apply_set(full, op.data, op.version)
                    results.append(stat)
                elif isinstance(op, DeleteOp):
                    more = server._apply_delete(full, op.version)
                    results.append(True)
                elif isinstance(op, CheckOp):
                    server._apply_check(full, op.version)
                    more = []
                    results.append(True)
                else:
                    raise TypeError(f"not a ZooKeeper operation: {op!r}")
            except zkerrors.ZkError as exc:
                server.nodes, server.zxid = saved_tree
                server._data_watches, server._child_watches = saved_watch_lists
                exc.path = op.path
                exc.op_index = index  # type: ignore[attr-defined]
                exc.op = op           # type: ignore[attr-defined]
                raise
            fired += more
        server._deliver(fired)
        return results
