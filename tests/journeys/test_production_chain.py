"""The card production chain on the real server (issue #10 items 5, 8, 9, 10).

A unit (the demo employer, registered at the city) uploads a collective application with
photos; the district card office — which could not even open such a batch before — reviews
and forwards it; the card centre forms the production batch and exports the vendor package
(which now carries the photos themselves), imports the vendor's results with one card
failed, remakes that card in a new batch and exports and imports it too; the bank opens the
accounts but one fails, and that card cannot be activated until the account is opened.

The vendor's and the bank's own tools are played by `shebao shell` against the demo's
database and key: they decrypt what the pages exported and write the encrypted results the
pages import.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.journeys.conftest import Demo
from tests.unit.cards.samples import photo

MARK = "H1A-JSON:"

# Staff of the demo employer who can apply: alive, under 60, insured, with a mobile phone,
# no card and no open application, living in the district of the demo bank's branch.
PICK = """
import json
from datetime import date
from shebao.accounts.models import User
from shebao.cards.models import Application, Card
from shebao.cards.models.applications import OPEN_APPLICATION_STATUSES
from shebao.registry.models import Person
employer = User.objects.get(username="employer").organisation
branch = User.objects.get(username="bank").organisation
cutoff = date.today().replace(year=date.today().year - 58)
busy = set(Application.objects.filter(status__in=OPEN_APPLICATION_STATUSES).values_list(
    "person_id", flat=True)) | set(Card.objects.values_list("person_id", flat=True))
rows = []
for p in (Person.objects.filter(
        enrollments__employer__credit_code=employer.credit_code, enrollments__status="active",
        life_status="alive", residence_region__code__startswith=branch.region.prefix)
        .exclude(phone="").distinct().order_by("-pk")):
    if p.pk in busy or int(p.id_number[6:14]) < int(cutoff.strftime("%Y%m%d")):
        continue
    rows.append([p.name, "男" if p.gender == "M" else "女", p.id_number, p.phone])
    if len(rows) == 6:
        break
print("H1A-JSON:" + json.dumps({"rows": rows, "employer": employer.name}, ensure_ascii=False))
"""

# The vendor: open the package, report each photo's digest, answer with one card failed.
VENDOR = """
import hashlib, json
from pathlib import Path
from shebao.cards.models import ProductionBatch
from shebao.cards.services.exchange import open_exchange_file
from shebao.cards.services.production import vendor_order_read, vendor_results_file
sealed = Path({package!r}).read_bytes()
opened = open_exchange_file(sealed, kind="vendor_order")
order = vendor_order_read(opened.content)
batch = ProductionBatch.objects.get(code=opened.reference)
fail = set({fail!r})
results = [(r["社保卡号"], r["社会保障号码"], r["社会保障号码"] not in fail,
            "芯片初始化失败" if r["社会保障号码"] in fail else "") for r in order.rows]
Path({out!r}).write_bytes(vendor_results_file(batch, results))
print("H1A-JSON:" + json.dumps({{
    "batch": batch.code,
    "rows": [[r["社保卡号"], r["社会保障号码"], r["照片"]] for r in order.rows],
    "photos": {{n: hashlib.sha256(b).hexdigest() for n, b in order.photos.items()}},
    "jpeg": all(b[:3] == b"\\xff\\xd8\\xff" for b in order.photos.values()),
}}, ensure_ascii=False))
"""

# The bank: open the request file, answer every row opened except those in `fail`.
BANK = """
import csv, io, json
from pathlib import Path
from shebao.cards.models import AccountOpeningRequest
from shebao.cards.services.banking import bank_results_file
from shebao.cards.services.exchange import open_exchange_file
opened = open_exchange_file(Path({package!r}).read_bytes(), kind="bank_request")
request = AccountOpeningRequest.objects.get(code=opened.reference)
rows = list(csv.DictReader(io.StringIO(opened.content.decode("utf-8-sig"))))
fail = set({fail!r})
answer = [(r["社会保障号码"], r["社会保障号码"] not in fail,
           "" if r["社会保障号码"] in fail else f"62284{{request.pk:05d}}{{i:08d}}",
           "证件已过期" if r["社会保障号码"] in fail else "") for i, r in enumerate(rows)]
Path({out!r}).write_bytes(bank_results_file(request, answer))
ids = [r["社会保障号码"] for r in rows]
print("H1A-JSON:" + json.dumps({{"request": request.code, "ids": ids}}))
"""

# The holders collect their cards at the card centre (the chain to a pickup point is the
# custody journey's subject).
COLLECT = """
import json
from shebao.accounts.models import User
from shebao.cards.domain.lifecycle import CardEvent
from shebao.cards.models import Card
from shebao.cards.services.card_life import card_apply_event
centre = User.objects.get(username="centre")
for number in {numbers!r}:
    card = Card.objects.get(card_number=number)
    card_apply_event(card_id=card.pk, event=CardEvent.ARRIVE_FOR_PICKUP, actor=centre)
    card_apply_event(card_id=card.pk, event=CardEvent.ISSUE, actor=centre)
