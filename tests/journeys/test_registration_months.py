"""Registration over two months against the real server (issue #10, items 19–21).

The department clerk imports an enrollment file on the page, the card centre compares (the
real worker runs it), a village clerk corrects a finding and records a household survey; a
second month's file is imported and compared: the correction, the same finding and the
survey progress are kept, and the person page agrees with the findings. A partial file
offered as a full snapshot asks for confirmation; the earlier file is made current again
instead of being re-imported.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.journeys.conftest import Demo, wait_for_text

ENROLLMENT_COLUMNS_ID = "公民身份号码"


def _probe(demo: Demo, code: str) -> Any:
    """Run Python in `shebao shell` against the demo's database; the last line is JSON."""
    out = demo.run("shell", "-c", code).stdout.strip().splitlines()
    return json.loads(out[-1])


def _pick_persons(demo: Demo) -> list[dict[str, Any]]:
    """Two adults of the `village` account's village, in households, insured in both scheme
    groups by the registry and by the enrollment file, without open findings: the journey
    takes their rows out of the file, so that the comparison flags them."""
    code = """
import json
from datetime import date
from shebao.accounts.models import User
from shebao.registration.models import Finding
from shebao.registry.choices import EnrollmentStatus, LifeStatus
from shebao.registry.models import Enrollment, Person
village = User.objects.get(username="village").organisation.region
flagged = set(Finding.objects.filter(status__in=("open", "assigned"))
              .values_list("person_id", flat=True))
insured = (EnrollmentStatus.ACTIVE, EnrollmentStatus.SUSPENDED)
found = []
candidates = Person.objects.filter(
    residence_region__code__startswith=village.prefix, life_status=LifeStatus.ALIVE,
    household__isnull=False, birth_date__lte=date(1990, 1, 1),
).exclude(pk__in=flagged).order_by("id_number")[:400]
for p in candidates:
    groups = set(Enrollment.objects.filter(person=p, status__in=insured)
                 .values_list("scheme__group", flat=True))
    if {"pension", "medical"} <= groups:
        found.append({"pk": p.pk, "id": p.id_number, "village": village.code})
    if len(found) == 2:
        break
print(json.dumps(found))
"""
    return list(_probe(demo, code))


def _rows_without(source: Path, target: Path, ids: set[str], *, reverse: bool = False) -> Path:
    with source.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        at = header.index(ENROLLMENT_COLUMNS_ID)
        rows = [r for r in reader if r[at] not in ids]
    if reverse:
        rows.reverse()
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return target


def _import(page: Any, path: Path, *, confirm: bool = False) -> tuple[int, str]:
    """Upload `path` as a full enrollment snapshot on the imports page; (batch id, status)."""
    page.goto("/registration/imports/")
    page.locator("select[name=kind]").select_option("enrollment")
    page.locator("input[name=mode][value=snapshot]").check()
    if confirm:
        page.locator("input[name=confirm_shrink]").check()
    page.locator("input[name=file]").set_input_files(str(path))
    page.get_by_role("button", name="上传并导入").click()
    page.wait_for_url("**/registration/imports/*/")
    batch_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    return batch_id, wait_for_text(page, "batch-status", ("已导入", "导入失败"))


def _compare(page: Any) -> int:
    page.goto("/registration/runs/")
    with page.expect_navigation():
        page.get_by_role("button", name="开始比对").click()
    if page.url.rstrip("/").endswith("/registration/runs"):
        raise AssertionError(f"no comparison started: {page.locator('main').inner_text()[:1500]}")
    run_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert wait_for_text(page, "run-status", ("已完成", "失败"), seconds=420) == "已完成"
    return run_id


def _uninsured_findings(demo: Demo, person_pk: int) -> dict[str, list[int]]:
    return dict(
        _probe(
            demo,
            "import json; from shebao.registration.models import Finding; "
            f"print(json.dumps({{f.category: [f.pk, f.run_id] for f in "
            f"Finding.objects.filter(person_id={person_pk}, "
            "category__in=('PENSION_UNINSURED', 'MEDICAL_UNINSURED'))}))",
        )
    )


def _household_title(page: Any, person_pk: int) -> str:
    """The roster's heading of the household of `person_pk` (它 says 已走访 or 未走访)."""
    household = page.locator("section", has=page.locator(f"tr[data-person='{person_pk}']"))
    return str(household.locator(".panel-title").inner_text())


def _open_person(page: Any, id_number: str, pk: int) -> None:
    page.goto("/persons/")
    page.get_by_label("身份证号码或姓名").fill(id_number)
    page.get_by_role("combobox", name="用途", exact=True).select_option(label="全民参保登记核查")
    page.get_by_role("button", name="查询").click()
    page.get_by_role("link", name="查看").first.click()
    page.wait_for_url(f"**/persons/{pk}/")


