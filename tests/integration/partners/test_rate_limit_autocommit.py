"""The identity API as the server runs it: outside any test transaction (autocommit), where
the rate-limit count is one round trip to PostgreSQL and an audit row alone is one INSERT.
The limit still holds, every answered call has its audit row and verified-person row, and
the connection stays usable after each call."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.partners.models import RateWindow, VerifiedPerson
from shebao.partners.services.identity import caller_cache_clear
from shebao.partners.services.registry import partner_set_rate_limit
from tests.integration.partners.world import access_token, build_partner_world, call

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_outside_a_transaction_the_limit_holds_and_every_call_is_audited() -> None:
    world = build_partner_world()
    partner_set_rate_limit(actor=world.centre_user, partner_id=world.hospital.pk, per_minute=3)
    caller_cache_clear()
    client = Client()
    token = access_token(client, world.hospital_terminal)
    ask = {"method": "id_number", "id_number": world.holder.id_number, "name": "王小明"}
    wrong = {**ask, "name": "王大明"}
    statuses = [
        call(client, token, "POST", "/verify", body).status_code for body in (ask, wrong, ask, ask)
    ]
    assert statuses == [200, 200, 200, 429]
    assert not connection.in_atomic_block
    # The refused call was taken off again: the count is the limit.
    counts = RateWindow.objects.filter(partner=world.hospital).values_list("calls", flat=True)
    assert sum(counts) == 3
    events = AuditEvent.objects.filter(action=AuditAction.IDENTITY_VERIFY).order_by("pk")
    assert [e.detail["verified"] for e in events] == [True, False, True]
    assert {e.detail["partner"] for e in events} == {world.hospital.pk}
    assert VerifiedPerson.objects.filter(partner=world.hospital, person=world.holder).count() == 1
    # The other partner has its own count, and the connection still works.
    bus_token = access_token(client, world.bus_terminal)
    assert call(client, bus_token, "POST", "/verify", ask).status_code == 200
    caller_cache_clear()
