"""The cross-device sign-in: the computer's page shows a QR, the holder confirms it from the
phone signed in to "my e-card", and only the browser that showed the QR is signed in, once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from shebao.registry.models import Person
from shebao.sso.choices import Assurance
from shebao.sso.models import QrLogin
from shebao.sso.services import SESSION_ACR
from tests.integration.sso.conftest import make_portal, sms_sign_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _authorize_url(client_id: str) -> str:
    return (
        f"/o/authorize/?response_type=code&client_id={client_id}&scope=openid+profile"
        "&redirect_uri=http://zwfw.example.cn/cb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        "&code_challenge_method=S256&state=xyz"
    )


def test_a_holder_confirms_on_the_phone_and_the_computer_is_signed_in(holder: Person) -> None:
    portal = make_portal("湖北政务服务网", "http://zwfw.example.cn/cb")
    computer, phone, stranger = Client(), Client(), Client()
    authorize = _authorize_url(portal.client_id)

    # Not signed in: the authorization endpoint sends the computer to the citizen sign-in.
    first = computer.get(authorize)
    assert first.status_code == 302 and first["Location"].startswith("/sso/login/")
    page = computer.get(first["Location"])
    html = page.content.decode()
    assert "「湖北政务服务网」请求使用电子社保卡登录" in html and "data:image/png;base64," in html
    # The page's forms may end at the portal (CSP form-action follows the redirects).
    assert "http://zwfw.example.cn" in page["Content-Security-Policy"]
    qr = QrLogin.objects.get()
    assert computer.get("/sso/login/qr/status/").json()["status"] == "pending"

    # The phone must be a signed-in holder; then it sees who asks and for what.
    assert phone.get(f"/sso/qr/{qr.token}/").status_code == 302
    sms_sign_in(phone, holder)
    confirm = phone.get(f"/sso/qr/{qr.token}/").content.decode()
    assert "「湖北政务服务网」正在请求以您的身份登录" in confirm and "姓名" in confirm
    done = phone.post(f"/sso/qr/{qr.token}/", {"decision": "allow"}).content.decode()
    assert "已确认登录" in done
    assert computer.get("/sso/login/qr/status/").json()["status"] == "confirmed"

    # Another browser cannot complete it: the secret is in the computer's session only.
    stranger.get("/sso/login/")
    refused = stranger.post("/sso/login/qr/complete/", {"next": authorize})
    assert refused.status_code == 302 and refused["Location"].startswith("/sso/login/")

    completed = computer.post("/sso/login/qr/complete/", {"next": authorize})
    assert completed.status_code == 302 and completed["Location"] == authorize
    assert computer.session[SESSION_ACR] == Assurance.ECARD
    consent = computer.get(authorize)
    assert "请求使用您的电子社保卡登录" in consent.content.decode()
    # Once only: the session no longer holds it, and the row says it was used.
    again = computer.post("/sso/login/qr/complete/", {"next": authorize})
    assert again["Location"].startswith("/sso/login/")
    assert QrLogin.objects.get(pk=qr.pk).status == "completed"


def test_an_expired_or_refused_qr_signs_nobody_in(holder: Person) -> None:
    computer, phone = Client(), Client()
    computer.get("/sso/login/")
    qr = QrLogin.objects.get()
    sms_sign_in(phone, holder)
    phone.post(f"/sso/qr/{qr.token}/", {"decision": "refuse"})
    assert computer.get("/sso/login/qr/status/").json()["status"] == "refused"
    computer.post("/sso/login/qr/complete/", {"next": "/me/"})
    assert "_auth_user_id" not in computer.session

    computer.get("/sso/login/")
    late = QrLogin.objects.order_by("-pk").first()
    assert late is not None
    QrLogin.objects.filter(pk=late.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert computer.get("/sso/login/qr/status/").json()["status"] == "expired"
    html = phone.post(f"/sso/qr/{late.token}/", {"decision": "allow"}).content.decode()
    assert "二维码已过期" in html
    assert not re.search("已确认登录", html)


def test_staff_sessions_cannot_authorize_a_portal(holder: Person) -> None:
    from tests.factories import make_org, make_user

    portal = make_portal("湖北政务服务网", "http://zwfw.example.cn/cb")
    clerk = make_user("district_clerk", make_org("district_card_office", "420704"))
    client = Client()
    client.force_login(clerk)
    response = client.get(_authorize_url(portal.client_id))
    assert response.status_code == 302 and response["Location"].startswith("/sso/login/")
