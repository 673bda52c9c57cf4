"""`bin/zookeeper-shell.sh host:port[/chroot] [command args...]`: a small zkCli.

With a command it runs that command and exits (status 1 if it failed); without one
it reads commands from a `[zk: host(CONNECTED) n] ` prompt. Output follows ZooKeeper
3.5's zkCli (the one Kafka 2.x ships): `ls` prints `[a, b]`, `get` prints the data
(`-s` adds the stat lines), `stat` prints the stat lines, errors print
`Node does not exist: /x` and the like.

Commands: ls [-s] [-R] path | get [-s] path | stat path | create [-e] [-s] path [data] |
set [-s] [-v version] path data | delete [-v version] path | deleteall path | rmr path |
help | quit
"""
from __future__ import annotations

import asyncio
import shlex
import sys
import time
from collections.abc import Callable

from kafkapy.zk import errors
from kafkapy.zk.client import ZkClient, ZkStat

USAGE = ("USAGE: zookeeper-shell.sh zookeeper_host:port[/path] [-zk-tls-config-file file] "
         "[args...]")
COMMANDS = """ZooKeeper -server host:port cmd args
\tcreate [-s] [-e] path [data]
\tdelete [-v version] path
\tdeleteall path
\tget [-s] path
\tls [-s] [-R] path
\trmr path
\tset [-s] [-v version] path data
\tstat path
\tquit
\thelp"""


class UsageError(Exception):
    pass


def _java_date(ms: int) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Z %Y", time.localtime(ms / 1000))


def format_stat(stat: ZkStat) -> str:
    return "\n".join([
        f"cZxid = 0x{stat.czxid:x}",
        f"ctime = {_java_date(stat.ctime)}",
        f"mZxid = 0x{stat.mzxid:x}",
        f"mtime = {_java_date(stat.mtime)}",
        f"pZxid = 0x{stat.pzxid:x}",
        f"cversion = {stat.cversion}",
        f"dataVersion = {stat.version}",
        f"aclVersion = {stat.aversion}",
        f"ephemeralOwner = 0x{stat.ephemeral_owner:x}",
        f"dataLength = {stat.data_length}",
        f"numChildren = {stat.num_children}",
    ])


def _flags(args: list[str], allowed: str, with_value: str = "") -> tuple[dict[str, str | bool], list[str]]:
    flags: dict[str, str | bool] = {}
    rest: list[str] = []
    it = iter(args)
    for arg in it:
        if len(arg) == 2 and arg[0] == "-" and arg[1] in allowed + with_value:
            if arg[1] in with_value:
                value = next(it, None)
                if value is None:
                    raise UsageError(f"option {arg} needs a value")
                flags[arg[1]] = value
            else:
                flags[arg[1]] = True
        else:
            rest.append(arg)
    return flags, rest


def _data_text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


