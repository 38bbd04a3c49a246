"""Demo data for benefit and subsidy payments into the card (待遇及补贴发放进卡): the paying
offices of the demo city, the two clerks of the benefit office — `payer` prepares batches,
`checker` approves them (maker–checker) — and, once the batch services exist, a batch in
each state of its life.

Run after the card steps of `shebao.demo.services.demo_build` (payments go into the card
accounts those steps open). Idempotent: a second run finds what the first made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from django.db import transaction

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.services import user_create
from shebao.errors import NotFound

__all__ = ["DEMO_ACCOUNTS", "DemoClerk", "PaymentsDemoSummary", "demo_seed"]

_PASSWORD: Final[str] = "Shebao@2026demo"  # noqa: S105 - the published demo credential


@dataclass(frozen=True)
class _Office:
    code: str  # {city} is the city's code
    name: str  # {city} is the city's name
    parent: str  # code of the parent organisation, {city} as above


# The paying offices of seed 003 §(四): the benefit office of the human resources and social
# security bureau pays pensions, unemployment and work-injury benefits and the employment
# subsidies; the finance bureau pays the 惠民惠农 subsidies.
_OFFICES: Final[tuple[_Office, ...]] = (
    _Office("DYFF{city}", "{name}人力资源和社会保障局待遇发放科", "RS{city}"),
    _Office("CZ{city}", "{name}财政局", ""),
)

# username, role, office code, display name
DEMO_ACCOUNTS: Final[tuple[tuple[str, Role, str, str], ...]] = (
    ("payer", Role.PAYING_OFFICE_CLERK, "DYFF{city}", "演示待遇发放经办（制单）"),
    ("checker", Role.PAYING_OFFICE_CLERK, "DYFF{city}", "演示待遇发放经办（复核）"),
)


@dataclass(frozen=True)
class DemoClerk:
    username: str
    role: str
    role_label: str
    organisation: str


@dataclass(frozen=True)
class PaymentsDemoSummary:
    offices_created: int
    accounts_created: int
    accounts: tuple[DemoClerk, ...] = ()


def _offices_ensure(city_code: str) -> int:
    city_org = Organisation.objects.filter(code=f"RS{city_code}").select_related("region").first()
    if city_org is None:
        raise NotFound(f"演示城市 {city_code} 的人社局不存在", code="DEMO_BUREAU_MISSING")
    city_name = city_org.name.removesuffix("人力资源和社会保障局")
    created = 0
    for office in _OFFICES:
        code = office.code.format(city=city_code)
        parent = (
            Organisation.objects.get(code=office.parent.format(city=city_code))
            if office.parent
            else None
        )
        _, made = Organisation.objects.get_or_create(
            code=code,
            defaults={
                "name": office.name.format(name=city_name),
                "kind": OrganisationKind.PAYING_OFFICE,
                "region": city_org.region,
                "parent": parent,
            },
        )
        created += int(made)
    return created


def _accounts_ensure(city_code: str) -> tuple[int, tuple[DemoClerk, ...]]:
    created = 0
    clerks: list[DemoClerk] = []
    for username, role, office_code, full_name in DEMO_ACCOUNTS:
        office = Organisation.objects.get(code=office_code.format(city=city_code))
        if not User.objects.filter(username=username).exists():
            user_create(
                actor=None,
                username=username,
                password=_PASSWORD,
                organisation=office,
                roles=[role],
                full_name=full_name,
            )
            created += 1
        clerks.append(DemoClerk(username, str(role), role.label, office.name))
    return created, tuple(clerks)


def demo_seed(*, city_code: str = "420700") -> PaymentsDemoSummary:
    """The paying offices and their clerks of the demo city (see the module docstring)."""
    with transaction.atomic():
        offices = _offices_ensure(city_code)
        accounts, clerks = _accounts_ensure(city_code)
    return PaymentsDemoSummary(offices_created=offices, accounts_created=accounts, accounts=clerks)