print("H1A-JSON:" + json.dumps({{"issued": len({numbers!r})}}))
"""


def _shell(demo: Demo, code: str) -> dict[str, Any]:
    out = demo.run("shell", "-c", code).stdout
    line = next(x for x in out.splitlines() if x.startswith(MARK))
    data: dict[str, Any] = json.loads(line[len(MARK) :])
    return data


def _alert(page: Any) -> str:
    text: str = " ".join(page.locator(".messages .alert").all_inner_texts())
    return text


def _export(page: Any, row: Any, path: Path) -> Path:
    with page.expect_download() as info:
        row.get_by_role("button", name="导出加密文件").click()
    info.value.save_as(path)
    return path


def _upload_vendor_results(page: Any, path: Path) -> str:
    page.goto("/cards/issuing/production/")
    form = page.locator("form[action$='/production/import/']")
    form.locator("input[name=file]").set_input_files(str(path))
    form.get_by_role("button", name="导入").click()
    page.wait_for_load_state()
    return _alert(page)


def _upload_bank_results(page: Any, path: Path) -> None:
    form = page.locator("form[action$='/accounts/import/']")
    form.locator("input[name=file]").set_input_files(str(path))
    form.get_by_role("button", name="导入").click()
    page.wait_for_load_state()


def _batch_row(page: Any, code: str) -> Any:
    return page.locator("tr", has_text=code)


def test_collective_application_to_production_vendor_remake_accounts_and_activation(
    demo: Demo,
    login: Callable[[str], Any],
    shot: Callable[[Any, str], Path],
    tmp_path: Path,
) -> None:
    picked = _shell(demo, PICK)
    rows: list[list[str]] = picked["rows"]
    assert len(rows) == 6, f"not enough demo staff to apply: {rows}"
    ids = [r[2] for r in rows]
    photos = {i: photo(seed=n + 101) for n, i in enumerate(ids)}
    application = tmp_path / "集体申领.csv"
    with application.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["银行", "姓名", "性别", "身份证号(18位)", "联系电话", "工作证号(学籍号)"])
        for name, gender, id_number, phone in rows:
            writer.writerow(["农业银行", name, gender, id_number, phone, ""])
    archive = tmp_path / "照片.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for id_number, data in photos.items():
            z.writestr(f"{id_number}.jpg", data)

    # 1. The unit uploads the file with its photos and reports the batch up.
    unit = login("employer")
    unit.goto("/cards/issuing/batches/")
    unit.locator("#id_file").set_input_files(str(application))
    unit.locator("#id_photos").set_input_files(str(archive))
    unit.get_by_role("button", name="上传并检查").click()
    unit.wait_for_url(re.compile(r"/cards/issuing/batches/\d+/$"))
    uploaded = _alert(unit)
    assert "共 6 条，符合制卡条件 6 条" in uploaded, uploaded
    batch_code = re.search(r"SL\w+", uploaded)
    assert batch_code is not None
    batch_url = unit.url.removeprefix(demo.url)
    unit.get_by_role("button", name=re.compile("^上报至上级")).click()
    unit.wait_for_load_state()
    assert "已上报至“鄂城区社保卡管理办公室”" in _alert(unit)
    shot(unit, "production-chain-1-unit-reported")

    # 2. The district card office opens the batch it holds (a 403 before) and forwards it.
    district = login("district")
    district.goto("/cards/issuing/batches/")
    assert district.locator("tr", has_text=picked["employer"]).count() >= 1
    response = district.goto(batch_url)
    assert response is not None and response.status == 200
    assert batch_code.group(0) in district.content()
    shot(district, "production-chain-2-district-reviews")
    district.get_by_role("button", name=re.compile("^上报至上级")).click()
    district.wait_for_load_state()
    assert "社会保障卡管理中心" in _alert(district)

    # 3. The card centre forms the production batch and exports the vendor package.
    centre = login("centre")
    centre.goto("/cards/issuing/production/")
    centre.get_by_role("button", name="组成制卡批次").click()
    centre.wait_for_load_state()
    assert "已组成" in _alert(centre)
    row = centre.locator("tr", has_text=picked["employer"]).filter(has_text="已组批待送厂")
    assert row.count() == 1
    code = row.locator("td").first.inner_text().strip()
    shot(centre, "production-chain-3-centre-formed")
    package = _export(centre, _batch_row(centre, code), tmp_path / f"{code}.sm4")

    # The vendor finds every card's photo inside the package: the JPEG the unit uploaded.
    failed_id = ids[1]
    vendor = _shell(
        demo,
        VENDOR.format(package=str(package), fail=[failed_id], out=str(tmp_path / "r1.sm4")),
    )
    assert vendor["batch"] == code and len(vendor["rows"]) == 6 and vendor["jpeg"]
    by_id = {i: (number, entry) for number, i, entry in vendor["rows"]}
    for id_number, data in photos.items():
        number, entry = by_id[id_number]
        assert entry == f"照片/{number}.jpg"
        assert vendor["photos"][number] == hashlib.sha256(data).hexdigest()
    failed_card = by_id[failed_id][0]

    # 4. The vendor's results: five made, one failed.
    imported = _upload_vendor_results(centre, tmp_path / "r1.sm4")
    assert f"批次 {code}：制卡成功 5 张，失败 1 张" in imported, imported

    # 5. The failed card is remade: a new batch, exported and made this time.
    panel = centre.get_by_test_id("failed-cards")
    assert failed_card in panel.inner_text()
    for item in panel.locator("tbody tr").all():
        box = item.locator("input[type=checkbox]")
        if failed_card in item.inner_text():
            box.check()
        else:
            box.uncheck()
    shot(centre, "production-chain-4-failed-card")
    panel.get_by_role("button", name="重新制卡").click()
    centre.wait_for_load_state()
    remade = _alert(centre)
    assert "已重新制卡 1 张" in remade, remade
    remake_code = re.search(r"CZ\d+", remade)
    assert remake_code is not None
    remake_row = _batch_row(centre, remake_code.group(0))
    assert "重新制卡" in remake_row.inner_text()
    second = _export(centre, remake_row, tmp_path / "remake.sm4")
    vendor = _shell(demo, VENDOR.format(package=str(second), fail=[], out=str(tmp_path / "r2.sm4")))
    assert [r[0] for r in vendor["rows"]] == [failed_card]
    assert vendor["photos"][failed_card] == hashlib.sha256(photos[failed_id]).hexdigest()
    imported = _upload_vendor_results(centre, tmp_path / "r2.sm4")
    assert "制卡成功 1 张，失败 0 张" in imported, imported
    shot(centre, "production-chain-5-remade")

    # 6. The bank branch downloads the account request and answers: one account fails.
    bank = login("bank")
    bank.goto("/cards/issuing/accounts/")
    requests = bank.locator("tr", has_text="农业银行").filter(has_text="待发送")
    request_row = next(r for r in requests.all() if r.locator("td").nth(4).inner_text() == "6")
    with bank.expect_download() as info:
        request_row.get_by_role("button", name="下载加密开户文件").click()
    info.value.save_as(tmp_path / "accounts.sm4")
    no_account_id = ids[3]
    answered = _shell(
        demo,
        BANK.format(
            package=str(tmp_path / "accounts.sm4"),
            fail=[no_account_id],
            out=str(tmp_path / "accounts-result.sm4"),
        ),
    )
    assert sorted(answered["ids"]) == sorted(ids)
    _upload_bank_results(bank, tmp_path / "accounts-result.sm4")
    assert "开户成功 5 户，失败 1 户" in _alert(bank)
    shot(bank, "production-chain-6-accounts")

    # 7. Activation at the bank: refused while the account is not opened, done once it is.
    numbers = {i: by_id[i][0] for i in ids}
    _shell(demo, COLLECT.format(numbers=[numbers[no_account_id], numbers[ids[0]]]))

    def activate(number: str) -> str:
        bank.goto("/cards/counter/")
        bank.locator("#id_lookup_number").fill(number)
        bank.get_by_role("button", name="查找").click()
        bank.wait_for_load_state()
        bank.get_by_test_id("actions").get_by_role("button", name="激活").click()
        bank.wait_for_load_state()
        return str(bank.get_by_test_id("card-status").inner_text())

    assert activate(numbers[no_account_id]) == "已发放"
    refusal = bank.get_by_test_id("form-error").inner_text()
    assert "开户失败" in refusal and "证件已过期" in refusal and "不能激活" in refusal
    shot(bank, "production-chain-7-activation-refused")
    assert activate(numbers[ids[0]]) == "正常"

    # The card centre clears the failure and sends it again; the bank opens the account.
    centre.goto("/cards/issuing/accounts/")
    failures = centre.locator("form[action$='/accounts/resubmit/']")
    for item in failures.locator("tbody tr").all():
        box = item.locator("input[type=checkbox]")
        if box.count():
            text = item.inner_text()
            if answered["request"] in text and _masked_match(text, no_account_id):
                box.check()
            else:
                box.uncheck()
    failures.get_by_role("button", name="核实更正后重新提交银行").click()
    centre.wait_for_load_state()
    resent = _alert(centre)
    assert "已重新提交 1 条开户数据" in resent, resent
    again = re.search(r"KH\w+", resent)
    assert again is not None
    bank.goto("/cards/issuing/accounts/")
    with bank.expect_download() as info:
        _batch_row(bank, again.group(0)).get_by_role("button", name="下载加密开户文件").click()
    info.value.save_as(tmp_path / "accounts2.sm4")
    _shell(
        demo,
        BANK.format(
            package=str(tmp_path / "accounts2.sm4"), fail=[], out=str(tmp_path / "accounts2-r.sm4")
        ),
    )
    _upload_bank_results(bank, tmp_path / "accounts2-r.sm4")
    assert "开户成功 1 户" in _alert(bank)
    assert activate(numbers[no_account_id]) == "正常"
    shot(bank, "production-chain-8-activated")


def _masked_match(text: str, id_number: str) -> bool:
    """A masked ID number in a list (first 6 and last 4 digits shown) matches `id_number`."""
    return id_number[:6] in text and id_number[-4:] in text
