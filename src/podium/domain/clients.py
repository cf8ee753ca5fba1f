"""Who a client is, for the limits counted per client (logins, join-code lookups, live streams).

An IPv4 address is one client. An IPv6 host is normally given a whole /64 and may take a new address from
it for every request, so one client is one /64: counting per IPv6 address would let one host pass any
per-client limit. An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``, what a dual-stack socket reports for
an IPv4 peer) is that IPv4 client.
"""

from __future__ import annotations

import ipaddress
from typing import overload

IPV6_CLIENT_PREFIX = 64


@overload
def client_key(address: str) -> str: ...
@overload
def client_key(address: None) -> None: ...
def client_key(address: str | None) -> str | None:
    """The key a client's address is counted under: an IPv4 address as it is, an IPv6 address as its /64
    network (``2001:db8:1:2::/64``), an IPv4-mapped IPv6 address as the IPv4 address; anything that is not
    an address (``None``, ``"unknown"``, a test client's name) as it is."""
    if address is None:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    network = ipaddress.IPv6Network((int(parsed), IPV6_CLIENT_PREFIX), strict=False)
    return str(network)


def client_limit_key(action: str, address: str) -> str:
    """The rate limiter's key for ``action`` counted per client (``client_key``): one spelling for every
    per-client limit, so none counts an IPv6 host address by address."""
    return f"{action}:client:{client_key(address)}"
