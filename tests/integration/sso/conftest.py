"""A holder with an active card and a phone, and portals registered as OIDC clients."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from oauth2_provider.models import Application

from shebao.registry.models import Person
from shebao.sms.backends import outbox_path
from tests.factories import make_card, make_org, make_person, make_regions

PHONE = "13800001234"
COUNTY = "420704"


@dataclass
class Portal:
    application: Application
    client_id: str
    client_secret: str
    redirect_uri: str


def make_portal(name: str, redirect_uri: str) -> Portal:
    secret = secrets.token_urlsafe(32)
    app = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        client_secret=secret,
    )
    return Portal(app, app.client_id, secret, redirect_uri)


def last_code(phone: str = PHONE) -> str:
    for line in reversed(outbox_path().read_text(encoding="utf-8").splitlines()):
        message = json.loads(line)
        if message["phone"] == phone:
            found = re.search(r"(\d{6})", message["text"])
            assert found, message
            return found.group(1)
    raise AssertionError("no text to the phone")


@pytest.fixture
def sms_outbox(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    settings.SHEBAO_SMS_BACKEND = "file"


@pytest.fixture
def holder(sms_outbox: None) -> Person:
    make_regions()
    office = make_org("district_card_office", COUNTY)
    person = make_person(COUNTY, name="李四", phone=PHONE)
    make_card(person, custodian=office, status="active")
    return person


def sms_sign_in(client: Any, person: Person) -> None:
    """Sign a Django test client in as the holder through the provider's sign-in page."""
    card_number = person.cards.get().card_number
    sent = client.post("/sso/login/", {"step": "send", "card_number": card_number})
    assert "验证码已发送至" in sent.content.decode(), sent.content.decode()
    done = client.post("/sso/login/", {"step": "verify", "code": last_code()})
    assert done.status_code == 302, done.content.decode()