def test_corrections_and_surveys_survive_the_next_month(
    demo: Demo,
    login: Callable[[str], Any],
    shot: Callable[[Any, str], Path],
    tmp_path: Path,
) -> None:
    persons = _pick_persons(demo)
    assert len(persons) == 2, persons
    corrected, surveyed = persons
    village = corrected["village"]
    original = demo.data_dir / "demo" / "departments" / "enrollment.csv"
    ids = {corrected["id"], surveyed["id"]}

    # Month 1: the department clerk imports the month's enrollment file, the centre compares.
    dept = login("dept")
    month1, status = _import(dept, _rows_without(original, tmp_path / "参保-11月.csv", ids))
    assert status == "已导入", dept.get_by_test_id("batch-error").all_inner_texts()
    assert dept.get_by_test_id("batch-mode").inner_text() == "全量"
    assert dept.get_by_test_id("batch-current").is_visible()
    shot(dept, "registration-months-01-imported")
    centre = login("centre")
    first_run = _compare(centre)
    found = _uninsured_findings(demo, corrected["pk"])
    medical_pk, medical_run = found["MEDICAL_UNINSURED"]
    assert medical_run == first_run

    # The village clerk corrects one finding and records the other person's survey.
    clerk = login("village")
    clerk.goto(f"/registration/findings/{medical_pk}/")
    clerk.locator("input[name=outcome][value=corrected]").check()
    clerk.locator("textarea[name=note]").fill("医保系统已有参保记录，部门数据漏报")
    clerk.get_by_test_id("resolve").click()
    assert clerk.get_by_test_id("finding-status").inner_text() == "已更正"
    clerk.goto(f"/registration/survey/persons/{surveyed['pk']}/")
    clerk.locator("input[name=employment][value=farming]").check()
    clerk.locator("select[name=reason_uninsured]").select_option("cannot_afford")
    clerk.get_by_role("button", name="保存调查结果").click()
    clerk.wait_for_url(f"**/registration/survey/villages/{village}/")
    assert "已走访" in _household_title(clerk, surveyed["pk"])
    shot(clerk, "registration-months-02-surveyed")

    # Month 2: another file (other bytes, the same people missing), compared again.
    month2, status = _import(
        dept, _rows_without(original, tmp_path / "参保-12月.csv", ids, reverse=True)
    )
    assert status == "已导入" and month2 != month1
    second_run = _compare(centre)
    assert second_run != first_run

    # The same finding, moved to the new run, still corrected.
    again = _uninsured_findings(demo, corrected["pk"])
    assert again["MEDICAL_UNINSURED"] == [medical_pk, second_run]
    clerk.goto(f"/registration/findings/{medical_pk}/")
    assert clerk.get_by_test_id("finding-status").inner_text() == "已更正"
    # The survey is kept: the household is still on the roster, the person still visited.
    clerk.goto(f"/registration/survey/villages/{village}/")
    assert "已走访" in _household_title(clerk, surveyed["pk"])
    shot(clerk, "registration-months-03-roster-kept")
    # The person page agrees with the findings: no 应参未参 beside 已参保.
    _open_person(clerk, corrected["id"], corrected["pk"])
    lines = clerk.get_by_test_id("coverage-status").all_inner_texts()
    state = clerk.get_by_test_id("registration-state").inner_text()
    assert "已参保" in lines[1]  # medical: corrected
    # 应参未参 only with a scheme line that says so (the pension finding, if any, is open).
    assert (state == "应参未参") == any(text.startswith("应参未参") for text in lines), (
        state,
        lines,
    )
    shot(clerk, "registration-months-04-person")

    # A partial file offered as the whole source asks for confirmation; nothing changes.
    partial = tmp_path / "参保-部分.csv"
    with original.open(encoding="utf-8-sig") as handle:
        partial.write_text("".join(handle.readlines()[:5]), encoding="utf-8")
    refused, status = _import(dept, partial)
    assert status == "导入失败"
    message = dept.get_by_test_id("batch-error").inner_text()
    assert "不到当前数据" in message and "确认是完整的全量数据" in message
    shot(dept, "registration-months-05-partial-refused")
    confirmed, status = _import(dept, partial, confirm=True)
    assert status == "已导入" and confirmed != refused
    # The full file is made current again on its page, not re-imported.
    dept.goto(f"/registration/imports/{month2}/")
    dept.get_by_test_id("make-current").click()
    assert dept.get_by_test_id("batch-current").is_visible()
    shot(dept, "registration-months-06-restored")
    # Leave the demo's own enrollment file current, as the other journeys expect it.
    demo_batch = _probe(
        demo,
        "import json; from shebao.intake.models import ImportBatch; "
        "print(json.dumps(ImportBatch.objects.filter(kind='enrollment', created_by=None)"
        ".order_by('id').values_list('pk', flat=True).first()))",
    )
    dept.goto(f"/registration/imports/{demo_batch}/")
    dept.get_by_test_id("make-current").click()
    assert dept.get_by_test_id("batch-current").is_visible()
