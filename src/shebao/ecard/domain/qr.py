"""The dynamic QR code (亮码) of the electronic social security card: a signed credential
in the pattern of the EU digital COVID certificate and MOSIP Claim 169.

Text:   ``SBK1:`` + Base45 (RFC 9285) of a COSE_Sign1 structure (RFC 9052, CBOR tag 18):

    [ protected: bstr .cbor {1 (alg): "SM2-SM3", 4 (kid): bstr},
      unprotected: {},
      payload: bstr .cbor {7 (cti): token, 6 (iat): int, 4 (exp): int, "kid": bstr},
      signature: bstr (64 bytes r‖s) ]

The payload uses the CWT claim numbers of RFC 8392 (cti, iat, exp: seconds since the epoch)
and repeats the key id so that the signed bytes name their key. It carries NO personal data:
the token is 16 random bytes that only the platform can map to an e-card (it stores the
token's SM3 hash). The signature is SM2 with SM3 and the default signer ID
(`ecard.domain.sm2`) over the standard ``Sig_structure``
``["Signature1", protected, external_aad = b"", payload]`` encoded in canonical CBOR.

A terminal checks a code offline with the published public keys (`qr_verify_offline`);
results are `QrResult` codes, each with its Chinese message. REPLAYED and REVOKED are only
known online (the platform's redeem service) but belong to the same vocabulary.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import base45
import cbor2

from shebao.ecard.domain.sm2 import SIGNATURE_LENGTH, SM2Verifier, sm2_sign

__all__ = [
    "ALG",
    "CLOCK_SKEW_SECONDS",
    "KID_LENGTH",
    "MAX_TEXT_LENGTH",
    "PREFIX",
    "QR_TTL_SECONDS",
    "TOKEN_LENGTH",
    "QrCheck",
    "QrClaims",
    "QrResult",
    "qr_encode",
    "qr_sig_structure",
    "qr_verify_offline",
]

PREFIX: Final[str] = "SBK1:"
ALG: Final[str] = "SM2-SM3"
COSE_SIGN1_TAG: Final[int] = 18
HEADER_ALG: Final[int] = 1
HEADER_KID: Final[int] = 4
CLAIM_EXP: Final[int] = 4
CLAIM_IAT: Final[int] = 6
CLAIM_CTI: Final[int] = 7
CLAIM_KID: Final[str] = "kid"
TOKEN_LENGTH: Final[int] = 16
KID_LENGTH: Final[int] = 4
QR_TTL_SECONDS: Final[int] = 60
# A terminal's clock may be a little ahead of or behind the platform's.
CLOCK_SKEW_SECONDS: Final[int] = 30
MAX_TEXT_LENGTH: Final[int] = 220
# Base45 of a well-formed code is about 200 characters; anything far longer is not ours and
# is refused before decoding.
_MAX_ACCEPTED_LENGTH: Final[int] = 512


class QrResult(StrEnum):
    OK = "OK"
    MALFORMED = "MALFORMED"
    UNKNOWN_KEY = "UNKNOWN_KEY"
    FORGED = "FORGED"
    EXPIRED = "EXPIRED"
    REPLAYED = "REPLAYED"
    REVOKED = "REVOKED"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES: Final[dict[QrResult, str]] = {
    QrResult.OK: "电子社保卡二维码有效",
    QrResult.MALFORMED: "无法识别的二维码，请出示电子社保卡二维码",
    QrResult.UNKNOWN_KEY: "二维码签名密钥未知，请更新平台公钥后重试",
    QrResult.FORGED: "二维码签名校验失败，疑似伪造，请拒绝受理",
    QrResult.EXPIRED: "二维码已过期，请持卡人刷新后重新出示",
    QrResult.REPLAYED: "二维码已被使用，请持卡人刷新后重新出示",
    QrResult.REVOKED: "该电子社保卡已挂失或停用，二维码无效",
}


@dataclass(frozen=True, slots=True)
class QrClaims:
    """What a code says: the opaque token, its times (seconds since the epoch, UTC) and
    the id of the key that signed it."""

    token: bytes
    issued_at: int
    expires_at: int
    kid: bytes


@dataclass(frozen=True, slots=True)
class QrCheck:
    result: QrResult
    claims: QrClaims | None = None

    @property
    def ok(self) -> bool:
        return self.result is QrResult.OK

    @property
    def code(self) -> str:
        return self.result.value

    @property
    def message(self) -> str:
        return self.result.message


_B45_ALPHABET: Final[bytes] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_DIGITS: Final[bytes] = bytes.maketrans(_B45_ALPHABET, bytes(range(45)))


def b45decode(text: str) -> bytes:
    """Base45 (RFC 9285) decoding, the same as the `base45` package's but about ten times
    faster (a terminal decodes every code it scans): the characters become digits in one
    C-level translate, each group of three is one 16-bit big-endian value. ValueError for
    a character outside the alphabet, a dangling single character or a group over range."""
    raw = text.encode("ascii")  # UnicodeEncodeError is a ValueError
    if raw.translate(None, _B45_ALPHABET):
        raise ValueError("not Base45")
    d = raw.translate(_B45_DIGITS)
    full = len(d) // 3 * 3
    try:
        out = struct.pack(
            f">{full // 3}H",
            *[d[i] + d[i + 1] * 45 + d[i + 2] * 2025 for i in range(0, full, 3)],
        )
    except struct.error as exc:  # a group above 65535
        raise ValueError("not Base45") from exc
    rest = len(d) - full
    if rest == 1:
        raise ValueError("not Base45")
    if rest == 2:
        last = d[full] + d[full + 1] * 45
        if last > 0xFF:
            raise ValueError("not Base45")
        out += bytes((last,))
    return out


def qr_sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes signed (RFC 9052 §4.4): Sig_structure for COSE_Sign1, no external AAD."""
    return cbor2.dumps(["Signature1", protected, b"", payload], canonical=True)


