"""Private network namespaces for `LocalCluster(network="netns")`: real network partitions.

Layout (all of it created here and removed by `destroy()`; Linux, root, iproute2)::

    root namespace                 hub namespace "kp<tag>hub"           broker namespaces
    (tests, clients, ZooKeeper)    (a bridge, no firewall rules)        "kp<tag>b<i>"
    kp<tag>r  198.18.N.1/24 --veth-- kp<tag>R ─┐
                                               bridge kp<tag>br ─ kp<tag>h<i> --veth-- eth0 198.18.N.(10+i)/24

* The test process and ZooKeeper stay in the root namespace and reach the brokers through
  one veth pair whose far end sits on the bridge: traffic from the root namespace to a broker
  is never routed or forwarded there, so the host's firewall (Docker sets ``FORWARD`` to
  ``DROP``) does not interfere. Broker-to-broker traffic is bridged inside the hub namespace,
  which is fresh and therefore has no netfilter rules.
* Addresses come from 198.18.0.0/15 (reserved for network benchmarking): a /24 not yet
  routed on this machine. They exist only on interfaces made here, so traffic to them never
  leaves the machine.
* `isolate(i)` sets broker i's bridge port down: the broker loses ZooKeeper, the other
  brokers and every client at once, as in a real partition; `heal(i)` sets it up again.

`netns_unavailable_reason()` says why this cannot work here (not Linux, not root, no ``ip``,
``ip netns add`` refused), or returns None.
"""
from __future__ import annotations

import atexit
import ipaddress
import logging
import os
import random
import shutil
import subprocess
import sys
import threading
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUPERNET = ipaddress.ip_network("198.18.0.0/15")
# One file per live network, holding the owner's pid: networks of a process that died without
# cleaning up (SIGKILL) are removed by the next `create()`.
STATE_DIR = Path(os.environ.get("KAFKAPY_NETNS_STATE", "/run/kafkapy-netns"))
HOST_OFFSET = 10          # broker i gets .(HOST_OFFSET + i)

_probe_lock = threading.Lock()
_probe_result: list[str | None] = []


class NetnsUnavailableError(RuntimeError):
    """Network namespaces cannot be created on this machine (the message says why)."""


class NetnsCommandError(RuntimeError):
    """An ``ip`` command failed."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", *args]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise NetnsCommandError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def netns_unavailable_reason() -> str | None:
    """None when `ClusterNetwork` can work here, else a one-line reason. Probed once."""
    with _probe_lock:
        if not _probe_result:
            _probe_result.append(_probe())
        return _probe_result[0]


def _probe() -> str | None:
    if not sys.platform.startswith("linux"):
        return f"network namespaces need Linux (this is {sys.platform})"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    name = f"kpprobe{os.getpid()}"
    proc = _ip("netns", "add", name, check=False)
    if proc.returncode != 0:
        return f"`ip netns add` is not permitted here: {proc.stderr.strip()}"
    try:
        link = _ip("-n", name, "link", "add", "kpprobe0", "type", "bridge", check=False)
        if link.returncode != 0:
            return f"cannot create a bridge in a network namespace: {link.stderr.strip()}"
    finally:
        _ip("netns", "del", name, check=False)
    return None


def _used_subnets() -> set[int]:
    """Third octets of 198.18.x.0/24 and 198.19.x.0/24 already routed or assigned here."""
    used: set[int] = set()
    out = _ip("-4", "-o", "addr", "show", check=False).stdout + _ip("-4", "route", "show", "table", "all",
                                                                   check=False).stdout
    for token in out.split():
        address = token.split("/")[0]
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if ip in SUPERNET:
            used.add(int(ip) >> 8 & 0x1FF)
    return used


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> list[str]:
    """Remove the namespaces and links of networks whose owning process is gone; returns their tags."""
    removed: list[str] = []
    try:
        entries = list(STATE_DIR.iterdir())
    except FileNotFoundError:
        return removed
    namespaces = _ip("netns", "list", check=False).stdout.split()
    for entry in entries:
        tag = entry.name
        try:
            pid = int(entry.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and _pid_alive(pid):
            continue
        for name in namespaces:
            if name.startswith(f"kp{tag}b") or name == f"kp{tag}hub":
                _ip("netns", "del", name, check=False)
        _ip("link", "del", f"kp{tag}r", check=False)
        entry.unlink(missing_ok=True)
        removed.append(tag)
        log.warning("removed network namespaces of a dead process (tag %s, pid %s)", tag, pid)
    return removed


_LIVE: "weakref.WeakSet[ClusterNetwork]" = weakref.WeakSet()
# Subnets of destroyed networks keep an `unreachable` route until this process exits, so a client
# still retrying a vanished broker gets "no route" instead of its packets taking the default route
# off the machine.
_FENCED: set[str] = set()


def _destroy_leftovers() -> None:
    for network in list(_LIVE):
        network.destroy()
    for subnet in sorted(_FENCED):
        _ip("route", "del", "unreachable", subnet, check=False)
    _FENCED.clear()


atexit.register(_destroy_leftovers)


@dataclass(frozen=True, slots=True)
class NetnsHost:
    """One member's namespace and address."""

    index: int
    namespace: str
    address: str
    bridge_port: str        # the member's interface on the hub's bridge (set down to isolate)


