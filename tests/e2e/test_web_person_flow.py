"""A village clerk in a real browser: sign in, find a person, reveal with a purpose, and be
refused a person of the neighbouring village."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from shebao.accounts.choices import OrganisationKind, Role
from shebao.identity.masking import mask_id_number
from shebao.registry.models import Person
from tests.factories import PASSWORD, make_org, make_person, make_regions, make_user

pytestmark = pytest.mark.e2e

PHOENIX = "420704001201"  # 凤凰村
FANKOU = "420704001202"  # 樊口村


def _scenario() -> tuple[Person, Person]:
    make_regions()
    village = make_org(OrganisationKind.VILLAGE_COMMITTEE, PHOENIX, name="凤凰村村委会")
    make_user(Role.VILLAGE_CLERK, village, username="fenghuang_clerk")
    mine = make_person(
        PHOENIX,
        name="李建国",
        birth=date(1975, 3, 8),
        household="H4207040012010001",
        phone="13812345678",
    )
    make_person(
        PHOENIX, name="王秀英", birth=date(1978, 11, 2), male=False, household="H4207040012010001"
    )
    other = make_person(FANKOU, name="陈志强", birth=date(1969, 7, 21))
    return mine, other


def _log_in(page: Any, username: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def test_village_clerk_finds_reveals_and_is_refused_outside(
    browser_page: Any, screenshot_dir: Path
) -> None:
    page = browser_page
    mine, other = _scenario()

    _log_in(page, "fenghuang_clerk", PASSWORD)
    page.wait_for_url("**/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("您好")
    assert "凤凰村村委会" in page.locator("header").inner_text()

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="人员查询").click()
    page.get_by_label("身份证号码或姓名").fill(mine.id_number)
    page.get_by_role("combobox", name="用途", exact=True).select_option(label="全民参保登记核查")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**/persons/?page=1")
    results = page.locator("table")
    assert mask_id_number(mine.id_number) in results.inner_text()
    assert mine.id_number not in page.content()

    page.get_by_role("link", name="查看").first.click()
    page.wait_for_url(f"**/persons/{mine.pk}/")
    id_cell = page.get_by_test_id("id-number")
    assert id_cell.inner_text() == mask_id_number(mine.id_number)
    assert page.get_by_test_id("person-name").inner_text() == "李*国"
    for section in ("基本信息", "户籍与家庭", "参保情况", "变更记录"):
        assert page.get_by_role("heading", name=section).is_visible()
    page.screenshot(path=str(screenshot_dir / "person-masked.png"), full_page=True)

    reveal = page.get_by_role("complementary", name="查看完整信息")
    reveal.get_by_role("combobox", name="用途", exact=True).select_option(label="社保卡业务办理")
    reveal.get_by_role("button", name="查看完整信息").click()
    page.wait_for_url(f"**/persons/{mine.pk}/reveal/")
    assert page.get_by_test_id("id-number").inner_text() == mine.id_number
    assert page.get_by_test_id("person-name").inner_text() == "李建国"
    assert "本次查看已记入审计日志" in page.locator("main").inner_text()
    page.screenshot(path=str(screenshot_dir / "person-revealed.png"), full_page=True)

    response = page.goto(f"/persons/{other.pk}/")
    assert response is not None and response.status == 403
    assert "该人员不在您的管辖范围内，无权查看" in page.locator("main").inner_text()
    assert other.id_number not in page.content()
    page.screenshot(path=str(screenshot_dir / "person-refused.png"), full_page=True)


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def test_login_failure_message(browser_page: Any, screenshot_dir: Path) -> None:
    page = browser_page
    make_regions()
    village = make_org(OrganisationKind.VILLAGE_COMMITTEE, PHOENIX, name="凤凰村村委会")
    make_user(Role.VILLAGE_CLERK, village, username="fenghuang_clerk")

    _log_in(page, "fenghuang_clerk", "Wrong-password-1")
    alert = page.get_by_role("alert")
    # One answer for an unknown name, a wrong password and a lock (it names no account).
    assert alert.inner_text().strip().startswith("用户名或密码错误")
    assert page.url.endswith("/login/")
    page.screenshot(path=str(screenshot_dir / "login-failed.png"), full_page=True)
