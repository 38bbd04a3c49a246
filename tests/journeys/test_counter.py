"""The counter, on the real server (issue #10, items 6, 12 and 13).

- A village clerk's counter application: a person of another district refused with a
  Chinese reason, a mistyped name warned and not recorded, no photo chosen for the clerk, the
  corrected application accepted.
- Instant issuance (即时制卡) at a bank branch by the `bank` demo account, for people of the
  branch's district: the card made and handed over on the spot, the account recorded, a
  receipt.
- The card's life at the counter on cards issued that way: the bank activates; the card
  centre records a formal loss and 补领 with its 工本费 on the page, the receipt and the
  history; the bank does 换领 for damage (charged) and sees the free reasons.

The people come from the demo's own registry (`demo.run("shell", …)`), chosen at random among
those without a card or an application, so the file does not depend on other journeys.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.journeys.conftest import Demo
from tests.unit.cards.samples import photo

_PICK = """
import json
from django.db.models import Q
from shebao.accounts.models import User
from shebao.cards.models import Application, Card
from shebao.registry.models import Person
village = User.objects.get(username="village").organisation.region_id
# household-registered adults under 60: within every programme's scope
free = (Person.objects.filter(life_status="alive", cards__isnull=True, hukou_type="hukou",
                              birth_date__year__gte=1970, birth_date__year__lte=2004)
        .exclude(pk__in=Application.objects.filter(person__isnull=False).values("person_id"))
        .exclude(phone=""))
home = free.filter(hukou_region_id=village).order_by("?")[:1]
away = (free.exclude(hukou_region__code__startswith=village[:6])
        .exclude(residence_region__code__startswith=village[:6]).order_by("?")[:1])
branch = User.objects.get(username="bank").organisation.region.prefix
anyone = (free.filter(Q(hukou_region__code__startswith=branch)
                      | Q(residence_region__code__startswith=branch))
          .exclude(hukou_region_id=village).order_by("?")[:3])
out = {k: [(p.id_number, p.name) for p in qs]
       for k, qs in (("home", home), ("away", away), ("anyone", anyone))}
