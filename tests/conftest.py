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
