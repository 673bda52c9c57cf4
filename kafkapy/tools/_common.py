"""Shared command-line machinery of kafkapy's bin/ tools.

Kafka's tools parse with joptsimple: an error prints one line (the reason) and the option
table on stderr, then exits 1; never a stack trace. ``ToolParser`` does the same over
argparse, with the option table laid out as joptsimple lays it out (an ``Option`` and a
``Description`` column). The descriptions are kafkapy's own words.

    OPTIONS = [Opt("--topic", "<String: topic>", "The topic to use."), Opt("--list", None, "List them.")]
    parser = ToolParser("kafka-topics.sh", OPTIONS, "Create, delete, describe, or change a topic.")
    args = parser.parse(argv)           # raises UsageError
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import textwrap
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Opt", "ToolParser", "UsageError", "CommandError", "parse_properties_list", "load_properties_file",
           "run_tool", "check_required", "check_invalid"]


class UsageError(Exception):
    """A bad command line: the message, then the usage, exit 1."""


class CommandError(Exception):
    """A failure while executing the command (printed as the tool prints it, exit 1)."""


@dataclass(frozen=True, slots=True)
class Opt:
    name: str
    arg: str | None                 # e.g. "<String: topic>"; None for a flag
    help: str
    multi: bool = False             # may repeat (values collected in a list)
    default: str | None = None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:     # type: ignore[override]
        raise UsageError(message)


def _wrap(text: str, width: int = 37) -> list[str]:
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]
    return [lines[0]] + ["  " + line for line in lines[1:]]


KAFKA_VERSION = "2.8.2"   # what `--version` prints: the Kafka release whose tools these mirror


class ToolParser:
    def __init__(self, prog: str, options: Sequence[Opt], description: str) -> None:
        self.prog = prog
        self.options = sorted(options, key=lambda o: o.name)
        self.description = description
        self._parser = _Parser(prog=prog, add_help=False, allow_abbrev=False)
        for o in self.options:
            dest = o.name.lstrip("-").replace("-", "_").replace(".", "_")
            if o.arg is None:
                self._parser.add_argument(o.name, dest=dest, action="store_true")
            elif o.multi:
                self._parser.add_argument(o.name, dest=dest, action="append", default=None)
            else:
                self._parser.add_argument(o.name, dest=dest, default=o.default)

    def usage(self) -> str:
        """The option table as joptsimple prints it: two columns of 41 and 39 characters."""
        lines = ["Option".ljust(41) + "Description".ljust(39), "------".ljust(41) + "-----------".ljust(39)]
        for o in self.options:
            left = _wrap(f"{o.name} {o.arg}" if o.arg else o.name)
            text = o.help + (f" (default: {o.default})" if o.default is not None else "")
            right = _wrap(text)
            for i in range(max(len(left), len(right))):
                a = left[i] if i < len(left) else ""
                b = right[i] if i < len(right) else ""
                lines.append(a.ljust(41) + b.ljust(39))
        return "\n".join(lines)

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        args, extra = self._parser.parse_known_args(list(argv))
        for item in extra:
            if item.startswith("-"):
                raise UsageError(f"{item.lstrip('-').split('=')[0]} is not a recognized option")
            raise UsageError(f"Found non-option argument: {item}")
        return args

    def help_or_version(self, args: argparse.Namespace, argv: Sequence[str], out: TextIO) -> int | None:
        """The exit code when the command line asks for help or the version (or is empty: help, then 1);
        None when the tool should go on."""
        if args.help or not argv:
            out.write(self.description + "\n" + self.usage() + "\n")
            return 0 if args.help else 1
        if args.version:
            out.write(KAFKA_VERSION + "\n")
            return 0
        return None

    def print_usage_and_die(self, message: str, err: TextIO | None = None) -> int:
        err = err or sys.stderr
        err.write(message + "\n" + self.usage() + "\n")
        err.flush()
        return 1


def check_required(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name.lstrip("-").replace("-", "_").replace(".", "_")) in (None, False):
            raise UsageError(f'Missing required argument "[{name.lstrip("-")}]"')


def check_invalid(args: argparse.Namespace, used: str, invalid: Iterable[str]) -> None:
    """Kafka's checkInvalidArgs: `used` (when given) cannot be combined with any of `invalid`."""
    if getattr(args, used.lstrip("-").replace("-", "_").replace(".", "_")) in (None, False, []):
        return
    for name in invalid:
        if getattr(args, name.lstrip("-").replace("-", "_").replace(".", "_")) not in (None, False):
            raise UsageError(f'Option "[{used.lstrip("-")}]" can\'t be used with option "[{name.lstrip("-")}]"')


def parse_properties_list(items: Iterable[str] | None, sep: str = "=") -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> {"a": "1", "b": "x=y"} (split at the first separator)."""
    out: dict[str, str] = {}
    for item in items or ():
        if sep not in item:
            raise UsageError(f"Invalid property '{item}': properties must be in the form key=value")
        k, v = item.split(sep, 1)
        out[k.strip()] = v.strip()
    return out


def load_properties_file(path: str) -> dict[str, str]:
    """A Java .properties file (as java.util.Properties reads it)."""
    from kafkapy.common.config import load_properties
    if not Path(path).is_file():
        raise CommandError(f"{path} (No such file or directory)")
    return dict(load_properties(path))


def run_tool(main: Callable[[list[str]], Coroutine[Any, Any, int] | int], argv: list[str] | None = None) -> None:
    """Entry point helper: quiet logging, run `main`, exit with its status; no tracebacks on ^C/EPIPE."""
    logging.basicConfig(level=logging.ERROR, format="[%(asctime)s] %(levelname)s %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    try:
        result = main(argv)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        code = int(result or 0)
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.exit(code)
