"""The payment programmes as configuration (issue #12 §1, seed 003 §(四)).

`payment_programmes_ensure` creates the seed's programmes — the rules of each (imprisonment,
limit per person and period, period form) are those of `payments.domain.programme.PROGRAMMES`,
which `shebao payments check` uses too — each with its paying office. It is idempotent: a
programme that exists (by its code) is left as the paying office configured it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from django.db import transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind
from shebao.accounts.models import Organisation, User
from shebao.errors import ValidationFailed
from shebao.payments.domain.programme import PROGRAMMES
from shebao.payments.models import PaymentProgramme
from shebao.registry.models import Scheme

__all__ = ["PROGRAMME_CODES", "ProgrammesEnsured", "payment_programmes_ensure"]

# Programme name (as in PROGRAMMES) → (code, the insurance scheme whose benefit data a
# generated batch reads; None for lists only the paying office holds).
PROGRAMME_CODES: Final[Mapping[str, tuple[str, str | None]]] = {
    "企业职工基本养老保险待遇": ("PENSION_110", "110"),
    "机关事业单位基本养老保险待遇": ("PENSION_120", "120"),
    "城乡居民基本养老保险待遇": ("PENSION_170", "170"),
    "失业保险金": ("UNEMPLOYMENT", "210"),
    "工伤保险待遇": ("WORK_INJURY", "410"),
    "公益性岗位补贴": ("PUBLIC_WELFARE_JOB", None),
    "职业培训补贴": ("TRAINING", None),
    "职业技能鉴定补贴": ("SKILL_APPRAISAL", None),
    "一次性求职创业补贴": ("JOB_SEEKING", None),
    "灵活就业人员社会保险补贴": ("FLEXIBLE_INSURANCE", None),
    "惠民惠农补贴": ("HUIMIN_HUINONG", None),
}
_PAYING_KINDS: Final[frozenset[str]] = frozenset(
    {OrganisationKind.PAYING_OFFICE, OrganisationKind.DEPARTMENT, OrganisationKind.BUREAU}
)


@dataclass(frozen=True, slots=True)
class ProgrammesEnsured:
    created: int
    existing: int


def payment_programmes_ensure(
    *,
    offices: Mapping[str, Organisation],
    default: Organisation | None = None,
    actor: User | None = None,
) -> ProgrammesEnsured:
    """Create the seed's programmes that do not exist yet. `offices` maps the paying office
    each shipped programme names (社会保险经办机构, 就业服务机构, 财政部门) to the organisation
    that pays it; `default` pays the programmes whose office is not mapped."""
    schemes = set(Scheme.objects.values_list("code", flat=True))
    created = existing = 0
    with transaction.atomic():
        for name, rules in PROGRAMMES.items():
            code, scheme = PROGRAMME_CODES.get(name, (name[:32], None))
            if PaymentProgramme.objects.filter(code=code).exists():
                existing += 1
                continue
            office = offices.get(rules.paying_office, default)
            if office is None:
                raise ValidationFailed(
                    f"发放项目“{name}”的发放机构（{rules.paying_office}）未指定",
                    code="PAYMENT_PROGRAMME_NO_OFFICE",
                )
            if office.kind not in _PAYING_KINDS:
                raise ValidationFailed(
                    f"“{office.name}”不是待遇发放机构或职能部门，不能作为发放机构",
                    code="PAYMENT_PROGRAMME_OFFICE_KIND",
                )
            now = timezone.now()
            programme = PaymentProgramme.objects.create(
                code=code,
                name=name,
                paying_office=office,
                kind=rules.kind.value,
                scheme_id=scheme if scheme in schemes else None,
                stops_in_prison=rules.stops_in_prison,
                max_amount_fen=rules.max_amount_fen,
                period_form=rules.period_form.value,
                is_active=True,
                created_at=now,
                updated_at=now,
            )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                target_type="payment_programme",
                target_id=programme.pk,
                detail={"programme": name, "paying_office": office.name},
                username="system" if actor is None else "",
            )
            created += 1
    return ProgrammesEnsured(created=created, existing=existing)
