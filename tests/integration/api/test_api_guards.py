"""The API answers out-of-range numbers with its JSON error (not a 500 page), its
description needs a login or a token, and the access log never holds a full ID number
(issue #10, item 34)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client
from gunicorn.config import Config

from shebao.accounts.services import api_token_create
from shebao.web.access_log import RedactingLogger
from shebao.web.management.commands.serve import LOG_OPTIONS
from tests.integration.registration.world import RegWorld, build_world, run_comparison_now

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HUGE = "99999999999999999999"


@pytest.fixture
def world(tmp_path: Path) -> RegWorld:
    w = build_world(tmp_path)
    run_comparison_now(w)
    return w


def _bearer(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _, raw = api_token_create(actor=user, owner=user, name="合作系统")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_huge_page_number_is_a_json_400(world: RegWorld) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/registration/findings", {"page": HUGE}, **_bearer(world.clerk))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "PARAMETER_OUT_OF_RANGE"


def test_api_docs_need_a_login_or_a_token(world: RegWorld) -> None:
    for path in ("/api/v1/docs", "/api/v1/openapi.json"):
        anonymous = Client().get(path)
        assert anonymous.status_code == 302, path
        assert anonymous["Location"].startswith("/login/?next=")
        assert Client().get(path, HTTP_AUTHORIZATION="Bearer wrong").status_code == 302
        assert Client().get(path, **_bearer(world.clerk)).status_code == 200
    logged_in = Client()
    logged_in.force_login(world.clerk)
    assert logged_in.get("/api/v1/docs").status_code == 200


def test_the_access_log_masks_id_numbers_in_paths(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    config = Config()
    for key, value in LOG_OPTIONS.items():  # exactly what `shebao serve` runs with
        config.set(key, value)
    config.set("accesslog", str(log))
    logger = config.logger_class(config)
    assert isinstance(logger, RedactingLogger)
    id_number = "420704197503081236"
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/api/v1/persons/{id_number}",
        "RAW_URI": f"/api/v1/persons/{id_number}?purpose=card_service",
        "QUERY_STRING": "purpose=card_service",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
    }
    response = SimpleNamespace(status="200 OK", sent=12, headers=[])
    logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = log.read_text()
    assert "/api/v1/persons/420704********1236" in line
    assert id_number not in line
