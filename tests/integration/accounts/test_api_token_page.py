"""API tokens: scoped to routers, with a required expiry of at most a year, issued on the
account page with the secret shown once, listed without it, revocable by the owner or an
administrator; tokens from before scopes keep working."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from shebao.accounts.choices import ApiScope, AuditAction, OrganisationKind, Role
from shebao.accounts.models import ApiToken, AuditEvent, User
from shebao.accounts.services import api_token_authenticate, api_token_create
from shebao.errors import ValidationFailed
from tests.factories import make_org, make_regions, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PERSON_URL = "/api/v1/persons/360426199101010071"


@pytest.fixture
def bank_user() -> User:
    make_regions()
    return make_user(Role.BANK_OPERATOR, make_org(OrganisationKind.BANK, "420700"), username="b1")


@pytest.fixture
def page_client(bank_user: User) -> Client:
    client = Client()
    client.force_login(bank_user)
    return client


def _issue(client: Client, **fields: Any) -> Any:
    data = {
        "name": "开户结果回传",
        "scopes": ["cards"],
        "expires_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }
    data.update(fields)
    return client.post("/account/tokens/", data)


def test_the_page_issues_a_token_and_shows_the_secret_once(
    page_client: Client, bank_user: User
) -> None:
    response = _issue(page_client)
    assert response.status_code == 200
    page = response.content.decode()
    raw = re.search(r'data-testid="token-secret">(sb_[^<]+)<', page)
    assert raw, page
    token = ApiToken.objects.get(user=bank_user)
    assert token.scopes == ["cards"]
    assert raw.group(1) != token.digest and raw.group(1) not in token.digest
    assert api_token_authenticate(raw.group(1)) == bank_user
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )
    # The list shows prefix, name, scopes and dates, never the secret again.
    listing = page_client.get("/account/tokens/").content.decode()
    assert raw.group(1) not in listing
    assert token.prefix in listing and "开户结果回传" in listing and "社保卡发行" in listing
    event = AuditEvent.objects.get(action=AuditAction.TOKEN_CREATE)
    assert event.detail["scopes"] == ["cards"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"expires_on": ""}, "请选择有效期"),
        ({"expires_on": (timezone.localdate() + timedelta(days=400)).isoformat()}, "最长 365 天"),
        ({"expires_on": (timezone.localdate() - timedelta(days=1)).isoformat()}, "不能早于今天"),
        ({"scopes": []}, "请至少选择一个可调用的接口"),
        ({"name": ""}, "请填写令牌用途"),
    ],
)
def test_the_form_requires_an_expiry_a_scope_and_a_name(
    page_client: Client, fields: dict[str, Any], message: str
) -> None:
    response = _issue(page_client, **fields)
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_service_caps_the_expiry_and_checks_scopes(bank_user: User) -> None:
    with pytest.raises(ValidationFailed) as err:
        api_token_create(
            actor=bank_user,
            owner=bank_user,
            name="x",
            expires_at=timezone.now() + timedelta(days=366),
        )
    assert err.value.code == "TOKEN_EXPIRY_TOO_LONG"
    with pytest.raises(ValidationFailed) as err:
        api_token_create(actor=bank_user, owner=bank_user, name="x", scopes=["everything"])
    assert err.value.code == "TOKEN_SCOPE_INVALID"
    token, _ = api_token_create(actor=bank_user, owner=bank_user, name="默认")
    assert token.scopes == list(ApiScope.values)
    assert token.expires_at is not None
    assert token.expires_at <= timezone.now() + timedelta(days=365)


def test_a_token_calls_only_the_routers_of_its_scopes(bank_user: User) -> None:
    _, cards_only = api_token_create(
        actor=bank_user, owner=bank_user, name="卡", scopes=[ApiScope.CARDS]
    )
    response = Client().get(
        PERSON_URL, {"purpose": "audit"}, HTTP_AUTHORIZATION=f"Bearer {cards_only}"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "TOKEN_SCOPE_DENIED"
    _, persons = api_token_create(
        actor=bank_user, owner=bank_user, name="人", scopes=[ApiScope.PERSONS]
    )
    response = Client().get(
        PERSON_URL, {"purpose": "audit"}, HTTP_AUTHORIZATION=f"Bearer {persons}"
    )
    assert response.status_code != 401
    assert response.json().get("error", {}).get("code") != "TOKEN_SCOPE_DENIED"


def test_owner_revokes_on_the_page_and_the_token_stops_at_once(
    page_client: Client, bank_user: User
) -> None:
    token, raw = api_token_create(actor=bank_user, owner=bank_user, name="旧令牌")
    response = page_client.post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert api_token_authenticate(raw) is None
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKE).count() == 1
    assert "已吊销" in page_client.get("/account/tokens/").content.decode()


def test_another_users_token_is_not_found_but_an_administrator_manages_it(
    bank_user: User,
) -> None:
    other = make_user(Role.BANK_OPERATOR, bank_user.organisation, username="b2")
    token, raw = api_token_create(actor=other, owner=other, name="别人的")
    client = Client()
    client.force_login(bank_user)
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert "别人的" not in client.get("/account/tokens/").content.decode()
    assert api_token_authenticate(raw) == other

    admin = make_user(Role.SYSTEM_ADMIN, bank_user.organisation, username="adm")
    admin_client = Client()
    admin_client.force_login(admin)
    assert "别人的" in admin_client.get("/account/tokens/").content.decode()
    response = _issue(admin_client, owner="b2", name="代签发")
    assert ApiToken.objects.filter(user=other, name="代签发").exists(), response.content.decode()
    assert admin_client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert api_token_authenticate(raw) is None


def test_an_ordinary_user_cannot_issue_for_someone_else(page_client: Client) -> None:
    _issue(page_client, owner="adm")
    assert ApiToken.objects.get().user.username == "b1"


def test_citizens_and_anonymous_users_have_no_token_page(bank_user: User) -> None:
    assert Client().get("/account/tokens/")["Location"].startswith("/login/")
    citizen = make_user(Role.CITIZEN, None, username="holder")
    client = Client()
    client.force_login(citizen)
    assert client.get("/account/tokens/").status_code == 404


def test_tokens_from_before_scopes_get_every_scope_and_an_expiry(bank_user: User) -> None:
    token, raw = api_token_create(actor=bank_user, owner=bank_user, name="老令牌")
    ApiToken.objects.filter(pk=token.pk).update(scopes=[], expires_at=None)
    migration = importlib.import_module(
        "shebao.accounts.migrations.0005_api_token_scopes_and_second_factor_actions"
    )
    migration.existing_tokens_keep_working(apps, None)
    token.refresh_from_db()
    assert token.scopes == list(ApiScope.values)
    assert token.expires_at is not None
    response = Client().get(PERSON_URL, {"purpose": "audit"}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code != 401
