"""Signing keys from the environment (production): used as given, never written to the data
directory, rotation left to the key custodian, a wrong kid or key refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from shebao.ecard.domain.sm2 import sm2_generate_keypair
from shebao.ecard.services.keys import (
    ENV_KEYS,
    keys_published,
    keys_rotate,
    keys_signing,
    kid_of,
)
from shebao.errors import ValidationFailed

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path


def test_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (current, current_pub), (previous, previous_pub) = (
        sm2_generate_keypair(),
        (sm2_generate_keypair()),
    )
    value = (
        f"{kid_of(current_pub).hex()}:{current.hex()},{kid_of(previous_pub).hex()}:{previous.hex()}"
    )
    monkeypatch.setenv(ENV_KEYS, value)
    assert keys_signing().private_key == current
    assert [k.public_hex for k in keys_published()] == [current_pub.hex(), previous_pub.hex()]
    assert not (tmp_path / "ecard").exists()
    with pytest.raises(ValidationFailed) as exc:
        keys_rotate()
    assert exc.value.code == "ECARD_KEYS_EXTERNAL"


def test_a_wrong_kid_or_key_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private, _ = sm2_generate_keypair()
    monkeypatch.setenv(ENV_KEYS, f"00000000:{private.hex()}")
    with pytest.raises(ValidationFailed) as exc:
        keys_signing()
    assert exc.value.code == "ECARD_KEY_INVALID"
    monkeypatch.setenv(ENV_KEYS, "00000000:zz")
    with pytest.raises(ValidationFailed):
        keys_signing()
