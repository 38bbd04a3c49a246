"""Partners on the real server (issue #11 §2-3): the card centre registers and approves a
partner and issues a terminal secret that works at once against the token endpoint and the
API; the partner operator sees only its own partner; a window clerk opens a person by card
number; anyone reads the application directory without signing in."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.journeys.conftest import Demo

_PICK_CARD = """
from shebao.accounts.models import User
from shebao.cards.models import Card
prefix = User.objects.get(username="district").organisation.region.prefix
card = (Card.objects.filter(status__in=["active", "issued"], person__life_status="alive",
                            person__hukou_region__code__startswith=prefix)
        .select_related("person").order_by("pk").first())
print("PICK" + card.card_number + "|" + card.person.name)
"""


def _token(demo: Demo, client_id: str, secret: str) -> str:
    body = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    ).encode()
    with urllib.request.urlopen(f"{demo.url}/o/token/", data=body, timeout=30) as response:  # noqa: S310
        token: str = json.loads(response.read())["access_token"]
    return token


def _api(demo: Demo, token: str, path: str) -> Any:
    request = urllib.request.Request(  # noqa: S310
        f"{demo.url}/api/v1/partners{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def test_the_card_centre_approves_a_partner_and_issues_a_terminal(
    login: Callable[[str], Any], demo: Demo, shot: Callable[[Any, str], Any]
) -> None:
    page = login("centre")
    page.goto("/partners/")
    page.fill("input[name=name]", "市第三人民医院")
    page.select_option("select[name=field] >> nth=1", "medical")
    page.click("form[method=post] button:has-text('登记')")
    page.wait_for_selector("[data-testid=partner-status]")
    assert page.inner_text("[data-testid=partner-status]") == "已申请"
    page.click("button[value=approve]")
    page.wait_for_selector("text=已保存")
    assert page.inner_text("[data-testid=partner-status]") == "已批准"
    page.check("input[name=fields][value=masked_name]")
    page.check("input[name=services][value=verify]")
    page.click("button:has-text('保存授权')")
    page.wait_for_selector("text=授权范围已更新")
    page.fill("form[action$='/points/'] input[name=name]", "急诊大厅")
    page.click("button:has-text('添加网点')")
    page.wait_for_selector("text=已添加服务网点")
    page.fill("form[action$='/terminals/'] input[name=code]", "HOSP3-001")
    page.click("button:has-text('发放终端凭证')")
    page.wait_for_selector("[data-testid=credential]")
    shot(page, "partners-terminal-secret")
    client_id = page.inner_text("[data-testid=client-id]").strip()
    secret = page.inner_text("[data-testid=client-secret]").strip()
    me = _api(demo, _token(demo, client_id, secret), "/me")
    assert me["partner"] == "市第三人民医院"
    assert me["terminal"] == "HOSP3-001"
    assert me["fields"] == ["masked_name"] and me["services"] == ["verify"]
    # Shown once: the page opened again has the terminal but not its secret.
    page.goto(page.url.removesuffix("terminals/"))
    assert "HOSP3-001" in page.content()
    assert page.locator("[data-testid=credential]").count() == 0


def test_the_partner_operator_sees_only_its_own(
    login: Callable[[str], Any], shot: Callable[[Any, str], Any]
) -> None:
    page = login("partner")
    page.goto("/partners/mine/")
    terminals = page.inner_text("[data-testid=terminals]")
    assert "HOSP-001" in terminals
    assert "BUS-001" not in terminals
    shot(page, "partners-mine")
    response = page.goto("/partners/")
    assert response is not None and response.status == 403


def test_a_window_clerk_opens_a_person_by_card_number(
    login: Callable[[str], Any], demo: Demo, shot: Callable[[Any, str], Any]
) -> None:
    done = demo.run("shell", "-c", _PICK_CARD)
    number, name = next(x for x in done.stdout.splitlines() if x.startswith("PICK"))[4:].split("|")
    page = login("district")
    page.goto("/partners/window/")
    page.fill("[data-testid=window-card]", number)
    page.click("button:has-text('打开')")
    person = page.wait_for_selector("[data-testid=window-person]")
    assert person is not None
    assert name[0] in person.inner_text()
    shot(page, "partners-window")


def test_anyone_reads_the_application_directory(
    anon: Callable[[], Any], shot: Callable[[Any, str], Any]
) -> None:
    page = anon()
    page.goto("/partners/directory/")
    table = page.inner_text("[data-testid=directory]")
    for service in (
        "持卡实名就医挂号",
        "乘坐公交（刷卡/扫码）",
        "持卡借阅图书",
        "持卡办理政务服务",
    ):
        assert service in table
    page.select_option("select[name=field]", "transport")
    page.click("button:has-text('查看')")
    page.wait_for_url("**field=transport**")
    table = page.inner_text("[data-testid=directory]")
    assert "乘坐公交" in table and "就医" not in table
    shot(page, "partners-directory")
