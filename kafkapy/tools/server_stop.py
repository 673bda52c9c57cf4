"""`bin/kafka-server-stop.sh`: send SIGTERM to every running kafkapy broker on this machine.

Brokers are found by their command line (``kafkapy.tools.server_start``), as Kafka's script
finds ``kafka.Kafka`` JVMs. ``$KAFKAPY_SERVER_STOP_MATCH`` narrows the match to command
lines that also contain that text (e.g. one config file). Prints "No kafka server to stop"
and exits 1 when there is none.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

MARKER = "kafkapy.tools.server_start"


def broker_pids(extra_match: str | None = None) -> list[int]:
    me = os.getpid()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == me:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if MARKER in cmdline and "-daemon" not in cmdline.split() and (not extra_match or extra_match in cmdline):
            out.append(pid)
    return sorted(out)


def main(argv: list[str] | None = None) -> int:
    pids = broker_pids(os.environ.get("KAFKAPY_SERVER_STOP_MATCH") or None)
    if not pids:
        print("No kafka server to stop")
        return 1
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    return 0


if __name__ == "__main__":
    sys.exit(main())