print("PICK" + json.dumps(out, ensure_ascii=False))
"""


def _pick(demo: Demo) -> dict[str, list[tuple[str, str]]]:
    done = demo.run("shell", "-c", _PICK)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PICK"))
    picked: dict[str, list[tuple[str, str]]] = json.loads(line[4:])
    if not picked["home"] or not picked["away"] or len(picked["anyone"]) < 3:
        pytest.fail(f"the demo has too few people without a card: {picked}")
    return picked


def _mistype(name: str) -> str:
    """The name with its last character replaced by another common one."""
    last = "伟" if name[-1] != "伟" else "芳"
    return name[:-1] + last


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    pic = tmp_path / "photo.jpg"
    pic.write_bytes(photo(seed=random.randint(1, 10_000)))
    form = tmp_path / "form.pdf"
    form.write_bytes(b"%PDF-1.4 signed application form")
    return {"photo": pic, "form": form}


def _fill_counter(page: Any, person: tuple[str, str], files: dict[str, Path]) -> None:
    page.get_by_label("身份证号码").fill(person[0])
    page.get_by_label("姓名").fill(person[1])
    page.get_by_label("金融服务银行").select_option(index=1)
    page.get_by_label("联系电话").fill("13912345678")
    page.get_by_label("上传照片", exact=True).check()
    page.get_by_label("上传照片（JPEG）").set_input_files(str(files["photo"]))
    page.get_by_label("签字的申领登记表扫描件").set_input_files(str(files["form"]))
    page.get_by_role("button", name="提交申领").click()
    page.wait_for_load_state()


def test_village_counter_refuses_another_district_and_warns_on_a_mistyped_name(
    demo: Demo,
    login: Callable[[str], Any],
    shot: Callable[[Any, str], Any],
    files: dict[str, Path],
) -> None:
    picked = _pick(demo)
    page = login("village")
    page.get_by_role("link", name="窗口申领").first.click()
    page.wait_for_url("**/cards/issuing/counter/")
    # the clerk must choose the photo: nothing is chosen for them
    assert page.get_by_label("使用公安部门的身份证照片").is_checked() is False

    away = picked["away"][0]
    _fill_counter(page, away, files)
    error = page.locator(".alert-error").inner_text()
    assert "户籍地和居住地都不在" in error and "请到户籍地或居住地的村（居）委会申领" in error
    shot(page, "counter-village-other-district")

    home = picked["home"][0]
    _fill_counter(page, (home[0], _mistype(home[1])), files)
    error = page.locator(".alert-error").inner_text()
    assert "与人口库登记的姓名" in error and "不一致" in error
    shot(page, "counter-village-mistyped-name")

    _fill_counter(page, home, files)
    page.wait_for_url("**/cards/issuing/counter/")
    assert "符合制卡条件" in page.locator(".alert-success").inner_text()
    rows = page.locator("table").first.inner_text()
    assert home[0] not in rows  # masked
    shot(page, "counter-village-accepted")


def _instant(page: Any, person: tuple[str, str], files: dict[str, Path], account: str) -> str:
    page.goto("/cards/instant/")
    page.get_by_label("身份证号码").fill(person[0])
    page.get_by_label("姓名").fill(person[1])
    page.get_by_label("联系电话").fill("13912345678")
    page.get_by_label("现场拍摄/上传照片").check()
    page.get_by_label("照片（JPEG）").set_input_files(str(files["photo"]))
    page.get_by_label("本行开立的社保卡银行账号").fill(account)
    page.get_by_role("button", name="核验并制卡").click()
    page.wait_for_url("**/cards/instant/*/")
    assert page.get_by_test_id("instant-status").inner_text() == "已即时发卡"
    number: str = page.get_by_test_id("instant-card").inner_text().strip()
    assert account not in page.content()  # the account number is masked
    return number


def _open_card(page: Any, number: str) -> None:
    page.goto("/cards/counter/")
    page.get_by_label("卡号", exact=True).fill(number)
    page.get_by_role("button", name="查找").click()
    page.wait_for_url("**/cards/counter/")
    assert number in page.locator("#card-title").inner_text()


def _act(page: Any, label: str) -> str:
    page.get_by_test_id("actions").get_by_role("button", name=label, exact=True).click()
    page.wait_for_url("**/cards/counter/")
    text: str = page.locator(".alert-success").inner_text()
    return text


def test_instant_issuance_then_replacement_and_renewal_with_fees(
    demo: Demo,
    login: Callable[[str], Any],
    shot: Callable[[Any, str], Any],
    files: dict[str, Path],
) -> None:
    picked = _pick(demo)
    first, second, third = picked["anyone"]
    seed = random.randint(10_000_000, 99_999_999)
    bank = login("bank")
    assert bank.get_by_role("link", name="即时制卡").count() >= 1

    # a mistyped name is refused on the spot, nothing made
    bank.goto("/cards/instant/")
    bank.get_by_label("身份证号码").fill(third[0])
    bank.get_by_label("姓名").fill(_mistype(third[1]))
    bank.get_by_label("联系电话").fill("13912345678")
    bank.get_by_label("使用公安部门的身份证照片").check()
    bank.get_by_label("本行开立的社保卡银行账号").fill(f"62284800{seed}9")
    bank.get_by_role("button", name="核验并制卡").click()
    assert "与人口库登记的姓名" in bank.locator(".alert-error").inner_text()

    lost_card = _instant(bank, first, files, f"62284800{seed}1")
    shot(bank, "counter-instant-receipt")
    damaged_card = _instant(bank, second, files, f"62284800{seed}2")
    listing = bank.goto("/cards/instant/")
    assert listing is not None and listing.status == 200
    assert lost_card in bank.get_by_test_id("instant-list").inner_text()

    # the bank activates both cards at its counter
    for number in (lost_card, damaged_card):
        _open_card(bank, number)
        assert "激活" in _act(bank, "激活")

    # the card centre: formal loss, then 补领 with the fee shown before and after
    centre = login("centre")
    _open_card(centre, lost_card)
    _act(centre, "正式挂失")
    fee = centre.get_by_test_id("replace-fee").inner_text()
    assert "工本费" in fee and "元" in fee
    done = _act(centre, "补领")
    assert "已办理补领，工本费" in done and "新卡号" in done
    history = centre.get_by_test_id("history").inner_text()
    assert "补领" in history and "工本费" in history
    shot(centre, "counter-replacement")
    centre.get_by_role("link", name="打印补换领回执").click()
    receipt = centre.get_by_test_id("reissue-receipt")
    receipt.wait_for()
    assert centre.get_by_test_id("reissue-kind").inner_text() == "补领"
    assert "元" in centre.get_by_test_id("reissue-fee").inner_text()
    assert first[0] not in receipt.inner_text()  # masked
    shot(centre, "counter-replacement-receipt")

    # the bank: 换领 for damage by the holder (charged); quality and expiry are free
    _open_card(bank, damaged_card)
    options = bank.get_by_label("换领原因").inner_text()
    assert "卡片质量问题或自然老化（免收工本费）" in options and "有效期满（免收工本费）" in options
    bank.get_by_label("换领原因").select_option("damaged")
    done = _act(bank, "换领")
    assert "已办理换领，工本费" in done
    assert "人为损坏" in bank.get_by_test_id("history").inner_text()
    bank.get_by_role("link", name="打印补换领回执").click()
    bank.get_by_test_id("reissue-receipt").wait_for()
    assert bank.get_by_test_id("reissue-kind").inner_text() == "换领（人为损坏）"
    shot(bank, "counter-renewal-receipt")
