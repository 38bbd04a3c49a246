"""SM4-GCM sealing of short text values and of files, and the HMAC-SM3 blind index.

A sealed value is text: ``v1:<kid>:<nonce>:<ciphertext‖tag>``, nonce and ciphertext in URL-safe
base64 without padding. The kid names the key, so values sealed under several keys can be read
side by side while a rotation re-encrypts them. The empty string is not sealed: "no value" stays
visible (and queryable) while every value present is not.

A sealed file is ``SHEBAO-VAULT/1\\n<kid>\\n`` then the 12-byte nonce and the ciphertext‖tag.

No Django here: the bulk loaders use `FieldCipher` directly (one object, one pass over a list).
"""

from __future__ import annotations

import base64
import hmac as std_hmac
import os
import re
from collections.abc import Iterable, Mapping
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shebao.errors import ShebaoError

__all__ = [
    "FILE_MAGIC",
    "PREFIX",
    "FieldCipher",
    "VaultError",
    "blind_index",
    "derive_kid",
    "is_sealed",
    "kid_of_token",
    "sm3",
]

PREFIX: Final[str] = "v1:"
FILE_MAGIC: Final[bytes] = b"SHEBAO-VAULT/1\n"
NONCE_LEN: Final[int] = 12
TAG_LEN: Final[int] = 16
KID_RE: Final[re.Pattern[str]] = re.compile(r"^[0-9a-f]{8}$")


class VaultError(ShebaoError):
    """A value or file that cannot be opened (unknown key, altered, not sealed) or a keyring
    that cannot be read: a machine code and a Chinese message, never the value."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code=code, message=message, status=500)


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def derive_kid(key: bytes) -> str:
    """A key's id: the first 4 bytes of SM3 over a label and the key, 8 hex digits. Derived, so
    one kid can never name two different keys on two machines."""
    return sm3(b"shebao-vault-kid:" + key)[:4].hex()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def kid_of_token(value: str) -> str:
    return value[len(PREFIX) : len(PREFIX) + 8]


class FieldCipher:
    """Seals with the current key, opens with any key of the ring. Build one per keyring and
    reuse it: the SM4 key schedule is per call anyway (GCM needs a fresh nonce), but the key
    lookup and derivation are done once."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise VaultError("VAULT_KEY_MISSING", f"当前数据密钥 {current} 不在密钥环中")
        # The SM4 key is derived from the master key with a label, so a master key never
        # doubles as the key of another use.
        self._keys = {kid: sm3(b"shebao-vault-sm4:" + key)[:16] for kid, key in keys.items()}
        self.current = current

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def _key(self, kid: str) -> bytes:
        try:
            return self._keys[kid]
        except KeyError:
            raise VaultError(
                "VAULT_KEY_MISSING",
                f"数据密钥 {kid} 不在密钥环中，无法解密"
                "（请检查 SHEBAO_DATA_KEYS 或数据目录下的 keys/）",
            ) from None

    def _seal(self, data: bytes) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_LEN)
        encryptor = Cipher(algorithms.SM4(self._key(self.current)), modes.GCM(nonce)).encryptor()
        return nonce, encryptor.update(data) + encryptor.finalize() + encryptor.tag

    def _open(self, kid: str, nonce: bytes, sealed: bytes) -> bytes:
        if len(nonce) != NONCE_LEN or len(sealed) < TAG_LEN:
            raise VaultError("VAULT_TAMPERED", "加密数据不完整或已被改动，拒绝解密")
        body, tag = sealed[:-TAG_LEN], sealed[-TAG_LEN:]
        decryptor = Cipher(algorithms.SM4(self._key(kid)), modes.GCM(nonce, tag)).decryptor()
        try:
            return decryptor.update(body) + decryptor.finalize()
        except InvalidTag:
            raise VaultError(
                "VAULT_TAMPERED", "加密数据已被改动（认证标签不符），拒绝解密"
            ) from None

    # Text values -----------------------------------------------------------------------

    def encrypt(self, value: str) -> str:
        if value == "":
            return ""
        nonce, sealed = self._seal(value.encode("utf-8"))
        return f"{PREFIX}{self.current}:{_b64(nonce)}:{_b64(sealed)}"

    def decrypt(self, token: str) -> str:
        if token == "":
            return ""
        parts = token.split(":")
        if len(parts) != 4 or parts[0] != "v1" or not KID_RE.match(parts[1]):
            raise VaultError("VAULT_NOT_SEALED", "字段值不是本系统的加密格式（v1:kid:nonce:密文）")
        try:
            nonce, sealed = _unb64(parts[2]), _unb64(parts[3])
        except ValueError:
            raise VaultError("VAULT_TAMPERED", "加密数据已被改动（编码无效），拒绝解密") from None
        return self._open(parts[1], nonce, sealed).decode("utf-8")

    def encrypt_many(self, values: Iterable[str | None]) -> list[str | None]:
        return [None if v is None else self.encrypt(v) for v in values]

    def decrypt_many(self, values: Iterable[str | None]) -> list[str | None]:
        return [None if v is None else self.decrypt(v) for v in values]

    def reseal(self, token: str) -> str:
        """The same value under the current key (a rotation step)."""
        return self.encrypt(self.decrypt(token))

    # Files -----------------------------------------------------------------------------

    def encrypt_file(self, data: bytes) -> bytes:
        nonce, sealed = self._seal(data)
        return FILE_MAGIC + self.current.encode("ascii") + b"\n" + nonce + sealed

    def decrypt_file(self, data: bytes) -> bytes:
        kid = self.file_kid(data)
        if kid is None:
            raise VaultError("VAULT_NOT_SEALED", "文件不是本系统的加密格式")
        start = len(FILE_MAGIC) + 9
        return self._open(kid, data[start : start + NONCE_LEN], data[start + NONCE_LEN :])

    @staticmethod
    def file_kid(data: bytes) -> str | None:
        if not data.startswith(FILE_MAGIC):
            return None
        kid = data[len(FILE_MAGIC) : len(FILE_MAGIC) + 8].decode("ascii", "replace")
        newline = data[len(FILE_MAGIC) + 8 : len(FILE_MAGIC) + 9]
        return kid if KID_RE.match(kid) and newline == b"\n" else None


def blind_index(key: bytes, value: str, *, purpose: str) -> str:
    """HMAC-SM3 of a normalised value under the index key, 32 hex digits: equal values give
    equal indexes (joins, unique constraints, look-ups) without the value itself. `purpose`
    separates uses, so the index of a phone never equals that of the same digits elsewhere."""
    if value == "":
        return ""
    mac = hmac.HMAC(sm3(b"shebao-vault-index:" + key), hashes.SM3())
    mac.update(purpose.encode("utf-8") + b"\x00" + value.strip().upper().encode("utf-8"))
    return mac.finalize()[:16].hex()


def same_index(a: str, b: str) -> bool:
    return std_hmac.compare_digest(a, b)
