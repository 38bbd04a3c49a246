"""The data keyring: SM4 master keys for personal data, never in the database.

Two sources, as for the e-card signing keys (`shebao.ecard.services.keys`):

* ``SHEBAO_DATA_KEYS`` (production, where it is required at start): comma-separated
  ``kid:32-hex`` entries, the current key first, then older keys still needed to read values
  not yet re-encrypted; plus one ``index:32-hex`` entry, the blind-index key (it does not
  rotate with the data keys: a new one means recomputing every index). Rotation is then the
  key custodian's work: put a new key first, restart, run ``shebao keys reencrypt``, and drop
  the old entry once ``shebao keys status`` shows no value left under it.
* otherwise the data directory, ``DATA_DIR/keys/``: ``keyring.json`` (kids, creation times, the
  current one first; not secret), one ``<kid>.key`` per data key and ``index.key``, hex, mode
  0600 in a 0700 directory. The first use creates them; ``shebao keys rotate`` adds a new
  current key.

Backups leave ``keys/`` out (ADR 0013): a restore needs the keys brought back separately.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from django.conf import settings

from shebao.vault.cipher import FieldCipher, VaultError, derive_kid

__all__ = [
    "ENV_KEYS",
    "Keyring",
    "keyring",
    "keyring_add_key",
    "keyring_drop_key",
    "keys_external",
    "parse_env_keys",
]

ENV_KEYS: Final[str] = "SHEBAO_DATA_KEYS"
_HEX32: Final[re.Pattern[str]] = re.compile(r"^[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class Keyring:
    cipher: FieldCipher
    index_key: bytes
    created: dict[str, str]  # kid → ISO time ("" from the environment)

    @property
    def current(self) -> str:
        return self.cipher.current


def parse_env_keys(value: str) -> tuple[dict[str, bytes], bytes]:
    """(data keys in order, current first; index key). Raises VaultError with a Chinese line."""
    keys: dict[str, bytes] = {}
    index: bytes | None = None
    for n, item in enumerate((p.strip() for p in value.split(",") if p.strip()), start=1):
        label, _, hex_key = item.partition(":")
        label, hex_key = label.strip().lower(), hex_key.strip()
        if not _HEX32.match(hex_key):
            raise VaultError(
                "VAULT_KEY_INVALID", f"{ENV_KEYS} 第 {n} 项的密钥应为 32 位十六进制字符"
            )
        key = bytes.fromhex(hex_key)
        if label == "index":
            index = key
            continue
        if label != derive_kid(key):
            raise VaultError(
                "VAULT_KEY_INVALID", f"{ENV_KEYS} 第 {n} 项的密钥标识应为 {derive_kid(key)}"
            )
        keys[label] = key
    if not keys:
        raise VaultError("VAULT_KEY_MISSING", f"{ENV_KEYS} 未配置数据密钥（kid:32 位十六进制）")
    if index is None:
        raise VaultError("VAULT_KEY_MISSING", f"{ENV_KEYS} 未配置盲索引密钥（index:32 位十六进制）")
    return keys, index


def keys_external() -> bool:
    return bool(os.environ.get(ENV_KEYS, "").strip())


def _key_dir() -> Path:
    return Path(settings.DATA_DIR) / "keys"


_cache: dict[tuple[str, int, int], Keyring] = {}
_lock = threading.Lock()


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_secret(path: Path, key: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    os.chmod(path, 0o600)


def _read_entries(directory: Path) -> list[dict[str, str]]:
    path = directory / "keyring.json"
    if not path.exists():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get("keys", []))


def _write_entries(directory: Path, entries: list[dict[str, str]]) -> None:
    tmp = directory / "keyring.json.tmp"
    tmp.write_text(json.dumps({"keys": entries}, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, directory / "keyring.json")


def _new_entry(directory: Path) -> dict[str, str]:
    key = secrets.token_bytes(16)
    kid = derive_kid(key)
    _write_secret(directory / f"{kid}.key", key)
    return {"kid": kid, "created_at": datetime.now(UTC).isoformat()}


def _read_key(path: Path, what: str) -> bytes:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        raise VaultError(
            "VAULT_KEY_MISSING", f"缺少{what}文件 {path}（密钥不在备份中，请从密钥保管处恢复）"
        ) from None
    if not _HEX32.match(text):
        raise VaultError("VAULT_KEY_INVALID", f"{what}文件 {path} 不是 32 位十六进制字符")
    return bytes.fromhex(text)


def _ring_from_dir(directory: Path) -> Keyring:
    entries = _read_entries(directory)
    keys = {e["kid"]: _read_key(directory / f"{e['kid']}.key", "数据密钥") for e in entries}
    for kid, key in keys.items():
        if derive_kid(key) != kid:
            raise VaultError("VAULT_KEY_INVALID", f"数据密钥文件 {kid}.key 与其标识不符")
    if not keys:
        raise VaultError("VAULT_KEY_MISSING", f"密钥环 {directory / 'keyring.json'} 中没有数据密钥")
    return Keyring(
        cipher=FieldCipher(keys, current=entries[0]["kid"]),
        index_key=_read_key(directory / "index.key", "盲索引密钥"),
        created={e["kid"]: e.get("created_at", "") for e in entries},
    )


def keyring() -> Keyring:
    env = os.environ.get(ENV_KEYS, "").strip()
    if env:
        cache_key = ("env:" + env, 0, 0)
        ring = _cache.get(cache_key)
        if ring is None:
            keys, index = parse_env_keys(env)
            ring = Keyring(
                cipher=FieldCipher(keys, current=next(iter(keys))),
                index_key=index,
                created=dict.fromkeys(keys, ""),
            )
            with _lock:
                _cache.clear()
                _cache[cache_key] = ring
        return ring
    if getattr(settings, "PRODUCTION", False):
        raise VaultError("VAULT_KEY_MISSING", f"生产环境必须设置 {ENV_KEYS}")
    directory = _key_dir()
    path = directory / "keyring.json"
    try:
        stat = path.stat()
    except FileNotFoundError:
        with _exclusive(directory):
            if not path.exists():
                if not (directory / "index.key").exists():
                    _write_secret(directory / "index.key", secrets.token_bytes(16))
                _write_entries(directory, [_new_entry(directory)])
        stat = path.stat()
    # keyring.json is replaced (new inode) on every change, here or in another process.
    cache_key = (str(path), stat.st_mtime_ns, stat.st_ino)
    ring = _cache.get(cache_key)
    if ring is None:
        ring = _ring_from_dir(directory)
        with _lock:
            _cache.clear()
            _cache[cache_key] = ring
    return ring


def _refuse_external() -> None:
    if keys_external():
        raise VaultError(
            "VAULT_KEYS_EXTERNAL",
            f"数据密钥由环境变量 {ENV_KEYS} 提供，请由密钥管理员更换后重启服务",
        )


def keyring_add_key() -> str:
    """A new current key; every older key stays for reading. Returns the new kid."""
    _refuse_external()
    keyring()  # creates the ring on first use
    directory = _key_dir()
    with _exclusive(directory):
        entries = _read_entries(directory)
        entry = _new_entry(directory)
        _write_entries(directory, [entry, *entries])
    return entry["kid"]


def keyring_drop_key(kid: str) -> None:
    """Forget an old key (the caller has checked that nothing is sealed under it)."""
    _refuse_external()
    directory = _key_dir()
    with _exclusive(directory):
        entries = _read_entries(directory)
        if not entries or entries[0]["kid"] == kid:
            raise VaultError("VAULT_KEY_CURRENT", f"数据密钥 {kid} 是当前密钥，不能停用")
        if kid not in {e["kid"] for e in entries}:
            raise VaultError("VAULT_KEY_UNKNOWN", f"密钥环中没有数据密钥 {kid}")
        _write_entries(directory, [e for e in entries if e["kid"] != kid])
        (directory / f"{kid}.key").unlink(missing_ok=True)
