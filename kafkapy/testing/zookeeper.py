"""Real ZooKeeper servers for tests and development: JVMs started as subprocesses.

`ZooKeeperServer` runs one standalone server (or one member of an ensemble) with a
generated `zoo.cfg` tuned for tests: a short tick (so sessions expire quickly), every
four-letter word allowed, the AdminServer disabled, `forceSync=no`, small log
pre-allocation. Readiness is the `srvr` four-letter word answering `Mode:`.
`ZooKeeperEnsemble` runs 1 or 3 of them on free loopback ports.

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

import atexit
import contextlib
import glob
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

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


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


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


_LIVE_SERVERS: "weakref.WeakSet[ZooKeeperServer]" = weakref.WeakSet()


def _kill_leftovers() -> None:
    for server in list(_LIVE_SERVERS):
        server.kill()


atexit.register(_kill_leftovers)


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Resolved in the parent: the child must not import anything between fork and exec.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: have the kernel SIGKILL the JVM if the Python process dies."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


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
                                        # the death signal follows the forking *thread*:
                                        # only tie the JVM to the main thread
                                        preexec_fn=_die_with_parent if threading.current_thread()
                                        is threading.main_thread() else None)
        _LIVE_SERVERS.add(self)
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
        _LIVE_SERVERS.discard(self)
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
