"""A village clerk in a real browser registers a card applicant at the counter: chooses the
cooperating bank, uses the police photo, attaches the scanned signed form, sees the result
(masked), then one with a bad photo comes back ineligible and is corrected, and the batch is
sent up to the town."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from shebao.cards.models import Application, ApplicationBatch
from shebao.identity.masking import mask_id_number
from tests.factories import PASSWORD
from tests.integration.cards.issuing_world import build_world, good_photo
from tests.unit.cards.samples import photo

pytestmark = pytest.mark.e2e


def _log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def test_village_clerk_counter_application(
    browser_page: Any, screenshot_dir: Path, tmp_path: Path
) -> None:
    page = browser_page
    world = build_world(2)
    first, second = world.people
    form_scan = tmp_path / "申领登记表.pdf"
    form_scan.write_bytes(b"%PDF-1.4 signed form")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(photo(200, 240))
    good = tmp_path / "good.jpg"
    good.write_bytes(good_photo(3))

    _log_in(page, world.village_clerk.username)
    page.get_by_role("link", name="窗口申领").first.click()
    page.wait_for_url("**/cards/issuing/counter/")

    page.get_by_label("身份证号码").fill(first.id_number)
    page.get_by_label("姓名").fill(first.name)
    page.get_by_label("金融服务银行").select_option(label="农业银行鄂州分行")
    page.get_by_label("联系电话").fill("13912345678")
    page.get_by_label("使用公安部门的身份证照片").check()
    page.get_by_label("签字的申领登记表扫描件").set_input_files(str(form_scan))
    page.get_by_role("button", name="提交申领").click()
    page.wait_for_url("**/cards/issuing/counter/")
    assert "符合制卡条件" in page.locator(".alert-success").inner_text()
    table = page.locator("table").first.inner_text()
    assert mask_id_number(first.id_number) in table and first.id_number not in table

    # an uploaded photo of the wrong size: ineligible with the reason, corrected at once
    page.get_by_label("身份证号码").fill(second.id_number)
    page.get_by_label("姓名").fill(second.name)
    page.get_by_label("金融服务银行").select_option(label="农业银行鄂州分行")
    page.get_by_label("联系电话").fill("13912345679")
    page.get_by_label("上传照片", exact=True).check()
    page.get_by_label("上传照片（JPEG）").set_input_files(str(bad))
    page.get_by_label("签字的申领登记表扫描件").set_input_files(str(form_scan))
    page.get_by_role("button", name="提交申领").click()
    page.wait_for_url("**/cards/issuing/counter/")
    assert "照片不符合制卡要求" in page.locator(".alert-warning").inner_text()
    page.screenshot(path=str(screenshot_dir / "cards_counter_ineligible.png"), full_page=True)

    page.get_by_role("link", name="更正重报").first.click()
    page.get_by_label("上传照片", exact=True).check()
    page.get_by_label("上传照片（JPEG）").set_input_files(str(good))
    page.get_by_label("签字的申领登记表扫描件").set_input_files(str(form_scan))
    page.get_by_role("button", name="提交申领").click()
    page.wait_for_url("**/cards/issuing/counter/")
    assert "符合制卡条件" in page.locator(".alert-success").inner_text()
    assert "已更正重报" in page.locator("table").first.inner_text()

    page.get_by_role("button", name="上报本批至镇（街）").click()
    page.wait_for_url("**/cards/issuing/counter/")
    assert "凤凰街道办事处" in page.locator(".alert-success").inner_text()
    batch = ApplicationBatch.objects.get()
    assert batch.holder == world.town
    assert sorted(Application.objects.values_list("status", flat=True)) == [
        "eligible",
        "eligible",
        "resubmitted",
    ]
