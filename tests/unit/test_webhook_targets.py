"""Where a webhook may go: https to public addresses; http and private addresses only for an
allow-listed host. Checked at submit (422 naming webhook_url) and at connect time."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx
import pytest

from shared.core.errors import InvalidInput
from shared.core.settings import load_settings
from shared.webhooks.targets import (
    RefusedTarget,
    address_refusal,
    check_webhook_url,
    guarded_client,
    parse_target,
)

SETTINGS = load_settings({"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1, Hooks.Internal"})
PUBLIC = "93.184.215.14"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.7", "private"),
        ("172.16.4.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:10.0.0.7", "private"),
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_non_public_addresses_are_refused_by_kind(address: str, kind: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None and f" {kind} address" in refusal


def test_a_refusal_reads_as_a_sentence() -> None:
    assert address_refusal(ipaddress.ip_address("0.0.0.0")) == "0.0.0.0 is an unspecified address"
    assert address_refusal(ipaddress.ip_address("127.0.0.1")) == "127.0.0.1 is a loopback address"


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/hook", "must use https"),
        ("ftp://example.com/hook", "https:// URL with a host"),
        ("https:///hook", "https:// URL with a host"),
        ("https://user:pw@example.com/hook", "user name or password"),
        ("https://example.com/" + "a" * 2_000, "at most 2000"),
        ("https://[::1/hook", "not a valid URL"),
        ("https://example.com:99999/hook", "port"),
    ],
)
def test_urls_are_refused_before_any_lookup(url: str, reason: str) -> None:
    with pytest.raises(RefusedTarget, match=reason):
        parse_target(url, SETTINGS.WEBHOOK_ALLOWED_HOSTS)


def test_an_allow_listed_host_may_use_http_and_private_addresses() -> None:
    target = parse_target("http://hooks.internal:8080/x", SETTINGS.WEBHOOK_ALLOWED_HOSTS)
    assert (target.host, target.port, target.allow_listed) == ("hooks.internal", 8080, True)
    check_webhook_url("http://127.0.0.1:9/hook", SETTINGS)


def resolving(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    """DNS as `table` says, for the names in it."""
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in table[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_at_submit_a_host_with_any_private_address_is_422_naming_webhook_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolving(
        monkeypatch, {"hooks.example.com": [PUBLIC], "mixed.example.com": [PUBLIC, "10.0.0.1"]}
    )
    check_webhook_url("https://hooks.example.com/hook", SETTINGS)
    for url, reason in (
        ("https://mixed.example.com/hook", "10.0.0.1 is a private address"),
        ("https://localhost/hook", "loopback"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://no-such-host.invalid/hook", "cannot be resolved"),
    ):
        with pytest.raises(InvalidInput, match=reason) as refused:
            check_webhook_url(url, SETTINGS)
        assert (refused.value.code, refused.value.param) == ("invalid_webhook_url", "webhook_url")


def test_a_delivery_checks_the_address_it_connects_to(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that passed at submit and resolves to loopback by delivery time (DNS rebinding)
    is refused as the connection is made: nothing is sent."""
    connected: list[Any] = []
    real_connect = socket.create_connection
    monkeypatch.setattr(
        socket,
        "create_connection",
        lambda address, *args, **kwargs: (
            connected.append(address) or real_connect(address, *args, **kwargs)
        ),
    )
    resolving(monkeypatch, {"rebound.example.com": ["127.0.0.1"]})
    with guarded_client(SETTINGS) as client, pytest.raises(RefusedTarget, match="loopback"):
        client.post("https://rebound.example.com/hook", content=b"{}")
    assert connected == []
    with guarded_client(SETTINGS) as client, pytest.raises(httpx.ConnectError):
        client.post("http://127.0.0.1:9/hook", content=b"{}")  # allow-listed: it tries
    assert connected == [("127.0.0.1", 9)]
