"""Who may read a metrics endpoint: with METRICS_TOKEN, whoever sends it as a bearer token;
without it, callers on this host (loopback) only. The API's /metrics and the worker's and
beat's metrics servers all ask this one function."""

from __future__ import annotations

import hmac
import ipaddress

from shared.core.errors import Forbidden, Unauthenticated


def metrics_refusal(
    token: str, authorization: str | None, remote_addr: str | None
) -> Unauthenticated | Forbidden | None:
    """The error to answer a scrape with, or None when it may read the metrics."""
    if token:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return None
        return Unauthenticated(
            "invalid_metrics_token", "Metrics need Authorization: Bearer <METRICS_TOKEN>."
        )
    if _is_loopback(remote_addr):
        return None
    return Forbidden(
        "metrics_loopback_only",
        "Metrics answer only callers on this host; set METRICS_TOKEN to scrape from elsewhere.",
    )


def _is_loopback(remote_addr: str | None) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback
