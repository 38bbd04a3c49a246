"""The platform's SM2 signing keys for e-card QR codes: a current key that signs and the
previous one, still published, so that codes signed just before a rotation verify until they
expire and terminals that cached the key list keep working.

Private keys never enter the database. Two sources:

* ``SHEBAO_ECARD_SIGNING_KEYS`` (production): ``kid:private-hex[,kid:private-hex]``, newest
  first; rotation is then the key custodian's work (set the variable, restart), and
  `keys_rotate` refuses.
* otherwise the data directory, ``DATA_DIR/ecard/keys/``: ``keyring.json`` (kids, public
  points, creation times, newest first; not secret) and one ``<kid>.key`` file per private
  key (hex, mode 0600, directory 0700). The first use creates a key; ``shebao ecard
  rotate-keys`` (`keys_rotate`) adds a new current key and drops the one before the previous.

A key id (kid) is the first 4 bytes of the SM3 hash of the public point, written as 8 hex
digits in lists and carried as 4 raw bytes in the QR code.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from django.conf import settings
from gmalglib import sm3_digest

from shebao.ecard.domain.qr import KID_LENGTH
from shebao.ecard.domain.sm2 import (
    SM2KeyError,
    SM2Verifier,
    sm2_generate_keypair,
    sm2_public_key,
)
from shebao.errors import ValidationFailed

__all__ = [
    "ENV_KEYS",
    "PublicKey",
    "SigningKey",
    "keys_published",
    "keys_rotate",
    "keys_signing",
    "keys_verifiers",
    "kid_of",
]

ENV_KEYS: Final[str] = "SHEBAO_ECARD_SIGNING_KEYS"
PUBLISHED: Final[int] = 2  # current + previous


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str  # 8 hex digits
    public_hex: str  # uncompressed point 04‖x‖y
    created_at: str  # ISO 8601, "" when from the environment
    current: bool


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: bytes
    private_key: bytes

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()


def kid_of(public_key: bytes) -> bytes:
    return sm3_digest(public_key)[:KID_LENGTH]


def _key_dir() -> Path:
    return Path(settings.DATA_DIR) / "ecard" / "keys"


@dataclass(frozen=True, slots=True)
class _Ring:
    signing: SigningKey
    published: tuple[PublicKey, ...]
    verifiers: dict[bytes, SM2Verifier]


_cache: dict[tuple[str, int, int], _Ring] = {}
_lock = threading.Lock()


def _ring_from_env(value: str) -> _Ring:
    pairs: list[tuple[bytes, bytes]] = []
    for n, item in enumerate(p.strip() for p in value.split(",") if p.strip()):
        kid_hex, _, private_hex = item.partition(":")
        try:
            private = bytes.fromhex(private_hex)
            public = sm2_public_key(private)
        except (ValueError, SM2KeyError) as exc:
            raise ValidationFailed(
                f"{ENV_KEYS} 第 {n + 1} 项不是有效的 SM2 私钥", code="ECARD_KEY_INVALID"
            ) from exc
        if kid_hex.strip().lower() != kid_of(public).hex():
            raise ValidationFailed(
                f"{ENV_KEYS} 第 {n + 1} 项的密钥标识应为 {kid_of(public).hex()}",
                code="ECARD_KEY_INVALID",
            )
        pairs.append((private, public))
    if not pairs:
        raise ValidationFailed(f"{ENV_KEYS} 未配置签名密钥", code="ECARD_KEY_MISSING")
    return _ring_of([(priv, pub, "") for priv, pub in pairs[:PUBLISHED]])


def _ring_of(keys: list[tuple[bytes, bytes, str]]) -> _Ring:
    published = tuple(
        PublicKey(kid=kid_of(pub).hex(), public_hex=pub.hex(), created_at=at, current=i == 0)
        for i, (_, pub, at) in enumerate(keys)
    )
    verifiers = {kid_of(pub): SM2Verifier(pub) for _, pub, _ in keys}
    private, public, _ = keys[0]
    return _Ring(
        signing=SigningKey(kid=kid_of(public), private_key=private),
        published=published,
        verifiers=verifiers,
    )


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """One process at a time creates or rotates keys (the web server's workers, a command)."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_private(directory: Path, kid: str, private: bytes) -> None:
    path = directory / f"{kid}.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(private.hex() + "\n")
    os.chmod(path, 0o600)


def _write_keyring(directory: Path, entries: list[dict[str, str]]) -> None:
    tmp = directory / "keyring.json.tmp"
    tmp.write_text(json.dumps({"keys": entries}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, directory / "keyring.json")


def _read_entries(directory: Path) -> list[dict[str, str]]:
    path = directory / "keyring.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return list(data.get("keys", []))


def _new_entry(directory: Path) -> dict[str, str]:
    private, public = sm2_generate_keypair()
    kid = kid_of(public).hex()
    _write_private(directory, kid, private)
    return {"kid": kid, "public": public.hex(), "created_at": datetime.now(UTC).isoformat()}


def _ring_from_dir(directory: Path) -> _Ring:
    entries = _read_entries(directory)
    keys: list[tuple[bytes, bytes, str]] = []
    for entry in entries[:PUBLISHED]:
        private = bytes.fromhex((directory / f"{entry['kid']}.key").read_text().strip())
        public = sm2_public_key(private)
        if public.hex() != entry["public"]:
            raise ValidationFailed(
                f"签名密钥 {entry['kid']} 的私钥与公钥不匹配", code="ECARD_KEY_INVALID"
            )
        keys.append((private, public, entry.get("created_at", "")))
    return _ring_of(keys)


def _ring() -> _Ring:
    env = os.environ.get(ENV_KEYS, "").strip()
    if env:
        cache_key = ("env:" + env, 0, 0)
        ring = _cache.get(cache_key)
        if ring is None:
            ring = _ring_from_env(env)
            with _lock:
                _cache.clear()
                _cache[cache_key] = ring
        return ring
    directory = _key_dir()
    keyring = directory / "keyring.json"
    try:
        stat = keyring.stat()
    except FileNotFoundError:
        with _exclusive(directory):
            if not keyring.exists():
                _write_keyring(directory, [_new_entry(directory)])
        stat = keyring.stat()
    # The keyring is replaced (new inode) on every rotation.
    cache_key = (str(keyring), stat.st_mtime_ns, stat.st_ino)
    ring = _cache.get(cache_key)
    if ring is None:
        ring = _ring_from_dir(directory)
        with _lock:
            # A rotation (here or in another process) changes the stamp: drop the old ring.
            _cache.clear()
            _cache[cache_key] = ring
    return ring


def keys_signing() -> SigningKey:
    """The current key, which signs new QR codes."""
    return _ring().signing


def keys_published() -> list[PublicKey]:
    """The public keys terminals accept: current first, then the previous one."""
    return list(_ring().published)


def keys_verifiers() -> dict[bytes, SM2Verifier]:
    """kid (4 bytes) → verifier, for `qr_verify_offline`."""
    return _ring().verifiers


def keys_rotate() -> PublicKey:
    """Make a new current key; the old current becomes the previous one (still accepted), the
    one before is dropped and its private key file deleted. Returns the new key."""
    if os.environ.get(ENV_KEYS, "").strip():
        raise ValidationFailed(
            f"签名密钥由环境变量 {ENV_KEYS} 提供，请由密钥管理员更换后重启服务",
            code="ECARD_KEYS_EXTERNAL",
        )
    directory = _key_dir()
    with _exclusive(directory):
        entries = _read_entries(directory)
        entries.insert(0, _new_entry(directory))
        kept, dropped = entries[:PUBLISHED], entries[PUBLISHED:]
        _write_keyring(directory, kept)
        for entry in dropped:
            (directory / f"{entry['kid']}.key").unlink(missing_ok=True)
    return keys_published()[0]
