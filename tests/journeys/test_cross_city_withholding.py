"""Two counter journeys on the real server (issue #11 §6, issue #12's 代扣):

- 异地通办: a holder of 黄石's card (the province's other city) comes to the 鄂州 district
  counter with card and ID card; a wrong ID number is refused in Chinese, the right pair
  shows the masked holder and the home city, and the clerk reports a temporary loss, then
  lifts it.
- 代扣: the paying office signs a withholding authorisation for a demo holder (masked in the
  list) and produces the bank's monthly deduction file, listed for the bank's answer. (The
  bank's side is not driven here: the demo's bank clerk works at a branch, and deduction
  files are shown to head-bank clerks only.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.journeys.conftest import Demo

# A 黄石 holder with an active card of the demo's bank (setup only: the demo is one city).
_HUANGSHI_HOLDER = """
import json
from shebao.accounts.models import Organisation
from shebao.cards.models import Card
from shebao.geo.models import Region
from tests.factories import make_card, make_person
Region.objects.get_or_create(code="420200", defaults=dict(
    name="黄石市", level=2, parent_id="420000", prefix="4202", full_name="湖北省黄石市"))
Region.objects.get_or_create(code="420202", defaults=dict(
    name="黄石港区", level=3, parent_id="420200", prefix="420202",
    full_name="湖北省黄石市黄石港区"))
person = make_person("420202", name="黄石异地")
bank = Organisation.objects.filter(kind="bank").order_by("pk").first()
card = make_card(person, custodian=None, status="active", bank=bank)
Card.objects.filter(pk=card.pk).update(issuing_region_id="420200")
print("HOLDER" + json.dumps([card.card_number, person.id_number]))
"""

# A demo holder for the withholding authorisation, the bank of the demo's bank clerk and a
# period no other run of the demo has produced.
_PAYER_PICK = """
import json
from shebao.payments.models import DeductionFile
from shebao.registry.models import Person, Scheme
from shebao.accounts.models import User
person = Person.objects.filter(life_status="alive", cards__status="active").order_by("pk").first()
bank = User.objects.get(username="bank").organisation.bank_root  # the demo bank clerk's bank
scheme = Scheme.objects.order_by("code").first()
taken = set(DeductionFile.objects.filter(bank=bank, scheme=scheme).values_list("period", flat=True))
period = next(f"2031-{m:02d}" for m in range(1, 13) if f"2031-{m:02d}" not in taken)
print("PICK" + json.dumps([person.id_number, person.name, bank.pk, bank.name, scheme.code, period],
                          ensure_ascii=False))
"""


def _line(done: Any, tag: str) -> list[Any]:
    found: list[Any] = json.loads(
        next(x for x in done.stdout.splitlines() if x.startswith(tag))[len(tag) :]
    )
    return found


def test_a_clerk_serves_another_citys_holder_at_the_counter(
    demo: Demo, login: Callable[[str], Any], shot: Callable[[Any, str], Path]
) -> None:
    card_number, id_number = _line(demo.run("shell", "-c", _HUANGSHI_HOLDER), "HOLDER")
    clerk = login("district")
    clerk.goto("/")
    clerk.get_by_role("link", name="异地通办").first.click()
    clerk.wait_for_url("**/cards/counter/cross-city/")

    # The card with somebody else's ID number: refused, in Chinese, nothing shown.
    wrong = id_number[:-4] + ("0000" if id_number[-4:] != "0000" else "1111")
    clerk.get_by_label("卡面卡号").fill(card_number)
    clerk.get_by_label("持卡人身份证号码").fill(wrong)
    clerk.get_by_role("button", name="核验").click()
    assert "卡号与持卡人身份证号码不符，不能异地办理" in clerk.inner_text("main")
    assert clerk.get_by_test_id("holder-name").count() == 0

    clerk.get_by_label("卡面卡号").fill(card_number)
    clerk.get_by_label("持卡人身份证号码").fill(id_number)
    clerk.get_by_role("button", name="核验").click()
    assert clerk.get_by_test_id("holder-name").inner_text() == "黄**地"
    assert "黄石市" in clerk.get_by_test_id("home-city").inner_text()
    assert id_number not in clerk.inner_text("main")  # masked
    shot(clerk, "cross-city-01-holder")

    clerk.get_by_test_id("actions").get_by_role("button", name="临时挂失").click()
    assert "已办理（异地通办），卡状态：临时挂失" in clerk.inner_text("main")
    clerk.get_by_test_id("actions").get_by_role("button", name="解挂").click()
    assert "已办理（异地通办），卡状态：正常" in clerk.inner_text("main")
    shot(clerk, "cross-city-02-served")


def test_the_office_signs_withholding_and_produces_the_banks_deduction_file(
    demo: Demo, login: Callable[[str], Any], shot: Callable[[Any, str], Path]
) -> None:
    id_number, name, bank_id, bank_name, scheme, period = _line(
        demo.run("shell", "-c", _PAYER_PICK), "PICK"
    )
    office = login("payer")
    office.goto("/payments/withholding/")
    form = office.get_by_test_id("sign-form")
    form.get_by_label("公民身份号码").fill(id_number)
    form.get_by_label("险种").select_option(scheme)
    form.get_by_label("扣款银行").select_option(str(bank_id))
    form.get_by_label("扣款账号").fill("6222 0000 1234 5678")
    form.get_by_label("生效日期").fill("2026-01-01")
    form.get_by_role("button", name="签订授权").click()
    assert f"已为 {name[0]}" in office.inner_text("main")
    office.get_by_label("公民身份号码、姓名或险种编码").fill(id_number)
    office.get_by_role("button", name="查询").click()
    listed = office.get_by_test_id("authorisations").inner_text()
    assert bank_name in listed and "有效" in listed
    assert id_number not in listed and "6222000012345678" not in listed  # masked
    shot(office, "withholding-01-signed")

    office.goto("/payments/deductions/")
    export = office.get_by_test_id("export-form")
    export.get_by_label("险种").select_option(scheme)
    export.get_by_label("扣款期别（YYYY-MM）").fill(period)
    export.get_by_label("每人扣款金额（元）").fill("200.05")
    export.get_by_label("银行").select_option(str(bank_id))
    export.get_by_role("button", name="生成代扣文件").click()
    made = office.inner_text("main")
    assert f"已生成 {bank_name} 的代扣文件" in made, made
    code = made.split("的代扣文件 ", 1)[1].split("：", 1)[0]

    # The office's list shows the file, waiting for the bank's answer.
    files = office.get_by_test_id("deduction-files").inner_text()
    assert code in files and bank_name in files and period in files, files
    shot(office, "withholding-02-file-made")
