"""Life events on the real server (issue #10, items 17, 18 and 29).

- Self-service: a citizen (no login) gives ID number, name and the phone's last four digits;
  a one-time code goes to the phone on record (the demo's SMS backend writes it to
  <data dir>/sms/outbox.jsonl, where the test reads it as the citizen reads the phone); a
  wrong code is refused, the right one opens the card, and the citizen reports it lost.
- A death from civil affairs: the department clerk (`dept`) imports a death file on the
  registration page; its exact ID-and-name row records the death in the registry and cancels
  the person's card, which the card centre sees on the person page (status, history, the
  batch the death came from) and can revoke with a reason.
- The time-driven rules as commands with --as-of (dry runs, so other journeys' cards stay as
  they are), and the worker's daily schedules.

The people come from the demo's registry through `demo.run("shell", …)`, chosen at random
among people without a card or an application, each given an active card, so the file does
not depend on other journeys.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.journeys.conftest import Demo, wait_for_text

# Two people with a phone and a household address, without a card or an application, each
# given an active card (as activation at the bank leaves it).
_ACTIVE_CARDS = """
import json
from django.db import transaction
from django.utils import timezone
from shebao.accounts.models import User
from shebao.cards.domain.codes import card_id_code
from shebao.cards.models import Application, Card
from shebao.cards.services.numbering import (
    card_numbers, card_numbers_allocate, issuing_region_of, unique_part)
from shebao.registry.models import Person
centre = User.objects.get(username="district").organisation.parent
bank = User.objects.get(username="bank").organisation.bank_root
people = list(
    Person.objects.filter(life_status="alive", cards__isnull=True, household__isnull=False)
    .exclude(phone="").exclude(household__address="")
    .exclude(pk__in=Application.objects.filter(person__isnull=False).values("person_id"))
    .order_by("?")[:2])
assert len(people) == 2, "too few people without a card in the demo"
with transaction.atomic():
    issuing = issuing_region_of(centre)
    series, first, first_unique = card_numbers_allocate(region=issuing, count=2)
    numbers = card_numbers(series, first, 2)
    now = timezone.now()
    for i, p in enumerate(people):
        Card.objects.create(
            card_number=numbers[i],
            card_id_code=card_id_code(issuing.code[:6], unique_part(first_unique + i)),
            person=p, status="active", issuing_region=issuing, issued_on=now.date(),
            expires_on=now.date().replace(year=now.year + 10), bank=bank, custodian=None,
            created_at=now, updated_at=now)
print("PEOPLE" + json.dumps(
    [[p.pk, p.id_number, p.name, p.phone, numbers[i]] for i, p in enumerate(people)]))
"""

_SCHEDULED = """
import json
from shebao.jobs.models import Job, ScheduledRun
runs = ScheduledRun.objects.filter(name__startswith="cards.").select_related("job")
print("RUNS" + json.dumps(sorted([r.name, r.job.status] for r in runs)))
"""


def _people(demo: Demo) -> list[tuple[int, str, str, str, str]]:
    done = demo.run("shell", "-c", _ACTIVE_CARDS)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PEOPLE"))
    return [tuple(x) for x in json.loads(line[6:])]  # type: ignore[misc]


def _last_code(demo: Demo, phone: str, seconds: float = 20) -> str:
    """The code in the newest text to `phone` in the demo's SMS outbox."""
    outbox = demo.data_dir / "sms" / "outbox.jsonl"
    deadline = time.monotonic() + seconds
    while True:
        if outbox.exists():
            for line in reversed(outbox.read_text(encoding="utf-8").splitlines()):
                message = json.loads(line)
                if message["phone"] == phone:
                    found = re.search(r"验证码为 (\d{6})", message["text"])
                    assert found, message
                    return found.group(1)
        assert time.monotonic() < deadline, f"no text to the phone in {outbox}"
        time.sleep(0.5)


def test_self_service_needs_the_code_sent_to_the_phone_on_record(
    demo: Demo, anon: Callable[[], Any], shot: Callable[[Any, str], Path]
) -> None:
    (_pk, id_number, name, phone, card_number), _ = _people(demo)
    page = anon()
    page.goto("/cards/self-service/")
    page.get_by_label("身份证号码").fill(id_number)
    page.get_by_label("姓名").fill(name)
    page.get_by_label("预留手机号后四位").fill(phone[-4:])
    page.get_by_role("button", name="获取验证码").click()
    sent = page.get_by_test_id("code-sent").inner_text()
    assert phone[-4:] in sent and phone not in sent
    assert page.get_by_test_id("card-progress").count() == 0  # nothing shown before the code
    code = _last_code(demo, phone)
    shot(page, "life-self-service-code-sent")

    page.get_by_label("短信验证码").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="验证", exact=True).click()
    assert "验证码不正确" in page.get_by_test_id("form-error").inner_text()
    assert page.get_by_test_id("card-progress").count() == 0

    page.get_by_label("短信验证码").fill(code)
    page.get_by_role("button", name="验证", exact=True).click()
    assert page.get_by_test_id("verified").is_visible()
    assert page.get_by_test_id("card-status").inner_text() == "正常"
    html = page.content()
    assert id_number not in html and card_number not in html and phone not in html
    assert "手机号码和邮寄地址以登记信息为准" in html
    page.get_by_role("button", name="临时挂失").click()
    assert "已办理临时挂失" in page.locator(".alert-success").inner_text()
    assert page.get_by_test_id("card-status").inner_text() == "临时挂失"
    shot(page, "life-self-service-loss")

    # The same code is used up: a second browser cannot reuse it.
    other = anon()
    other.goto("/cards/self-service/")
    other.get_by_label("身份证号码").fill(id_number)
    other.get_by_label("姓名").fill(name)
    other.get_by_label("预留手机号后四位").fill("0000" if phone[-4:] != "0000" else "1111")
    other.get_by_role("button", name="获取验证码").click()
    assert "身份信息核验未通过" in other.get_by_test_id("form-error").inner_text()

    # The loss lapses in time: the rule, tried ahead with --as-of, would lift it.
    ahead = (date.today() + timedelta(days=60)).isoformat()  # noqa: DTZ011 - a civil date
    done = demo.run("cards", "lapse-temporary-losses", "--as-of", ahead, "--dry-run")
    counted = re.search(r"应自动解除 (\d+) 张", done.stdout)
    assert counted and int(counted.group(1)) >= 1, done.stdout


