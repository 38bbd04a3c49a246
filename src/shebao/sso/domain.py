"""Pure rules of single sign-on: pairwise subjects and the cross-device QR sign-in's life
cycle. No Django here."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

# Each transition of a QR sign-in and the statuses it may leave.
QR_TRANSITIONS: Final[dict[str, tuple[frozenset[str], str]]] = {
    "confirm": (frozenset({"pending"}), "confirmed"),
    "refuse": (frozenset({"pending"}), "refused"),
    "complete": (frozenset({"confirmed"}), "completed"),
}


def qr_next_status(*, status: str, transition: str, expires_at: datetime, now: datetime) -> str:
    """The status after `transition`, or ValueError naming why it is not allowed (an
    expired request allows nothing)."""
    if now >= expires_at:
        raise ValueError("expired")
    allowed_from, to = QR_TRANSITIONS[transition]
    if status not in allowed_from:
        raise ValueError(status)
    return to


def sector_of(redirect_uris: str) -> str:
    """The sector of a client (OIDC Core 8.1): the host of its redirect URIs. Two clients
    of one partner on one host share subjects; different partners never do."""
    hosts = sorted({urlsplit(u).hostname or "" for u in redirect_uris.split() if u})
    return " ".join(hosts)


def pairwise_subject(*, key: bytes, sector: str, person_id: int) -> str:
    """sub = HMAC-SHA256(key, sector | person), hex: stable for one person at one sector,
    unrelated between sectors, and not reversible to the person without the key."""
    message = f"{sector}|{person_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
