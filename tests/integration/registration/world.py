"""A small registration world: persons in the registry of two villages, department files
that agree with them except where a case is planted, imported and compared."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.intake.models import ImportBatch
from shebao.intake.services import import_batch_submit
from shebao.jobs.services import job_run_next
from shebao.registration.models import ComparisonRun
from shebao.registration.runs import comparison_run_submit
from shebao.registry.choices import SCHEMES
from shebao.registry.models import Person, Scheme
from shebao.registry.services import enrollment_create
from tests.factories import id_number_for, make_org, make_person, make_regions, make_user

PHOENIX = "420704001201"  # 凤凰村
FANKOU = "420704001202"  # 樊口村
AS_OF = date(2026, 6, 30)

POP = [
    "公民身份号码",
    "姓名",
    "性别",
    "出生日期",
    "户籍地区划代码",
    "户号",
    "与户主关系",
    "人员状态",
]
ENR = ["公民身份号码", "姓名", "险种代码", "参保状态", "参保地区划代码", "参保日期"]


@dataclass
class RegWorld:
    directory: Path
    centre: User
    clerk: User  # village clerk of 凤凰村
    other_clerk: User  # village clerk of 樊口村
    surveyor: User
    insured: Person  # complete and consistent: registered automatically
    uninsured: Person  # no pension, no medical (凤凰村, household H1 with `insured`)
    misnamed: Person  # enrollment file has another name
    fankou: Person  # 樊口村, uninsured
    outsider_id: str  # in the enrollment file, not in the population
    village_org: Organisation
    batches: list[ImportBatch] = field(default_factory=list)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def build_world(directory: Path) -> RegWorld:
    make_regions()
    for code, name, group in SCHEMES:  # seeded by a migration; gone after a flush (e2e)
        Scheme.objects.get_or_create(code=code, defaults={"name": name, "group": group})
    centre_org = make_org(OrganisationKind.CARD_CENTRE, "420700", name="鄂州市社保卡管理中心")
    village_org = make_org(OrganisationKind.VILLAGE_COMMITTEE, PHOENIX, name="凤凰村村委会")
    other_org = make_org(OrganisationKind.VILLAGE_COMMITTEE, FANKOU, name="樊口村村委会")
    centre = make_user(Role.CARD_CENTRE_OPERATOR, centre_org, username="centre")
    clerk = make_user(Role.VILLAGE_CLERK, village_org, username="phoenix_clerk")
    other_clerk = make_user(Role.VILLAGE_CLERK, other_org, username="fankou_clerk")
    surveyor = make_user(Role.SURVEYOR, village_org, username="phoenix_surveyor")

    insured = make_person(PHOENIX, name="李建国", birth=date(1975, 3, 8), household="H1")
    uninsured = make_person(
        PHOENIX, name="王秀英", birth=date(1978, 11, 2), male=False, household="H1"
    )
    misnamed = make_person(PHOENIX, name="张伟", birth=date(1990, 1, 2), household="H2")
    fankou = make_person(FANKOU, name="陈志强", birth=date(1969, 7, 21), household="H3")
    for person in (insured, misnamed):
        for scheme in ("170", "390"):
            enrollment_create(
                actor=None,
                person=person,
                scheme_code=scheme,
                insurance_region_code="420704",
                start_date=date(2020, 1, 1),
            )
    outsider_id = id_number_for("420704", date(1985, 5, 5), 77)

    population = _write(
        directory / "人口.csv",
        POP,
        [
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
            for p in (insured, uninsured, misnamed, fankou)
        ],
    )
    enrollment_rows = [
        [insured.id_number, insured.name, "170", "参保缴费", "420704", "2020-01-01"],
        [insured.id_number, insured.name, "390", "参保缴费", "420704", "2020-01-01"],
        [misnamed.id_number, "张玮", "170", "参保缴费", "420704", "2020-01-01"],
        [misnamed.id_number, "张玮", "390", "参保缴费", "420704", "2020-01-01"],
        [outsider_id, "赵六", "390", "参保缴费", "420704", "2020-01-01"],
        [fankou.id_number, fankou.name, "999", "参保缴费", "420704", "2020-01-01"],  # rejected
    ]
    enrollment = _write(directory / "参保.csv", ENR, enrollment_rows)
    world = RegWorld(
        directory, centre, clerk, other_clerk, surveyor, insured, uninsured, misnamed, fankou,
        outsider_id, village_org,
    )  # fmt: skip
    for path in (population, enrollment):
        batch, _ = import_batch_submit(actor=centre, path=path)
        job_run_next()
        batch.refresh_from_db()
        world.batches.append(batch)
    return world


def run_comparison_now(world: RegWorld) -> ComparisonRun:
    run = comparison_run_submit(actor=world.centre, as_of=AS_OF)
    job_run_next()
    run.refresh_from_db()
    return run
