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

Verification is what partner terminals and the redeem service do most, so it takes the
faster of two C implementations of the same standard: the system's OpenSSL 3 (libcrypto,
through ctypes; about twice as fast as gmalglib's, whose variable-base point multiplication
is the cost) when it loads and passes the GM/T 0003.5 example at import, else gmalglib.
Either way the signer's Z value (SM3 of the signer ID, the curve and the public key) is
computed once per key; a call hashes e = SM3(Z‖M) and verifies (r, s) against e.
`sm2_backend()` says which one is in use.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Final

from gmalglib import sm2 as _sm2
from gmalglib import sm3_digest as _sm3_digest

__all__ = [
    "PRIVATE_KEY_LENGTH",
    "PUBLIC_KEY_LENGTH",
    "SIGNATURE_LENGTH",
    "SIGNER_ID",
    "SM2KeyError",
    "SM2Verifier",
    "sm2_backend",
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


def _der_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\0") or b"\0"
    if value[0] & 0x80:
        value = b"\0" + value
    return b"\x02" + bytes([len(value)]) + value


def _der_signature(signature: bytes) -> bytes:
    """r‖s as the DER SEQUENCE of two INTEGERs OpenSSL expects (at most 72 bytes)."""
    body = _der_integer(signature[:32]) + _der_integer(signature[32:])
    return b"\x30" + bytes([len(body)]) + body


# SubjectPublicKeyInfo of an uncompressed point on the SM2 curve: id-ecPublicKey with the
# named curve sm2p256v1 (1.2.156.10197.1.301), then BIT STRING 00‖04‖x‖y.
_SPKI_PREFIX: Final[bytes] = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


class _OpenSSL:
    """The few libcrypto (OpenSSL 3) calls an SM2 verification on a digest needs."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        vp = ctypes.c_void_p
        lib.OpenSSL_version_num.restype = ctypes.c_ulong
        if lib.OpenSSL_version_num() < 0x3000_0000:
            raise OSError("OpenSSL 3 is needed for SM2 keys")
        lib.d2i_PUBKEY.restype = vp
        lib.d2i_PUBKEY.argtypes = [vp, ctypes.POINTER(ctypes.c_char_p), ctypes.c_long]
        lib.EVP_PKEY_is_a.restype = ctypes.c_int
        lib.EVP_PKEY_is_a.argtypes = [vp, ctypes.c_char_p]
        lib.EVP_PKEY_free.restype = None
        lib.EVP_PKEY_free.argtypes = [vp]
        lib.EVP_PKEY_CTX_new.restype = vp
        lib.EVP_PKEY_CTX_new.argtypes = [vp, vp]
        lib.EVP_PKEY_CTX_free.restype = None
        lib.EVP_PKEY_CTX_free.argtypes = [vp]
        lib.EVP_PKEY_verify_init.restype = ctypes.c_int
        lib.EVP_PKEY_verify_init.argtypes = [vp]
        lib.EVP_PKEY_verify.restype = ctypes.c_int
        lib.EVP_PKEY_verify.argtypes = [
            vp,
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_char_p,
            ctypes.c_size_t,
        ]
        self.lib = lib

    def public_key(self, point: bytes) -> int:
        der = _SPKI_PREFIX + point
        cursor = ctypes.c_char_p(der)
        pkey = self.lib.d2i_PUBKEY(None, ctypes.byref(cursor), len(der))
        if not pkey:
            raise OSError("libcrypto did not load the SM2 public key")
        if self.lib.EVP_PKEY_is_a(pkey, b"SM2") != 1:
            self.lib.EVP_PKEY_free(pkey)
            raise OSError("libcrypto has no SM2")
        return int(pkey)


class _OpenSSLKey:
    """One public key in libcrypto, with a verification context per thread (a context is
    not to be shared between threads; the key is)."""

    def __init__(self, ossl: _OpenSSL, point: bytes) -> None:
        self._ossl = ossl
        self._pkey = ossl.public_key(point)
        self._local = threading.local()
        self._contexts: list[int] = []
        self._lock = threading.Lock()

    def _context(self) -> int:
        ctx: int | None = getattr(self._local, "ctx", None)
        if ctx is None:
            lib = self._ossl.lib
            ctx = lib.EVP_PKEY_CTX_new(self._pkey, None)
            if not ctx or lib.EVP_PKEY_verify_init(ctx) != 1:
                if ctx:
                    lib.EVP_PKEY_CTX_free(ctx)
                raise OSError("libcrypto could not start an SM2 verification")
            self._local.ctx = ctx
            with self._lock:
                self._contexts.append(ctx)
        return ctx

    def verify_digest(self, digest: bytes, signature: bytes) -> bool:
        der = _der_signature(signature)
        # 1 is a valid signature; 0 a wrong one; < 0 one that does not parse or is out of range.
        return bool(self._ossl.lib.EVP_PKEY_verify(self._context(), der, len(der), digest, 32) == 1)

    def __del__(self) -> None:
        lib = getattr(getattr(self, "_ossl", None), "lib", None)
        if lib is None:
            return
        for ctx in getattr(self, "_contexts", []):
            lib.EVP_PKEY_CTX_free(ctx)
        if getattr(self, "_pkey", None):
            lib.EVP_PKEY_free(self._pkey)


# GM/T 0003.5-2012 Annex A's example (the same as tests/unit/ecard/test_sm2_vectors.py): a
# libcrypto that does not verify it, or refuses it with one bit flipped, is not used.
_SELF_TEST_PUBLIC: Final[bytes] = bytes.fromhex(
    "0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
_SELF_TEST_DIGEST: Final[bytes] = bytes.fromhex(
    "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
)
_SELF_TEST_SIGNATURE: Final[bytes] = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)


def _load_openssl() -> _OpenSSL | None:
    path = ctypes.util.find_library("crypto")
    if not path:
        return None
    try:
        ossl = _OpenSSL(path)
        key = _OpenSSLKey(ossl, _SELF_TEST_PUBLIC)
        flipped = _SELF_TEST_SIGNATURE[:-1] + bytes([_SELF_TEST_SIGNATURE[-1] ^ 1])
        if key.verify_digest(_SELF_TEST_DIGEST, _SELF_TEST_SIGNATURE) and not key.verify_digest(
            _SELF_TEST_DIGEST, flipped
        ):
            return ossl
    except (OSError, AttributeError):  # no libcrypto 3, or one without SM2
        pass
    return None


_openssl: _OpenSSL | None = _load_openssl()


def sm2_backend() -> str:
    """Which implementation verifies: "openssl" (libcrypto 3) or "gmalglib"."""
    return "openssl" if _openssl is not None else "gmalglib"


class SM2Verifier:
    """Verifies signatures of one public key; build it once per key (it checks the point,
    computes the signer's Z value and keeps the library's key object), then call `verify`
    many times, from any thread."""

    __slots__ = ("_fast", "_impl", "_z", "public_key")

    def __init__(self, public_key: bytes, *, backend: str | None = None) -> None:
        if len(public_key) != PUBLIC_KEY_LENGTH or not _sm2.SM2.is_pk_valid(public_key):
            raise SM2KeyError("not a valid uncompressed SM2 public key")
        self.public_key = public_key
        self._impl = _sm2.SM2(pk=public_key, uid=SIGNER_ID)
        self._z: bytes = self._impl.get_entity_info()
        use_openssl = _openssl is not None and backend in (None, "openssl")
        if backend == "openssl" and _openssl is None:
            raise SM2KeyError("OpenSSL with SM2 is not available here")
        self._fast = _OpenSSLKey(_openssl, public_key) if use_openssl and _openssl else None

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != SIGNATURE_LENGTH:
            return False
        digest = _sm3_digest(self._z + message)
        if self._fast is not None:
            return self._fast.verify_digest(digest, signature)
        try:
            return bool(self._impl.verify_digest(digest, signature))
        except (ValueError, RuntimeError):  # r or s out of range: not a signature
            return False


def sm2_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """One-off verification; for many, keep an `SM2Verifier`."""
    return SM2Verifier(public_key).verify(message, signature)
