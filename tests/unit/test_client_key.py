"""Who one client is for the per-client limits (``client_key``): an IPv4 address, an IPv6 /64."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podium.adapters.memory.rate_limiter import MemoryRateLimiter
from podium.domain.clients import client_key
from podium.domain.errors import RateLimited
from podium.domain.services.join_codes import JoinCodeGuard, JoinCodePolicy
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("127.0.0.1", "127.0.0.1"),
        ("2001:db8:1:2::7", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:DB8:0001:0002:0:0:0:1", "2001:db8:1:2::/64"),  # any spelling: one key
        ("2001:db8:1:3::7", "2001:db8:1:3::/64"),
        ("::1", "::/64"),
        ("fe80::1%eth0", "fe80::/64"),  # a zone does not make another client
        ("::ffff:192.0.2.1", "192.0.2.1"),  # IPv4-mapped: the IPv4 client
        ("::ffff:c000:201", "192.0.2.1"),
        ("unknown", "unknown"),  # not an address: as it is
        ("testclient", "testclient"),
        ("", ""),
        (" 192.0.2.1", " 192.0.2.1"),
        ("192.0.2.1/32", "192.0.2.1/32"),
        ("2001:db8::/64", "2001:db8::/64"),
    ],
)
def test_each_form_of_address_has_its_key(address: str, key: str) -> None:
    assert client_key(address) == key


def test_no_address_stays_none() -> None:
    assert client_key(None) is None


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_is_its_own_client(address: ipaddress.IPv4Address) -> None:
    assert client_key(str(address)) == str(address)
    assert client_key(f"::ffff:{address}") == str(address)


@given(st.ip_addresses(v=6), st.integers(min_value=0, max_value=2**64 - 1))
def test_every_address_of_one_ipv6_64_is_one_client(address: ipaddress.IPv6Address, host: int) -> None:
    if address.ipv4_mapped is not None:
        return  # an IPv4 client: covered above
    sibling = ipaddress.IPv6Address(int(address) >> 64 << 64 | host)
    if sibling.ipv4_mapped is not None:
        return
    key = client_key(str(address))
    assert key == client_key(sibling.exploded) == client_key(str(sibling))
    network = ipaddress.IPv6Network(key)
    assert network.prefixlen == 64
    assert address in network
    outside = ipaddress.IPv6Address((int(address) + 2**64) % 2**128)
    if outside.ipv4_mapped is None:
        assert client_key(str(outside)) != key


@given(st.text(max_size=40))
def test_anything_that_is_not_an_address_is_kept(text: str) -> None:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        assert client_key(text) == text


async def test_join_code_lookups_from_one_ipv6_64_share_its_limit() -> None:
    guard = JoinCodeGuard(MemoryRateLimiter(), JoinCodePolicy(attempts_per_user=100, attempts_per_client=2))
    await guard.check("attend", UserFactory.build(), "2001:db8:1:2::a")
    await guard.check("attend", UserFactory.build(), "2001:db8:1:2::b")
    with pytest.raises(RateLimited):
        await guard.check("attend", UserFactory.build(), "2001:db8:1:2:ffff::c")
    await guard.check("attend", UserFactory.build(), "2001:db8:1:3::a")  # another /64: its own budget
