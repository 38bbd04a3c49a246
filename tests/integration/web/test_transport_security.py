"""With the production transport settings (see test_security_headers for how production sets
them): plain HTTP is redirected, HTTPS answers carry HSTS, the session and CSRF cookies are
Secure and HttpOnly where they can be; API answers and the second-factor pages are not
stored either."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from tests.factories import PASSWORD
from tests.integration.web.conftest import World

pytestmark = pytest.mark.integration

PRODUCTION_TRANSPORT: dict[str, Any] = {
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}


@override_settings(**PRODUCTION_TRANSPORT)
def test_plain_http_is_redirected_to_https(world: World) -> None:
    response = Client().get("/login/?next=/persons/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/?next=/persons/"


@override_settings(**PRODUCTION_TRANSPORT)
def test_https_answers_carry_hsts_and_secure_cookies(world: World) -> None:
    client = Client()
    page = client.get("/login/", secure=True)
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert page.cookies["csrftoken"]["secure"]
    response = client.post(
        "/login/",
        {"username": "fenghuang_clerk", "password": PASSWORD},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"]
    assert "no-store" in response["Cache-Control"]


def test_api_answers_and_login_steps_are_not_stored(world: World, clerk_client: Client) -> None:
    api = clerk_client.get("/api/v1/persons/360426199101010071", {"purpose": "audit"})
    assert "no-store" in api["Cache-Control"]
    assert "no-store" in Client().get("/login/code/")["Cache-Control"]
    assert "no-store" in Client().get("/login/")["Cache-Control"]
