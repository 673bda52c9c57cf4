"""Partition logs in Kafka's own on-disk format.

Main entry points (see each module for details):

- ``Log`` (log.py): one partition's replica log: ``append_as_leader``, ``append_as_follower``,
  ``read`` (FetchDataInfo with a FileRegion of whole entries), ``fetch_offset_by_timestamp``,
  truncation, DeleteRecords, retention, flush.
- ``LogManager`` (manager.py): log dirs, startup/recovery, periodic jobs, clean shutdown.
- ``LogConfig`` (config.py): topic-level configs with broker-default mapping.
- ``validate_and_assign_offsets`` / ``LogAppendInfo`` (validator.py).

Imports here are lazy so that ``import kafkapy.log.segment`` stays light.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Log", "LogManager", "LogConfig", "LogAppendInfo", "FetchDataInfo", "LogOffsetMetadata",
           "TimestampAndOffset", "LogCleaner"]

_WHERE = {
    "Log": "log", "TimestampAndOffset": "log", "LogManager": "manager", "LogConfig": "config",
    "LogAppendInfo": "validator", "FetchDataInfo": "segment", "LogOffsetMetadata": "segment",
    "LogCleaner": "cleaner",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kafkapy.log' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f"kafkapy.log.{module}"), name)
