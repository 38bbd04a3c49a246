"""In a real browser: the district card office dispatches scanned card numbers to a town,
the town counts them in (one missing, flagged), passes them to a village, and the village
clerk hands a card to its holder after the identity check; the signing sheet shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from shebao.cards.domain.lifecycle import CardStatus
from shebao.cards.models import Card
from shebao.identity.masking import mask_id_number
from tests.factories import PASSWORD
from tests.integration.cards.custody_world import build_chain, numbers, pass_down

pytestmark = pytest.mark.e2e


def _log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")


def _log_out(page: Any) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/login/")


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
def test_district_dispatch_town_confirms_village_hands_out(
    browser_page: Any, screenshot_dir: Path
) -> None:
    page = browser_page
    chain = build_chain()
    cards = chain.cards_at_centre(3)
    pass_down(chain.centre_clerk, chain.district_clerk, chain.district, cards)

    # The district card office scans the three cards for 凤凰街道.
    _log_in(page, chain.district_clerk.username)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="卡片交接").click()
    page.wait_for_url("**/cards/custody/")
    assert "保管的卡片" in page.locator("main").inner_text()
    # The next hop of the cards it holds is offered first, chosen already.
    assert page.locator("#id_to option:checked").inner_text() == "凤凰街道办事处（待下发 3 张）"
    page.get_by_label("卡号清单").fill(numbers(cards))
    page.get_by_role("button", name="移交", exact=True).click()
    page.wait_for_url("**/cards/custody/handovers/*/")
    assert page.get_by_test_id("handover-status").inner_text() == "已移交待接收"
    assert "共 3 张" in page.get_by_role("status").first.inner_text()
    page.screenshot(path=str(screenshot_dir / "cards-handover-dispatched.png"), full_page=True)
    _log_out(page)

    # The town counts in two of them: the third is flagged missing.
    _log_in(page, chain.town_clerk.username)
    page.goto("/cards/custody/")
    page.get_by_test_id("incoming").get_by_role("link", name="清点接收").click()
    page.get_by_label("实收卡号").fill(numbers(cards[:2]))
    page.get_by_role("button", name="确认接收").click()
    page.wait_for_url("**/cards/custody/handovers/*/")
    assert page.get_by_test_id("handover-status").inner_text() == "已接收（有差异）"
    assert page.get_by_test_id(f"outcome-{cards[2].card_number}").inner_text() == "短少（待处理）"
    assert "短少 1 张" in page.locator(".messages").inner_text()
    page.screenshot(path=str(screenshot_dir / "cards-handover-received.png"), full_page=True)
    missing = Card.objects.get(pk=cards[2].pk)
    assert missing.custodian_id == chain.district.pk

    # … and passes the two on to 凤凰村.
    page.goto("/cards/custody/")
    page.get_by_label("接收单位").select_option(label="凤凰村村委会（待下发 2 张）")
    page.get_by_label("卡号清单").fill(numbers(cards[:2]))
    page.get_by_role("button", name="移交", exact=True).click()
    page.wait_for_url("**/cards/custody/handovers/*/")
    _log_out(page)

    _log_in(page, chain.village_clerk.username)
    page.goto("/cards/custody/")
    page.get_by_test_id("incoming").get_by_role("link", name="清点接收").click()
    page.get_by_label("实收卡号").fill(numbers(cards[:2]))
    page.get_by_role("button", name="确认接收").click()
    page.wait_for_url("**/cards/custody/handovers/*/")
    assert "可通知持卡人领取" in page.locator(".messages").inner_text()

    # Pickup: a wrong ID number is refused, the right one issues the card.
    holder = cards[0].person
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="领卡发放").click()
    page.wait_for_url("**/cards/custody/pickup/")
    assert mask_id_number(holder.id_number) in page.get_by_test_id("waiting").inner_text()
    page.get_by_label("卡号").fill(cards[0].card_number)
    page.locator("#id_holder_id_number").fill(chain.people[3].id_number)
    page.get_by_label("领卡人已在签收表上签名").check()
    page.get_by_role("button", name="确认发放").click()
    assert "持卡人身份证号码与卡片不符" in page.get_by_test_id("form-error").inner_text()
    page.get_by_label("卡号").fill(cards[0].card_number)
    page.locator("#id_holder_id_number").fill(holder.id_number)
    page.get_by_label("领卡人已在签收表上签名").check()
    page.get_by_role("button", name="确认发放").click()
    page.wait_for_url("**/cards/custody/pickup/")
    assert "已发放给持卡人本人" in page.locator(".messages").inner_text()
    assert Card.objects.get(pk=cards[0].pk).status == CardStatus.ISSUED

    # The signing sheet, printable, masked.
    page.goto("/cards/custody/receipts/")
    page.get_by_test_id("receipts").get_by_role("link").first.click()
    sheet = page.get_by_test_id("receipt-lines").inner_text()
    assert mask_id_number(holder.id_number) in sheet and holder.id_number not in page.content()
    assert "本人" in sheet
    page.screenshot(path=str(screenshot_dir / "cards-receipt.png"), full_page=True)
