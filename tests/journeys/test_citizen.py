"""The citizen's journey on the real server, at phone size (issue #11, sections 4 and 7).

- A demo holder (a person with an active card and a phone, chosen from the demo registry)
  signs in at /me/ with the card number and the SMS code read from the demo's outbox, sees
  the card, and sees that a card office clerk looked at the record and why (organisation,
  masked staff identity, purpose) without the clerk's name.
- A portal (the demo's 湖北政务服务网 client, its secret in <data dir>/sso/demo_clients.json)
  signs the holder in over OpenID Connect: authlib builds the request (PKCE), Chromium
  authorizes and consents, the test intercepts the redirect, exchanges the code and calls
  userinfo; then the holder revokes the consent on /me/consents/ and the token stops working.
- The cross-device sign-in: a computer's page shows a QR; the holder's phone (signed in)
  opens the decoded link and confirms; the computer's page, polling, signs in by itself.
"""

from __future__ import annotations

import base64
import io
import json
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session

from tests.journeys.conftest import Demo

PHONE_SIZE = {"width": 390, "height": 844}
HOME = re.compile(r"^https?://[^/]+/me/$")

_HOLDER = """
import json
from shebao.accounts.models import User
from shebao.accounts.choices import Purpose
from shebao.cards.models import Card
from shebao.registry.selectors import person_detail
cards = list(
    Card.objects.filter(status__in=["active", "issued"], person__life_status="alive")
    .exclude(person__phone="").select_related("person").order_by("status", "pk")[:10]
)
assert cards, "no card in its holder's hands with a phone in the demo"
card = cards[INDEX % len(cards)]
clerk = User.objects.get(username="district")
person_detail(actor=clerk, person_id=card.person_id, purpose=Purpose.CARD_SERVICE)
print("HOLDER" + json.dumps([card.person_id, card.card_number, card.person.phone,
      clerk.organisation.name, clerk.get_full_name() or clerk.full_name]))
"""


def _holder(demo: Demo, index: int) -> tuple[int, str, str, str, str]:
    """A holder of an active card with a phone, a different one for each test (one phone
    gets one code a minute), after the district clerk looked at the record."""
    done = demo.run("shell", "-c", f"INDEX = {index}\n" + _HOLDER)
    line = next(x for x in done.stdout.splitlines() if x.startswith("HOLDER"))
    person_id, card_number, phone, office, clerk_name = json.loads(line[6:])
    return int(person_id), str(card_number), str(phone), str(office), str(clerk_name or "")


def _last_code(demo: Demo, phone: str, after: int, seconds: float = 20) -> str:
    outbox = demo.data_dir / "sms" / "outbox.jsonl"
    deadline = time.monotonic() + seconds
    while True:
        if outbox.exists():
            lines = outbox.read_text(encoding="utf-8").splitlines()[after:]
            for line in reversed(lines):
                message = json.loads(line)
                if message["phone"] == phone:
                    found = re.search(r"(\d{6})", message["text"])
                    assert found, message
                    return found.group(1)
        assert time.monotonic() < deadline, f"no text to the phone in {outbox}"
        time.sleep(0.5)


def _outbox_lines(demo: Demo) -> int:
    outbox = demo.data_dir / "sms" / "outbox.jsonl"
    return len(outbox.read_text(encoding="utf-8").splitlines()) if outbox.exists() else 0


def _sign_in(demo: Demo, page: Any, card_number: str, phone: str) -> None:
    page.set_viewport_size(PHONE_SIZE)
    page.goto("/me/")
    page.wait_for_url(re.compile(r"/sso/login/"))
    before = _outbox_lines(demo)
    page.get_by_label("社会保障卡卡号").fill(card_number)
    page.get_by_role("button", name="发送验证码").click()
    assert "验证码已发送至" in page.inner_text("main"), page.inner_text("main")
    page.get_by_label("短信验证码").fill(_last_code(demo, phone, before))
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(HOME)


