"""The holder's electronic social security card on the real demo server, in Chromium at phone
size: sign in with the card number and the SMS code, apply for the e-card (ID number, name,
card number and a second code), see the QR code and its countdown, let it refresh, and have
the card centre's counter check it offline and redeem it once, a replay refused."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.journeys.conftest import Demo

_HOLDER = """
import json
from shebao.cards.models import Card
c = Card.objects.select_related("person").get(card_number=%r)
p = c.person
print("HOLDER" + json.dumps([p.id_number, p.name, p.phone]))
"""


_COUNTER = """
import json
from shebao.ecard.services.common import CARD_CENTRE_TERMINAL, QrRefused
from shebao.ecard.services.qr import qr_redeem, qr_verify
first, second = %r, %r
out = {"verify": qr_verify(first).code}
redeemed = qr_redeem(first, terminal_code=CARD_CENTRE_TERMINAL, fields=["masked_name"])
out["first"] = "OK"
out["holder_is_masked"] = "*" in redeemed.holder["masked_name"]
try:
    qr_redeem(first, terminal_code=CARD_CENTRE_TERMINAL, fields=[])
    out["replay"] = "OK"
except QrRefused as exc:
    out["replay"] = exc.code
qr_redeem(second, terminal_code=CARD_CENTRE_TERMINAL, fields=[])
out["second"] = "OK"
print("COUNTER" + json.dumps(out))
"""


def _holder(demo: Demo) -> tuple[str, str, str, str]:
    chosen = json.loads((demo.data_dir / "ecard" / "demo_holders.json").read_text("utf-8"))
    card_number = chosen["apply"]
    done = demo.run("shell", "-c", _HOLDER % card_number)
    line = next(x for x in done.stdout.splitlines() if x.startswith("HOLDER"))
    id_number, name, phone = json.loads(line[6:])
    return card_number, id_number, name, phone


def _code_after(demo: Demo, phone: str, seen: int, seconds: float = 20) -> tuple[str, int]:
    """The code of the first text to `phone` after the outbox's first `seen` lines."""
    outbox = demo.data_dir / "sms" / "outbox.jsonl"
    deadline = time.monotonic() + seconds
    while True:
        lines = outbox.read_text(encoding="utf-8").splitlines() if outbox.exists() else []
        for line in lines[seen:]:
            message = json.loads(line)
            if message["phone"] == phone:
                found = re.search(r"验证码(?:为)? (\d{6})", message["text"])
                assert found, message
                return found.group(1), len(lines)
        assert time.monotonic() < deadline, f"no text to the phone in {outbox}"
        time.sleep(0.5)


def _outbox_lines(demo: Demo) -> int:
    outbox = demo.data_dir / "sms" / "outbox.jsonl"
    return len(outbox.read_text(encoding="utf-8").splitlines()) if outbox.exists() else 0


def test_holder_gets_the_ecard_and_shows_a_refreshing_qr_code(
    demo: Demo, anon: Callable[[], Any], shot: Callable[[Any, str], Path]
) -> None:
    card_number, id_number, name, phone = _holder(demo)
    page = anon()
    page.set_viewport_size({"width": 390, "height": 844})

    # Not signed in: the citizen sign-in page, then back to the e-card.
    page.goto("/ecard/")
    assert "/login" in page.url
    seen = _outbox_lines(demo)
    page.get_by_label("社会保障卡卡号").fill(card_number)
    page.get_by_role("button", name="发送验证码").click()
    code, seen = _code_after(demo, phone, seen)
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: url.rstrip("/").endswith("/ecard"))
    assert page.get_by_test_id("no-ecard").is_visible()

    # Apply: the real-name checks, then the code sent to the phone on record.
    page.get_by_test_id("apply-link").click()
    page.get_by_label("公民身份号码").fill(id_number)
    page.get_by_label("姓名").fill(name)
    page.get_by_label("社会保障卡号").fill(card_number)
    page.get_by_role("button", name="获取验证码").click()
    assert phone[-4:] in page.get_by_test_id("code-sent").inner_text()
    assert phone not in page.content()
    code, seen = _code_after(demo, phone, seen)
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="确认申领").click()
    page.wait_for_url(lambda url: url.rstrip("/").endswith("/ecard"))

    # My e-card: the QR code, the countdown running, no personal data in the code.
    image = page.get_by_test_id("qr-image")
    assert image.is_visible()
    assert page.get_by_test_id("card-number").inner_text() == card_number
    first = str(image.get_attribute("data-text"))
    assert first.startswith("SBK1:") and len(first) <= 220
    assert id_number not in first and card_number not in first
    before = int(page.get_by_test_id("countdown").inner_text())
    page.wait_for_timeout(2500)
    after = int(page.get_by_test_id("countdown").inner_text())
    assert 0 < after < before <= 60
    shot(page, "ecard-my-ecard-qr")

    # "刷新二维码" fetches a new code; the countdown starts again.
    page.get_by_role("button", name="刷新二维码").click()
    page.wait_for_function(
        "old => document.getElementById('ecard-qr-image').dataset.text !== old", arg=first
    )
    second = str(image.get_attribute("data-text"))

    # The card centre's counter: the offline check with the published keys, then each code
    # redeemed once — in one process, so that a slow start does not outlive the 60 seconds.
    done = demo.run("shell", "-c", _COUNTER % (first, second))
    line = next(x for x in done.stdout.splitlines() if x.startswith("COUNTER"))
    counter = json.loads(line[7:])
    assert counter == {
        "verify": "OK",
        "first": "OK",
        "replay": "REPLAYED",
        "second": "OK",
        "holder_is_masked": True,
    }

    # Left alone, the page fetches the next code when the countdown reaches zero.
    page.wait_for_function(
        "old => document.getElementById('ecard-qr-image').dataset.text !== old",
        arg=second,
        timeout=75_000,
    )
    third = str(image.get_attribute("data-text"))
    assert third.startswith("SBK1:") and third not in (first, second)
    assert int(page.get_by_test_id("countdown").inner_text()) >= 50
    shot(page, "ecard-my-ecard-refreshed")

    keys = page.request.get("/ecard/keys.json").json()
    listed = demo.run("ecard", "keys").stdout.split()
    assert keys["keys"][0]["kid"] == listed[0] and keys["keys"][0]["public_key"] == listed[1]
