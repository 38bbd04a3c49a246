"""Browser fixtures for the end-to-end tests: a real Chromium driven by Playwright against
pytest-django's live server.

Playwright's sync API runs an asyncio loop in the test thread, which makes Django refuse
database calls from it ("SynchronousOnlyOperation") unless DJANGO_ALLOW_ASYNC_UNSAFE is set.
"""

from __future__ import annotations

import base64
import hmac
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"

# The last TOTP time step used per account: a code is accepted once only.
_TOTP_LAST_STEP: dict[str, int] = {}


def totp_code_for(key: bytes, username: str) -> str:
    """A fresh RFC 6238 code (SHA-1, 6 digits, 30 s), as the user's authenticator app
    computes it; never the same step twice for one account (the server refuses replays, and
    accepts a code one step early)."""
    while True:
        now = int(time.time() // 30)
        step = max(now, _TOTP_LAST_STEP.get(username, -1) + 1)
        if step <= now + 1:
            _TOTP_LAST_STEP[username] = step
            mac = hmac.new(key, struct.pack(">Q", step), "sha1").digest()
            offset = mac[-1] & 0x0F
            value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
            return str(value % 10**6).zfill(6)
        time.sleep(30 - time.time() % 30 + 0.2)


def log_in(page: Any, username: str, password: str) -> None:
    """Sign in through the login page. Card-centre, bank, auditor and administrator accounts
    then give a one-time code: an account without a device enrols on the page (the key is
    read off it, as a person would scan it), one with a device uses its key."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(
        lambda url: "/login/" not in url or "/login/code/" in url or "/login/enrol/" in url
    )
    if "/login/enrol/" in page.url:
        secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        page.get_by_role("textbox", name="动态口令").fill(totp_code_for(key, username))
        page.get_by_role("button", name="绑定并登录").click()
    elif "/login/code/" in page.url:
        device = TOTPDevice.objects.get(user__username=username, confirmed=True)
        page.get_by_role("textbox", name="动态口令").fill(totp_code_for(device.bin_key, username))
        page.get_by_role("button", name="验证并登录").click()
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.fixture
def e2e_db(transactional_db: None) -> None:
    """Committed data the live server can see. (`shebao flush`, which ends each
    transactional test, lifts the audit log's append-only triggers for the wipe.)"""


@pytest.fixture
def browser_page(chromium: Any, live_server: Any, e2e_db: None) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the live server, Chinese locale, laptop size."""
    context = chromium.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1366, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
