"""Writes to the registry. Each is atomic, checked, scoped to the actor and audited, and
records field-level history in PersonChange."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Role
from shebao.accounts.models import User
from shebao.accounts.scoping import Scope
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.geo.models import Region
from shebao.identity.id_number import validate_id_number
from shebao.identity.names import normalize_name, validate_name
from shebao.identity.phone import validate_mobile as validate_phone
from shebao.registry.choices import EnrollmentStatus, Gender, HukouType, LifeStatus
from shebao.registry.models import Employer, Enrollment, Household, Person, PersonChange, Scheme
from shebao.registry.selectors import person_scoped


@dataclass(frozen=True)
class PersonInput:
    id_number: str
    name: str
    hukou_region_code: str
    ethnicity: str = ""
    phone: str = ""
    hukou_type: str = HukouType.HUKOU
    household_number: str = ""
    relation_to_head: str = ""
    residence_region_code: str = ""


def _region(code: str, field: str) -> Region:
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationFailed(
            f"{field}：区划代码 {code} 不存在",
            code="REGION_UNKNOWN",
            details=[{"field": field, "value": code}],
        )
    return region


def _full_clean(obj: Any) -> None:
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(
            "数据校验未通过",
            details=[{"field": k, "reason": "；".join(v)} for k, v in exc.message_dict.items()],
        ) from exc


@transaction.atomic
def person_create(*, actor: User | None, data: PersonInput, source: str = "manual") -> Person:
    check = validate_id_number(data.id_number)
    if not check.ok or check.birth_date is None or check.gender is None:
        raise ValidationFailed(
            "身份证号码有误：" + check.errors[0].message,
            code="INVALID_ID_NUMBER",
            details=[{"field": "id_number", "reason": e.message} for e in check.errors],
        )
    name_check = validate_name(data.name)
    if not name_check.ok:
        raise ValidationFailed(
            "姓名有误：" + name_check.errors[0].message,
            code="INVALID_NAME",
            details=[{"field": "name", "reason": e.message} for e in name_check.errors],
        )
    phone = ""
    if data.phone:
        phone_check = validate_phone(data.phone)
        if not phone_check.ok:
            raise ValidationFailed(
                "手机号码有误：" + phone_check.errors[0].message, code="INVALID_PHONE"
            )
        phone = phone_check.normalized
    hukou_region = _region(data.hukou_region_code, "户籍地区划代码")
    if actor is not None and not Scope.for_user(actor).contains_region(hukou_region.code):
        raise PermissionDenied("不能在管辖范围以外登记人员", code="OUT_OF_SCOPE")
    residence = (
        _region(data.residence_region_code, "居住地区划代码")
        if data.residence_region_code
        else None
    )
    household = None
    if data.household_number:
        household, _ = Household.objects.get_or_create(
            number=data.household_number, defaults={"region": hukou_region}
        )
    person = Person(
        id_number=check.normalized,
        name=normalize_name(data.name),
        gender=Gender.MALE if check.gender == "M" else Gender.FEMALE,
        birth_date=check.birth_date,
        ethnicity=data.ethnicity,
        hukou_region=hukou_region,
        residence_region=residence,
        household=household,
        relation_to_head=data.relation_to_head,
        hukou_type=data.hukou_type,
        phone=phone,
    )
    _full_clean(person)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:
        raise ValidationFailed(
            "该身份证号码已登记", code="PERSON_EXISTS", details=[{"field": "id_number"}]
        ) from exc
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target_type="person",
        target_id=person.pk,
        person_id=person.pk,
        detail={"source": source},
    )
    return person


_EDITABLE = {"name", "phone", "ethnicity", "hukou_type", "relation_to_head"}


@transaction.atomic
def person_update(
    *, actor: User, person_id: int, changes: dict[str, str], reason: str, source: str = "manual"
) -> Person:
    """Change editable fields of a person in the actor's scope, recording each change."""
    if not reason.strip():
        raise ValidationFailed("修改人员信息须填写原因", code="REASON_REQUIRED")
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValidationFailed(
            f"以下字段不能在此修改：{'、'.join(sorted(unknown))}", code="FIELD_NOT_EDITABLE"
        )
    person = person_scoped(actor).select_for_update().filter(pk=person_id).first()
    if person is None:
        if Person.objects.filter(pk=person_id).exists():
            raise PermissionDenied("该人员不在您的管辖范围内", code="OUT_OF_SCOPE")
        raise NotFound("未找到该人员", code="PERSON_NOT_FOUND")
    if "name" in changes:
        name_check = validate_name(changes["name"])
        if not name_check.ok:
            raise ValidationFailed("姓名有误：" + name_check.errors[0].message, code="INVALID_NAME")
        changes["name"] = normalize_name(changes["name"])
    if changes.get("phone"):
        phone_check = validate_phone(changes["phone"])
        if not phone_check.ok:
            raise ValidationFailed("手机号码有误", code="INVALID_PHONE")
        changes["phone"] = phone_check.normalized
    now = timezone.now()
    history = []
    for field, new in changes.items():
        old = getattr(person, field)
        if old == new:
            continue
        setattr(person, field, new)
        history.append(
            PersonChange(
                person=person,
                at=now,
                changed_by=actor,
                field=field,
                old_value=str(old),
                new_value=str(new),
                reason=reason,
                source=source,
            )
        )
    if not history:
        return person
    person.updated_at = now
    _full_clean(person)
    person.save()
    PersonChange.objects.bulk_create(history)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="person",
        target_id=person.pk,
        person_id=person.pk,
        detail={"fields": sorted(h.field for h in history), "source": source},
    )
    return person


