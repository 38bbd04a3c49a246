"""Pure rules of the electronic social security card (电子社保卡): SM2 signatures
(`sm2`), the signed dynamic QR code and its offline check (`qr`), the e-card's life beside
its physical card (`lifecycle`). No Django here (checked by import-linter)."""

from shebao.ecard.domain.lifecycle import ISSUABLE_CARD_STATUSES, ECardStatus, ecard_status_for
from shebao.ecard.domain.qr import (
    MAX_TEXT_LENGTH,
    PREFIX,
    QR_TTL_SECONDS,
    QrCheck,
    QrClaims,
    QrResult,
    qr_encode,
    qr_sig_structure,
    qr_verify_offline,
)
from shebao.ecard.domain.sm2 import (
    SIGNER_ID,
    SM2KeyError,
    SM2Verifier,
    sm2_generate_keypair,
    sm2_public_key,
    sm2_sign,
    sm2_verify,
)

__all__ = [
    "ISSUABLE_CARD_STATUSES",
    "MAX_TEXT_LENGTH",
    "PREFIX",
    "QR_TTL_SECONDS",
    "SIGNER_ID",
    "ECardStatus",
    "QrCheck",
    "QrClaims",
    "QrResult",
    "SM2KeyError",
    "SM2Verifier",
    "ecard_status_for",
    "qr_encode",
    "qr_sig_structure",
    "qr_verify_offline",
    "sm2_generate_keypair",
    "sm2_public_key",
    "sm2_sign",
    "sm2_verify",
]
