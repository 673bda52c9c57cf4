from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from kafkapy.common import logging_setup
from kafkapy.common.logging_setup import TRACE, HourlyFileHandler, KafkaFormatter, setup_logging, teardown_logging

REPO = Path(__file__).resolve().parents[3]
LINE = re.compile(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) .* \(\S+\)$")

ALL_FILES = ("server.log", "controller.log", "state-change.log", "kafka-request.log", "log-cleaner.log",
             "kafka-authorizer.log")


@pytest.fixture
def clean_logging(monkeypatch):
    """Run the test with pristine root handlers/level and put everything back afterwards."""
    monkeypatch.delenv("KAFKAPY_LOG_LEVEL", raising=False)
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    saved_level = root.level
    names = [n for route in logging_setup.ROUTES for n, _ in route.loggers]
    saved = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate, logging.getLogger(n).handlers[:])
             for n in names}
    for h in saved_handlers:
        root.removeHandler(h)
    try:
        yield
    finally:
        teardown_logging()
        for h in root.handlers[:]:
            root.removeHandler(h)
        for h in saved_handlers:
            root.addHandler(h)
        root.setLevel(saved_level)
        for n, (level, propagate, handlers) in saved.items():
            log = logging.getLogger(n)
            log.setLevel(level)
            log.propagate = propagate
            log.handlers[:] = handlers


def emit_everything():
    logging.getLogger("kafkapy.server.broker").info("broker started")
    logging.getLogger("kafkapy.server.broker").debug("broker debug detail")
    logging.getLogger("kafka.controller").log(TRACE, "controller trace")
    logging.getLogger("kafkapy.controller.controller").info("elected controller")
    logging.getLogger("state.change.logger").info("leader change orders-0")
    logging.getLogger("kafka.request.logger").info("request detail")
    logging.getLogger("kafka.request.logger").warning("slow request")
    logging.getLogger("kafka.log.LogCleaner").info("cleaned orders-0")
    logging.getLogger("kafkapy.log.cleaner").info("cleaner pass done")
    logging.getLogger("kafka.authorizer.logger").info("denied")
    logging.getLogger("kazoo.client").warning("zk reconnect")
    for handler in logging.getLogger().handlers:
        handler.flush()


def read(directory: Path, name: str) -> str:
    path = directory / name
    return path.read_text(encoding="utf-8") if path.exists() else ""


def check_routing(directory: Path):
    server = read(directory, "server.log")
    assert "broker started (kafkapy.server.broker)" in server
    assert "WARN zk reconnect (kazoo.client)" in server
    assert "broker debug detail" not in server
    for routed in ("controller trace", "elected controller", "leader change", "slow request", "cleaned", "denied"):
        assert routed not in server

    controller = read(directory, "controller.log")
    assert "TRACE controller trace (kafka.controller)" in controller
    assert "INFO elected controller (kafkapy.controller.controller)" in controller

    assert "INFO leader change orders-0 (state.change.logger)" in read(directory, "state-change.log")

    request = read(directory, "kafka-request.log")
    assert "WARN slow request (kafka.request.logger)" in request
    assert "request detail" not in request  # WARN by default

    cleaner = read(directory, "log-cleaner.log")
    assert "cleaned orders-0 (kafka.log.LogCleaner)" in cleaner
    assert "cleaner pass done (kafkapy.log.cleaner)" in cleaner

    assert "denied (kafka.authorizer.logger)" in read(directory, "kafka-authorizer.log")

    for name in ALL_FILES:
        for line in read(directory, name).splitlines():
            assert LINE.match(line), (name, line)


def test_routes_records_to_kafkas_files(tmp_path, clean_logging, capsys):
    directory = setup_logging(tmp_path / "logs", console=True)
    assert directory == tmp_path / "logs"
    emit_everything()
    check_routing(directory)
    out = capsys.readouterr().out
    assert "broker started (kafkapy.server.broker)" in out
    assert "elected controller" not in out  # routed loggers do not reach stdout
    assert "broker debug detail" not in out


