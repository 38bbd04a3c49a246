from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent, User
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


def test_wrong_password_and_unknown_user_get_the_same_message(world: World) -> None:
    wrong = _login(Client(), "fenghuang_clerk", "Wrong-password-1")
    unknown = _login(Client(), "nobody_here", "Wrong-password-1")
    assert "用户名或密码错误" in wrong
    assert "用户名或密码错误" in unknown
    assert "账号已锁定" not in wrong
    assert "账号已锁定" not in unknown


def test_lockout_message_after_repeated_failures(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SHEBAO_LOCKOUT_THRESHOLD = 3
    settings.SHEBAO_LOCKOUT_MINUTES = 15
    client = Client()
    assert "用户名或密码错误" in _login(client, "fenghuang_clerk", "Wrong-password-1")
    assert "用户名或密码错误" in _login(client, "fenghuang_clerk", "Wrong-password-2")
    # The third failure locks the account, and says so at once.
    assert "账号已锁定，请 15 分钟后再试" in _login(client, "fenghuang_clerk", "Wrong-password-3")
    # Even the right password is refused while locked.
    page = _login(client, "fenghuang_clerk", PASSWORD)
    assert "账号已锁定，请 15 分钟后再试" in page
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT, user=world.clerk).exists()


def test_lock_message_rounds_remaining_minutes_up(world: World) -> None:
    User.objects.filter(pk=world.clerk.pk).update(
        locked_until=timezone.now() + timedelta(minutes=4, seconds=10)
    )
    assert "账号已锁定，请 5 分钟后再试" in _login(Client(), "fenghuang_clerk", PASSWORD)


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
