"""Python logging set up the way Kafka's log4j configuration sets up a broker.

Lines look like Kafka's: ``[2021-01-01 12:00:00,123] INFO message (logger.name)``, with
Kafka's level names (TRACE, DEBUG, INFO, WARN, ERROR, FATAL).

Files, in the log directory (`log_dir`, else ``$LOG_DIR``, else ``<repo>/logs``), each
rolled every hour to ``<name>.YYYY-MM-DD-HH`` as Kafka's DailyRollingFileAppender does:

=====================  ===========================================  =============
file                   loggers                                      level
=====================  ===========================================  =============
server.log             everything else (the root logger)            INFO
controller.log         kafka.controller, kafkapy.controller          TRACE / root
state-change.log       state.change.logger                          INFO
kafka-request.log      kafka.request.logger                         WARN
log-cleaner.log        kafka.log.LogCleaner, kafkapy.log.cleaner     INFO / root
kafka-authorizer.log   kafka.authorizer.logger                      INFO
=====================  ===========================================  =============

The routed loggers do not propagate (log4j's additivity=false): their lines appear only
in their own file. The root logger also writes INFO and above to stdout unless
``console=False``. ``$KAFKAPY_LOG_LEVEL`` overrides the root level.

`config/logging.ini` describes the same setup for `logging.config.fileConfig`; pass it
as `config_file` to customise logging without code changes.
"""
from __future__ import annotations

import logging
import logging.config
import os
import re
import sys
import time
from dataclasses import dataclass
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path

__all__ = [
    "TRACE", "LOG_FORMAT", "KafkaFormatter", "HourlyFileHandler", "Route", "ROUTES", "default_log_dir",
    "setup_logging", "teardown_logging", "LEVEL_ENV", "LOG_DIR_ENV",
]

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

LOG_FORMAT = "[%(asctime)s] %(levelname)s %(message)s (%(name)s)"
LEVEL_ENV = "KAFKAPY_LOG_LEVEL"
LOG_DIR_ENV = "LOG_DIR"

_KAFKA_LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "FATAL"}
_MARK = "_kafkapy_logging"


class KafkaFormatter(logging.Formatter):
    """`LOG_FORMAT` with Kafka's timestamp (``2021-01-01 12:00:00,123``) and level names."""

    default_time_format = "%Y-%m-%d %H:%M:%S"
    default_msec_format = "%s,%03d"

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, style: str = "%",
                 validate: bool = True) -> None:
        super().__init__(fmt or LOG_FORMAT, datefmt, style, validate)  # type: ignore[arg-type]

    def format(self, record: logging.LogRecord) -> str:
        original = record.levelname
        record.levelname = _KAFKA_LEVEL_NAMES.get(original, original)
        try:
            return super().format(record)
        finally:
            record.levelname = original


class HourlyFileHandler(TimedRotatingFileHandler):
    """Appends to `filename`; at each full hour renames it to ``filename.YYYY-MM-DD-HH``."""

    def __init__(self, filename: str | os.PathLike[str], encoding: str = "utf-8", delay: bool = True) -> None:
        super().__init__(filename, when="H", interval=1, backupCount=0, encoding=encoding, delay=delay)
        self.suffix = "%Y-%m-%d-%H"
        self.extMatch = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{2}$", re.ASCII)

    def computeRollover(self, currentTime: int) -> int:  # noqa: N802 - stdlib name
        # Roll on the hour (local time), not one hour after the file was opened.
        local = time.localtime(currentTime)
        return int(currentTime - local.tm_min * 60 - local.tm_sec + 3600)


@dataclass(frozen=True, slots=True)
class Route:
    """Loggers whose records go to one file only."""

    filename: str
    loggers: tuple[tuple[str, int | None], ...]  # (logger name, level or None to inherit the root's)


ROUTES: tuple[Route, ...] = (
    Route("controller.log", (("kafka.controller", TRACE), ("kafkapy.controller", None))),
    Route("state-change.log", (("state.change.logger", logging.INFO),)),
    Route("kafka-request.log", (("kafka.request.logger", logging.WARNING),)),
    Route("log-cleaner.log", (("kafka.log.LogCleaner", logging.INFO), ("kafkapy.log.cleaner", None))),
    Route("kafka-authorizer.log", (("kafka.authorizer.logger", logging.INFO),)),
)
SERVER_LOG = "server.log"


def default_log_dir() -> Path:
    """``$LOG_DIR`` if set, else ``<repo>/logs`` (Kafka's kafka.logs.dir default)."""
    env = os.environ.get(LOG_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "logs"


def _level(value: int | str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    name = value.strip().upper()
    if name == "WARN":
        name = "WARNING"
    if name == "FATAL":
        name = "CRITICAL"
    level = logging.getLevelName(name)
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {value!r}")
    return level


def teardown_logging() -> None:
    """Remove and close every handler installed by `setup_logging`."""
    names = [None] + [name for route in ROUTES for name, _ in route.loggers]
    for name in names:
        log = logging.getLogger(name)
        for handler in list(log.handlers):
            if getattr(handler, _MARK, False):
                log.removeHandler(handler)
                handler.close()
        if name is not None and getattr(log, _MARK, False):
            log.propagate = True
            log.setLevel(logging.NOTSET)
            delattr(log, _MARK)


def setup_logging(log_dir: str | os.PathLike[str] | None = None, console: bool = True,
                  level: int | str | None = None, config_file: str | os.PathLike[str] | None = None) -> Path:
    """Configure logging as described in the module docstring; returns the log directory.

    The root level is ``$KAFKAPY_LOG_LEVEL`` if set, else `level`, else INFO. Calling it again
    replaces what an earlier call installed (handlers it did not install are left alone).
    With `config_file`, the file is loaded with `logging.config.fileConfig` instead, with
    ``%(log_dir)s`` available inside it.
    """
    directory = Path(log_dir) if log_dir is not None else default_log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    env_level = os.environ.get(LEVEL_ENV)
    root_level = _level(env_level) if env_level else (_level(level) or logging.INFO)
    teardown_logging()

    if config_file is not None:
        logging.config.fileConfig(os.fspath(config_file), defaults={"log_dir": directory.as_posix()},
                                  disable_existing_loggers=False)
        root = logging.getLogger()
        if env_level:
            root.setLevel(root_level)
        for name in [None] + [n for route in ROUTES for n, _ in route.loggers]:
            log = logging.getLogger(name)
            for handler in log.handlers:
                setattr(handler, _MARK, True)
            if name is not None:
                setattr(log, _MARK, True)
        return directory

    formatter = KafkaFormatter()
    root = logging.getLogger()
    root.setLevel(root_level)
    server = HourlyFileHandler(directory / SERVER_LOG)
    server.setFormatter(formatter)
    setattr(server, _MARK, True)
    root.addHandler(server)
    if console:
        stdout = logging.StreamHandler(sys.stdout)
        stdout.setLevel(max(logging.INFO, root_level))
        stdout.setFormatter(formatter)
        setattr(stdout, _MARK, True)
        root.addHandler(stdout)

    for route in ROUTES:
        handler = HourlyFileHandler(directory / route.filename)
        handler.setFormatter(formatter)
        setattr(handler, _MARK, True)
        for name, route_level in route.loggers:
            log = logging.getLogger(name)
            log.addHandler(handler)
            log.propagate = False
            log.setLevel(route_level if route_level is not None else logging.NOTSET)
            setattr(log, _MARK, True)
    return directory
