"""The vault's mechanism (ADR 0017): SM4-GCM sealed values and files, kids, the keyring
outside the database, tampering and missing keys refused with a code and a Chinese line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shebao.vault.cipher import FieldCipher, VaultError, blind_index, derive_kid
from shebao.vault.keys import ENV_KEYS, keyring, keyring_add_key, keyring_drop_key
from shebao.vault.storage import EncryptedFileSystemStorage

KEY_A = bytes.fromhex("00112233445566778899aabbccddeeff")
KEY_B = bytes.fromhex("ffeeddccbbaa99887766554433221100")


def _cipher(*keys: bytes) -> FieldCipher:
    ring = {derive_kid(k): k for k in keys}
    return FieldCipher(ring, current=derive_kid(keys[0]))


def test_a_value_round_trips_and_names_its_key() -> None:
    cipher = _cipher(KEY_A)
    token = cipher.encrypt("13912345678")
    assert token.startswith(f"v1:{derive_kid(KEY_A)}:")
    assert "13912345678" not in token
    assert cipher.decrypt(token) == "13912345678"
    # A fresh nonce each time: equal values do not give equal ciphertexts.
    assert cipher.encrypt("13912345678") != token
    assert cipher.encrypt("") == "" and cipher.decrypt("") == ""
    assert cipher.decrypt(cipher.encrypt("湖北省黄石市下陆区团城山街道 8 号")) == (
        "湖北省黄石市下陆区团城山街道 8 号"
    )


def test_values_under_an_old_key_stay_readable_after_a_new_key_is_current() -> None:
    old = _cipher(KEY_A)
    token = old.encrypt("13912345678")
    both = _cipher(KEY_B, KEY_A)
    assert both.decrypt(token) == "13912345678"
    resealed = both.reseal(token)
    assert resealed.split(":")[1] == derive_kid(KEY_B)
    with pytest.raises(VaultError) as missing:
        _cipher(KEY_B).decrypt(token)
    assert missing.value.code == "VAULT_KEY_MISSING" and derive_kid(KEY_A) in missing.value.message


def test_tampered_or_foreign_values_are_refused() -> None:
    cipher = _cipher(KEY_A)
    token = cipher.encrypt("13912345678")
    head, body = token.rsplit(":", 1)
    flipped = head + ":" + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(VaultError) as tampered:
        cipher.decrypt(flipped)
    assert tampered.value.code == "VAULT_TAMPERED"
    with pytest.raises(VaultError) as truncated:
        cipher.decrypt(head + ":" + body[:8])
    assert truncated.value.code == "VAULT_TAMPERED"
    with pytest.raises(VaultError) as plain:
        cipher.decrypt("13912345678")
    assert plain.value.code == "VAULT_NOT_SEALED"
    sealed = cipher.encrypt_file(b"\xff\xd8JPEG")
    with pytest.raises(VaultError) as file_tampered:
        cipher.decrypt_file(sealed[:-1] + bytes([sealed[-1] ^ 1]))
    assert file_tampered.value.code == "VAULT_TAMPERED"


def test_blind_index_is_stable_keyed_and_separated_by_purpose() -> None:
    a = blind_index(KEY_A, "42020219900101123x", purpose="person.id_number")
    assert a == blind_index(KEY_A, " 42020219900101123X", purpose="person.id_number")
    assert a != blind_index(KEY_B, "42020219900101123X", purpose="person.id_number")
    assert a != blind_index(KEY_A, "42020219900101123X", purpose="bank.account")
    assert len(a) == 32 and "4202" not in a


def test_development_keyring_lives_in_the_data_directory_with_private_modes(
    settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    ring = keyring()
    directory = tmp_path / "keys"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in (f"{ring.current}.key", "index.key"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    token = ring.cipher.encrypt("13912345678")
    new = keyring_add_key()
    assert keyring().current == new != ring.current
    assert keyring().cipher.decrypt(token) == "13912345678"
    keyring_drop_key(ring.current)
    assert not (directory / f"{ring.current}.key").exists()
    with pytest.raises(VaultError) as gone:
        keyring().cipher.decrypt(token)
    assert gone.value.code == "VAULT_KEY_MISSING"
    with pytest.raises(VaultError) as current:
        keyring_drop_key(new)
    assert current.value.code == "VAULT_KEY_CURRENT"


def test_keys_from_the_environment_and_their_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEYS, f"{derive_kid(KEY_B)}:{KEY_B.hex()},index:{KEY_A.hex()}")
    ring = keyring()
    assert ring.current == derive_kid(KEY_B) and ring.index_key == KEY_A
    with pytest.raises(VaultError) as external:
        keyring_add_key()
    assert external.value.code == "VAULT_KEYS_EXTERNAL"
    monkeypatch.setenv(ENV_KEYS, f"deadbeef:{KEY_B.hex()},index:{KEY_A.hex()}")
    with pytest.raises(VaultError) as wrong_kid:
        keyring()
    assert (
        wrong_kid.value.code == "VAULT_KEY_INVALID" and derive_kid(KEY_B) in wrong_kid.value.message
    )
    monkeypatch.setenv(ENV_KEYS, f"{derive_kid(KEY_B)}:{KEY_B.hex()}")
    with pytest.raises(VaultError) as no_index:
        keyring()
    assert no_index.value.code == "VAULT_KEY_MISSING" and "盲索引" in no_index.value.message


def test_the_file_storage_keeps_ciphertext_on_disk(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.base import ContentFile

    storage = EncryptedFileSystemStorage(location=tmp_path / "media")
    photo = b"\xff\xd8\xff\xe0" + b"JFIF-planted-photo-bytes" * 20
    name = storage.save("photos/2026/a.jpg", ContentFile(photo))
    on_disk = Path(storage.raw_path(name)).read_bytes()
    assert b"planted-photo-bytes" not in on_disk and on_disk.startswith(b"SHEBAO-VAULT/1\n")
    with storage.open(name, "rb") as handle:
        assert handle.read() == photo


def test_production_refuses_to_start_without_data_keys(tmp_path: Path) -> None:
    from tests.integration.web.test_security_headers import OIDC_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEBAO_")}
    env.pop("DATABASE_URL", None)
    env.update(
        SHEBAO_DATA_DIR=str(tmp_path),
        SHEBAO_ENV="production",
        SHEBAO_SECRET_KEY="k" * 20 + "Q7" * 15,
        SHEBAO_EXCHANGE_KEY="0123456789abcdef0123456789ABCDEF",
        SHEBAO_OIDC_RSA_PRIVATE_KEY=OIDC_KEY,
    )
    refused = subprocess.run(
        [sys.executable, "-m", "shebao", "check"], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "SHEBAO_DATA_KEYS" in lines[0], refused.stderr
    env[ENV_KEYS] = f"{derive_kid(KEY_A)}:{KEY_A.hex()},index:{KEY_B.hex()}"
    started = subprocess.run(
        [sys.executable, "-m", "shebao", "check"], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert not (tmp_path / "keys").exists()
