"""Security, on the real server (issue #10, items 31–34 and 3).

- Login: one answer for a wrong password, an unknown name and a locked pair; a stranger at
  another address who locks a clerk's name does not lock the clerk out.
- The auditor sees the events of nobody's organisation (failed logins under unknown names),
  persons masked and details as labelled Chinese fields.
- Headers: a Content-Security-Policy without 'unsafe-inline' (and pages that work under it),
  `Cache-Control: no-store` on a person page.
- The API: its description needs a login; a huge page number is a JSON 400.

The stranger is a plain HTTP client bound to 127.0.0.2 (the browser is 127.0.0.1), so the
lockout's per-client rule is tested across two real client addresses. Names and people are
picked fresh, so the file does not depend on other journeys.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.journeys.conftest import Demo

STRANGER = "127.0.0.2"
THRESHOLD = 5  # SHEBAO_LOCKOUT_THRESHOLD's default, as the demo runs
MASKED_PERSON = re.compile(r"\S\*\S*（\d{6}\*{8}\d{3}[\dX]）")

_PICK = """
import json
from shebao.accounts.models import User
from shebao.registry.models import Person
village = User.objects.get(username="village").organisation.region_id
p = Person.objects.filter(hukou_region_id=village, life_status="alive").order_by("?").first()
print("PICK" + json.dumps([p.pk, p.id_number]))
"""


def _error_text(html: str) -> str:
    found = re.search(r'role="alert"><p>(.*?)</p>', html)
    assert found, html[-2000:]
    return found.group(1)


def _stranger_login(demo: Demo, username: str, password: str) -> str:
    """A login from another client address (127.0.0.2); the login page's error text."""
    parts = urlsplit(demo.url)
    conn = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=30, source_address=(STRANGER, 0)
    )
    try:
        conn.request("GET", "/login/")
        first = conn.getresponse()
        body = first.read().decode()
        cookie = next(
            c.split(";", 1)[0]
            for c in first.headers.get_all("Set-Cookie") or []
            if c.startswith("csrftoken=")
        )
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        assert token, "no CSRF token on the login page"
        form = urlencode(
            {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
        )
        conn.request(
            "POST",
            "/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie,
                "Referer": f"{demo.url}/login/",
            },
        )
        answer = conn.getresponse()
        text = answer.read().decode()
        assert answer.status == 200, f"HTTP {answer.status}: a refused login stays on the page"
        return _error_text(text)
    finally:
        conn.close()


def _browser_login_error(page: Any, username: str, password: str) -> str:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    alert = page.locator('[role="alert"]').first
    alert.wait_for()
    return str(alert.inner_text()).strip()


def test_lockout_message_is_generic_and_another_client_is_not_locked(
    demo: Demo, anon: Callable[[], Any], login: Callable[[str], Any], shot: Callable[..., Any]
) -> None:
    page = anon()
    wrong = _browser_login_error(page, "village", "Wrong-password-1")
    unknown = _browser_login_error(page, f"nobody_{secrets.token_hex(4)}", "Wrong-password-1")
    assert "用户名或密码错误" in wrong
    assert wrong == unknown
    assert "已锁定" not in wrong
    shot(page, "security-login-generic")

    # A stranger at another address types the village clerk's name wrong until locked ...
    answers = [_stranger_login(demo, "village", f"Guess-{n}-x") for n in range(THRESHOLD)]
    # ... and is refused even with the right password, in the same words.
    answers.append(_stranger_login(demo, "village", demo.password))
    assert set(answers) == {wrong}

    # The clerk at her own desk (the browser's address) still logs in.
    clerk = login("village")
    assert "/login/" not in clerk.url
    assert clerk.locator("nav.sidenav").count() == 1


