"""Card use and home service on the real server (issue #11 §5 and §6).

- The demo bus terminal (client credentials from the demo's terminal file) uploads an
  offline transit batch through the API twice: the second upload adds nothing and says so.
- The card centre sees the month's card use on the dashboard's 用卡 panel and finds the
  batch in the use list (holders masked).
- A relative books a home visit for an elderly holder on the public form with the SMS code
  from the gateway's outbox; the town clerk takes it and records the visit.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.journeys.conftest import Demo

_PICK = """
import json
from datetime import date
from shebao.accounts.models import User
from shebao.cards.models import Card
from shebao.registry.models import Person
cards = list(Card.objects.filter(status__in=["issued", "active"]).order_by("?")
             .values_list("card_number", flat=True)[:5])
town = User.objects.get(username="town").organisation.region.prefix
from django.db.models import Q
# Lives in the town clerk's town (where the visit is): by residence, else household.
here = (Q(residence_region__code__startswith=town)
        | Q(residence_region__isnull=True, hukou_region__code__startswith=town))
elder = (Person.objects.filter(here, life_status="alive", birth_date__lt=date(1960, 1, 1))
         .order_by("?").first())
print("PICK" + json.dumps({"cards": cards, "elder": [elder.id_number, elder.name]},
                          ensure_ascii=False))
"""


def _pick(demo: Demo) -> dict[str, Any]:
    done = demo.run("shell", "-c", _PICK)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PICK"))
    picked: dict[str, Any] = json.loads(line[4:])
    if len(picked["cards"]) < 5:
        pytest.fail(f"the demo has too few issued cards: {picked}")
    return picked


def _bus_token(demo: Demo) -> str:
    terminals = json.loads((demo.data_dir / "partners" / "demo_terminals.json").read_text())
    bus = next(t for t in terminals if t["terminal"] == "BUS-001")
    body = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": bus["client_id"],
            "client_secret": bus["client_secret"],
        }
    ).encode()
    with urllib.request.urlopen(f"{demo.url}/o/token/", data=body, timeout=30) as response:  # noqa: S310
        token: str = json.loads(response.read())["access_token"]
    return token


def _upload(demo: Demo, token: str, body: str) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310
        f"{demo.url}/api/v1/usage/batch",
        data=body.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        result: dict[str, Any] = json.loads(response.read())
    return result


def test_transit_batch_twice_dashboard_and_home_service(
    demo: Demo,
    login: Callable[[str], Any],
    anon: Callable[[], Any],
    shot: Callable[[Any, str], Any],
) -> None:
    picked = _pick(demo)
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    # An offline validator's taps of this morning, sequences far above the demo's.
    lines = [
        json.dumps(
            {
                "sequence": 900_000 + i,
                "occurred_at": (now - timedelta(minutes=30 - i)).isoformat(),
                "service": "transit_ride",
                "card_form": "physical" if i % 2 else "ecard",
                "card_number": picked["cards"][i % 5],
                "result": "ok",
            }
        )
        for i in range(20)
    ]
    token = _bus_token(demo)
    first = _upload(demo, token, "\n".join(lines))
    assert (first["received"], first["added"], first["already"]) == (20, 20, 0)
    second = _upload(demo, token, "\n".join(lines))
    assert (second["received"], second["added"], second["already"]) == (20, 0, 20)
    assert "已存在 20 条" in second["message"]

    centre = login("centre")
    centre.goto("/reports/dashboard/")
    panel = centre.locator("#usage-panel")
    panel.wait_for()
    assert "用卡情况" in panel.inner_text()
    assert int(centre.inner_text("#usage-month-ok")) >= 20
    shot(centre, "usage-dashboard")
    centre.goto("/usage/records/?field=transport")
    table = centre.get_by_test_id("usage-records")
    assert "乘车" in table.inner_text() and "市公交集团" in table.inner_text()
    shot(centre, "usage-records")

    id_number, name = picked["elder"]
    form = anon()
    form.goto("/cards/home-service/")
    form.get_by_label("服务对象姓名").fill(name)
    form.get_by_label("服务对象身份证号码").fill(id_number)
    form.get_by_label("上门原因").select_option("elderly")
    form.get_by_label("办理事项").select_option("activate")
    form.get_by_label("上门地址").fill("演示小区3栋2单元101")
    form.get_by_label("希望上门日期").fill((now + timedelta(days=3)).date().isoformat())
    form.get_by_label("预约人姓名").fill("李建国")
    form.get_by_label("与服务对象关系").fill("子女")
    form.get_by_label("联系手机").fill("13912345678")
    form.get_by_role("button", name="获取短信验证码").click()
    form.get_by_text("验证码已发送到该手机").wait_for()
    outbox = (demo.data_dir / "sms" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    message = next(json.loads(x) for x in reversed(outbox) if "上门服务" in x)
    code = re.search(r"验证码(\d{6})", message["text"])
    assert code is not None
    form.get_by_label("短信验证码").fill(code.group(1))
    form.get_by_role("button", name="提交预约").click()
    reference = form.locator("#booking-reference").inner_text().strip()
    shot(form, "usage-home-service-booked")

    clerk = login("town")
    clerk.goto("/cards/home-service/work/?status=booked")
    row = clerk.get_by_test_id(f"appointment-{reference}")
    row.get_by_role("button", name="由我上门").click()
    clerk.wait_for_load_state()
    clerk.goto("/cards/home-service/work/?status=assigned")
    row = clerk.get_by_test_id(f"appointment-{reference}")
    assert "已派单" in row.inner_text() and "13912345678" in row.inner_text()
    row.get_by_placeholder("办理结果").fill("已上门协助激活社保卡")
    row.get_by_role("button", name="登记办结").click()
    clerk.goto("/cards/home-service/work/?status=visited")
    done = clerk.get_by_test_id(f"appointment-{reference}")
    assert "已上门办结" in done.inner_text()
    shot(clerk, "usage-home-service-visited")
