"""The custody chain on the real server (issue #10, items 11, 14, 15 and 16).

- Cards made at the card centre go down centre → district → town → village, each hop
  chosen from a list that offers the next hop first and checked on the printed 交接单; one
  card does not arrive at the village: the handover says so, the card waits in 交接短少
  and its history shows it, until the village finds it.
- Pickup at the village by the holder's ID number with a signature image; the printed
  领卡签收表 shows the image.
- A card overdue at the village is recalled from the recall page (totals per town and
  village) straight back to the card centre, which counts it in: its history shows the hop.
- The work-subsidy table has village rows and its spreadsheet downloads.
- The card centre prints the mailing labels of a card to be mailed, mails it, and records
  the returned letter with the post's reason.

The cards and people come from the demo's own registry through `demo.run("shell", …)`,
chosen at random among people without a card or an application, so the file does not depend
on other journeys.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from PIL import Image, ImageDraw

from tests.journeys.conftest import Demo
from tests.unit.cards.samples import photo

# Cards made for people living in the demo village, at the card centre (as production leaves
# them); with STAGE="village" they are then handed down to the village with the services and
# their arrival dated 200 days back (overdue).
_MAKE_CARDS = """
import json
from datetime import timedelta
from django.db import transaction
from django.utils import timezone
from shebao.accounts.models import User
from shebao.cards.domain.codes import card_id_code
from shebao.cards.models import Application, Card, CardHistory
from shebao.cards.services.custody import handover_confirm, handover_create
from shebao.cards.services.numbering import (
    card_numbers, card_numbers_allocate, issuing_region_of, unique_part)
from shebao.registry.models import Person
COUNT, STAGE = {count}, "{stage}"
users = {{u: User.objects.get(username=u) for u in ("centre", "district", "town", "village")}}
village = users["village"].organisation
centre = users["district"].organisation.parent
bank = User.objects.get(username="bank").organisation.bank_root
people = list(
    Person.objects.filter(residence_region_id=village.region_id, life_status="alive",
                          cards__isnull=True)
    .exclude(pk__in=Application.objects.filter(person__isnull=False).values("person_id"))
    .order_by("?")[:COUNT])
assert len(people) == COUNT, "too few people without a card in the demo village"
with transaction.atomic():
    issuing = issuing_region_of(centre)
    series, first, first_unique = card_numbers_allocate(region=issuing, count=COUNT)
    numbers = card_numbers(series, first, COUNT)
    now = timezone.now()
    cards = [
        Card.objects.create(
            card_number=numbers[i],
            card_id_code=card_id_code(issuing.code[:6], unique_part(first_unique + i)),
            person=p, status="made", issuing_region=issuing, issued_on=now.date(),
            expires_on=now.date().replace(year=now.year + 10), bank=bank, custodian=centre,
            created_at=now, updated_at=now)
        for i, p in enumerate(people)]
if STAGE == "village":
    text = "\\n".join(c.card_number for c in cards)
    for sender, receiver in (("centre", "district"), ("district", "town"), ("town", "village")):
        h = handover_create(actor=users[sender],
                            to_organisation_id=users[receiver].organisation_id,
                            card_numbers=text)
        handover_confirm(actor=users[receiver], handover_id=h.pk, arrived=text)
    CardHistory.objects.filter(card__in=cards, event="arrive_for_pickup").update(
        at=timezone.now() - timedelta(days=200))
print("CARDS" + json.dumps([(c.card_number, c.person.id_number) for c in cards]))
"""

# A household-registered adult of the demo village applies online with postal delivery; the
# card is produced for it (the vendor reports it made) and waits at the card centre.
_POSTAL_CARD = """
import base64, json
from django.db import transaction
from shebao.accounts.choices import OrganisationKind
from shebao.accounts.models import Organisation, User
from shebao.cards.models import Application, ApplicationKind
from shebao.cards.services.applications import application_online_submit
from shebao.cards.services.exchange import open_exchange_file
from shebao.cards.services.production import (
    production_batch_export, production_batch_form, production_results_import,
    vendor_order_read, vendor_results_file)
from shebao.registry.models import Person
village = User.objects.get(username="village").organisation
centre_user = User.objects.get(username="centre")
bank = User.objects.get(username="bank").organisation.bank_root
vendor = Organisation.objects.filter(kind=OrganisationKind.CARD_VENDOR).first()
free = (Person.objects.filter(life_status="alive", cards__isnull=True, hukou_type="hukou",
                              hukou_region_id=village.region_id,
                              birth_date__year__gte=1970, birth_date__year__lte=2004)
        .exclude(pk__in=Application.objects.filter(person__isnull=False).values("person_id"))
        .exclude(phone="").order_by("?"))
