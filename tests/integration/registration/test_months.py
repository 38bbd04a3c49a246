"""Registration over time (issue #10, items 19–21): monthly imports as full snapshots or
increments, the current batch of each kind, findings that keep their identity, work and
survey state across comparisons, and findings without a region routed to the importing
office."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from shebao.accounts.models import AuditEvent
from shebao.accounts.services import api_token_create
from shebao.errors import ShebaoError
from shebao.intake.choices import ImportMode, ImportStatus
from shebao.intake.formats import SourceKind
from shebao.intake.models import ImportBatch
from shebao.intake.selectors import import_batches_current
from shebao.intake.services import import_batch_make_current, import_batch_submit
from shebao.intake.storage import intake_path
from shebao.jobs.services import job_run_next
from shebao.registration.choices import FindingStatus, RegistrationState
from shebao.registration.models import ComparisonRun, Finding, PersonRegistration
from shebao.registration.selectors import (
    FindingFilter,
    findings_queue,
    person_registration,
    roster_for_village,
    survey_completeness,
    survey_villages,
)
from shebao.registration.services import (
    FindingCorrection,
    SurveyInput,
    finding_assign,
    finding_resolve,
    survey_record,
)
from tests.integration.registration.world import (
    ENR,
    PHOENIX,
    POP,
    RegWorld,
    _write,
    build_world,
    run_comparison_now,
)

pytestmark = pytest.mark.django_db


def _population_rows(world: RegWorld) -> list[list[str]]:
    return [
        [
            p.id_number,
            p.name,
            "男" if p.gender == "M" else "女",
            p.birth_date.isoformat(),
            p.hukou_region_id,
            p.household.number if p.household else "",
            "",
            "正常",
        ]
        for p in (world.insured, world.uninsured, world.misnamed, world.fankou)
    ]


def _enrollment_rows(world: RegWorld) -> list[list[str]]:
    return [
        [world.insured.id_number, world.insured.name, "170", "参保缴费", "420704", "2020-01-01"],
        [world.insured.id_number, world.insured.name, "390", "参保缴费", "420704", "2020-01-01"],
        [world.misnamed.id_number, "张玮", "170", "参保缴费", "420704", "2020-01-01"],
        [world.misnamed.id_number, "张玮", "390", "参保缴费", "420704", "2020-01-01"],
        [world.outsider_id, "赵六", "390", "参保缴费", "420704", "2020-01-01"],
    ]


def _import(
    world: RegWorld, path: Path, *, mode: str = ImportMode.SNAPSHOT, confirm: bool = False
) -> ImportBatch:
    batch, created = import_batch_submit(
        actor=world.centre, path=path, mode=mode, confirm_shrink=confirm
    )
    assert created
    job_run_next(job_id=batch.job_id)
    batch.refresh_from_db()
    return batch


@pytest.fixture
def world(tmp_path: Path) -> RegWorld:
    w = build_world(tmp_path)
    run_comparison_now(w)
    return w


def _finding(world: RegWorld, category: str, person_id: int) -> Finding:
    return Finding.objects.get(category=category, person_id=person_id)


def test_two_months_keep_corrections_assignees_and_survey_progress(
    world: RegWorld, tmp_path: Path
) -> None:
    first = ComparisonRun.objects.get()
    # Month 1: a clerk corrects (records the medical enrollment), another assigns, a
    # surveyor visits a household.
    medical = _finding(world, "MEDICAL_UNINSURED", world.uninsured.pk)
    finding_resolve(
        actor=world.clerk,
        finding_id=medical.pk,
        outcome=FindingStatus.CORRECTED,
        note="已补录城乡居民医保",
        correction=FindingCorrection(scheme_code="390"),
    )
    fankou = _finding(world, "PENSION_UNINSURED", world.fankou.pk)
    finding_assign(actor=world.other_clerk, finding_id=fankou.pk, assignee=world.other_clerk)
    survey_record(
        actor=world.surveyor,
        person_id=world.uninsured.pk,
        data=SurveyInput(employment="farming", reason_uninsured="cannot_afford"),
    )
    pension = _finding(world, "PENSION_UNINSURED", world.uninsured.pk)
    assert pension.status == FindingStatus.CONFIRMED
    before = survey_completeness(actor=world.surveyor, village_code=PHOENIX)
    assert (before.households, before.households_visited) == (2, 1)

    # Month 2: the departments send their whole files again (other bytes: new dates).
    month2 = tmp_path / "month2"
    month2.mkdir()
    population = _population_rows(world)
    population[0][6] = "户主"
    _import(world, _write(month2 / "人口-12月.csv", POP, population))
    enrollment = _enrollment_rows(world)
    enrollment[0][5] = "2020-01-02"
    _import(world, _write(month2 / "参保-12月.csv", ENR, enrollment))
    second = run_comparison_now(world)
    assert second.pk != first.pk and second.status == "succeeded", second.error

    # The same findings, moved to the new run, with their work.
    medical_now = Finding.objects.get(pk=medical.pk)
    assert (medical_now.run_id, medical_now.first_run_id) == (second.pk, first.pk)
    assert (medical_now.status, medical_now.note) == (FindingStatus.CORRECTED, "已补录城乡居民医保")
    fankou_now = Finding.objects.get(pk=fankou.pk)
    assert (fankou_now.run_id, fankou_now.status, fankou_now.assignee_id) == (
        second.pk,
        FindingStatus.ASSIGNED,
        world.other_clerk.pk,
    )
    pension_now = Finding.objects.get(pk=pension.pk)
    assert (pension_now.run_id, pension_now.status) == (second.pk, FindingStatus.CONFIRMED)
    # No finding twice for one problem.
    assert Finding.objects.count() == Finding.objects.filter(run=second).count()

    # Survey progress kept: the visited household is still on the roster, still visited.
    _, households = roster_for_village(actor=world.surveyor, village_code=PHOENIX)
    h1 = next(h for h in households if h.number == "H1")
    assert h1.visited
    after = survey_completeness(actor=world.surveyor, village_code=PHOENIX)
    assert (after.households, after.households_visited, after.members_recorded) == (2, 1, 1)
    assert PHOENIX in {r.code for r in survey_villages(actor=world.surveyor)}

    # The person page agrees with the findings: 应参未参 for the confirmed pension finding,
    # 已参保 for the corrected medical one, never 应参未参 beside 已参保 for one scheme.
    status = person_registration(actor=world.clerk, person_id=world.uninsured.pk)
    assert status is not None and status.state == RegistrationState.UNINSURED
    lines = {c.group: c for c in status.coverage}
    assert lines["医疗保险"].status_label == "已参保"
    assert lines["养老保险"].status_label == "应参未参（已核实）"


def test_a_correction_without_a_registry_change_keeps_the_person_registered(
    world: RegWorld,
) -> None:
    """Corrected "in the business system" only: the registry has no enrollment, but the
    finding is settled, so the state and the scheme line must not say 应参未参."""
    for category in ("PENSION_UNINSURED", "MEDICAL_UNINSURED"):
        finding_resolve(
            actor=world.other_clerk,
            finding_id=_finding(world, category, world.fankou.pk).pk,
            outcome=FindingStatus.DISMISSED,
            note="已在外地参保",
        )
    run_comparison_now(world)
    assert PersonRegistration.objects.get(person=world.fankou).state == (
        RegistrationState.REGISTERED
    )
    status = person_registration(actor=world.other_clerk, person_id=world.fankou.pk)
    assert status is not None
    assert {c.status_label for c in status.coverage} == {"已核实参保（已排除）"}


def test_a_partial_snapshot_is_refused_unless_confirmed(world: RegWorld, tmp_path: Path) -> None:
    population = next(b for b in world.batches if b.kind == SourceKind.POPULATION)
    partial = _write(tmp_path / "人口-部分.csv", POP, _population_rows(world)[:1])
    refused = _import(world, partial)
    assert refused.status == ImportStatus.FAILED
    assert refused.error_code == "IMPORT_SNAPSHOT_SHRUNK"
    assert "不到当前数据" in refused.error_message and "增量" in refused.error_message
    assert import_batches_current(kinds=[SourceKind.POPULATION]) == [population]

    # Confirmed: the same file is imported (the refused attempt does not block it).
    confirmed = _import(world, partial, confirm=True)
    assert confirmed.status == ImportStatus.IMPORTED and confirmed.is_current
    population.refresh_from_db()
    assert not population.is_current

    # The full file is made current again instead of being re-imported (which is refused
    # as the same file), audited.
    again, created = import_batch_submit(
        actor=world.centre, path=intake_path(population.stored_path)
    )
    assert (again.pk, created) == (population.pk, False)
    import_batch_make_current(actor=world.centre, batch_id=population.pk)
    assert import_batches_current(kinds=[SourceKind.POPULATION]) == [population]
    assert AuditEvent.objects.filter(
        target_type="import_batch", target_id=str(population.pk), detail__current=True
    ).exists()
    run = run_comparison_now(world)
    assert population in run.inputs.all() and confirmed not in run.inputs.all()


def test_an_increment_applies_on_top_of_the_current_snapshot(
    world: RegWorld, tmp_path: Path
) -> None:
    enrollment = next(b for b in world.batches if b.kind == SourceKind.ENROLLMENT)
    # The misnamed person's pension row corrected, the uninsured person's medical enrolled.
    increment = _write(
        tmp_path / "参保-增量.csv",
        ENR,
        [
            [world.misnamed.id_number, "张伟", "170", "参保缴费", "420704", "2020-01-01"],
            [world.uninsured.id_number, "王秀英", "390", "参保缴费", "420704", "2026-06-01"],
        ],
    )
    batch = _import(world, increment, mode=ImportMode.INCREMENT)
    assert batch.status == ImportStatus.IMPORTED, batch.error_message
    assert (batch.base_id, batch.is_current) == (enrollment.pk, True)
    assert batch.rows_effective == enrollment.rows_accepted + 1  # one replaced, one added

    run = run_comparison_now(world)
    assert set(run.inputs.all()) == {*world.batches, batch}
    found = set(Finding.objects.filter(run=run).values_list("category", "id_number", "source"))
    # The snapshot's 390 row of the misnamed person still differs; its 170 row is replaced.
    assert ("NAME_MISMATCH", world.misnamed.id_number, "参保.csv") in found
    assert Finding.objects.filter(run=run, category="NAME_MISMATCH").count() == 1
    assert ("MEDICAL_UNINSURED", world.uninsured.id_number, "") not in found
    assert ("PENSION_UNINSURED", world.uninsured.id_number, "") in found

    # An increment of a kind without current data is refused at once.
    with pytest.raises(ShebaoError) as refused:
        import_batch_submit(
            actor=world.centre,
            path=_write(tmp_path / "死亡-增量.csv", ["公民身份号码", "姓名", "死亡日期"], []),
            mode=ImportMode.INCREMENT,
        )
    assert refused.value.code == "IMPORT_NO_BASE"


def test_the_import_command_takes_the_mode_and_the_confirmation(
    world: RegWorld, tmp_path: Path
) -> None:
    partial = _write(tmp_path / "人口-部分.csv", POP, _population_rows(world)[:1])
    errors = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", f"population={partial}", stderr=errors)
    assert "请加 --confirm-shrink" in errors.getvalue() and "勾选" not in errors.getvalue()
    call_command("import", f"population={partial}", "--confirm-shrink")
    assert import_batches_current(kinds=[SourceKind.POPULATION])[0].file_name == "人口-部分.csv"
    increment = _write(tmp_path / "人口-增量.csv", POP, _population_rows(world)[1:])
    call_command("import", f"population={increment}", "--mode", "increment")
    current = import_batches_current(kinds=[SourceKind.POPULATION])[0]
    assert (current.file_name, current.mode, current.rows_effective) == (
        "人口-增量.csv",
        ImportMode.INCREMENT,
        4,
    )
    with pytest.raises(CommandError):
        call_command("import", f"population={increment}", "--mode", "partly")


def test_findings_without_a_region_go_to_the_importing_office(
    world: RegWorld, tmp_path: Path
) -> None:
    rows = _enrollment_rows(world)
    rows.append(["12345", "无效号", "390", "参保缴费", "420704", "2020-01-01"])
    _import(world, _write(tmp_path / "参保-12月.csv", ENR, rows))
    run = run_comparison_now(world)
    invalid = Finding.objects.get(run=run, category="INVALID_ID")
    assert invalid.region_id == world.centre.organisation.region_id  # 420700, the centre
    assert not Finding.objects.filter(run=run, region__isnull=True).exists()
    queue = findings_queue(actor=world.centre, query=FindingFilter(status="all"))
    assert queue.count() == run.findings_loaded
    assert invalid in queue
    assert invalid not in findings_queue(actor=world.clerk, query=FindingFilter(status="all"))


def test_the_pages_import_an_increment_ask_for_confirmation_and_restore_a_batch(
    world: RegWorld, tmp_path: Path
) -> None:
    client = Client()
    client.force_login(world.centre)
    page = client.get("/registration/imports/").content.decode()
    assert "全量" in page and "增量" in page and "确认是完整的全量数据" in page
    rows = "\n".join(",".join(r) for r in [POP, *_population_rows(world)[:1]])

    def upload(name: str, **fields: str) -> ImportBatch:
        content = rows if "部分" in name else rows.replace(",", ", ")  # other bytes
        response = client.post(
            "/registration/imports/",
            {"file": SimpleUploadedFile(name, content.encode("utf-8")), **fields},
        )
        assert response.status_code == 302
        job_run_next()
        return ImportBatch.objects.filter(file_name=name).latest("id")

    refused = upload("人口-部分.csv")  # no mode given: a full snapshot, as before
    detail = client.get(f"/registration/imports/{refused.pk}/").content.decode()
    assert "导入失败" in detail and "确认是完整的全量数据" in detail
    increment = upload("人口-增量.csv", mode="increment")
    assert (increment.status, increment.mode, increment.is_current) == (
        ImportStatus.IMPORTED,
        ImportMode.INCREMENT,
        True,
    )
    confirmed = upload("人口-部分.csv", confirm_shrink="on")
    assert confirmed.is_current and confirmed.pk != refused.pk

    # The earlier batch (the increment, with the snapshot under it) made current again.
    detail = client.get(f"/registration/imports/{increment.pk}/").content.decode()
    assert "设为当前数据" in detail and "叠加于" in detail
    response = client.post(f"/registration/imports/{increment.pk}/current/")
    assert response.status_code == 302
    increment.refresh_from_db()
    assert increment.is_current
    assert "当前数据" in client.get("/registration/imports/").content.decode()
    # The runs page names the current data and starts a comparison as it is shown: its
    # date field holds an ISO date (a locale format left the browser's date input empty).
    runs = client.get("/registration/runs/").content.decode()
    assert "当前批次" in runs and "人口-增量.csv，增量" in runs
    assert re.search(r'name="as_of" value="\d{4}-\d{2}-\d{2}"', runs)
    # A village clerk may not.
    village = Client()
    village.force_login(world.clerk)
    assert village.post(f"/registration/imports/{confirmed.pk}/current/").status_code == 403


def test_the_api_imports_with_a_mode_and_restores_a_batch(world: RegWorld, tmp_path: Path) -> None:
    _, raw = api_token_create(actor=world.centre, owner=world.centre, name="部门接口")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    rows = "\n".join(",".join(r) for r in [POP, *_population_rows(world)[:1]])

    def post(name: str, **fields: str) -> dict[str, object]:
        content = rows if "部分" in name else rows.replace(",", ", ")  # other bytes
        response = client.post(
            "/api/v1/registration/imports",
            {"file": SimpleUploadedFile(name, content.encode("utf-8")), **fields},
        )
        assert response.status_code == 200, response.content
        body: dict[str, object] = response.json()
        job_run_next()
        return client.get(f"/api/v1/registration/imports/{body['id']}").json()

    refused = post("人口-部分.csv")
    assert (refused["status"], refused["error_code"]) == ("failed", "IMPORT_SNAPSHOT_SHRUNK")
    increment = post("人口-增量.csv", mode="increment")
    assert (increment["mode"], increment["is_current"], increment["rows_effective"]) == (
        "increment",
        True,
        4,  # the one row replaces its person's row of the full snapshot
    )
    population = next(b for b in world.batches if b.kind == SourceKind.POPULATION)
    restored = client.post(f"/api/v1/registration/imports/{population.pk}/current")
    assert restored.status_code == 200 and restored.json()["is_current"] is True
    bad = client.post(
        "/api/v1/registration/imports",
        {"file": SimpleUploadedFile("x.csv", rows.encode()), "mode": "partly"},
    )
    assert bad.status_code == 422
