"""Signing change notifications for partners' webhooks, and the retry schedule.

The body is signed with HMAC-SM3 (RFC 2104 over SM3, GB/T 32905) keyed by the partner's
webhook secret; the header carries the time and the signature so that a partner can refuse
a replay: `X-Shebao-Signature: t=<unix seconds>,sm3=<hex of HMAC-SM3(secret, t + "." + body)>`.
"""

from __future__ import annotations

import hmac
from typing import Any, Final, cast

from gmalglib.sm3 import SM3

__all__ = ["SIGNATURE_HEADER", "backoff_seconds", "hmac_sm3", "signature_header", "signature_valid"]

SIGNATURE_HEADER: Final[str] = "X-Shebao-Signature"
MAX_BACKOFF_SECONDS: Final[int] = 3600


class _Sm3Hash:
    """The hashlib-shaped wrapper the standard library's HMAC needs, over gmalglib's C SM3."""

    name = "sm3"
    digest_size = 32
    block_size = 64

    def __init__(self, data: bytes = b"") -> None:
        self._h = SM3()
        if data:
            self._h.update(data)

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return bytes(self._h.copy().digest())

    def hexdigest(self) -> str:
        return self.digest().hex()

    def copy(self) -> _Sm3Hash:
        clone = _Sm3Hash()
        clone._h = self._h.copy()
        return clone


def hmac_sm3(key: bytes, message: bytes) -> bytes:
    # The stdlib HMAC accepts any hashlib-shaped constructor; typeshed names only its own.
    return hmac.new(key, message, cast(Any, _Sm3Hash)).digest()


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac_sm3(secret.encode(), str(timestamp).encode() + b"." + body)
    return f"t={timestamp},sm3={mac.hex()}"


def signature_valid(
    *, secret: str, body: bytes, header: str, now: int, tolerance: int = 300
) -> bool:
    """What a partner does on receipt: the signature matches and the time is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature_header(secret=secret, body=body, timestamp=timestamp)
    return hmac.compare_digest(expected, header)


def backoff_seconds(failures: int) -> int:
    """Wait before the next attempt after `failures` failures in a row: 30 s, 1, 2, 4 … min,
    capped at an hour."""
    if failures <= 0:
        return 0
    return min(MAX_BACKOFF_SECONDS, 30 * 2 ** (failures - 1))
