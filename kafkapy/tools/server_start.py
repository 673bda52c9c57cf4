"""`bin/kafka-server-start.sh [-daemon] server.properties [--override property=value]*`: run a broker.

Foreground: logs go to stdout and to ``$LOG_DIR`` (default ``<repo>/logs``: server.log,
controller.log, state-change.log...); SIGTERM or SIGINT shut the broker down gracefully.
``-daemon``: the broker is started again in its own session, detached, with its console
output in ``$LOG_DIR/kafkaServer.out``, and this process returns at once.
An invalid configuration is reported in one line (exit code 1), without a traceback.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

USAGE = "USAGE: bin/kafka-server-start.sh [-daemon] server.properties [--override property=value]*"
REPO_ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("kafka.Kafka")


def parse_args(argv: list[str]) -> tuple[bool, str, list[str]] | str:
    """(daemon, config path, overrides), or an error line."""
    args = list(argv)
    daemon = False
    while args and args[0] in ("-daemon", "-name", "-loggc"):
        flag = args.pop(0)
        if flag == "-daemon":
            daemon = True
        elif flag == "-name" and args:
            args.pop(0)
    if not args:
        return USAGE
    config_path = args.pop(0)
    overrides: list[str] = []
    stray: list[str] = []
    while args:
        item = args.pop(0)
        if item == "--override":
            if not args:
                return "Option override requires an argument"
            overrides.append(args.pop(0))
        elif item.startswith("--override="):
            overrides.append(item.split("=", 1)[1])
        else:
            stray.append(item)
    if stray:
        return f"Found non argument parameters: {','.join(stray)}"
    return daemon, config_path, overrides


def log_dir() -> Path:
    return Path(os.environ.get("LOG_DIR") or REPO_ROOT / "logs")


def start_daemon(argv: list[str]) -> int:
    directory = log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    args = [a for a in argv if a != "-daemon"]
    with open(directory / "kafkaServer.out", "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kafkapy.tools.server_start", *args],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=os.getcwd())
    print(f"kafkapy broker started in the background (pid {proc.pid}); output in {directory / 'kafkaServer.out'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parsed = parse_args(argv)
    if isinstance(parsed, str):
        print(parsed, file=sys.stderr if parsed != USAGE else sys.stdout)
        return 1
    daemon, config_path, overrides = parsed
    if not Path(config_path).is_file():
        print(f"ERROR Config file {config_path} does not exist", file=sys.stderr)
        return 1

    from kafkapy.common.config import ConfigError
    from kafkapy.server.config import KafkaConfig
    try:
        config = KafkaConfig.from_file(config_path, overrides, log_unknown=False)
    except (ConfigError, ValueError) as exc:
        print(f"ERROR Exiting Kafka due to fatal exception: invalid configuration: {exc}", file=sys.stderr)
        return 1
    if config.get("zookeeper.connect") in (None, ""):
        print("ERROR Exiting Kafka due to fatal exception: Missing required configuration \"zookeeper.connect\" "
              "which has no default value.", file=sys.stderr)
        return 1
    if daemon:
        return start_daemon(argv)

    from kafkapy.common.logging_setup import setup_logging
    setup_logging(log_dir())
    for warning in getattr(config, "warnings", ()):
        logging.getLogger("kafka.server.KafkaConfig").warning("%s", warning)
    config.log_values()

    from kafkapy.server.broker import run
    try:
        code = run(config)
    except KeyboardInterrupt:
        code = 130
    if code:
        log.error("Exiting Kafka.")
    logging.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