class ClusterNetwork:
    """A hub namespace with a bridge, the root namespace's gateway address, and member namespaces."""

    def __init__(self, tag: str | None = None) -> None:
        reason = netns_unavailable_reason()
        if reason is not None:
            raise NetnsUnavailableError(reason)
        self.tag = tag or uuid.uuid4().hex[:5]
        if len(self.tag) > 6:
            raise ValueError("tag must be at most 6 characters (interface names are limited to 15)")
        self.hub = f"kp{self.tag}hub"
        self.bridge = f"kp{self.tag}br"
        self.root_link = f"kp{self.tag}r"
        self.hub_link = f"kp{self.tag}R"
        self.subnet: ipaddress.IPv4Network | None = None
        self.hosts: dict[int, NetnsHost] = {}
        self._isolated: set[int] = set()
        self._created = False

    # ------------------------------------------------------------------ setup
    @property
    def gateway(self) -> str:
        """The root namespace's address on the bridge (ZooKeeper and clients use it)."""
        if self.subnet is None:
            raise RuntimeError("network not created yet")
        return str(self.subnet.network_address + 1)

    def create(self) -> "ClusterNetwork":
        # A permanent fence first: the whole 198.18.0.0/15 is unreachable from this machine except through
        # the more specific /24 of a live network made here, so no client (in this process or a leftover
        # one) can ever send traffic for these addresses off the machine via the default route.
        _ip("route", "replace", "unreachable", str(SUPERNET))
        sweep_stale()
        used = _used_subnets()
        free = [n for n in range(1, 511) if n not in used and n != 256 and n != 255 and n != 511]
        if not free:
            raise NetnsCommandError("no free /24 left in 198.18.0.0/15")
        n = random.choice(free)
        self.subnet = ipaddress.ip_network(f"{SUPERNET.network_address + (n << 8)}/24")
        if str(self.subnet) in _FENCED:      # ours, from an earlier network of this process
            _ip("route", "del", "unreachable", str(self.subnet), check=False)
            _FENCED.discard(str(self.subnet))
        _LIVE.add(self)
        self._created = True
        try:
            STATE_DIR.mkdir(parents=True, exist_ok=True)
            (STATE_DIR / self.tag).write_text(f"{os.getpid()}\n")
            _ip("netns", "add", self.hub)
            _ip("-n", self.hub, "link", "set", "lo", "up")
            _ip("-n", self.hub, "link", "add", self.bridge, "type", "bridge")
            _ip("-n", self.hub, "link", "set", self.bridge, "up")
            _ip("link", "add", self.root_link, "type", "veth", "peer", "name", self.hub_link)
            _ip("link", "set", self.hub_link, "netns", self.hub)
            _ip("-n", self.hub, "link", "set", self.hub_link, "master", self.bridge)
            _ip("-n", self.hub, "link", "set", self.hub_link, "up")
            _ip("addr", "add", f"{self.gateway}/{self.subnet.prefixlen}", "dev", self.root_link)
            _ip("link", "set", self.root_link, "up")
        except Exception:
            self.destroy()
            raise
        log.info("network %s: hub namespace %s, gateway %s", self.subnet, self.hub, self.gateway)
        return self

    def add_host(self, index: int) -> NetnsHost:
        """A namespace for member `index` (0-255 - HOST_OFFSET), attached to the bridge."""
        if self.subnet is None:
            raise RuntimeError("create() the network first")
        if index in self.hosts:
            return self.hosts[index]
        if not 0 <= index < 240:
            raise ValueError("member index must be in [0, 240)")
        namespace = f"kp{self.tag}b{index}"
        port = f"kp{self.tag}h{index}"
        inner = f"kp{self.tag}n{index}"
        address = str(self.subnet.network_address + HOST_OFFSET + index)
        _ip("netns", "add", namespace)
        host = NetnsHost(index, namespace, address, port)
        self.hosts[index] = host
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", self.hub, "link", "add", port, "type", "veth", "peer", "name", inner)
        _ip("-n", self.hub, "link", "set", inner, "netns", namespace)
        _ip("-n", namespace, "link", "set", inner, "name", "eth0")
        _ip("-n", namespace, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "eth0")
        _ip("-n", namespace, "link", "set", "eth0", "up")
        _ip("-n", self.hub, "link", "set", port, "master", self.bridge)
        _ip("-n", self.hub, "link", "set", port, "up")
        return host

    def exec_prefix(self, index: int) -> list[str]:
        """Command prefix that runs a program inside member `index`'s namespace."""
        return ["ip", "netns", "exec", self.hosts[index].namespace]

    # ------------------------------------------------------------------ faults
    def isolate(self, index: int) -> None:
        """Cut member `index` off from everything (its bridge port goes down)."""
        _ip("-n", self.hub, "link", "set", self.hosts[index].bridge_port, "down")
        self._isolated.add(index)

    def heal(self, index: int) -> None:
        """Undo `isolate(index)`."""
        _ip("-n", self.hub, "link", "set", self.hosts[index].bridge_port, "up")
        self._isolated.discard(index)

    def is_isolated(self, index: int) -> bool:
        return index in self._isolated

    # ------------------------------------------------------------------ teardown
    def destroy(self) -> None:
        """Remove every namespace and interface made here (idempotent, never raises)."""
        if not self._created:
            return
        self._created = False
        _LIVE.discard(self)
        for host in list(self.hosts.values()):
            _ip("netns", "del", host.namespace, check=False)
        self.hosts.clear()
        _ip("netns", "del", self.hub, check=False)
        # Deleting the hub destroys the peer, which takes the root end with it; be sure anyway.
        if _ip("link", "show", self.root_link, check=False).returncode == 0:
            _ip("link", "del", self.root_link, check=False)
        (STATE_DIR / self.tag).unlink(missing_ok=True)
        if self.subnet is not None and _ip("route", "replace", "unreachable", str(self.subnet),
                                           check=False).returncode == 0:
            _FENCED.add(str(self.subnet))
        log.info("network %s removed", self.subnet)

    def __enter__(self) -> "ClusterNetwork":
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        return f"ClusterNetwork(tag={self.tag}, subnet={self.subnet}, hosts={sorted(self.hosts)})"


__all__ = ["ClusterNetwork", "NetnsHost", "NetnsUnavailableError", "NetnsCommandError",
           "netns_unavailable_reason", "sweep_stale", "HOST_OFFSET"]
