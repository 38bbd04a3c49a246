"""Who reaches the payment pages: the paying office's clerks and the read-only roles see the
batches, a bank sees its files page, anyone else is refused in Chinese (403)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from shebao.accounts.choices import OrganisationKind, Role
from tests.factories import make_org, make_regions, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


ClientFor = Callable[[Role, OrganisationKind], Client]


@pytest.fixture
def client_for() -> ClientFor:
    make_regions()

    def log_in(role: Role, kind: OrganisationKind) -> Client:
        client = Client()
        client.force_login(make_user(role, make_org(kind, "420700")))
        return client

    return log_in


@pytest.mark.parametrize(
    ("role", "kind", "batches", "bank_files"),
    [
        (Role.PAYING_OFFICE_CLERK, OrganisationKind.PAYING_OFFICE, 200, 403),
        (Role.AUDITOR, OrganisationKind.BUREAU, 200, 403),
        (Role.BANK_OPERATOR, OrganisationKind.BANK, 403, 200),
        (Role.VILLAGE_CLERK, OrganisationKind.VILLAGE_COMMITTEE, 403, 403),
    ],
)
def test_payment_pages_open_for_their_roles_only(
    client_for: ClientFor, role: Role, kind: OrganisationKind, batches: int, bank_files: int
) -> None:
    client = client_for(role, kind)
    assert client.get(reverse("payments:batches")).status_code == batches
    assert client.get(reverse("payments:bank_files")).status_code == bank_files
