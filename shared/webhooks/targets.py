"""Where a webhook may go: an `https` URL (any scheme httpx speaks for a host on
WEBHOOK_ALLOWED_HOSTS) whose host resolves to public addresses only (an allow-listed host's may
be private). Checked when a job names its webhook, and again by every delivery at connect time,
on the very address the connection then uses: DNS can change in between.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

from shared.core.errors import InvalidInput
from shared.core.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2_000


class RefusedTarget(Exception):
    """A webhook URL or address the policy refuses; its message says why."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    allow_listed: bool


def parse_target(url: str, allowed_hosts: Iterable[str]) -> Target:
    """The host and port `url` names, parsed as httpx will parse it to connect."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedTarget(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise RefusedTarget(f"is not a valid URL: {exc}") from None
    host = parsed.raw_host.decode("ascii").lower()
    if parsed.scheme not in ("https", "http") or not host:
        raise RefusedTarget("must be an https:// URL with a host")
    if parsed.userinfo:
        raise RefusedTarget("must not hold a user name or password")
    allow_listed = host in allowed_hosts
    if parsed.scheme != "https" and not allow_listed:
        raise RefusedTarget(
            f"must use https (http only for a host on WEBHOOK_ALLOWED_HOSTS, not {host})"
        )
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise RefusedTarget(f"names port {port}, which does not exist")
    return Target(host=host, port=port, allow_listed=allow_listed)


def address_refusal(address: IPAddress) -> str | None:
    """Why a webhook may not reach `address`, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, refused in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    ):
        if refused:
            return f"{address} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} address"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, in the resolver's order (an address literal is its own)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedTarget(f"host {host} cannot be resolved: {exc}") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def allowed_addresses(target: Target) -> list[IPAddress]:
    """The addresses the target may be reached at: all of the host's, once none is refused."""
    addresses = resolve(target.host, target.port)
    if not target.allow_listed:
        for address in addresses:
            refusal = address_refusal(address)
            if refusal:
                raise RefusedTarget(
                    f"{target.host}: {refusal}; webhooks go to public addresses "
                    "(or to a host on WEBHOOK_ALLOWED_HOSTS)"
                )
    return addresses


def check_webhook_url(url: str, settings: Settings, what: str = "webhook_url") -> None:
    """Refuse a webhook URL a delivery would refuse now: 422 naming `webhook_url` (`what` says
    which URL, in the message)."""
    try:
        allowed_addresses(parse_target(url, settings.WEBHOOK_ALLOWED_HOSTS))
    except RefusedTarget as exc:
        raise InvalidInput("invalid_webhook_url", f"{what} {exc}.", "webhook_url") from None


class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to addresses the policy allows, checked as the connection is made."""

    def __init__(self, allowed_hosts: tuple[str, ...]) -> None:
        self._allowed_hosts = allowed_hosts
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        target = Target(host=host.lower(), port=port, allow_listed=host in self._allowed_hosts)
        failure: Exception | None = None
        for address in allowed_addresses(target):
            try:
                return self._backend.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise RefusedTarget("webhooks never go to a unix socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def guarded_client(settings: Settings) -> httpx.Client:
    """An HTTP client for one delivery: the policy checked at each connect, no redirects
    followed, no proxy from the environment, each step within WEBHOOK_TIMEOUT_SECONDS."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx takes no network backend: its transport's pool is replaced by one that has ours
    # (TLS still verifies, and sends SNI for, the URL's host name).
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=_GuardedBackend(settings.WEBHOOK_ALLOWED_HOSTS),
    )
    return httpx.Client(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS),
    )