class Shell:
    def __init__(self, zk: ZkClient, out: Callable[[str], None], err: Callable[[str], None]) -> None:
        self.zk = zk
        self.out = out
        self.err = err

    async def run(self, argv: list[str]) -> bool:
        """Run one command; False if it failed."""
        if not argv:
            return True
        cmd, args = argv[0], argv[1:]
        handler = getattr(self, f"cmd_{cmd}", None)
        if handler is None:
            self.out(COMMANDS)
            return False
        try:
            await handler(args)
            return True
        except UsageError as exc:
            self.err(str(exc))
            return False
        except errors.NoNodeError as exc:
            self.err(f"Node does not exist: {exc.path}")
        except errors.NodeExistsError as exc:
            self.err(f"Node already exists: {exc.path}")
        except errors.NotEmptyError as exc:
            self.err(f"Node not empty: {exc.path}")
        except errors.BadVersionError as exc:
            self.err(f"version No is not valid : {exc.path}")
        except errors.NoChildrenForEphemeralsError as exc:
            self.err(f"Ephemerals cannot have children: {exc.path}")
        except errors.ZkError as exc:
            self.err(str(exc))
        return False

    @staticmethod
    def _one_path(rest: list[str], usage: str) -> str:
        if len(rest) != 1 or not rest[0].startswith("/"):
            raise UsageError(usage)
        return rest[0]

    async def cmd_ls(self, args: list[str]) -> None:
        flags, rest = _flags(args, "swR")
        path = self._one_path(rest, "ls [-s] [-w] [-R] path")
        if flags.get("R"):
            await self._ls_recursive(path)
            return
        if flags.get("s"):
            children, stat = await self.zk.get_children_with_stat(path)
            self.out("[" + ", ".join(sorted(children)) + "]")
            self.out(format_stat(stat))
            return
        children = await self.zk.get_children(path)
        self.out("[" + ", ".join(sorted(children)) + "]")

    async def _ls_recursive(self, path: str) -> None:
        self.out(path)
        for child in sorted(await self.zk.get_children(path)):
            await self._ls_recursive(("" if path == "/" else path) + "/" + child)

    async def cmd_get(self, args: list[str]) -> None:
        flags, rest = _flags(args, "sw")
        path = self._one_path(rest, "get [-s] [-w] path")
        data, stat = await self.zk.get(path)
        self.out(_data_text(data))
        if flags.get("s"):
            self.out(format_stat(stat))

    async def cmd_stat(self, args: list[str]) -> None:
        _, rest = _flags(args, "w")
        path = self._one_path(rest, "stat [-w] path")
        stat = await self.zk.exists(path)
        if stat is None:
            raise errors.NoNodeError(path=path)
        self.out(format_stat(stat))

    async def cmd_create(self, args: list[str]) -> None:
        flags, rest = _flags(args, "esc")
        if not 1 <= len(rest) <= 2 or not rest[0].startswith("/"):
            raise UsageError("create [-s] [-e] path [data]")
        data = rest[1].encode("utf-8") if len(rest) == 2 else b""
        created = await self.zk.create(rest[0], data, ephemeral=bool(flags.get("e")),
                                       sequence=bool(flags.get("s")))
        self.out(f"Created {created}")

    async def cmd_set(self, args: list[str]) -> None:
        flags, rest = _flags(args, "s", with_value="v")
        version = int(flags["v"]) if "v" in flags else -1
        if len(rest) == 3 and "v" not in flags:      # 3.4 syntax: set path data version
            version = int(rest.pop())
        if len(rest) != 2 or not rest[0].startswith("/"):
            raise UsageError("set [-s] [-v version] path data")
        stat = await self.zk.set(rest[0], rest[1].encode("utf-8"), version)
        if flags.get("s"):
            self.out(format_stat(stat))

    async def cmd_delete(self, args: list[str]) -> None:
        flags, rest = _flags(args, "", with_value="v")
        path = self._one_path(rest, "delete [-v version] path")
        await self.zk.delete(path, int(flags["v"]) if "v" in flags else -1)

    async def cmd_deleteall(self, args: list[str]) -> None:
        path = self._one_path(args, "deleteall path")
        if await self.zk.exists(path) is None:
            raise errors.NoNodeError(path=path)
        await self.zk.delete(path, recursive=True)

    async def cmd_rmr(self, args: list[str]) -> None:
        self.out("The command 'rmr' has been deprecated. Please use 'deleteall' instead.")
        await self.cmd_deleteall(args)

    async def cmd_help(self, args: list[str]) -> None:
        self.out(COMMANDS)


def _print(text: str) -> None:
    print(text, flush=True)


def _print_err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _run(connect: str, command: list[str]) -> int:
    zk = ZkClient(connect, session_timeout_ms=30000, connection_timeout_ms=30000, create_chroot=False)
    try:
        await zk.start()
    except errors.ZkTimeoutError as exc:
        _print_err(str(exc))
        return 1
    shell = Shell(zk, _print, _print_err)
    try:
        if command:
            _print("\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null")
            return 0 if await shell.run(command) else 1
        _print("Welcome to ZooKeeper!")
        loop = asyncio.get_running_loop()
        count = 0
        while True:
            prompt = f"[zk: {connect}({zk.state.value}) {count}] "
            try:
                line = await loop.run_in_executor(None, input, prompt)
            except EOFError:
                return 0
            try:
                argv = shlex.split(line)
            except ValueError as exc:
                _print_err(str(exc))
                continue
            if not argv:
                continue
            if argv[0] in ("quit", "exit"):
                return 0
            await shell.run(argv)
            count += 1
    finally:
        await zk.stop()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        print(USAGE)
        return 1
    connect, rest = args[0], args[1:]
    if rest[:1] == ["-zk-tls-config-file"]:
        _print_err("WARNING: -zk-tls-config-file is not supported by kafkapy's shell; connecting without TLS")
        rest = rest[2:]
    print(f"Connecting to {connect}", flush=True)
    return asyncio.run(_run(connect, rest))


if __name__ == "__main__":
    sys.exit(main())
