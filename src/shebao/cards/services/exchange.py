"""Files exchanged with the card vendor and the banks (the seed's "encrypted disc"):
SM4-CBC encryption with a random IV, an SM3 digest of the content, and an SM3-HMAC over the
whole file so that any change is detected before decryption.

Layout (bytes): the magic line `SHEBAO-EXCHANGE/1\\n`, one line of JSON (kind, reference, the
partner's organisation code, the time, the IV, the SM3 digest of the plaintext, the
algorithm), the ciphertext, then the 32-byte HMAC-SM3 of everything before it.

The key is 16 bytes, given as 32 hexadecimal characters in the environment variable
`SHEBAO_EXCHANGE_KEY`; without it, in development (SHEBAO_ENV=development, DEBUG or tests) a
key is derived from SECRET_KEY; in production its absence is an error. The encryption and
MAC keys are derived from it by SM3 with distinct labels.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.utils import timezone

from shebao.errors import ShebaoError

__all__ = [
    "MAGIC",
    "ExchangeError",
    "ExchangeFile",
    "exchange_key",
    "open_exchange_file",
    "seal_exchange_file",
    "sm3_hex",
]

MAGIC: Final[bytes] = b"SHEBAO-EXCHANGE/1\n"
ALGORITHM: Final[str] = "SM4-CBC+HMAC-SM3"
_MAC_LEN: Final[int] = 32


class ExchangeError(ShebaoError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code=code, message=message, status=422)


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def exchange_key() -> bytes:
    raw = os.environ.get("SHEBAO_EXCHANGE_KEY", "").strip()
    if raw:
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            key = b""
        if len(key) != 16:
            raise ExchangeError(
                "EXCHANGE_KEY_INVALID", "数据交换密钥 SHEBAO_EXCHANGE_KEY 应为 32 位十六进制字符"
            )
        return key
    if settings.DEBUG or getattr(settings, "ENVIRONMENT", "") == "development" or _testing():
        return _sm3(b"shebao-exchange-dev:" + settings.SECRET_KEY.encode())[:16]
    raise ExchangeError(
        "EXCHANGE_KEY_MISSING",
        "未配置数据交换密钥（环境变量 SHEBAO_EXCHANGE_KEY），不能加解密交换文件",
    )


def _testing() -> bool:
    return "PYTEST_CURRENT_TEST" in os.environ


def _keys(key: bytes) -> tuple[bytes, bytes]:
    return _sm3(b"enc" + key)[:16], _sm3(b"mac" + key)


@dataclass(frozen=True, slots=True)
class ExchangeFile:
    kind: str
    reference: str
    partner: str
    created_at: str
    digest: str
    content: bytes


def seal_exchange_file(
    content: bytes, *, kind: str, reference: str, partner: str, key: bytes | None = None
) -> bytes:
    enc_key, mac_key = _keys(key or exchange_key())
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(content) + padder.finalize()
    encryptor = Cipher(algorithms.SM4(enc_key), modes.CBC(iv)).encryptor()
    cipher = encryptor.update(padded) + encryptor.finalize()
    header: dict[str, Any] = {
        "kind": kind,
        "reference": reference,
        "partner": partner,
        "created_at": timezone.now().isoformat(),
        "iv": iv.hex(),
        "sm3": sm3_hex(content),
        "algorithm": ALGORITHM,
    }
    body = MAGIC + json.dumps(header, ensure_ascii=False).encode() + b"\n" + cipher
    mac = hmac.HMAC(mac_key, hashes.SM3())
    mac.update(body)
    return body + mac.finalize()


def open_exchange_file(
    data: bytes, *, kind: str | None = None, key: bytes | None = None
) -> ExchangeFile:
    """Verify and decrypt; every failure has its own code and Chinese message."""
    if not data.startswith(MAGIC):
        raise ExchangeError("EXCHANGE_NOT_RECOGNISED", "不是本系统的加密交换文件（文件头不符）")
    if len(data) < len(MAGIC) + _MAC_LEN + 2:
        raise ExchangeError("EXCHANGE_TRUNCATED", "加密交换文件不完整（长度不足），请重新获取")
    enc_key, mac_key = _keys(key or exchange_key())
    body, tag = data[:-_MAC_LEN], data[-_MAC_LEN:]
    mac = hmac.HMAC(mac_key, hashes.SM3())
    mac.update(body)
    try:
        mac.verify(tag)
    except InvalidSignature:
        raise ExchangeError(
            "EXCHANGE_TAMPERED",
            "加密交换文件校验失败：SM3 校验值不符，文件在传输中被改动或截断，或双方密钥不一致",
        ) from None
    end = body.find(b"\n", len(MAGIC))
    try:
        header = json.loads(body[len(MAGIC) : end].decode())
        iv = bytes.fromhex(header["iv"])
        digest = str(header["sm3"])
    except (ValueError, KeyError, UnicodeDecodeError):
        raise ExchangeError("EXCHANGE_HEADER_INVALID", "加密交换文件的文件头已损坏") from None
    if kind is not None and header.get("kind") != kind:
        raise ExchangeError(
            "EXCHANGE_WRONG_KIND",
            f"文件类型不符：应为“{_KIND_LABELS.get(kind, kind)}”，"
            f"实际为“{_KIND_LABELS.get(str(header.get('kind')), header.get('kind'))}”",
        )
    try:
        decryptor = Cipher(algorithms.SM4(enc_key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(body[end + 1 :]) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        content = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise ExchangeError("EXCHANGE_DECRYPT_FAILED", "加密交换文件无法用 SM4 解密") from None
    if sm3_hex(content) != digest:
        raise ExchangeError(
            "EXCHANGE_DIGEST_MISMATCH", "解密后的内容与文件记载的 SM3 摘要不符，数据不完整"
        )
    return ExchangeFile(
        kind=str(header.get("kind", "")),
        reference=str(header.get("reference", "")),
        partner=str(header.get("partner", "")),
        created_at=str(header.get("created_at", "")),
        digest=digest,
        content=content,
    )


KIND_VENDOR_ORDER: Final[str] = "vendor_order"
KIND_VENDOR_RESULT: Final[str] = "vendor_result"
KIND_BANK_REQUEST: Final[str] = "bank_request"
KIND_BANK_RESULT: Final[str] = "bank_result"
# Payments into the card (代发) and contributions taken from it (代扣): shebao.payments.
KIND_PAYMENT_ORDER: Final[str] = "payment_order"
KIND_PAYMENT_RESULT: Final[str] = "payment_result"
KIND_DEDUCTION_ORDER: Final[str] = "deduction_order"
KIND_DEDUCTION_RESULT: Final[str] = "deduction_result"
_KIND_LABELS: Final[dict[str, str]] = {
    KIND_VENDOR_ORDER: "制卡数据（送厂）",
    KIND_VENDOR_RESULT: "制卡结果（回盘）",
    KIND_BANK_REQUEST: "开户数据",
    KIND_BANK_RESULT: "开户结果（回盘）",
    KIND_PAYMENT_ORDER: "代发数据",
    KIND_PAYMENT_RESULT: "代发结果（回盘）",
    KIND_DEDUCTION_ORDER: "代扣数据",
    KIND_DEDUCTION_RESULT: "代扣结果（回盘）",
}