def test_auditor_sees_anonymous_events_masked_persons_and_chinese_details(
    demo: Demo, login: Callable[[str], Any], shot: Callable[..., Any]
) -> None:
    ghost = f"ghost_{secrets.token_hex(4)}"
    for n in range(THRESHOLD):
        _stranger_login(demo, ghost, f"Guess-{n}-x")

    done = demo.run("shell", "-c", _PICK)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PICK"))
    person_pk, id_number = json.loads(line[4:])
    village = login("village")
    village.goto(f"/persons/{person_pk}/")
    village.locator('select[name="purpose"]').select_option("card_service")
    village.get_by_role("button", name="确定并查看").click()
    village.wait_for_url(f"**/persons/{person_pk}/")

    auditor = login("auditor")
    auditor.goto(f"/audit/?username={ghost}")
    rows = auditor.locator("table tbody")
    text = rows.inner_text()
    assert ghost in text
    assert "登录失败" in text and "账号锁定" in text
    assert "（未登录）" in text
    detail = auditor.locator('[data-testid="audit-detail"]').first.inner_text()
    assert "截止时间" in detail and "客户端地址" in detail and STRANGER in detail
    assert "{" not in text and '"until"' not in text
    shot(auditor, "security-audit-anonymous")

    auditor.goto("/audit/?username=village&action=view_person")
    person_cell = auditor.locator('[data-testid="audit-person"]').first
    shown = person_cell.inner_text()
    assert MASKED_PERSON.fullmatch(shown), shown
    assert shown.endswith(f"{id_number[-4:]}）")
    assert id_number not in auditor.content()
    assert "人员 #" not in auditor.content()
    shot(auditor, "security-audit-person-masked")


def test_headers_csp_without_unsafe_inline_and_no_store_on_a_person_page(
    demo: Demo, anon: Callable[[], Any], login: Callable[[str], Any], shot: Callable[..., Any]
) -> None:
    page = anon()
    response = page.goto("/login/")
    assert response is not None
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy

    village = login("village")
    violations: list[str] = []
    village.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    done = demo.run("shell", "-c", _PICK)
    person_pk = json.loads(next(x for x in done.stdout.splitlines() if x.startswith("PICK"))[4:])[0]
    village.goto(f"/persons/{person_pk}/")
    village.locator('select[name="purpose"]').select_option("card_service")
    village.get_by_role("button", name="确定并查看").click()
    village.wait_for_url(f"**/persons/{person_pk}/")
    response = village.goto(f"/persons/{person_pk}/")
    assert response is not None and response.status == 200
    assert "no-store" in response.headers.get("cache-control", "")
    for path in ("/", "/registration/coverage/", "/reports/dashboard/"):
        village.goto(path)
    # The pages that draw with scripts (charts, Swagger UI) work under the policy too.
    leader = login("leader")
    leader.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    leader.goto("/reports/dashboard/")
    leader.wait_for_load_state("networkidle")
    assert leader.locator("canvas").count() > 0  # the charts are drawn
    shot(leader, "security-dashboard-under-csp")
    leader.goto("/registration/coverage/")
    leader.wait_for_load_state("networkidle")
    assert not violations, violations


def test_api_docs_need_login_and_a_huge_page_is_a_json_400(
    demo: Demo, anon: Callable[[], Any], login: Callable[[str], Any]
) -> None:
    page = anon()
    page.goto("/api/v1/docs")
    assert "/login/" in page.url
    assert page.request.get("/api/v1/openapi.json", max_redirects=0).status == 302

    clerk = login("village")
    clerk.goto("/api/v1/docs")
    title = clerk.locator(".swagger-ui .info .title")
    title.wait_for(timeout=15_000)
    assert "shebao" in title.inner_text()
    answer = clerk.request.get("/api/v1/registration/findings?page=99999999999999999999")
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "PARAMETER_OUT_OF_RANGE"

    # A lookup by ID number in the path: the access log keeps it masked.
    done = demo.run("shell", "-c", _PICK)
    id_number = json.loads(next(x for x in done.stdout.splitlines() if x.startswith("PICK"))[4:])[1]
    offset = demo.log_size()
    found = clerk.request.get(f"/api/v1/persons/{id_number}?purpose=card_service")
    assert found.status == 200
    masked = f"/api/v1/persons/{id_number[:6]}********{id_number[-4:]}"
    for _ in range(50):  # the access line is written as the answer leaves
        logged = demo.log_since(offset)
        if masked in logged:
            break
        clerk.wait_for_timeout(100)
    assert masked in logged
    assert id_number not in logged
