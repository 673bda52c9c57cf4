"""Which address a listener binds: Kafka binds one address (a name's first, IPv4 first), or all for none."""
from __future__ import annotations

import asyncio
import socket

import pytest

from kafkapy.server.network import bind_address


class FakeLoop:
    def __init__(self, infos):
        self.infos = infos
        self.asked: list[tuple[str, int]] = []

    async def getaddrinfo(self, host, port, type=0):  # noqa: A002 - asyncio's own parameter name
        self.asked.append((host, port))
        return self.infos


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 5))


V6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 9092, 0, 0))
V4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 9092))


def test_a_name_binds_its_first_ipv4_address_even_when_ipv6_comes_first():
    loop = FakeLoop([V6, V4])
    assert run(bind_address(loop, "localhost", 9092)) == "127.0.0.1"
    assert loop.asked == [("localhost", 9092)]


def test_a_name_with_only_ipv6_binds_that():
    assert run(bind_address(FakeLoop([V6]), "ip6-localhost", 9092)) == "::1"


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "::", "::1"])
def test_addresses_are_bound_as_given_without_a_lookup(host):
    loop = FakeLoop([])
    assert run(bind_address(loop, host, 9092)) == host
    assert loop.asked == []


def test_no_host_means_every_interface():
    assert run(bind_address(FakeLoop([]), "", 9092)) is None


def test_the_real_localhost_resolves_to_an_address_this_machine_can_bind():
    async def bind_it() -> str:
        address = await bind_address(asyncio.get_running_loop(), "localhost", 0)
        server = await asyncio.get_running_loop().create_server(asyncio.Protocol, address, 0)
        server.close()
        await server.wait_closed()
        return address
    assert run(bind_it()) in ("127.0.0.1", "::1")