refused = []
for person in free[:10]:
    app = application_online_submit(id_number=person.id_number, name=person.name,
                                    phone=person.phone, bank_id=bank.pk,
                                    postal_address="{address}",
                                    photo=base64.b64decode("{photo}"))
    if app.status == "eligible":
        break
    refused.append(app.messages)
else:
    raise SystemExit(f"no eligible online applicant in the demo village: {{refused}}")
with transaction.atomic():
    batch = production_batch_form(actor=centre_user, application_ids=[app.pk],
                                  kind=ApplicationKind.INDIVIDUAL, organisation=None,
                                  region=app.region)
    batch, sealed = production_batch_export(actor=centre_user, batch_id=batch.pk, vendor=vendor)
    rows = vendor_order_read(open_exchange_file(sealed).content).rows
    production_results_import(
        actor=centre_user,
        data=vendor_results_file(
            batch, [(r["社保卡号"], r["社会保障号码"], True, "") for r in rows]))
app.refresh_from_db()
print("POSTAL" + json.dumps([app.card.card_number, person.name]))
"""


def _signature_png() -> bytes:
    """A signature pad's image: a scribble on white."""
    image = Image.new("RGB", (160, 48), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(8, 36), (30, 10), (48, 38), (70, 12), (92, 34), (120, 14), (150, 30)],
              fill="black", width=3)  # fmt: skip
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _cards(demo: Demo, count: int, stage: str = "centre") -> list[tuple[str, str]]:
    done = demo.run("shell", "-c", _MAKE_CARDS.format(count=count, stage=stage))
    line = next(x for x in done.stdout.splitlines() if x.startswith("CARDS"))
    cards: list[tuple[str, str]] = [tuple(x) for x in json.loads(line[5:])]  # type: ignore[misc]
    return cards


def _dispatch(page: Any, numbers: list[str], recipient: str) -> str:
    """On 卡片交接: the recipient offered first must be `recipient`; send the cards."""
    page.goto("/cards/custody/")
    chosen = page.locator("#id_to option:checked").inner_text()
    assert chosen.startswith(recipient) and "待下发" in chosen, chosen
    page.locator("#id_card_numbers").fill("\n".join(numbers))
    page.get_by_role("button", name="移交", exact=True).click()
    page.wait_for_url("**/cards/custody/handovers/*/")
    assert "待对方确认接收" in page.locator(".alert-success").inner_text()
    number: str = page.locator("h1 .mono").inner_text().strip()
    return number


def _receive(page: Any, handover: str, arrived: list[str]) -> None:
    page.goto("/cards/custody/")
    page.get_by_test_id("incoming").locator("tr", has_text=handover).get_by_role(
        "link", name="清点接收"
    ).click()
    page.locator("#id_arrived").fill("\n".join(arrived))
    page.get_by_role("button", name="确认接收").click()
    page.wait_for_url("**/cards/custody/handovers/*/")


def _history(page: Any, id_number: str) -> str:
    """The card's history on the counter page, found by the holder's ID number."""
    page.goto("/cards/counter/")
    page.get_by_label("或持卡人身份证号码").fill(id_number)
    page.get_by_role("button", name="查找").click()
    page.wait_for_url("**/cards/counter/")
    text: str = page.get_by_test_id("history").inner_text()
    return text


