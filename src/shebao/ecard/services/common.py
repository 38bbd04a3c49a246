"""What the e-card services share: token hashing, the refusal error, rate-limit keys."""

from __future__ import annotations

from typing import Final

from gmalglib import sm3_digest

from shebao.ecard.domain.qr import QrResult
from shebao.errors import ShebaoError
from shebao.identity.id_number import normalize_id_number
from shebao.sms.services import keyed_hash

__all__ = ["CARD_CENTRE_TERMINAL", "QrRefused", "client_key", "person_key", "token_hash"]

# The card centre's own counter terminal: `shebao ecard redeem` redeems as this terminal.
CARD_CENTRE_TERMINAL: Final[str] = "CARD-CENTRE-COUNTER"

_STATUS: Final[dict[QrResult, int]] = {
    QrResult.MALFORMED: 422,
    QrResult.UNKNOWN_KEY: 422,
    QrResult.FORGED: 422,
    QrResult.EXPIRED: 410,
    QrResult.REPLAYED: 409,
    QrResult.REVOKED: 410,
}


class QrRefused(ShebaoError):
    """A QR code (or business token) refused: `code` is a `QrResult` value (EXPIRED,
    REPLAYED, FORGED, REVOKED, UNKNOWN_KEY, MALFORMED) or a business-token code."""

    def __init__(self, result: QrResult, message: str | None = None) -> None:
        super().__init__(
            code=result.value, message=message or result.message, status=_STATUS[result]
        )
        self.result = result


def token_hash(token: bytes) -> str:
    """SM3 of a token, hex: what the database keeps instead of the token."""
    return sm3_digest(token).hex()


def person_key(id_number: str, *, scope: str) -> str:
    return keyed_hash(normalize_id_number(id_number), salt=scope)


def client_key(client: str) -> str:
    return "ip:" + (client or "unknown")
