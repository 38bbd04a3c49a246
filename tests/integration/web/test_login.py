from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent, LoginThrottle
from tests.factories import PASSWORD
from tests.integration.web.conftest import World

pytestmark = pytest.mark.integration


def _login(client: Client, username: str, password: str) -> str:
    response = client.post("/login/", {"username": username, "password": password})
    return response.content.decode()


def test_login_success_lands_on_home_with_user_and_organisation(world: World) -> None:
    client = Client()
    response = client.post(
        "/login/", {"username": "fenghuang_clerk", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain == [("/", 302)]
    page = response.content.decode()
    assert world.clerk.full_name in page
    assert "凤凰村村委会" in page
    assert "村（居）经办" in page
    assert "退出登录" in page
    assert AuditEvent.objects.filter(user=world.clerk, action=AuditAction.LOGIN).count() == 1


def test_login_follows_a_local_next_but_not_an_external_one(world: World) -> None:
    response = Client().post(
        "/login/?next=/persons/", {"username": "fenghuang_clerk", "password": PASSWORD}
    )
    assert response["Location"] == "/persons/"
    response = Client().post(
        "/login/",
        {"username": "fenghuang_clerk", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def _error(page: str) -> str:
    """The login form's error text (the one answer to every failed attempt)."""
    marker = 'role="alert"'
    assert marker in page, page
    return page.split(marker, 1)[1].split("</", 1)[0]


def test_wrong_password_unknown_user_and_lock_get_the_same_message(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SHEBAO_LOCKOUT_THRESHOLD = 2
    wrong = _error(_login(Client(REMOTE_ADDR="10.0.0.1"), "fenghuang_clerk", "Wrong-password-1"))
    unknown = _error(_login(Client(REMOTE_ADDR="10.0.0.1"), "nobody_here", "Wrong-password-1"))
    for name in ("fenghuang_clerk", "nobody_here"):
        _login(Client(REMOTE_ADDR="10.0.0.1"), name, "Wrong-password-2")  # now locked
    locked = _error(_login(Client(REMOTE_ADDR="10.0.0.1"), "fenghuang_clerk", PASSWORD))
    locked_unknown = _error(_login(Client(REMOTE_ADDR="10.0.0.1"), "nobody_here", PASSWORD))
    assert "用户名或密码错误" in wrong
    assert wrong == unknown == locked == locked_unknown
    assert "已锁定" not in wrong


def test_lockout_is_per_username_and_client(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SHEBAO_LOCKOUT_THRESHOLD = 3
    settings.SHEBAO_LOCKOUT_MINUTES = 15
    stranger = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(3):
        assert "用户名或密码错误" in _login(stranger, "fenghuang_clerk", f"Wrong-password-{n}")
    assert AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT, user=world.clerk).exists()
    # The stranger's client is locked for that name: even the right password is refused.
    _login(stranger, "fenghuang_clerk", PASSWORD)
    assert "_auth_user_id" not in stranger.session
    # The clerk at her own desk is not locked out by the stranger.
    desk = Client(REMOTE_ADDR="10.0.0.7")
    response = desk.post("/login/", {"username": "fenghuang_clerk", "password": PASSWORD})
    assert response.status_code == 302
    assert desk.session["_auth_user_id"] == str(world.clerk.pk)


def test_lock_ends_after_the_configured_minutes(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SHEBAO_LOCKOUT_THRESHOLD = 1
    client = Client(REMOTE_ADDR="10.0.0.8")
    _login(client, "fenghuang_clerk", "Wrong-password-1")
    _login(client, "fenghuang_clerk", PASSWORD)
    assert "_auth_user_id" not in client.session
    LoginThrottle.objects.filter(username="fenghuang_clerk").update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    _login(client, "fenghuang_clerk", PASSWORD)
    assert client.session["_auth_user_id"] == str(world.clerk.pk)


def test_empty_form_shows_chinese_field_errors(world: World) -> None:
    page = _login(Client(), "", "")
    assert "请输入用户名" in page
    assert "请输入密码" in page


def test_logout_requires_post(world: World) -> None:
    client = Client()
    client.force_login(world.clerk)
    assert client.get("/logout/").status_code == 302
    assert client.get("/").status_code == 200  # still signed in
    response = client.post("/logout/", follow=True)
    assert "您已安全退出系统" in response.content.decode()
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(user=world.clerk, action=AuditAction.LOGOUT).count() == 1


def test_pages_require_login(world: World) -> None:
    for url in ("/", "/persons/", f"/persons/{world.person.pk}/", "/audit/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_session_expires_after_thirty_idle_minutes(settings) -> None:  # type: ignore[no-untyped-def]
    # Configured in settings: renewed on every request, ended after 30 idle minutes.
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_behind_a_trusted_proxy_the_lock_is_per_forwarded_client(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SHEBAO_LOCKOUT_THRESHOLD = 2
    settings.SHEBAO_TRUSTED_PROXIES = ["10.9.0.1"]
    stranger = Client(REMOTE_ADDR="10.9.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50")
    for n in range(2):
        _login(stranger, "fenghuang_clerk", f"Wrong-password-{n}")
    assert LoginThrottle.objects.get(username="fenghuang_clerk").client == "203.0.113.50"
    # The clerk comes through the same proxy from her own desk: not locked out.
    desk = Client(REMOTE_ADDR="10.9.0.1", HTTP_X_FORWARDED_FOR="10.20.30.40")
    _login(desk, "fenghuang_clerk", PASSWORD)
    assert desk.session["_auth_user_id"] == str(world.clerk.pk)
    failed = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).first()
    assert failed is not None and failed.ip_address == "203.0.113.50"