def test_handovers_with_a_shortage_then_pickup_by_id_with_a_signature(
    demo: Demo,
    login: Callable[[str], Any],
    shot: Callable[[Any, str], Any],
    tmp_path: Path,
) -> None:
    cards = _cards(demo, 4)
    numbers = [n for n, _ in cards]
    short_number, short_id = cards[-1]

    centre = login("centre")
    first = _dispatch(centre, numbers, "鄂城区社保卡管理办公室")
    centre.get_by_role("link", name="打印交接单").click()
    centre.wait_for_url("**/print/")
    assert first in centre.get_by_test_id("print-number").inner_text()
    items = centre.get_by_test_id("print-items").inner_text()
    assert all(n in items for n in numbers)
    assert all(i not in items for _, i in cards)  # holders masked
    assert "接收人签字" in centre.content()
    shot(centre, "custody-handover-print")

    district = login("district")
    _receive(district, first, numbers)
    second = _dispatch(district, numbers, "")
    town = login("town")
    _receive(town, second, numbers)
    third = _dispatch(town, numbers, "")

    village = login("village")
    _receive(village, third, numbers[:-1])
    assert "短少 1 张" in village.locator(".alert-warning").inner_text()
    assert "短少（待处理）" in village.get_by_test_id(f"outcome-{short_number}").inner_text()
    shot(village, "custody-handover-short")
    # The cards the village holds are listed, holders masked.
    village.goto("/cards/custody/?status=awaiting_pickup")
    held = village.get_by_test_id("held-cards").inner_text()
    assert all(n in held for n in numbers[:-1]) and short_number not in held
    assert all(i not in held for _, i in cards)

    # The shortage is in the queue of both sides and in the card's history.
    town.goto("/cards/custody/shortages/")
    assert town.get_by_test_id(f"shortage-{short_number}").count() == 1
    assert "交接短少" in _history(centre, short_id)
    village.goto("/cards/custody/shortages/")
    row = village.get_by_test_id(f"shortage-{short_number}")
    row.locator("select").select_option("found_at_receiver")
    row.get_by_placeholder("说明（确认遗失必填）").fill("夹在另一盒卡中")
    row.get_by_role("button", name="登记").click()
    village.wait_for_url("**/cards/custody/shortages/")
    assert "已找到（接收单位已收到" in village.locator(".alert-success").inner_text()
    assert "已找到" in village.get_by_test_id(f"settled-{short_number}").inner_text()
    shot(village, "custody-shortage-resolved")
    history = _history(centre, short_id)
    assert "交接短少" in history and "短少卡片已找到" in history and "到达发放点待领取" in history

    # Pickup: the clerk reads the holder's identity card; the card number is not needed.
    holder_number, holder_id = cards[0]
    village.goto("/cards/custody/pickup/")
    village.get_by_label("按持卡人身份证号码查找").fill(holder_id)
    village.get_by_role("button", name="查找", exact=True).click()
    assert holder_number in village.get_by_test_id("waiting").inner_text()
    signature = tmp_path / "signature.png"
    signature.write_bytes(_signature_png())
    village.locator("#id_holder_id_number").fill(holder_id)
    village.get_by_label("签名图片（签字板或拍照，可选）").set_input_files(str(signature))
    village.get_by_role("button", name="确认发放").click()
    village.wait_for_url("**/cards/custody/pickup/")
    assert (
        f"卡号 {holder_number} 已发放给持卡人本人" in village.locator(".alert-success").inner_text()
    )

    # The printed 领卡签收表 shows the signature image.
    village.goto("/cards/custody/")
    village.get_by_test_id("handovers").get_by_role("link", name=third).click()
    village.get_by_role("link", name="打印领卡签收表").click()
    village.wait_for_url("**/cards/custody/receipts/*/")
    image = village.get_by_test_id("receipt-lines").locator("img[alt='签名']")
    assert image.count() == 1
    image.wait_for()
    assert village.evaluate(
        "img => img.complete && img.naturalWidth > 0", image.element_handle()
    ), "signature image did not load"
    shot(village, "custody-receipt-signature")


def test_recall_of_an_overdue_card_back_to_the_card_centre(
    demo: Demo, login: Callable[[str], Any], shot: Callable[[Any, str], Any]
) -> None:
    ((number, id_number),) = _cards(demo, 1, stage="village")
    town = login("town")
    town.goto("/cards/custody/recall/")
    totals = town.get_by_test_id("overdue-totals").inner_text()
    assert "小计" in totals and "村" in totals
    assert number in town.get_by_test_id("overdue").inner_text()
    shot(town, "custody-recall-totals")
    town.get_by_role("button", name="回收并交回卡管理中心").click()
    town.wait_for_url("**/cards/custody/recall/")
    assert "已回收逾期未领取卡片" in town.locator(".alert-success").inner_text()

    centre = login("centre")
    centre.goto("/cards/custody/")
    recall_row = centre.get_by_test_id("incoming").locator("tr", has_text="逾期卡片回收").first
    recall_row.get_by_role("link", name="清点接收").click()
    listed = [
        code.strip()
        for code in centre.get_by_test_id("items").locator("td.mono").all_inner_texts()
        if len(code.strip()) == 9
    ]
    assert number in listed
    centre.locator("#id_arrived").fill("\n".join(listed))
    centre.get_by_role("button", name="确认接收").click()
    centre.wait_for_url("**/cards/custody/handovers/*/")
    assert "与清单一致" in centre.locator(".alert-success").inner_text()
    history = _history(centre, id_number)
    assert history.index("回收逾期未发放卡片") < history.rindex("交接接收")
    assert "社会保障卡管理中心" in history.splitlines()[-1]
    shot(centre, "custody-recall-history")


