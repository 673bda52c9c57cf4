"""The real-ZooKeeper harness itself: fixtures, start/stop/kill/restart, ensembles."""
from __future__ import annotations

import socket

import pytest
from kazoo.client import KazooClient

from kafkapy.testing.zookeeper import (ZooKeeperEnsemble, ZooKeeperServer,
                                       four_letter_word)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _kazoo(hosts: str) -> KazooClient:
    client = KazooClient(hosts=hosts, timeout=5)
    client.start(timeout=15)
    return client


def _port_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def test_session_fixture_serves_standalone(zookeeper: ZooKeeperServer) -> None:
    assert zookeeper.mode() == "standalone"
    assert "imok" == four_letter_word("127.0.0.1", zookeeper.client_port, "ruok")
    assert "tickTime=500" in zookeeper.config_path.read_text()


def test_zk_chroot_is_unique_and_usable(zookeeper: ZooKeeperServer, zk_chroot: str) -> None:
    host, chroot = zk_chroot.split("/", 1)
    assert host == zookeeper.connect_string
    assert chroot.startswith("kafkapy-test-")
    client = _kazoo(zookeeper.connect_string)
    try:
        assert client.exists("/" + chroot) is None
        client.ensure_path("/" + chroot)
        rooted = _kazoo(zk_chroot)
        try:
            rooted.create("/hello", b"x")
        finally:
            rooted.stop()
            rooted.close()
        assert client.get("/" + chroot + "/hello")[0] == b"x"
    finally:
        client.stop()
        client.close()


def test_stop_kill_restart_keep_data(tmp_path) -> None:
    server = ZooKeeperServer(tmp_path / "zk").start()
    try:
        port = server.client_port
        client = _kazoo(server.connect_string)
        client.create("/persisted", b"1")
        client.stop()
        client.close()
        server.kill()
        assert not server.is_running()
        assert _port_closed(port)
        server.restart()
        assert server.client_port == port and server.mode() == "standalone"
        client = _kazoo(server.connect_string)
        assert client.get("/persisted")[0] == b"1"
        client.stop()
        client.close()
    finally:
        server.stop()
    assert not server.is_running()
    assert "QuorumPeerMain" in server.read_log() or "ZooKeeperServer" in server.read_log()


def test_startup_failure_reports_log(tmp_path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        server = ZooKeeperServer(tmp_path / "zk", client_port=port)
        with pytest.raises(Exception) as info:
            server.start(timeout_s=30)
        assert "log tail" in str(info.value)
        assert not server.is_running()
    finally:
        blocker.close()


@pytest.mark.slow
def test_three_node_ensemble_survives_one_member(tmp_path) -> None:
    ensemble = ZooKeeperEnsemble(3, tmp_path).start()
    try:
        modes = sorted(s.mode() or "" for s in ensemble.servers)
        assert modes == ["follower", "follower", "leader"]
        client = _kazoo(ensemble.connect_string)
        client.create("/q", b"v")
        follower = next(s for s in ensemble.servers if s.mode() == "follower")
        follower.kill()
        assert client.get("/q")[0] == b"v"
        client.set("/q", b"w")
        client.stop()
        client.close()
        data = (ensemble.servers[0].data_dir / "data" / "myid").read_text().strip()
        assert data == "1"
    finally:
        ensemble.stop()
