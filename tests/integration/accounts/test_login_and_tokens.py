from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import AuditEvent, LoginThrottle, User
from shebao.accounts.services import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    user_create,
)
from shebao.errors import ValidationFailed
from tests.factories import PASSWORD, make_org, make_regions, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def clerk() -> User:
    make_regions()
    return make_user(
        Role.VILLAGE_CLERK, make_org(OrganisationKind.VILLAGE_COMMITTEE, "420704001201")
    )


def test_lockout_after_repeated_failures(clerk: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SHEBAO_LOCKOUT_THRESHOLD = 3
    client = Client()
    for _ in range(3):
        assert not client.login(username=clerk.username, password="wrong-password-1")
    throttle = LoginThrottle.objects.get(username=clerk.username)
    assert throttle.is_locked()
    # Even the right password is refused while locked.
    assert not client.login(username=clerk.username, password=PASSWORD)
    assert AuditEvent.objects.filter(user=clerk, action=AuditAction.LOCKED_OUT).count() == 1
    LoginThrottle.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert client.login(username=clerk.username, password=PASSWORD)


def test_unknown_names_are_counted_and_audited_like_real_ones(db: None, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SHEBAO_LOCKOUT_THRESHOLD = 2
    client = Client()
    for _ in range(2):
        assert not client.login(username="nobody", password="wrong-password-1")
    assert LoginThrottle.objects.get(username="nobody").is_locked()
    events = AuditEvent.objects.filter(username="nobody")
    assert {e.action for e in events} == {AuditAction.LOGIN_FAILED, AuditAction.LOCKED_OUT}


def test_success_resets_failure_count(clerk: User) -> None:
    client = Client()
    assert not client.login(username=clerk.username, password="wrong-password-1")
    assert LoginThrottle.objects.get(username=clerk.username).failures == 1
    assert client.login(username=clerk.username, password=PASSWORD)
    assert not LoginThrottle.objects.filter(username=clerk.username).exists()


@pytest.mark.parametrize(
    ("password", "reason"),
    [("abcdefghijk", "字母和数字"), ("Ab1", "太短"), ("12345678901", "数字")],
)
def test_password_policy(clerk: User, password: str, reason: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        user_create(
            actor=None,
            username="weak",
            password=password,
            organisation=clerk.organisation,
            roles=[Role.VILLAGE_CLERK],
        )
    assert err.value.code == "PASSWORD_WEAK"
    assert reason in err.value.message
    assert not User.objects.filter(username="weak").exists()


def test_tokens_are_stored_hashed_and_revocable(clerk: User) -> None:
    token, raw = api_token_create(actor=clerk, owner=clerk, name="银行接口")
    assert raw not in token.digest and token.digest != raw
    assert api_token_authenticate(raw) == clerk
    assert api_token_authenticate(raw + "x") is None
    api_token_revoke(actor=clerk, token_id=token.pk)
    assert api_token_authenticate(raw) is None


def test_expired_token_refused(clerk: User) -> None:
    _, raw = api_token_create(
        actor=clerk, owner=clerk, name="过期", expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert api_token_authenticate(raw) is None
    response = Client().get(
        "/api/v1/persons/360426199101010071",
        {"purpose": "audit"},
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHENTICATED"