@transaction.atomic
def person_record_status(
    *,
    actor: User | None,
    person_id: int,
    status: LifeStatus,
    on: date,
    reason: str,
    source: str = "manual",
) -> Person:
    """Record a death or a move-out (or a return to normal) with its date."""
    qs = Person.objects if actor is None else person_scoped(actor)
    person = qs.select_for_update().filter(pk=person_id).first()
    if person is None:
        raise NotFound("未找到该人员", code="PERSON_NOT_FOUND")
    if on < person.birth_date:
        raise ValidationFailed("状态日期不能早于出生日期", code="DATE_BEFORE_BIRTH")
    old = (person.life_status, person.status_date)
    person.life_status = status
    person.status_date = on
    person.updated_at = timezone.now()
    _full_clean(person)
    person.save()
    _life_change_record(
        person=person,
        actor=actor,
        old=f"{old[0]} {old[1] or ''}".strip(),
        new=f"{status} {on.isoformat()}",
        reason=reason,
        source=source,
        detail={"status": str(status), "source": source},
    )
    return person


def _life_change_record(
    *,
    person: Person,
    actor: User | None,
    old: str,
    new: str,
    reason: str,
    source: str,
    detail: dict[str, str | int],
) -> None:
    """The history row and the audit row of a change of life status, in the caller's
    transaction."""
    PersonChange.objects.create(
        person=person,
        changed_by=actor if actor is not None and actor.pk is not None else None,
        field="life_status",
        old_value=old,
        new_value=new,
        reason=reason,
        source=source,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="person",
        target_id=person.pk,
        person_id=person.pk,
        detail={"fields": ["life_status"], **detail},
    )


@transaction.atomic
def enrollment_create(
    *,
    actor: User | None,
    person: Person,
    scheme_code: str,
    insurance_region_code: str,
    start_date: date,
    status: EnrollmentStatus = EnrollmentStatus.ACTIVE,
    employer: Employer | None = None,
    source: str = "manual",
) -> Enrollment:
    scheme = Scheme.objects.filter(code=scheme_code).first()
    if scheme is None:
        raise ValidationFailed(f"险种代码 {scheme_code} 无效", code="SCHEME_UNKNOWN")
    region = _region(insurance_region_code, "参保地区划代码")
    enrollment = Enrollment(
        person=person,
        scheme=scheme,
        employer=employer,
        insurance_region=region,
        status=status,
        start_date=start_date,
        end_date=start_date if status == EnrollmentStatus.TERMINATED else None,
        source=source,
    )
    _full_clean(enrollment)
    enrollment.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target_type="enrollment",
        target_id=enrollment.pk,
        person_id=person.pk,
    )
    return enrollment


# ---------------------------------------------------------------- deaths from civil affairs

DEATH_REVOKED_SOURCE = "death_revoked"
# Who may revoke a recorded death: the offices that work the registration findings.
DEATH_REVOKE_ROLES = frozenset(
    {
        Role.CARD_CENTRE_OPERATOR,
        Role.DISTRICT_CLERK,
        Role.TOWN_CLERK,
        Role.VILLAGE_CLERK,
        Role.SYSTEM_ADMIN,
    }
)


@dataclass(frozen=True)
class DeathRecord:
    """One row of a civil-affairs death file: ID number and name as the file gives them."""

    id_number: str
    name: str
    died_on: date
    row: int


@dataclass
class DeathsOutcome:
    """What a death file did to the registry: the persons recorded deceased, and the rows
    left for a clerk (through the comparison's findings) or already recorded."""

    recorded: list[int] = dataclasses.field(default_factory=list)
    already_deceased: int = 0
    name_differs: int = 0
    not_found: int = 0
    date_refused: int = 0
    revoked_before: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "recorded": len(self.recorded),
            "already_deceased": self.already_deceased,
            "name_differs": self.name_differs,
            "not_found": self.not_found,
            "date_refused": self.date_refused,
            "revoked_before": self.revoked_before,
        }


