"""Writes to the registry. Each is atomic, checked, scoped to the actor and audited, and
records field-level history in PersonChange."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
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
    PersonChange.objects.create(
        person=person,
        changed_by=actor,
        field="life_status",
        old_value=f"{old[0]} {old[1] or ''}".strip(),
        new_value=f"{status} {on.isoformat()}",
        reason=reason,
        source=source,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="person",
        target_id=person.pk,
        person_id=person.pk,
        detail={"fields": ["life_status"], "status": str(status), "source": source},
    )
    return person


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