def _protected_header(kid: bytes) -> bytes:
    return cbor2.dumps({HEADER_ALG: ALG, HEADER_KID: kid}, canonical=True)


def qr_encode(claims: QrClaims, private_key: bytes) -> str:
    """Sign `claims` with the platform key and return the QR text (``SBK1:``…)."""
    if len(claims.token) != TOKEN_LENGTH:
        raise ValueError(f"token must be {TOKEN_LENGTH} bytes")
    if len(claims.kid) != KID_LENGTH:
        raise ValueError(f"kid must be {KID_LENGTH} bytes")
    protected = _protected_header(claims.kid)
    payload = cbor2.dumps(
        {
            CLAIM_CTI: claims.token,
            CLAIM_IAT: claims.issued_at,
            CLAIM_EXP: claims.expires_at,
            CLAIM_KID: claims.kid,
        },
        canonical=True,
    )
    signature = sm2_sign(private_key, qr_sig_structure(protected, payload))
    sign1 = cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature])
    return PREFIX + base45.b45encode(cbor2.dumps(sign1)).decode("ascii")


def _decode_sign1(text: str) -> tuple[bytes, Mapping[Any, Any], bytes, bytes] | None:
    """(protected bytes, protected map, payload bytes, signature) or None if not a
    well-formed COSE_Sign1 of ours."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text.startswith(PREFIX) or len(text) > _MAX_ACCEPTED_LENGTH:
        return None
    try:
        raw = b45decode(text[len(PREFIX) :])
        obj = cbor2.loads(raw)
    except Exception:  # any decoding failure of untrusted input is MALFORMED
        return None
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            return None
        obj = obj.value
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        return None
    protected, unprotected, payload, signature = obj
    if not (
        isinstance(protected, bytes)
        and isinstance(unprotected, Mapping)
        and isinstance(payload, bytes)
        and isinstance(signature, bytes)
    ):
        return None
    try:
        header = cbor2.loads(protected)
    except Exception:
        return None
    if not isinstance(header, Mapping):
        return None
    return protected, header, payload, signature


def _claims_of(payload: bytes) -> QrClaims | None:
    try:
        body = cbor2.loads(payload)
    except Exception:
        return None
    if not isinstance(body, Mapping):
        return None
    token, iat, exp, kid = (
        body.get(CLAIM_CTI),
        body.get(CLAIM_IAT),
        body.get(CLAIM_EXP),
        body.get(CLAIM_KID),
    )
    if not (
        isinstance(token, bytes)
        and len(token) == TOKEN_LENGTH
        and type(iat) is int
        and type(exp) is int
        and isinstance(kid, bytes)
    ):
        return None
    return QrClaims(token=token, issued_at=iat, expires_at=exp, kid=kid)


def qr_verify_offline(text: str, keys: Mapping[bytes, SM2Verifier], *, now: float) -> QrCheck:
    """Check a code with the published keys (kid → verifier) at time `now` (seconds since
    the epoch). Order: form (MALFORMED), key (UNKNOWN_KEY), signature (FORGED), then time
    (EXPIRED) — a forged code is called forged even when its claimed times are stale."""
    decoded = _decode_sign1(text)
    if decoded is None:
        return QrCheck(QrResult.MALFORMED)
    protected, header, payload, signature = decoded
    kid = header.get(HEADER_KID)
    if header.get(HEADER_ALG) != ALG or not isinstance(kid, bytes):
        return QrCheck(QrResult.MALFORMED)
    verifier = keys.get(kid)
    if verifier is None:
        return QrCheck(QrResult.UNKNOWN_KEY)
    if len(signature) != SIGNATURE_LENGTH or not verifier.verify(
        qr_sig_structure(protected, payload), signature
    ):
        return QrCheck(QrResult.FORGED)
    claims = _claims_of(payload)
    if claims is None or claims.kid != kid:
        # Signed by us yet not our shape: never issued by this platform's code.
        return QrCheck(QrResult.MALFORMED)
    if claims.issued_at > now + CLOCK_SKEW_SECONDS:
        return QrCheck(QrResult.MALFORMED, claims)
    if now >= claims.expires_at:
        return QrCheck(QrResult.EXPIRED, claims)
    return QrCheck(QrResult.OK, claims)
