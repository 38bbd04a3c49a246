"""Steps of the citizen self-service page for the tests: the identity check, then the
one-time code read from the SMS outbox file (the `file` backend), as a citizen reads it from
the phone."""

from __future__ import annotations

import json
import re

from django.test import Client

from shebao.registry.models import Person
from shebao.sms.backends import outbox_path

URL = "/cards/self-service/"


def last_code(phone: str) -> str:
    """The code in the newest message sent to `phone`."""
    lines = outbox_path().read_text(encoding="utf-8").splitlines()
    for line in reversed(lines):
        message = json.loads(line)
        if message["phone"] == phone:
            found = re.search(r"验证码为 (\d{6})", message["text"])
            assert found, message["text"]
            return found.group(1)
    raise AssertionError(f"no message to {phone}")


def request_code(client: Client, person: Person) -> str:
    page = client.post(
        URL,
        {"id_number": person.id_number, "name": person.name, "phone_last4": person.phone[-4:]},
    )
    assert page.status_code == 200, page.content.decode()
    return page.content.decode()


def verify(client: Client, person: Person) -> str:
    """Pass both steps; the page then shows the person's cards and applications."""
    request_code(client, person)
    page = client.post(URL, {"action": "verify", "code": last_code(person.phone)})
    assert page.status_code == 200, page.content.decode()
    return page.content.decode()