def persons_record_deaths(
    *,
    actor: User | None,
    records: Sequence[DeathRecord],
    source: str,
    source_label: str,
    today: date | None = None,
) -> DeathsOutcome:
    """Record the deaths of a civil-affairs file whose ID number and name both match a
    registered person exactly: the person becomes 死亡 with the date of death, recorded in
    PersonChange with `source` (the import batch) and audited. Saving the person cancels
    their cards (the cards app listens, see `cards.receivers`). Anything less than an exact
    match is left to the comparison's findings, for a clerk; so is a person whose recorded
    death a clerk revoked before. Atomic."""
    today = today or timezone.localdate()
    outcome = DeathsOutcome()
    by_id: dict[str, DeathRecord] = {}
    for record in records:
        check = validate_id_number(record.id_number)
        if check.ok:
            by_id.setdefault(check.normalized, record)
        else:
            outcome.not_found += 1
    ids = list(by_id)
    with transaction.atomic():
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            persons = {
                p.id_number: p
                for p in Person.objects.select_for_update().filter(id_number__in=chunk)
            }
            revoked = set(
                PersonChange.objects.filter(
                    person__id_number__in=chunk,
                    field="life_status",
                    source=DEATH_REVOKED_SOURCE,
                ).values_list("person__id_number", flat=True)
            )
            outcome.not_found += len(chunk) - len(persons)
            for id_number, person in persons.items():
                record = by_id[id_number]
                if person.life_status == LifeStatus.DECEASED:
                    outcome.already_deceased += 1
                elif normalize_name(record.name) != person.name:
                    outcome.name_differs += 1
                elif record.died_on < person.birth_date or record.died_on > today:
                    outcome.date_refused += 1
                elif id_number in revoked:
                    outcome.revoked_before += 1
                else:
                    _record_death(actor, person, record, source, source_label)
                    outcome.recorded.append(person.pk)
    return outcome


def _record_death(
    actor: User | None, person: Person, record: DeathRecord, source: str, source_label: str
) -> None:
    old = f"{person.life_status} {person.status_date or ''}".strip()
    person.life_status = LifeStatus.DECEASED
    person.status_date = record.died_on
    person.updated_at = timezone.now()
    person.save(update_fields=["life_status", "status_date", "updated_at"])
    _life_change_record(
        person=person,
        actor=actor,
        old=old,
        new=f"{LifeStatus.DECEASED} {record.died_on.isoformat()}",
        reason=f"{source_label} 第{record.row}行：身份证号码和姓名一致"[:255],
        source=source[:64],
        detail={"status": str(LifeStatus.DECEASED), "source": source, "row": record.row},
    )


@transaction.atomic
def person_death_revoke(*, actor: User, person_id: int, reason: str) -> Person:
    """A clerk revokes a recorded death (a wrong civil-affairs record): the person is 正常
    again, with the reason, recorded and audited; a later death file does not record it
    again without a clerk. Cards cancelled on the death stay cancelled (a cancelled card is
    final): the person applies for a new one."""
    if not (actor.is_superuser or actor.has_role(*DEATH_REVOKE_ROLES)):
        raise PermissionDenied("您的角色不能撤销死亡登记", code="ROLE_REQUIRED")
    reason = reason.strip()
    if len(reason) < 4:
        raise ValidationFailed(
            "撤销死亡登记须填写原因（至少 4 个字）",
            code="REASON_REQUIRED",
            details=[{"field": "reason", "reason": "至少 4 个字"}],
        )
    person = person_scoped(actor).select_for_update().filter(pk=person_id).first()
    if person is None:
        if Person.objects.filter(pk=person_id).exists():
            raise PermissionDenied("该人员不在您的管辖范围内", code="OUT_OF_SCOPE")
        raise NotFound("未找到该人员", code="PERSON_NOT_FOUND")
    if person.life_status != LifeStatus.DECEASED:
        raise ValidationFailed("该人员未登记死亡，无需撤销", code="NOT_DECEASED")
    old = f"{person.life_status} {person.status_date or ''}".strip()
    person.life_status = LifeStatus.ALIVE
    person.status_date = None
    person.updated_at = timezone.now()
    _full_clean(person)
    person.save(update_fields=["life_status", "status_date", "updated_at"])
    _life_change_record(
        person=person,
        actor=actor,
        old=old,
        new=str(LifeStatus.ALIVE),
        reason=reason[:255],
        source=DEATH_REVOKED_SOURCE,
        detail={"status": str(LifeStatus.ALIVE), "revoked": "death"},
    )
    return person