def test_a_holder_signs_in_sees_cards_and_who_looked(
    demo: Demo, anon: Callable[[], Any], shot: Callable[[Any, str], Path]
) -> None:
    _person_id, card_number, phone, office, clerk_name = _holder(demo, 2)
    page = anon()
    _sign_in(demo, page, card_number, phone)
    shot(page, "citizen-home-phone")
    assert page.get_by_role("link", name="谁查看了我的信息").is_visible()

    page.get_by_role("link", name="我的卡").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/me/cards/$"))
    text = page.inner_text("main")
    assert "实体社保卡" in text and ("正常" in text or "已发放" in text), text
    assert card_number not in text  # masked
    shot(page, "citizen-cards-phone")

    page.goto("/me/access/")
    rows = page.inner_text("#access-rows")
    assert f"{office} 工作人员" in rows and "社保卡业务办理" in rows, rows
    if clerk_name:
        assert clerk_name not in rows
    assert "district" not in rows
    shot(page, "citizen-who-looked-phone")
    # The page fits the phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]

    # 退出登录 in the header: back to the citizen sign-in, not the staff one.
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/sso/login/\?next="))
    assert "您已安全退出" in page.inner_text("main")
    page.goto("/me/")
    page.wait_for_url(re.compile(r"/sso/login/"))


def test_a_portal_signs_the_holder_in_over_oidc_and_the_holder_revokes_it(
    demo: Demo, anon: Callable[[], Any], shot: Callable[[Any, str], Path]
) -> None:
    _person_id, card_number, phone, _office, _clerk = _holder(demo, 3)
    clients = json.loads((demo.data_dir / "sso" / "demo_clients.json").read_text("utf-8"))
    portal = next(c for c in clients if c["client_id"] == "demo-zwfw")
    page = anon()
    _sign_in(demo, page, card_number, phone)

    client = OAuth2Session(
        portal["client_id"],
        portal["client_secret"],
        scope="openid profile",
        redirect_uri=portal["redirect_uri"],
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, _state = client.create_authorization_url(
        f"{demo.url}/o/authorize/", code_verifier=verifier, nonce=secrets.token_urlsafe(8)
    )
    landed: list[str] = []

    def portal_callback(route: Any) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>portal</p>")

    page.route(re.compile(r"^https://zwfw\.demo\.invalid/"), portal_callback)
    page.goto(url)
    assert "请求使用您的电子社保卡登录" in page.inner_text("main")
    shot(page, "citizen-oidc-consent-phone")
    page.get_by_role("button", name="同意并登录").click()
    page.wait_for_url(re.compile(r"^https://zwfw\.demo\.invalid/"))
    assert landed and "code=" in landed[-1]

    token = client.fetch_token(
        f"{demo.url}/o/token/", authorization_response=landed[-1], code_verifier=verifier
    )
    info = client.get(f"{demo.url}/o/userinfo/", timeout=10).json()
    assert len(info["sub"]) == 64 and info["name"]
    assert "id_token" in token

    page.goto("/me/consents/")
    assert portal["name"] in page.inner_text("main")
    page.get_by_role("button", name="撤销授权").first.click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/me/consents/$"))
    assert "已撤销对" in page.inner_text("main")
    shot(page, "citizen-consent-revoked-phone")
    assert (
        requests.get(
            f"{demo.url}/o/userinfo/",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=10,
        ).status_code
        == 401
    )


def test_the_cross_device_qr_sign_in(
    demo: Demo, anon: Callable[[], Any], shot: Callable[[Any, str], Path]
) -> None:
    import zxingcpp
    from PIL import Image

    _person_id, card_number, phone_number, _office, _clerk = _holder(demo, 4)
    phone = anon()
    _sign_in(demo, phone, card_number, phone_number)

    computer = anon()
    computer.goto("/sso/login/?next=/me/")
    source = str(computer.get_by_alt_text("扫码登录二维码").get_attribute("src"))
    png = base64.b64decode(source.split(",", 1)[1])
    decoded = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(png)).convert("L"), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert decoded, "the sign-in QR does not decode"
    link = decoded[0].text
    assert link.startswith(demo.url + "/sso/qr/")

    phone.goto(link)
    assert "正在请求以您的身份登录" in phone.inner_text("main")
    shot(phone, "citizen-qr-confirm-phone")
    phone.get_by_role("button", name="确认登录").click()
    assert "已确认登录" in phone.inner_text("main")

    computer.wait_for_url(HOME, timeout=15_000)
    assert computer.get_by_role("link", name="我的卡").is_visible()
    shot(computer, "citizen-qr-signed-in-computer")
