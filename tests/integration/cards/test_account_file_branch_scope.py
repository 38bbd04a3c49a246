"""A bank branch downloads only its own branch's account-opening files (and the head bank's
undivided ones), by page, service or API — never another branch's of the same bank in the
same region (issue #10, item 35)."""

from __future__ import annotations

import pytest
from django.test import Client

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.services import api_token_create
from shebao.cards.models import AccountOpeningRequest
from shebao.cards.services.banking import account_request_export
from shebao.errors import NotFound
from tests.factories import make_org, make_user
from tests.integration.cards.issuing_world import ECHENG, build_world
from tests.integration.cards.test_banking_api import _batch

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_another_branch_cannot_download_a_branchs_account_file() -> None:
    world = build_world(3, police_photos=False)
    _batch(world)
    request = AccountOpeningRequest.objects.get()
    assert request.branch == world.branch
    neighbour = make_org(
        OrganisationKind.BANK_BRANCH, ECHENG, parent=world.bank, name="农业银行凤凰分理处"
    )
    intruder = make_user(Role.BANK_OPERATOR, neighbour)

    with pytest.raises(NotFound):
        account_request_export(actor=intruder, request_id=request.pk)

    page = Client()
    page.force_login(intruder)
    response = page.post(f"/cards/issuing/accounts/{request.pk}/download/", follow=True)
    assert response.headers.get("Content-Disposition") is None
    assert "开户请求不存在" in response.content.decode()

    _, raw = api_token_create(actor=intruder, owner=intruder, name="test")
    api = Client().get(
        f"/api/v1/cards/account-requests/{request.code}/file", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert api.status_code == 404 and api.json()["error"]["code"] == "NOT_FOUND"

    request.refresh_from_db()
    assert request.sent_on is None  # the intruder's attempts did not count as received

    # The branch it is for, and the head bank, still download it.
    own = Client()
    own.force_login(world.branch_clerk)
    response = own.post(f"/cards/issuing/accounts/{request.pk}/download/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    head = make_user(Role.BANK_OPERATOR, world.bank)
    account_request_export(actor=head, request_id=request.pk)
