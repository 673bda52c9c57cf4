"""Server subprocesses of the test harness and the benchmarks.

What every server process here needs: a free loopback port, a child that dies with the test
process (``PR_SET_PDEATHSIG``), cleanup of forgotten processes at exit, and, for brokers, one
lifecycle: write the config, spawn with the output in a console file, wait for the
``[KafkaServer id=N] started`` line and an answering port, stop with SIGTERM (controlled
shutdown), kill with SIGKILL. `ServerProcess` is that lifecycle; kafkapy's `BrokerProcess` and
the benchmarks' Apache Kafka broker say only what to run and where the marker is logged.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol


class _Killable(Protocol):
    def kill(self) -> None: ...


_LIVE: "weakref.WeakSet[Any]" = weakref.WeakSet()


def _kill_leftovers() -> None:
    for process in list(_LIVE):
        process.kill()


atexit.register(_kill_leftovers)


def kill_at_exit(process: _Killable) -> None:
    """Kill ``process`` when the interpreter exits, unless it is gone (garbage) by then."""
    _LIVE.add(process)


def forget_at_exit(process: _Killable) -> None:
    """``process`` has ended: nothing to kill at exit."""
    _LIVE.discard(process)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _load_prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Resolved in the parent: between fork and exec the child must not load libraries (locks held
# by other threads of the parent would never be released in the child).
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _set_death_signal() -> None:  # pragma: no cover - runs in the child before exec
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def die_with_parent() -> Callable[[], None] | None:
    """The ``preexec_fn`` that ties a child's life to ours, or None off the main thread.

    The death signal follows the *thread* that forked, not the process: a child started from a
    helper thread would be killed when that thread ends, so only the main thread ties it.
    """
    return _set_death_signal if threading.current_thread() is threading.main_thread() else None


class ServerProcess:
    """A broker subprocess with its config, data and logs under ``work_dir`` (see the module doc).

    Subclasses provide `command()` (and may extend `environment()` and `write_config()`), their own
    `DEFAULT_PROPERTIES`, and say where the started marker is logged (`marker_path`, default: the console).
    """

    label = "server"
    start_error: type[RuntimeError] = RuntimeError
    DEFAULT_PROPERTIES: dict[str, Any] = {}     # a subclass's defaults, after the shared ones

    def __init__(self, work_dir: str | os.PathLike[str], zookeeper_connect: str, *, broker_id: int,
                 host: str = "127.0.0.1", port: int | None = None,
                 overrides: dict[str, Any] | None = None) -> None:
        self.work_dir = Path(work_dir)
        self.zookeeper_connect = zookeeper_connect
        self.broker_id = broker_id
        self.host = host
        self.port = port or free_port(host)
        self.overrides = dict(overrides or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self._console: Any = None
        self._marker_offset = 0
        self.starts = 0

    # -- paths ---------------------------------------------------------------------------
    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    @property
    def config_path(self) -> Path:
        return self.work_dir / "server.properties"

    @property
    def console_path(self) -> Path:
        return self.log_dir / "console.out"

    @property
    def marker_path(self) -> Path:
        """The file in which the broker logs ``started``."""
        return self.console_path

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- what to run -----------------------------------------------------------------------
    def command(self) -> Sequence[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str] | None:
        return None

    def properties(self) -> dict[str, Any]:
        """server.properties: one broker on its own port and dirs, single-replica internal topics, no
        initial rebalance delay; then the subclass's defaults, then the overrides."""
        props: dict[str, Any] = {
            "broker.id": self.broker_id,
            "listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "log.dirs": str(self.data_dir),
            "zookeeper.connect": self.zookeeper_connect,
            "num.partitions": 1,
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0,
            **self.DEFAULT_PROPERTIES,
        }
        props.update(self.overrides)
        return props

    def write_config(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))

    def banner(self) -> str:
        return f"\n===== start {self.starts + 1} =====\n"

    # -- lifecycle -------------------------------------------------------------------------
    def launch(self) -> None:
        if self.is_running():
            raise RuntimeError(f"{self.label} {self.broker_id} is already running (pid {self.pid})")
        self.write_config()
        cmd = list(self.command())
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._close_console()
        self._console = open(self.console_path, "ab")
        self._console.write(self.banner().encode())
        self._console.flush()
        try:
            self._marker_offset = self.marker_path.stat().st_size
        except FileNotFoundError:
            self._marker_offset = 0
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._console,
                                     stderr=subprocess.STDOUT, env=self.environment(), cwd=str(self.work_dir),
                                     preexec_fn=die_with_parent())
        self.starts += 1
        kill_at_exit(self)

    def wait_started(self, timeout_s: float = 60.0) -> None:
        """Until the broker logged ``[KafkaServer id=N] started`` (since this launch) and its port answers."""
        deadline = time.monotonic() + timeout_s
        marker = f"[KafkaServer id={self.broker_id}] started".encode()
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise self.start_error(f"{self.label} {self.broker_id} exited with {self.proc.returncode} during "
                                       f"startup:\n{self.log_tail()}")
            try:
                with open(self.marker_path, "rb") as f:
                    f.seek(self._marker_offset)
                    if marker in f.read() and self._port_open():
                        return
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise self.start_error(f"{self.label} {self.broker_id} did not log 'started' within {timeout_s} s:\n"
                               f"{self.log_tail()}")

    def _port_open(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def start(self, timeout_s: float = 60.0) -> Any:
        self.launch()
        self.wait_started(timeout_s)
        return self

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM (controlled shutdown) and wait, SIGKILL after ``timeout_s``; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._close_console()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._close_console()

    def restart(self, timeout_s: float = 60.0) -> Any:
        self.stop()
        return self.start(timeout_s)

    def _close_console(self) -> None:
        if self._console is not None:
            self._console.close()
            self._console = None

    # -- logs ------------------------------------------------------------------------------
    def read_log(self, name: str = "console.out") -> str:
        try:
            return (self.log_dir / name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 80, name: str = "console.out") -> str:
        return "\n".join(self.read_log(name).splitlines()[-lines:])

    def peak_rss_kib(self) -> int | None:
        """VmHWM of the running process, in KiB."""
        if not self.is_running():
            return None
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.broker_id}, port={self.port}, pid={self.pid})"


__all__ = ["ServerProcess", "die_with_parent", "forget_at_exit", "free_port", "kill_at_exit"]