def test_a_death_from_civil_affairs_cancels_the_card(
    demo: Demo,
    login: Callable[[str], Any],
    shot: Callable[[Any, str], Path],
    tmp_path: Path,
) -> None:
    _, (pk, id_number, name, _phone, card_number) = _people(demo)
    died = (date.today() - timedelta(days=2)).isoformat()  # noqa: DTZ011 - a civil date
    death_file = tmp_path / "民政死亡增量.csv"
    death_file.write_text(f"公民身份号码,姓名,死亡日期\n{id_number},{name},{died}\n", "utf-8")

    dept = login("dept")
    dept.goto("/registration/imports/")
    dept.locator("select[name=kind]").select_option("death")
    dept.locator("input[name=mode][value=increment]").check()
    dept.locator("input[name=file]").set_input_files(str(death_file))
    dept.get_by_role("button", name="上传并导入").click()
    dept.wait_for_url("**/registration/imports/*/")
    batch_id = int(dept.url.rstrip("/").rsplit("/", 1)[1])
    status = wait_for_text(dept, "batch-status", ("已导入", "导入失败"))
    assert status == "已导入", dept.get_by_test_id("batch-error").all_inner_texts()
    shot(dept, "life-death-file-imported")

    centre = login("centre")
    centre.goto(f"/persons/{pk}/")
    centre.get_by_role("combobox", name="用途", exact=True).select_option(label="社保卡业务办理")
    centre.get_by_role("button", name="确定并查看").click()
    centre.wait_for_url(f"**/persons/{pk}/")
    assert f"导入批次#{batch_id}" in centre.get_by_test_id("status-basis").inner_text()
    card = centre.get_by_test_id("person-card").first
    assert card_number[-4:] in card.inner_text() and card_number not in centre.content()
    assert centre.get_by_test_id("person-card-status").first.inner_text() == "注销"
    history = centre.get_by_test_id("person-card-history").first.inner_text()
    assert "注销（持卡人死亡）" in history and "系统自动" in history
    shot(centre, "life-death-person-page")

    # Nothing is left for the nightly sweep: the import cancelled the card at once.
    done = demo.run("cards", "cancel-deceased", "--dry-run")
    assert "应注销死亡人员的卡片 0 张" in done.stdout, done.stdout

    # A wrong death is revoked by a clerk with a reason; the card stays cancelled.
    centre.get_by_text("撤销死亡登记（核实仍健在、民政数据有误时）").click()
    centre.get_by_label("撤销原因").fill("本人到社保卡服务网点核实仍健在")
    centre.get_by_role("button", name="撤销死亡登记", exact=True).click()
    assert "已撤销死亡登记" in centre.locator(".alert-success").inner_text()
    assert centre.get_by_test_id("person-card-status").first.inner_text() == "注销"


def test_the_daily_rules_are_scheduled_and_can_be_tried_as_of_a_day(demo: Demo) -> None:
    ahead = (date.today() + timedelta(days=400)).isoformat()  # noqa: DTZ011 - a civil date
    done = demo.run("cards", "recall-overdue", "--as-of", ahead, "--dry-run")
    assert f"（基准日 {ahead}）" in done.stdout and "应回收逾期未领取卡片" in done.stdout
    refused = demo.run("cards", "recall-overdue", "--as-of", "2026-13-01", check=False)
    assert refused.returncode != 0 and "日期应为 YYYY-MM-DD 格式" in refused.stderr
    # The worker enqueues each rule once a day from 01:10-01:30 (local time) and runs it.
    line = next(
        x for x in demo.run("shell", "-c", _SCHEDULED).stdout.splitlines() if x.startswith("RUNS")
    )
    runs = dict(json.loads(line[4:]))
    local = datetime.now(ZoneInfo("Asia/Shanghai"))
    if (local.hour, local.minute) >= (1, 31):
        assert set(runs) == {
            "cards.cancel_deceased",
            "cards.lapse_temporary_losses",
            "cards.recall_overdue",
        }, runs
        deadline = time.monotonic() + 120
        while set(runs.values()) - {"succeeded"} and time.monotonic() < deadline:
            time.sleep(3)
            line = next(
                x
                for x in demo.run("shell", "-c", _SCHEDULED).stdout.splitlines()
                if x.startswith("RUNS")
            )
            runs = dict(json.loads(line[4:]))
        assert set(runs.values()) == {"succeeded"}, runs
