"""Test support: real ZooKeeper servers, broker processes and whole clusters on demand.

``from kafkapy.testing import LocalCluster`` gives a ZooKeeper ensemble plus brokers as local processes,
with fault injection; see ``kafkapy.testing.cluster``.
"""
from __future__ import annotations

from typing import Any

__all__ = ["LocalCluster"]


def __getattr__(name: str) -> Any:  # lazy: importing kafkapy.testing must stay cheap
    if name == "LocalCluster":
        from kafkapy.testing.cluster import LocalCluster
        return LocalCluster
    raise AttributeError(name)
