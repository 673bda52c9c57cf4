"""pytest plugin: kafkapy clusters as fixtures (entry point ``pytest11: kafkapy``).

Fixtures
--------
``kafkapy_cluster``
    A started `kafkapy.testing.cluster.LocalCluster`, torn down after the test. Options come
    from the marker, then from an indirect parameter (a dict of options, or an int = brokers)::

        @pytest.mark.kafkapy_cluster(brokers=3, zookeepers=1, broker_config={"num.partitions": 3})
        def test_orders(kafkapy_cluster):
            kafkapy_cluster.create_topic("orders", partitions=3, replication_factor=3)

        @pytest.mark.parametrize("kafkapy_cluster", [1, {"brokers": 3}], indirect=True)
        def test_any_size(kafkapy_cluster): ...

    ``network="netns"`` clusters are skipped (with the reason) where namespaces are unavailable.

``kafkapy_zookeeper``
    A started `kafkapy.testing.zookeeper.ZooKeeperEnsemble` (``.connect_string``,
    ``.servers``), one server unless ``@pytest.mark.kafkapy_zookeeper(servers=3)``.

When a test using either fails, the tail of every process's log is attached to its report.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kafkapy.testing.cluster import LocalCluster
from kafkapy.testing.netns import NetnsUnavailableError
from kafkapy.testing.zookeeper import ZooKeeperEnsemble, ZooKeeperNotInstalledError

LOG_LINES = 150


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kafkapy_cluster(**options): LocalCluster options for the kafkapy_cluster "
                                       "fixture (brokers, zookeepers, broker_config, topic_defaults, network)")
    config.addinivalue_line("markers", "kafkapy_zookeeper(servers=1): size of the kafkapy_zookeeper ensemble")


def _options(request: pytest.FixtureRequest, marker_name: str, int_key: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker(marker_name)
    if marker is not None:
        if marker.args:
            options[int_key] = marker.args[0]
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, int):
        options[int_key] = param
    elif isinstance(param, dict):
        options.update(param)
    elif param is not None:
        raise TypeError(f"indirect parameter for {request.fixturename} must be an int or a dict, not {param!r}")
    return options


@pytest.fixture
def kafkapy_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[LocalCluster]:
    options = _options(request, "kafkapy_cluster", "brokers")
    options.setdefault("base_dir", tmp_path_factory.mktemp("kafkapy-cluster"))
    try:
        cluster = LocalCluster(**options)
    except (NetnsUnavailableError, ZooKeeperNotInstalledError) as exc:
        pytest.skip(str(exc))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def kafkapy_zookeeper(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                      ) -> Iterator[ZooKeeperEnsemble]:
    options = _options(request, "kafkapy_zookeeper", "servers")
    servers = int(options.pop("servers", 1))
    try:
        ensemble = ZooKeeperEnsemble(servers, tmp_path_factory.mktemp("kafkapy-zookeeper"), **options)
        ensemble.start()
    except ZooKeeperNotInstalledError as exc:
        pytest.skip(str(exc))
    try:
        yield ensemble
    finally:
        ensemble.kill()


def _log_sources(item: pytest.Item) -> list[Any]:
    found = []
    for value in getattr(item, "funcargs", {}).values():
        if hasattr(value, "log_sections") and callable(value.log_sections):
            found.append(value)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    titles = {title for title, _ in report.sections}
    for source in _log_sources(item):
        for title, text in source.log_sections(LOG_LINES):
            if title not in titles:
                report.sections.append((title, text))
                titles.add(title)
    ensemble = item.funcargs.get("kafkapy_zookeeper") if hasattr(item, "funcargs") else None
    if isinstance(ensemble, ZooKeeperEnsemble):
        for i, server in enumerate(ensemble.servers):
            title = f"ZooKeeper {i} ({server.host}:{server.client_port}) log"
            if title not in titles:
                report.sections.append((title, server.log_tail(LOG_LINES)))
