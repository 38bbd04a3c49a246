"""Passwords are stored with Argon2id; a hash from before (PBKDF2) is upgraded at sign-in."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password

from tests.factories import make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def production_hashers(settings):  # type: ignore[no-untyped-def]
    # The suite swaps in a fast hasher (tests/conftest.py); put the project's list back.
    from shebao import settings as shebao_settings

    settings.PASSWORD_HASHERS = list(shebao_settings.PASSWORD_HASHERS)
    return settings


def test_new_passwords_are_hashed_with_argon2id(production_hashers) -> None:  # type: ignore[no-untyped-def]
    user = make_user("card_centre_operator", None, username="argon_new")
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert authenticate(username="argon_new", password="Shebao2026test") is not None


def test_an_old_pbkdf2_hash_is_upgraded_when_its_user_signs_in(production_hashers) -> None:  # type: ignore[no-untyped-def]
    user = make_user("card_centre_operator", None, username="argon_old")
    user.password = make_password("Shebao2026test", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    assert authenticate(username="argon_old", password="wrong-password-1A") is None
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")
    assert authenticate(username="argon_old", password="Shebao2026test") is not None
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
