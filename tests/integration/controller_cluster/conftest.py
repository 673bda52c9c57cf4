"""Loads the kafkapy pytest plugin (LocalCluster fixtures) when it is not installed as an entry point."""
from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    manager = config.pluginmanager
    if not (manager.has_plugin("kafkapy") or manager.has_plugin("kafkapy.testing.pytest_plugin")):
        manager.import_plugin("kafkapy.testing.pytest_plugin")
