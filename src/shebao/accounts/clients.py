"""The client's address behind trusted reverse proxies: one rule for the audit log, the login
lockout and the self-service limits."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest

__all__ = ["client_address", "request_client_address"]


def client_address(
    *, remote_addr: str | None, forwarded_for: str | None, trusted: Sequence[str]
) -> str:
    """The client's address: REMOTE_ADDR, unless it is a trusted proxy, in which case the
    right-most address of X-Forwarded-For that is not itself a trusted proxy (a client
    cannot forge the entries a trusted proxy appended)."""
    remote = (remote_addr or "").strip()
    networks = []
    for item in trusted:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue

    def is_trusted(value: str) -> bool:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return any(address in network for network in networks)

    if not forwarded_for or not is_trusted(remote):
        return remote
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # a malformed entry: fall back to the proxy itself
    return remote


def request_client_address(request: HttpRequest) -> str:
    """`client_address` of a request, with the proxies of SHEBAO_TRUSTED_PROXIES."""
    return client_address(
        remote_addr=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted=getattr(settings, "SHEBAO_TRUSTED_PROXIES", []),
    )
