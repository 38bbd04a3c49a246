"""Production refuses to start without its keys, in one Chinese line; pages send a CSP
without 'unsafe-inline' and personal pages are never cached (issue #10, item 32)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from shebao.accounts.choices import Purpose
from shebao.identity.masking import mask_id_number
from tests.integration.web.conftest import World

pytestmark = pytest.mark.integration


def _rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


OIDC_KEY = _rsa_pem()
# The personal-data keys (ADR 0017): one data key under its derived kid, and the index key.
DATA_KEYS = "6245bcca:00112233445566778899aabbccddeeff,index:ffeeddccbbaa99887766554433221100"


def _shebao(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHEBAO_")}
    clean.pop("DATABASE_URL", None)
    clean.update({"SHEBAO_DATA_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-m", "shebao", "check"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_refuses_to_start_without_the_exchange_key(tmp_path: Path) -> None:
    secret = "k" * 20 + "Q7" * 15
    refused = _shebao(tmp_path, SHEBAO_ENV="production", SHEBAO_SECRET_KEY=secret)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, refused.stderr
    assert "生产环境必须设置 SHEBAO_EXCHANGE_KEY" in lines[0]
    bad_key = _shebao(
        tmp_path, SHEBAO_ENV="production", SHEBAO_SECRET_KEY=secret, SHEBAO_EXCHANGE_KEY="abc"
    )
    assert bad_key.returncode != 0 and "SHEBAO_EXCHANGE_KEY" in bad_key.stderr
    # The OpenID Connect signing key is required as well (ADR 0011), refused in one line.
    no_oidc_key = _shebao(
        tmp_path,
        SHEBAO_ENV="production",
        SHEBAO_SECRET_KEY=secret,
        SHEBAO_EXCHANGE_KEY="0123456789abcdef0123456789ABCDEF",
    )
    assert no_oidc_key.returncode != 0
    assert "Traceback" not in no_oidc_key.stderr
    lines = [line for line in no_oidc_key.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "SHEBAO_OIDC_RSA_PRIVATE_KEY" in lines[0], no_oidc_key.stderr
    started = _shebao(
        tmp_path,
        SHEBAO_ENV="production",
        SHEBAO_SECRET_KEY=secret,
        SHEBAO_EXCHANGE_KEY="0123456789abcdef0123456789ABCDEF",
        SHEBAO_OIDC_RSA_PRIVATE_KEY=OIDC_KEY,
        SHEBAO_DATA_KEYS=DATA_KEYS,
    )
    assert started.returncode == 0, started.stderr


def test_missing_secret_key_is_one_line_too(tmp_path: Path) -> None:
    refused = _shebao(tmp_path, SHEBAO_ENV="production")
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert "SHEBAO_SECRET_KEY" in refused.stderr


def test_pages_send_a_strict_content_security_policy(world: World) -> None:
    response = Client().get("/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_personal_pages_are_not_stored(world: World, clerk_client: Client) -> None:
    clerk_client.post(
        f"/persons/{world.person.pk}/", {"purpose": Purpose.CARD_SERVICE, "purpose_note": ""}
    )
    response = clerk_client.get(f"/persons/{world.person.pk}/")
    assert response.status_code == 200
    assert mask_id_number(world.person.id_number) in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_production_settings_force_https(settings) -> None:  # type: ignore[no-untyped-def]
    # Read from a production start: redirect, HSTS for a year, secure cookies.
    code = (
        "from django.conf import settings as s;"
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEBAO_")}
    env.update(
        SHEBAO_ENV="production",
        SHEBAO_SECRET_KEY="k" * 20 + "Q7" * 15,
        SHEBAO_EXCHANGE_KEY="0123456789abcdef0123456789abcdef",
        SHEBAO_OIDC_RSA_PRIVATE_KEY=OIDC_KEY,
        SHEBAO_DATA_KEYS=DATA_KEYS,
        SHEBAO_DATA_DIR=str(settings.DATA_DIR),
        DJANGO_SETTINGS_MODULE="shebao.settings",
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "31536000", "True", "True"]
