"""A citizen in a real browser, not signed in, on the self-service page (申领进度查询): checks
their identity with a one-time code sent to the phone on record, applies online with postal
delivery to the address on record (网上申领), follows the application as the card is made and
reaches them, and reports a temporary loss (临时挂失) on the active card. The card centre,
vendor, chain and bank act through the real services in between."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.cards.models import Application, Card, CardHistory
from shebao.cards.services.card_life import card_activate
from shebao.cards.services.postal import postal_dispatch_record
from shebao.identity.masking import mask_id_number, mask_name, mask_phone
from shebao.registry.models import Household, Person
from tests.integration.cards.issuing_world import (
    build_world,
    open_all_accounts,
    produce_all,
)
from tests.integration.cards.self_service_steps import last_code

pytestmark = pytest.mark.e2e

ADDRESS = "湖北省鄂州市鄂城区凤凰街道凤凰村3组12号"


def _identify(page: Any, person: Any) -> None:
    """The identity check, then the one-time code the phone on record receives (read from
    the SMS outbox file): a wrong code is refused, the right one opens the page."""
    page.get_by_label("身份证号码").fill(person.id_number)
    page.get_by_label("姓名").fill(person.name)
    page.get_by_label("预留手机号后四位").fill(person.phone[-4:])
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_load_state()
    assert mask_phone(person.phone) in page.get_by_test_id("code-sent").inner_text()
    code = last_code(person.phone)
    page.get_by_label("短信验证码").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="验证", exact=True).click()
    page.wait_for_load_state()
    assert "验证码不正确" in page.get_by_test_id("form-error").inner_text()
    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="验证", exact=True).click()
    page.wait_for_load_state()


def test_citizen_applies_online_follows_progress_and_reports_a_temporary_loss(
    browser_page: Any, screenshot_dir: Path
) -> None:
    page = browser_page
    world = build_world(1)
    person = world.people[0]
    household = Household.objects.create(
        number="420704001001", region_id=person.hukou_region_id, address=ADDRESS
    )
    Person.objects.filter(pk=person.pk).update(household=household)

    page.goto("/cards/self-service/")
    assert page.get_by_role("heading", name="社保卡申领进度查询").is_visible()
    _identify(page, person)
    body = page.locator("main").inner_text() if page.locator("main").count() else page.content()
    assert mask_name(person.name) in body and mask_id_number(person.id_number) in body
    assert person.id_number not in page.content()

    # Apply online, postal delivery, the police photo.
    form = page.locator("#online-apply-form")
    assert ADDRESS not in page.content()  # the address on record, masked
    assert "湖北省鄂州市" in page.get_by_test_id("postal-address").inner_text()
    form.get_by_label("金融服务银行").select_option(label="农业银行鄂州分行")
    form.get_by_role("button", name="提交网上申领").click()
    page.wait_for_load_state()
    assert "网上申领已受理，符合制卡条件" in page.locator(".alert-success").inner_text()
    applications = page.get_by_test_id("applications").inner_text()
    assert "网上申领（邮寄到家）" in applications and "符合制卡条件" in applications
    assert page.locator("#online-apply-form").count() == 0
    app = Application.objects.get(person=person)
    assert (app.channel, app.postal_delivery, app.postal_address) == ("online", True, ADDRESS)
    assert app.phone == person.phone
    page.screenshot(path=str(screenshot_dir / "cards-self-service-applied.png"), full_page=True)

    # The card centre has it made; the citizen follows the progress.
    (card_id,) = produce_all(world)
    page.goto("/cards/self-service/")
    assert "已制卡" in page.get_by_test_id("applications").inner_text()
    progress = page.get_by_test_id("card-progress").inner_text()
    assert "已制卡" in progress and "制卡成功" in progress
    card = Card.objects.get(pk=card_id)
    assert card.card_number not in page.content()  # masked

    # Postal delivery: the card centre mails it (not down the village chain); the citizen
    # confirms receipt, has it activated at the bank, then reports it lost.
    postal_dispatch_record(
        actor=world.centre_clerk, card_number=card.card_number, tracking_number="EM123456789CN"
    )
    page.goto("/cards/self-service/")
    assert "已邮寄，待签收" in page.get_by_test_id("applications").inner_text()
    assert "EM123456789CN" in page.get_by_test_id("mailed").inner_text()
    page.get_by_role("button", name="确认已收到卡片").click()
    page.wait_for_load_state()
    assert "已确认收到社会保障卡" in page.locator(".alert-success").inner_text()
    assert page.get_by_test_id("card-status").inner_text() == "已发放"
    open_all_accounts(world)  # the bank reports the account opened: activation needs it
    card_activate(actor=world.branch_clerk, card_id=card.pk)
    page.goto("/cards/self-service/")
    assert "已激活" in page.get_by_test_id("applications").inner_text()
    assert page.get_by_test_id("card-status").inner_text() == "正常"
    page.get_by_role("button", name="临时挂失").click()
    page.wait_for_load_state()
    assert "已办理临时挂失" in page.locator(".alert-success").inner_text()
    assert page.get_by_test_id("card-status").inner_text() == "临时挂失"
    page.screenshot(path=str(screenshot_dir / "cards-self-service-loss.png"), full_page=True)

    card.refresh_from_db()
    assert card.status == "temporary_loss"
    last = CardHistory.objects.filter(card=card).order_by("-at", "-pk").first()
    assert last is not None and (last.event, last.channel, last.actor) == (
        "report_temporary_loss",
        "online",
        None,
    )
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW_PERSON, target_type="card_self_service", person_id=person.pk
    ).exists()
