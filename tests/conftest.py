"""Shared pytest fixtures for the whole kafkapy test suite.

Fixtures
--------
``zookeeper`` (session scope)
    One real standalone ZooKeeper server (Debian's ``zookeeper`` package, or
    ``ZOOKEEPER_HOME`` / ``ZOOKEEPER_CLASSPATH``) started lazily the first time a
    test asks for it and stopped at the end of the run. It is a
    :class:`kafkapy.testing.zookeeper.ZooKeeperServer`: use ``.connect_string``
    (``127.0.0.1:<port>``), ``.log_tail()``, ``.four_letter_word("mntr")``.
    Its tick is 500 ms, so a session of ``timeout=2`` s expires within ~2 s.
    Do not stop or kill it; start your own ``ZooKeeperServer(tmp_path)`` for that.

``zk_chroot`` (function scope)
    A connect string with a chroot unique to the test, e.g.
    ``127.0.0.1:40123/kafkapy-test-3f9c1a2b7d4e``. Give it to brokers
    (``zookeeper.connect``), tools and ``ZkClient``; the chroot path does not exist
    yet (kafkapy creates it, as Kafka does).

When a test that used a ZooKeeper server fails, the server's log lines written
during that test are attached to the report ("ZooKeeper log" section).
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator

import pytest

from kafkapy.testing.zookeeper import ZooKeeperEnsemble, ZooKeeperServer


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def zk_chroot(zookeeper: ZooKeeperServer) -> str:
    return f"{zookeeper.connect_string}/kafkapy-test-{uuid.uuid4().hex[:12]}"


def _servers_of(item: pytest.Item) -> list[ZooKeeperServer]:
    found: list[ZooKeeperServer] = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, ZooKeeperServer):
            found.append(value)
        elif isinstance(value, ZooKeeperEnsemble):
            found.extend(value.servers)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    # Remember where each server's log stood when the test body started.
    item.stash[_LOG_OFFSETS] = {id(s): s.log_size() for s in _servers_of(item)}
    yield


_LOG_OFFSETS = pytest.StashKey[dict]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    offsets = item.stash.get(_LOG_OFFSETS, {})
    for server in _servers_of(item):
        text = server.log_since(offsets.get(id(server), 0))
        lines = text.splitlines()[-300:]
        report.sections.append((f"ZooKeeper log ({server.host}:{server.client_port})",
                                "\n".join(lines)))


# --- Suite-wide: processes left running -------------------------------------------------------
# Every test stops the servers it starts. At the end of the run, any process still alive that
# this pytest started (a descendant), or whose command line points into this run's temporary
# directory (a server that detached itself), is named in the summary and stopped, so that a leak
# shows up instead of holding ports and CPU after the run.

_LEFTOVER_GRACE_S = 10.0
_leftovers: dict[int, str] = {}


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process that can be read (Linux /proc)."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        # After the ")" that ends the command name: state, then the parent pid.
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        table[int(entry)] = (ppid, cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip())
    return table


def _leftover_processes(basetemp: str | None) -> dict[int, str]:
    me = os.getpid()
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, str] = {}
    stack = list(children.get(me, []))
    while stack:
        pid = stack.pop()
        if pid not in found:
            found[pid] = table[pid][1]
            stack.extend(children.get(pid, []))
    if basetemp:
        marker = basetemp.rstrip("/") + "/"
        for pid, (_, cmdline) in table.items():
            if pid != me and marker in cmdline:
                found[pid] = cmdline
    # Zombies have no command line; multiprocessing's helpers live until the interpreter exits.
    return {pid: cmdline for pid, cmdline in found.items()
            if cmdline and "multiprocessing.resource_tracker" not in cmdline
            and "multiprocessing.forkserver" not in cmdline}


def _stop_processes(pids: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + _LEFTOVER_GRACE_S
        while time.monotonic() < deadline:
            alive = [pid for pid in pids if os.path.exists(f"/proc/{pid}") and _process_state(pid) != "Z"]
            if not alive:
                return
            time.sleep(0.1)
        pids = alive


def _process_state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return "Z"
    return stat[stat.rindex(b")") + 2:].split()[0].decode()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # trylast: after the session fixtures (the shared ZooKeeper) have been torn down.
    if not os.path.isdir("/proc/self"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    basetemp = getattr(factory, "_basetemp", None) if factory is not None else None
    leftovers = _leftover_processes(str(basetemp) if basetemp else None)
    if leftovers:
        _leftovers.update(leftovers)
        _stop_processes(sorted(leftovers))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _leftovers:
        return
    terminalreporter.section("processes left running by the tests (now stopped)", sep="-", yellow=True)
    for pid, cmdline in sorted(_leftovers.items()):
        terminalreporter.write_line(f"pid {pid}: {cmdline[:300]}")