def test_logging_ini_is_equivalent(tmp_path, clean_logging, capsys):
    directory = setup_logging(tmp_path / "ini-logs", config_file=REPO / "config" / "logging.ini")
    emit_everything()
    check_routing(directory)
    assert "broker started" in capsys.readouterr().out
    assert any(isinstance(h, HourlyFileHandler) for h in logging.getLogger().handlers)
    teardown_logging()
    assert not [h for h in logging.getLogger().handlers if isinstance(h, HourlyFileHandler)]


def test_no_console(tmp_path, clean_logging, capsys):
    setup_logging(tmp_path, console=False)
    logging.getLogger("kafkapy.x").warning("quiet please")
    assert capsys.readouterr().out == ""
    logging.getLogger().handlers[0].flush()
    assert "quiet please" in read(tmp_path, "server.log")


def test_level_argument_and_env_override(tmp_path, clean_logging, monkeypatch):
    setup_logging(tmp_path / "a", console=False, level="DEBUG")
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("kafkapy.y").debug("debug visible")
    for h in logging.getLogger().handlers:
        h.flush()
    assert "DEBUG debug visible (kafkapy.y)" in read(tmp_path / "a", "server.log")

    monkeypatch.setenv("KAFKAPY_LOG_LEVEL", "warn")
    setup_logging(tmp_path / "b", console=False, level="DEBUG")
    assert logging.getLogger().level == logging.WARNING
    # the special loggers keep Kafka's own levels
    assert logging.getLogger("kafka.request.logger").level == logging.WARNING
    assert logging.getLogger("kafka.controller").level == TRACE
    with pytest.raises(ValueError):
        logging_setup._level("LOUD")


def test_setup_is_idempotent(tmp_path, clean_logging):
    def ours():
        return [h for h in logging.getLogger().handlers if getattr(h, "_kafkapy_logging", False)]

    setup_logging(tmp_path, console=True)
    first = len(ours())
    setup_logging(tmp_path, console=True)
    assert len(ours()) == first == 2
    assert len(logging.getLogger("kafka.controller").handlers) == 1
    teardown_logging()
    assert ours() == []
    assert logging.getLogger("kafka.controller").propagate is True


def test_default_log_dir(monkeypatch):
    monkeypatch.setenv("LOG_DIR", "/var/log/kafkapy")
    assert logging_setup.default_log_dir() == Path("/var/log/kafkapy")
    monkeypatch.delenv("LOG_DIR")
    assert logging_setup.default_log_dir() == REPO / "logs"


def test_formatter_matches_kafkas_layout():
    formatter = KafkaFormatter()
    record = logging.LogRecord("kafka.server.KafkaServer", logging.WARNING, __file__, 1, "disk %s is slow",
                               ("/data",), None)
    record.created = 1609502400.123  # 2021-01-01 12:00:00.123 UTC
    record.msecs = 123.0
    text = formatter.format(record)
    assert re.fullmatch(r"\[2021-01-0\d \d\d:00:00,123\] WARN disk /data is slow \(kafka.server.KafkaServer\)", text)
    assert record.levelname == "WARNING"  # the record itself is untouched
    record.levelno, record.levelname = logging.CRITICAL, "CRITICAL"
    assert " FATAL " in formatter.format(record)


def test_hourly_rollover_is_on_the_hour(tmp_path):
    handler = HourlyFileHandler(tmp_path / "x.log")
    try:
        import time
        now = int(time.time())
        nxt = handler.computeRollover(now)
        assert now < nxt <= now + 3600
        local = time.localtime(nxt)
        assert local.tm_min == 0 and local.tm_sec == 0
        assert handler.suffix == "%Y-%m-%d-%H"
        assert handler.extMatch.match("2021-01-01-12")
    finally:
        handler.close()