def test_subsidy_table_with_village_rows_and_its_export(
    demo: Demo, login: Callable[[str], Any], shot: Callable[[Any, str], Any]
) -> None:
    page = login("district")
    page.goto("/cards/custody/subsidy/")
    table = page.get_by_test_id("subsidy")
    assert table.locator("tr[data-level='town']").count() >= 1
    assert table.locator("tr[data-level='village']").count() >= 1
    assert "邮寄签收（张）" in table.inner_text()
    shot(page, "custody-subsidy")
    with page.expect_download() as download:
        page.get_by_test_id("subsidy-export").click()
    path = download.value.path()
    sheet = load_workbook(BytesIO(Path(path).read_bytes())).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:6] == [
        "镇（街）", "村（社区）/发放点", "区划代码", "现场领取（张）", "邮寄签收（张）",
        "已发放合计（张）",
    ]  # fmt: skip
    assert any(r[1] not in ("小计", "") and len(str(r[2])) == 12 for r in rows[1:])
    assert rows[-1][0] == "合计"


def test_mailing_labels_then_a_returned_letter_with_its_reason(
    demo: Demo, login: Callable[[str], Any], shot: Callable[[Any, str], Any]
) -> None:
    address = f"湖北省鄂州市鄂城区凤凰街道幸福路{random.randint(100, 999)}号"
    picture = base64.b64encode(photo(seed=random.randint(1, 10_000))).decode()
    done = demo.run("shell", "-c", _POSTAL_CARD.format(address=address, photo=picture))
    line = next(x for x in done.stdout.splitlines() if x.startswith("POSTAL"))
    number, name = json.loads(line[6:])

    page = login("centre")
    page.goto("/cards/postal/")
    assert address not in page.content()  # masked until a purpose is given
    page.locator("#id_list_purpose").select_option("card_service")
    page.get_by_role("button", name="打印邮寄标签").click()
    page.wait_for_url("**/cards/postal/labels/**")
    label = page.get_by_test_id(f"label-{number}").inner_text()
    assert address in label and name in label
    shot(page, "postal-labels")

    page.goto("/cards/postal/")
    page.locator("#id_card_number").fill(number)
    tracking = f"EM{random.randint(10**9, 10**10 - 1)}CN"
    page.locator("#id_tracking_number").fill(tracking)
    page.get_by_role("button", name="登记邮寄").click()
    page.wait_for_url("**/cards/postal/")
    assert tracking in page.locator(".alert-success").inner_text()
    form = page.get_by_test_id(f"return-form-{number}")
    form.locator("select").select_option("address_unknown")
    form.get_by_placeholder("说明（其他原因必填）").fill("门牌号不存在")
    form.get_by_role("button", name="邮件退回").click()
    page.wait_for_url("**/cards/postal/")
    assert "已登记邮件退回（地址不详）" in page.locator(".alert-success").inner_text()
    row = page.get_by_test_id("postal-sent").locator("tr", has_text=tracking)
    assert "地址不详" in row.inner_text() and "门牌号不存在" in row.inner_text()
    shot(page, "postal-returned-with-reason")

    # Mailed again and delivered: the work-subsidy table counts it for the village.
    page.locator("#id_card_number").fill(number)
    page.locator("#id_tracking_number").fill(tracking + "2")
    page.get_by_role("button", name="登记邮寄").click()
    page.wait_for_url("**/cards/postal/")
    before = _posted_total(page)
    page.goto("/cards/postal/")
    page.get_by_test_id("postal-sent").locator("tr", has_text=tracking + "2").get_by_role(
        "button", name="登记签收"
    ).click()
    page.wait_for_url("**/cards/postal/")
    assert "已登记签收" in page.locator(".alert-success").inner_text()
    assert _posted_total(page) == before + 1
    shot(page, "postal-counted-in-subsidy")


def _posted_total(page: Any) -> int:
    """邮寄签收 in the total row of the work-subsidy table (0 when it has no rows)."""
    page.goto("/cards/custody/subsidy/")
    table = page.get_by_test_id("subsidy")
    if not table.count():
        return 0
    return int(table.locator("tfoot td").nth(1).inner_text())
