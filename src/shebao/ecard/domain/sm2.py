"""SM2 signatures (GB/T 32918.2, GM/T 0003.2) with the SM3 digest, through the C-backed
`gmalglib`.

The signer ID is the standard's default `1234567812345678` (GM/T 0009): a verifier elsewhere
(a partner terminal's own SM2 library) computes the same Z value from it and the public key.
Keys are raw bytes: a 32-byte private scalar, a 65-byte uncompressed public point
`04‖x‖y`; a signature is the 64-byte `r‖s` (not DER), as COSE expects of ECDSA-like
algorithms.

    private, public = sm2_generate_keypair()
    signature = sm2_sign(private, message)
    assert SM2Verifier(public).verify(message, signature)
"""

from __future__ import annotations

from typing import Final

from gmalglib import sm2 as _sm2

__all__ = [
    "PRIVATE_KEY_LENGTH",
    "PUBLIC_KEY_LENGTH",
    "SIGNATURE_LENGTH",
    "SIGNER_ID",
    "SM2KeyError",
    "SM2Verifier",
    "sm2_generate_keypair",
    "sm2_public_key",
    "sm2_sign",
    "sm2_verify",
]

SIGNER_ID: Final[bytes] = b"1234567812345678"
PRIVATE_KEY_LENGTH: Final[int] = 32
PUBLIC_KEY_LENGTH: Final[int] = 65
SIGNATURE_LENGTH: Final[int] = 64


class SM2KeyError(ValueError):
    """A key that is not a valid SM2 key on the recommended curve."""


def sm2_generate_keypair() -> tuple[bytes, bytes]:
    """A fresh key pair from the library's CSPRNG: (private 32 bytes, public 65 bytes)."""
    private, public = _sm2.SM2(pc_mode=_sm2.SM2_PCMODE_RAW).generate_keypair()
    return private, public


def sm2_public_key(private_key: bytes) -> bytes:
    """The uncompressed public point `04‖x‖y` of a private key."""
    if len(private_key) != PRIVATE_KEY_LENGTH or not _sm2.SM2.is_sk_valid(private_key):
        raise SM2KeyError("not a valid SM2 private key")
    return _sm2.SM2.get_pk(private_key, _sm2.SM2_PCMODE_RAW)


def sm2_sign(private_key: bytes, message: bytes) -> bytes:
    """Sign `message` (Z‖M digested with SM3 inside) with the default signer ID; r‖s."""
    if len(private_key) != PRIVATE_KEY_LENGTH or not _sm2.SM2.is_sk_valid(private_key):
        raise SM2KeyError("not a valid SM2 private key")
    return _sm2.SM2(sk=private_key, uid=SIGNER_ID).sign(message)


class SM2Verifier:
    """Verifies signatures of one public key; build it once per key (it checks the point and
    keeps the library object), then call `verify` many times."""

    __slots__ = ("_impl", "public_key")

    def __init__(self, public_key: bytes) -> None:
        if len(public_key) != PUBLIC_KEY_LENGTH or not _sm2.SM2.is_pk_valid(public_key):
            raise SM2KeyError("not a valid uncompressed SM2 public key")
        self.public_key = public_key
        self._impl = _sm2.SM2(pk=public_key, uid=SIGNER_ID)

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != SIGNATURE_LENGTH:
            return False
        try:
            return bool(self._impl.verify(message, signature))
        except (ValueError, RuntimeError):  # r or s out of range: not a signature
            return False


def sm2_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """One-off verification; for many, keep an `SM2Verifier`."""
    return SM2Verifier(public_key).verify(message, signature)
