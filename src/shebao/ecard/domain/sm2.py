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
faster of two C implementations of the same standard: the system's OpenSSL 3 (libcrypto's
EC arithmetic through ctypes, with precomputed multiples of both the generator and the
key, so that s·G + t·P is two table walks; several times gmalglib's speed, whose
variable-base point multiplication is the cost) when it loads and passes the GM/T 0003.5
example at import, else gmalglib. Either way the signer's Z value (SM3 of the signer ID,
the curve and the public key) is computed once per key; a call hashes e = SM3(Z‖M) and
verifies (r, s) against e.
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


# The order n of the recommended curve's base point (GB/T 32918.5).
_N: Final[int] = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
# OpenSSL's NID for the curve sm2p256v1 (obj_mac.h NID_sm2), the same in every OpenSSL 3.
_NID_SM2: Final[int] = 1172


class _OpenSSL:
    """The few libcrypto (OpenSSL 3) EC calls an SM2 verification on a digest needs.

    Not EVP_PKEY_verify: that path multiplies s·G + t·P with a fresh wNAF of both points on
    every call. A platform key verifies millions of codes, so each key gets its own copy of
    the curve whose generator is that key, and both copies keep OpenSSL's precomputed
    multiples (EC_GROUP_precompute_mult): s·G and t·P are then each a table walk, about
    2.5 times fewer instructions than EVP_PKEY_verify (callgrind) for the same arithmetic."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        vp, cint = ctypes.c_void_p, ctypes.c_int
        lib.OpenSSL_version_num.restype = ctypes.c_ulong
        if lib.OpenSSL_version_num() < 0x3000_0000:
            raise OSError("OpenSSL 3 is needed for SM2 keys")
        for name, restype, argtypes in (
            ("EC_GROUP_new_by_curve_name", vp, [cint]),
            ("EC_GROUP_dup", vp, [vp]),
            ("EC_GROUP_free", None, [vp]),
            ("EC_GROUP_precompute_mult", cint, [vp, vp]),
            ("EC_GROUP_set_generator", cint, [vp, vp, vp, vp]),
            ("EC_GROUP_get0_order", vp, [vp]),
            ("EC_GROUP_get0_cofactor", vp, [vp]),
            ("EC_POINT_new", vp, [vp]),
            ("EC_POINT_free", None, [vp]),
            ("EC_POINT_oct2point", cint, [vp, vp, ctypes.c_char_p, ctypes.c_size_t, vp]),
            ("EC_POINT_mul", cint, [vp, vp, vp, vp, vp, vp]),
            ("EC_POINT_add", cint, [vp, vp, vp, vp, vp]),
            ("EC_POINT_get_affine_coordinates", cint, [vp, vp, vp, vp, vp]),
            ("BN_CTX_new", vp, []),
            ("BN_CTX_free", None, [vp]),
            ("BN_new", vp, []),
            ("BN_free", None, [vp]),
            ("BN_bin2bn", vp, [ctypes.c_char_p, cint, vp]),
            ("BN_bn2binpad", cint, [vp, ctypes.c_char_p, cint]),
        ):
            function = getattr(lib, name)  # AttributeError: a libcrypto without it
            function.restype = restype
            function.argtypes = argtypes
        self.lib = lib


class _Scratch:
    """One thread's working objects (a BN_CTX, bignums and points are not to be shared
    between threads; the precomputed curves are read-only and are)."""

    __slots__ = ("bn_ctx", "buffer", "lib", "r1", "r2", "s", "t", "x", "zero")

    def __init__(self, lib: ctypes.CDLL, group: int) -> None:
        self.lib = lib
        self.bn_ctx = lib.BN_CTX_new()
        self.s, self.t, self.x, self.zero = lib.BN_new(), lib.BN_new(), lib.BN_new(), lib.BN_new()
        self.r1, self.r2 = lib.EC_POINT_new(group), lib.EC_POINT_new(group)
        if not all((self.bn_ctx, self.s, self.t, self.x, self.zero, self.r1, self.r2)):
            raise OSError("libcrypto is out of memory")
        self.buffer = ctypes.create_string_buffer(32)

    def __del__(self) -> None:
        lib = self.lib
        for point in (self.r1, self.r2):
            lib.EC_POINT_free(point)
        for bn in (self.s, self.t, self.x, self.zero):
            lib.BN_free(bn)
        lib.BN_CTX_free(self.bn_ctx)


class _OpenSSLKey:
    """One public key in libcrypto: the curve with the standard generator G and a copy whose
    generator is the key P, each with precomputed multiples; working objects per thread."""

    def __init__(self, ossl: _OpenSSL, point: bytes) -> None:
        lib = self._lib = ossl.lib
        self._local = threading.local()
        self._g: int | None = None
        self._p: int | None = None
        self._point: int | None = None
        self._infinity: int | None = None
        bn_ctx = lib.BN_CTX_new()
        try:
            self._g = lib.EC_GROUP_new_by_curve_name(_NID_SM2)
            if not self._g:
                raise OSError("libcrypto has no SM2 curve")
            self._point = lib.EC_POINT_new(self._g)
            # A new point is the point at infinity: the "other" point of a table-only product.
            self._infinity = lib.EC_POINT_new(self._g)
            if lib.EC_POINT_oct2point(self._g, self._point, point, len(point), bn_ctx) != 1:
                raise OSError("libcrypto did not load the SM2 public key")
            self._p = lib.EC_GROUP_dup(self._g)
            if not (
                self._p
                and lib.EC_GROUP_set_generator(
                    self._p,
                    self._point,
                    lib.EC_GROUP_get0_order(self._g),
                    lib.EC_GROUP_get0_cofactor(self._g),
                )
                == 1
                and lib.EC_GROUP_precompute_mult(self._g, bn_ctx) == 1
                and lib.EC_GROUP_precompute_mult(self._p, bn_ctx) == 1
            ):
                raise OSError("libcrypto could not precompute the SM2 key")
        finally:
            lib.BN_CTX_free(bn_ctx)

    def _scratch(self) -> _Scratch:
        scratch: _Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _Scratch(self._lib, self._g or 0)
        return scratch

    def verify_digest(self, digest: bytes, signature: bytes) -> bool:
        """GB/T 32918.2 §7.1 B1-B7 on e = `digest`: the same steps as OpenSSL's own
        ossl_sm2_internal_verify, with (x1, y1) = s·G + t·P from the two tables."""
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < _N and 0 < s < _N):
            return False
        t = (r + s) % _N
        if t == 0:
            return False
        lib, w = self._lib, self._scratch()
        lib.BN_bin2bn(signature[32:], 32, w.s)
        lib.BN_bin2bn(t.to_bytes(32, "big"), 32, w.t)
        if not (
            lib.EC_POINT_mul(self._g, w.r1, w.s, self._infinity, w.zero, w.bn_ctx) == 1
            and lib.EC_POINT_mul(self._p, w.r2, w.t, self._infinity, w.zero, w.bn_ctx) == 1
            and lib.EC_POINT_add(self._g, w.r1, w.r1, w.r2, w.bn_ctx) == 1
            # Fails for the point at infinity, which is no signature.
            and lib.EC_POINT_get_affine_coordinates(self._g, w.r1, w.x, None, w.bn_ctx) == 1
        ):
            return False
        lib.BN_bn2binpad(w.x, w.buffer, 32)
        return (int.from_bytes(digest, "big") + int.from_bytes(w.buffer.raw, "big")) % _N == r

    def __del__(self) -> None:
        lib = getattr(self, "_lib", None)
        if lib is None:
            return
        for point in (self._point, self._infinity):
            if point:
                lib.EC_POINT_free(point)
        for group in (self._p, self._g):
            if group:
                lib.EC_GROUP_free(group)


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
