"""ClusterNetwork: namespaces on a private bridge; isolate cuts a member off, heal restores it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from kafkapy.testing import netns

reason = netns.netns_unavailable_reason()
pytestmark = [pytest.mark.integration, pytest.mark.timeout(120),
              pytest.mark.skipif(reason is not None, reason=f"network namespaces unavailable: {reason}")]

SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 7000)); s.listen()
print("listening", flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"hi"); c.close()
"""
PROBE = "import socket, sys; print(socket.create_connection((sys.argv[1], 7000), timeout=1).recv(2).decode())"


def reachable(address: str, prefix: list[str] | None = None) -> bool:
    proc = subprocess.run([*(prefix or []), sys.executable, "-c", PROBE, address], capture_output=True, text=True,
                          timeout=30)
    return proc.returncode == 0 and proc.stdout.strip() == "hi"


def namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_members_reach_each_other_and_isolation_is_total() -> None:
    network = netns.ClusterNetwork().create()
    servers = []
    try:
        a, b = network.add_host(0), network.add_host(1)
        assert a.address != b.address and network.gateway.endswith(".1")
        for host in (a, b):
            proc = subprocess.Popen([*network.exec_prefix(host.index), sys.executable, "-c", SERVER, host.address],
                                    stdout=subprocess.PIPE, text=True)
            servers.append(proc)
            assert proc.stdout.readline().strip() == "listening"
        assert reachable(a.address)                                 # root namespace -> member
        assert reachable(b.address, network.exec_prefix(0))         # member -> member
        # A member cannot bind an address it does not have, and nothing listens on the gateway.
        assert not reachable(network.gateway, network.exec_prefix(0))

        network.isolate(0)
        assert network.is_isolated(0)
        assert not reachable(a.address)
        assert not reachable(a.address, network.exec_prefix(1))
        assert reachable(b.address)                                 # the other member is unaffected

        network.heal(0)
        assert reachable(a.address)
        assert reachable(b.address, network.exec_prefix(0))
    finally:
        for proc in servers:
            proc.kill()
            proc.wait()
        network.destroy()
    listed = namespaces()
    assert network.hub not in listed and f"kp{network.tag}b0" not in listed
    assert subprocess.run(["ip", "link", "show", network.root_link], capture_output=True).returncode != 0


def test_destroy_is_idempotent_and_the_context_manager_cleans_up() -> None:
    with netns.ClusterNetwork() as network:
        network.add_host(3)
        assert network.hub in namespaces()
    network.destroy()
    assert network.hub not in namespaces()


def test_networks_of_a_killed_process_are_swept() -> None:
    script = ("import os, sys; from kafkapy.testing import netns; n = netns.ClusterNetwork().create(); "
              "n.add_host(0); print(n.tag, flush=True); os.kill(os.getpid(), 9)")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "PYTHONPATH": str(__import__("pathlib").Path(
                              __file__).resolve().parents[3])})
    tag = proc.stdout.strip()
    assert proc.returncode == -9 and tag
    assert f"kp{tag}hub" in namespaces()                 # left behind by the SIGKILL
    assert tag in netns.sweep_stale()
    listed = namespaces()
    assert f"kp{tag}hub" not in listed and f"kp{tag}b0" not in listed
    assert subprocess.run(["ip", "link", "show", f"kp{tag}r"], capture_output=True).returncode != 0
