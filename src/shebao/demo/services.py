"""Build the demo: a city with its regions, villages, people, employers and enrollments, the
organisations of the issuing chain, and one account per role.

Everything is deterministic by seed and idempotent: a second build finds what the first made
and adds nothing, so `shebao demo` can be run again at any time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import Count

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.demo_totp import demo_totp_seed
from shebao.accounts.models import Organisation, User
from shebao.accounts.services import user_create
from shebao.cards.demo_custody import demo_custody_seed
from shebao.cards.demo_issuing import issuing_demo_seed
from shebao.cards.demo_postal import demo_postal_seed
from shebao.comparison.demo import probable_match_demo_plant
from shebao.ecard.demo import demo_seed as ecard_demo_seed
from shebao.errors import NotFound, ValidationFailed
from shebao.geo.choices import RegionLevel
from shebao.geo.models import Region
from shebao.geo.selectors import region_get, region_subtree, region_subtree_codes, region_villages
from shebao.geo.services import (
    RegionLoadResult,
    VillageGenerateResult,
    regions_load,
    villages_generate,
)
from shebao.partners.demo import demo_seed as partners_demo_seed
from shebao.payments.demo import demo_seed as payments_demo_seed
from shebao.registration.demo import registration_demo_seed
from shebao.registry.bulk import BulkLoadResult, registry_dataset_load
from shebao.registry.choices import LifeStatus
from shebao.registry.models import BankAccount, Person
from shebao.reports.services import live_figures_refresh, reports_demo_seed
from shebao.sso.demo import demo_seed as sso_demo_seed
from shebao.synthetic import SyntheticDataset, Village, dataset_generate, write_department_files
from shebao.usage.demo import demo_seed as usage_demo_seed

__all__ = [
    "DEMO_AS_OF",
    "DEMO_PASSWORD",
    "DemoAccount",
    "DemoSummary",
    "demo_build",
]

# One password for every demo account: 15 characters, letters, digits and a symbol.
DEMO_PASSWORD: Final[str] = "Shebao@2026demo"  # noqa: S105 - published demo credential
# The demo's reference date: a fixed date keeps the generated people (and their ID numbers)
# identical from one build to the next.
DEMO_AS_OF: Final[date] = date(2026, 6, 30)
_SOURCE: Final[str] = "demo"

StepCallback = Callable[[str], None]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    role_label: str
    organisation: str
    password: str


@dataclass(frozen=True)
class DemoSummary:
    city_code: str
    city_name: str
    regions: RegionLoadResult
    villages: VillageGenerateResult
    load: BulkLoadResult
    organisations_created: int
    organisations_total: int
    accounts_created: int
    bank_accounts_created: int
    persons_in_city: int
    accounts: list[DemoAccount] = field(default_factory=list)
    department_files: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class _OrgSpec:
    code: str
    name: str
    kind: str
    region: str
    parent: str | None = None
    credit_code: str = ""


def _short(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _town_office_name(town: Region) -> str:
    return f"{town.name}办事处" if town.name.endswith("街道") else f"{town.name}人民政府"


def _employer_kind(kind: str, is_school: bool) -> str:
    if is_school:
        return OrganisationKind.SCHOOL
    if kind in ("government", "public_institution"):
        return OrganisationKind.PUBLIC_INSTITUTION
    return OrganisationKind.EMPLOYER


@dataclass
class _Chain:
    """The codes of the organisations the accounts attach to."""

    bureau: str
    card_centre: str
    data_centre: str
    police: str
    district_office: str
    town_office: str
    village: str
    employer: str
    bank_branch: str
    bank: str
    specs: list[_OrgSpec]


def _chain(city: Region, dataset: SyntheticDataset, demo_town: Region, demo_village: str) -> _Chain:
    c = city.code
    short = _short(city.name, ("市", "地区", "州", "盟"))
    counties = list(region_subtree(c, RegionLevel.COUNTY))
    towns = list(region_subtree(c, RegionLevel.TOWN))
    villages = list(region_subtree(c, RegionLevel.VILLAGE))
    specs: list[_OrgSpec] = [
        _OrgSpec(f"RS{c}", f"{city.name}人力资源和社会保障局", OrganisationKind.BUREAU, c),
        _OrgSpec(f"KZX{c}", f"{city.name}社会保障卡管理中心", OrganisationKind.CARD_CENTRE, c,
                 f"RS{c}"),
        _OrgSpec(f"XXZX{c}", f"{city.name}人力资源和社会保障信息中心",
                 OrganisationKind.DATA_CENTRE, c, f"RS{c}"),
        _OrgSpec(f"GA{c}", f"{city.name}公安局", OrganisationKind.DEPARTMENT, c),
        _OrgSpec(f"JY{c}", f"{city.name}教育局", OrganisationKind.DEPARTMENT, c),
        _OrgSpec(f"ZK{c}", "楚天金卡科技有限公司", OrganisationKind.CARD_VENDOR, c),
        _OrgSpec(f"HZ{c}01", f"{city.name}中心医院", OrganisationKind.PARTNER, c),
        _OrgSpec(f"HZ{c}02", f"{city.name}公交集团有限公司", OrganisationKind.PARTNER, c),
        _OrgSpec(f"HZ{c}03", f"{city.name}图书馆", OrganisationKind.PARTNER, c),
    ]  # fmt: skip
    # Cooperating banks, each with a branch in one of the districts.
    banks = (
        ("ABC", f"农业银行{short}分行", "支行"),
        ("PSBC", f"邮储银行{short}分行", "支行"),
        ("RCB", f"{short}农商银行", "支行"),
    )
    branch_counties = [demo_town.code[:6]] + [
        k.code for k in counties if k.code != demo_town.code[:6]
    ]
    for i, (key, name, suffix) in enumerate(banks):
        county = next(k for k in counties if k.code == branch_counties[i % len(branch_counties)])
        bank_code = f"BK{key}{c}"
        specs.append(_OrgSpec(bank_code, name, OrganisationKind.BANK, c))
        branch_name = name.removesuffix("分行") + _short(county.name, ("区", "县", "市")) + suffix
        specs.append(
            _OrgSpec(f"{bank_code}01", branch_name, OrganisationKind.BANK_BRANCH, county.code,
                     bank_code)
        )  # fmt: skip
    for county in counties:
        specs.append(
            _OrgSpec(f"QKB{county.code}", f"{county.name}社保卡管理办公室",
                     OrganisationKind.DISTRICT_CARD_OFFICE, county.code, f"KZX{c}")
        )  # fmt: skip
    county_codes = {k.code for k in counties}
    for town in towns:
        parent = f"QKB{town.code[:6]}" if town.code[:6] in county_codes else f"KZX{c}"
        specs.append(
            _OrgSpec(f"ZJ{town.code}", _town_office_name(town), OrganisationKind.TOWN_OFFICE,
                     town.code, parent)
        )  # fmt: skip
    for village in villages:
        specs.append(
            _OrgSpec(f"CJ{village.code}", village.name, OrganisationKind.VILLAGE_COMMITTEE,
                     village.code, f"ZJ{village.code[:9]}")
        )  # fmt: skip
    # Employers of the generated data. They are anchored to the city: their staff live
    # across it, and an employer's scope is narrowed by its credit code.
    employers = dataset.employers.sort(["employees", "credit_code"], descending=[True, False])
    for credit_code, name, kind, is_school in employers.select(
        "credit_code", "name", "kind", "is_school"
    ).iter_rows():
        specs.append(
            _OrgSpec(f"DW{credit_code}", name[:128], _employer_kind(kind, is_school), c,
                     None, credit_code)
        )  # fmt: skip
    top_employer = f"DW{employers['credit_code'][0]}"
    return _Chain(
        bureau=f"RS{c}",
        card_centre=f"KZX{c}",
        data_centre=f"XXZX{c}",
        police=f"GA{c}",
        district_office=f"QKB{demo_town.code[:6]}",
        town_office=f"ZJ{demo_town.code}",
        village=f"CJ{demo_village}",
        employer=top_employer,
        bank=f"BKABC{c}",
        bank_branch=f"BKABC{c}01",
        specs=specs,
    )


def _organisations_ensure(specs: Iterable[_OrgSpec]) -> tuple[int, int]:
    """Create the organisations that do not exist yet, parents before children, in bulk.
    Returns (created, total)."""
    specs = list(specs)
    existing = dict(
        Organisation.objects.filter(code__in=[s.code for s in specs]).values_list("code", "pk")
    )
    todo = [s for s in specs if s.code not in existing]
    created = 0
    for s in todo:
        if s.kind not in OrganisationKind.values:
            raise ValidationFailed(f"未知的机构类型：{s.kind}", code="ORGANISATION_KIND_INVALID")
    with transaction.atomic():
        while todo:
            ready = [s for s in todo if s.parent is None or s.parent in existing]
            if not ready:
                raise ValidationFailed("机构的上级不存在", code="ORGANISATION_PARENT_MISSING")
            objs = [
                Organisation(
                    code=s.code,
                    name=s.name,
                    kind=s.kind,
                    region_id=s.region,
                    parent_id=existing[s.parent] if s.parent else None,
                    credit_code=s.credit_code,
                )
                for s in ready
            ]
            Organisation.objects.bulk_create(objs, batch_size=500)
            existing.update(
                Organisation.objects.filter(code__in=[s.code for s in ready]).values_list(
                    "code", "pk"
                )
            )
            created += len(ready)
            ready_codes = {s.code for s in ready}
            todo = [s for s in todo if s.code not in ready_codes]
        if created:
            audit_record(
                actor=None,
                action=AuditAction.CREATE,
                target_type="organisation",
                detail={"source": _SOURCE, "count": created},
            )
    return created, len(specs)


_ACCOUNTS: Final[tuple[tuple[str, Role, str, str], ...]] = (
    # username, role, organisation (attribute of _Chain), display name
    ("leader", Role.LEADER_VIEWER, "bureau", "演示领导"),
    ("centre", Role.CARD_CENTRE_OPERATOR, "card_centre", "演示卡中心经办"),
    ("district", Role.DISTRICT_CLERK, "district_office", "演示区卡办经办"),
    ("town", Role.TOWN_CLERK, "town_office", "演示街道经办"),
    ("village", Role.VILLAGE_CLERK, "village", "演示社区经办"),
    ("dept", Role.DEPARTMENT_CLERK, "police", "演示部门经办"),
    ("employer", Role.EMPLOYER_CLERK, "employer", "演示单位经办"),
    ("bank", Role.BANK_OPERATOR, "bank_branch", "演示银行经办"),
    ("surveyor", Role.SURVEYOR, "town_office", "演示调查员"),
    ("auditor", Role.AUDITOR, "bureau", "演示审计员"),
    ("admin", Role.SYSTEM_ADMIN, "data_centre", "演示系统管理员"),
)


def _accounts_ensure(chain: _Chain) -> tuple[list[DemoAccount], int]:
    codes = {attr: getattr(chain, attr) for _, _, attr, _ in _ACCOUNTS}
    orgs = {o.code: o for o in Organisation.objects.filter(code__in=list(codes.values()))}
    existing = {
        u.username: u
        for u in User.objects.filter(username__in=[a[0] for a in _ACCOUNTS]).select_related(
            "organisation"
        )
    }
    accounts: list[DemoAccount] = []
    created = 0
    for username, role, attr, full_name in _ACCOUNTS:
        user = existing.get(username)
        if user is None:
            admin = role == Role.SYSTEM_ADMIN
            user = user_create(
                actor=None,
                username=username,
                password=DEMO_PASSWORD,
                organisation=orgs[codes[attr]],
                roles=[role],
                full_name=full_name,
                is_staff=admin,
                is_superuser=admin,
            )
            created += 1
        accounts.append(
            DemoAccount(
                username=username,
                role=str(role),
                role_label=role.label,
                organisation=user.organisation.name if user.organisation else "",
                password=DEMO_PASSWORD,
            )
        )
    return accounts, created


def _bank_accounts_ensure(chain: _Chain, district: str) -> int:
    """Card accounts at the first bank for a sample of living adults of the district, so that
    the bank's operator has customers to see."""
    bank = Organisation.objects.get(code=chain.bank)
    branch = Organisation.objects.get(code=chain.bank_branch)
    adults = Person.objects.filter(
        residence_region__code__startswith=district,
        life_status=LifeStatus.ALIVE,
        birth_date__lte=date(DEMO_AS_OF.year - 16, DEMO_AS_OF.month, 1),
    ).order_by("id_number")
    ids = list(adults.values_list("pk", flat=True))
    step = max(1, len(ids) // 500)  # about 500 customers
    sample = ids[::step][:500]
    before = BankAccount.objects.filter(bank=bank).count()
    BankAccount.objects.bulk_create(
        [
            BankAccount(
                person_id=pk,
                bank=bank,
                branch=branch,
                # 622848 is the card BIN of the Agricultural Bank of China.
                account_number=f"622848{pk:013d}",
                opened_on=DEMO_AS_OF,
            )
            for pk in sample
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    return BankAccount.objects.filter(bank=bank).count() - before


def _demo_town(city: Region) -> Region:
    towns = list(region_subtree(city.code, RegionLevel.TOWN))
    streets = [t for t in towns if t.name.endswith("街道")]
    if not towns:
        raise ValidationFailed(f"{city.name}下没有乡镇（街道）", code="NO_TOWNS")
    return (streets or towns)[0]


# The cooperating banks of the demo city as a unit writes them ({short}: the city's short
# name, as in `_chain`'s bank organisations: 鄂州农商银行).
_DEMO_APPLICATION_BANKS: Final = ("农业银行", "邮储银行", "{short}农商银行")


def _collective_application_write(dataset: SyntheticDataset, path: Path, *, short: str) -> Path:
    """A collective application (集体申领) in the seed's format from the staff of the
    largest employer, so `shebao cards check-applications` can be tried on the demo."""
    staff = dataset.persons.filter(pl.col("employer_credit_code").is_not_null())
    largest = (
        staff.group_by("employer_credit_code")
        .len()
        .sort(["len", "employer_credit_code"], descending=[True, False])
        .item(0, "employer_credit_code")
    )
    rows = staff.filter(pl.col("employer_credit_code") == largest).sort("id_number").head(300)
    banks = pl.Series([b.format(short=short) for b in _DEMO_APPLICATION_BANKS])
    frame = pl.DataFrame(
        {
            "银行": banks.gather([i % len(banks) for i in range(rows.height)]),
            "姓名": rows["name"],
            "性别": rows["gender"].replace_strict({"M": "男", "F": "女"}),
            "身份证号(18位)": rows["id_number"],
            "联系电话": rows["phone"].fill_null(""),
            "工作证号(学籍号)": [f"GZ{i + 1:05d}" for i in range(rows.height)],
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path


def demo_build(
    *,
    people: int = 20_000,
    seed: int = 42,
    city_code: str = "420700",
    per_town: tuple[int, int] = (3, 8),
    on_step: StepCallback | None = None,
) -> DemoSummary:
    """Build (or complete) the demo for a city; see the module docstring."""
    started = time.perf_counter()

    def step(message: str) -> None:
        if on_step is not None:
            on_step(message)

    if people < 1:
        raise ValidationFailed("演示人口数量必须大于 0", code="DEMO_PEOPLE_INVALID")
    step("加载全国行政区划")
    regions = regions_load(towns=True)
    city = region_get(city_code)
    if city is None or city.level not in (RegionLevel.PREFECTURE, RegionLevel.COUNTY):
        raise NotFound(f"区划代码 {city_code} 不是地级或县级区划", code="REGION_UNKNOWN")
    step(f"生成{city.name}的村（居）委会")
    villages = villages_generate(city_code=city.code, per_town=per_town, seed=seed)

    step(f"生成 {people:,} 名演示人员")
    village_rows = region_villages(city.code)
    province = city.code[:2] + "0000"
    origins = [
        code
        for code in region_subtree_codes(province, level=RegionLevel.COUNTY)
        if not code.startswith(city.prefix)
    ]
    dataset = dataset_generate(
        villages=[
            Village(
                code=v.code,
                name=v.name,
                town_code=v.town_code,
                county_code=v.county_code,
                town_name=v.town_name,
                county_name=v.county_name,
                full_name=v.full_name,
            )
            for v in village_rows
        ],
        persons=people,
        seed=seed,
        as_of=DEMO_AS_OF,
        origin_counties=origins,
        city_name=city.name,
    )

    step("导入人员、户、单位和参保记录")
    load = registry_dataset_load(dataset=dataset, source=_SOURCE)

    step("建立经办机构、合作银行和单位")
    demo_town = _demo_town(city)
    populated = (
        Person.objects.filter(residence_region__code__startswith=demo_town.code)
        .values("residence_region_id")
        .annotate(n=Count("id"))
        .order_by("-n", "residence_region_id")
        .first()
    )
    if populated is None:
        raise ValidationFailed(f"{demo_town.name}没有演示人员", code="DEMO_TOWN_EMPTY")
    chain = _chain(city, dataset, demo_town, populated["residence_region_id"])
    orgs_created, orgs_total = _organisations_ensure(chain.specs)

    step("创建演示账号")
    accounts, accounts_created = _accounts_ensure(chain)
    bank_accounts = _bank_accounts_ensure(chain, demo_town.code[:6])
    step("写出各部门比对数据文件")
    # The same people as department files, so `shebao compare-files` can be tried at once.
    department_files = write_department_files(dataset, settings.DATA_DIR / "demo" / "departments")
    department_files["applications"] = _collective_application_write(
        dataset,
        settings.DATA_DIR / "demo" / "applications.csv",
        short=_short(city.name, ("市", "地区", "州", "盟")),
    )
    # A few enrollment rows with the mistakes departments make (a mistyped digit, a homophone,
    # a 15-digit number), so that the comparison shows probable matches.
    probable_match_demo_plant(department_files["enrollment"])
    step("导入部门数据并比对（全民参保登记）")
    registration_demo_seed(
        department_files=department_files, as_of=DEMO_AS_OF, region_code=city.code
    )
    if city.code == "420700":
        # The progress demo (targets, figures, work plan) is written for 鄂州市.
        step("导入进度目标、统计数据和工作计划")
        reports_demo_seed()
    step("社保卡申领、制卡、开户、交接和领卡")
    issuing_demo_seed(city_code=city.code)
    demo_custody_seed()
    demo_postal_seed()
    step("电子社保卡签发")
    ecard_demo_seed()
    step("待遇及补贴发放进卡")
    payments = payments_demo_seed(city_code=city.code)
    accounts += [
        DemoAccount(
            username=c.username,
            role=c.role,
            role_label=c.role_label,
            organisation=c.organisation,
            password=DEMO_PASSWORD,
        )
        for c in payments.accounts
    ]
    step("一卡通合作机构、终端和应用目录")
    accounts += [
        DemoAccount(
            username=a.username,
            role=a.role,
            role_label=a.role_label,
            organisation=a.organisation,
            password=DEMO_PASSWORD,
        )
        for a in partners_demo_seed(city_code=city.code, password=DEMO_PASSWORD)
    ]
    step("单点登录演示网站")
    sso_demo_seed()
    step("用卡记录、第二个城市的卡中心和上门服务预约")
    usage_demo_seed(city_code=city.code)
    step("演示账号的动态口令（卡中心、银行、审计员、管理员）")
    demo_totp_seed()
    step("刷新实时统计")
    live_figures_refresh(full=True)
    persons_in_city = Person.objects.filter(residence_region__code__startswith=city.prefix).count()
    return DemoSummary(
        city_code=city.code,
        city_name=city.name,
        regions=regions,
        villages=villages,
        load=load,
        organisations_created=orgs_created,
        organisations_total=orgs_total,
        accounts_created=accounts_created + payments.accounts_created,
        bank_accounts_created=bank_accounts,
        persons_in_city=persons_in_city,
        accounts=accounts,
        department_files=department_files,
        seconds=time.perf_counter() - started,
    )
