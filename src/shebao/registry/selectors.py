"""Reads of the registry. Every read goes through the acting user's scope; every view of a
person's personal data writes an audit row with its stated purpose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from shebao.accounts.audit import audit_record, require_purpose
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent, User
from shebao.accounts.scoping import Scope
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.identity.id_number import normalize_id_number, validate_id_number
from shebao.identity.masking import mask_id_number, mask_name, mask_phone
from shebao.registry.models import Enrollment, Person, PersonChange

PERSON_REGION_FIELDS = ("hukou_region__code", "residence_region__code")
PERSON_BANK_FIELD = "bank_accounts__bank_id"
PERSON_EMPLOYER_FIELD = "enrollments__employer__credit_code"
MAX_PAGE_SIZE = 100


def person_scoped(actor: User) -> QuerySet[Person]:
    """All persons the actor may see: the single entry point for person scoping."""
    return Scope.for_user(actor).filter(
        Person.objects.all(),
        region_fields=PERSON_REGION_FIELDS,
        bank_field=PERSON_BANK_FIELD,
        employer_field=PERSON_EMPLOYER_FIELD,
    )


@dataclass(frozen=True)
class PersonRow:
    """A masked line of a person list."""

    pk: int
    id_number: str
    name: str
    gender: str
    birth_year: int
    hukou_region: str
    life_status: str


PERSON_ROW_FIELDS = (
    "id",
    "id_number",
    "name",
    "gender",
    "birth_date",
    "life_status",
    "hukou_region__name",
)


def _row(p: Person) -> PersonRow:
    return PersonRow(
        pk=p.pk,
        id_number=mask_id_number(p.id_number),
        name=mask_name(p.name),
        gender=p.get_gender_display(),
        birth_year=p.birth_date.year,
        hukou_region=p.hukou_region.name,
        life_status=p.get_life_status_display(),
    )


def person_search(
    *,
    actor: User,
    query: str,
    purpose: str | None,
    purpose_note: str = "",
    page: int = 1,
    page_size: int = 20,
) -> tuple[Page[PersonRow], int]:
    """Search by ID number (full, 15 or 18 digits) or by name; masked rows, paginated.

    Returns the page and the total count. A query that is neither is refused with a reason.
    """
    purpose, purpose_note = require_purpose(purpose, purpose_note)
    query = (query or "").strip()
    if not query:
        raise ValidationFailed("请输入身份证号码或姓名", code="QUERY_EMPTY")
    # Only the listed columns: the row never shows the sealed ones (phone), so none is
    # fetched or decrypted, and the region's name comes with the same query.
    qs = (
        person_scoped(actor)
        .select_related("hukou_region")
        .only(*PERSON_ROW_FIELDS)
        .order_by("name", "id_number")
    )
    digits = normalize_id_number(query)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    paginator: Paginator[Person]
    if any(ch.isdigit() for ch in query):
        check = validate_id_number(digits)
        if not check.ok:
            raise ValidationFailed(
                "身份证号码有误：" + check.errors[0].message, code="INVALID_ID_NUMBER"
            )
        # ID numbers are unique: at most one row, so one query (no COUNT before it).
        paginator = Paginator(list(qs.filter(id_number=check.normalized)[:2]), page_size)
    else:
        if len(query) > 30:
            raise ValidationFailed("姓名过长", code="QUERY_TOO_LONG")
        qs = qs.filter(Q(name=query) | Q(name__startswith=query))
        paginator = Paginator(qs, page_size)
    result = paginator.get_page(page)
    rows = [_row(p) for p in result.object_list]
    result.object_list = rows  # type: ignore[assignment]
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.SEARCH_PERSON,
            purpose=purpose,
            purpose_note=purpose_note,
            detail={
                "query_kind": "id" if any(c.isdigit() for c in query) else "name",
                "results": paginator.count,
            },
        )
    return result, paginator.count  # type: ignore[return-value]


@dataclass(frozen=True)
class EnrollmentView:
    scheme_code: str
    scheme_name: str
    status: str
    insurance_region: str
    employer: str
    start_date: date
    end_date: date | None


@dataclass(frozen=True)
class ChangeView:
    at: str
    field: str
    old_value: str
    new_value: str
    reason: str


@dataclass(frozen=True)
class PersonDetail:
    pk: int
    revealed: bool
    id_number: str
    name: str
    gender: str
    birth_date: date
    age: int
    ethnicity: str
    hukou_region: str
    hukou_region_code: str
    residence_region: str
    hukou_type: str
    life_status: str
    status_date: date | None
    phone: str
    household_number: str
    household_members: list[PersonRow]
    enrollments: list[EnrollmentView]
    changes: list[ChangeView]


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


OUT_OF_SCOPE_OR_UNKNOWN = "未找到该人员，或该人员不在您的管辖范围内，无权查看"


def person_detail(
    *,
    actor: User,
    person_id: int | None = None,
    id_number: str | None = None,
    purpose: str | None,
    purpose_note: str = "",
    reveal: bool = False,
    action: AuditAction = AuditAction.VIEW_PERSON,
) -> PersonDetail:
    """One person, masked unless `reveal`; always audited with the stated purpose.

    A person outside the actor's scope is refused (and the refusal audited), and so is an
    unknown person for an actor whose scope is limited: the answer (status and message) must
    not tell which persons exist outside the scope (issue #14). Only an actor who sees
    everyone is told that nobody has that number.
    """
    purpose, purpose_note = require_purpose(purpose, purpose_note)
    base = Person.objects.select_related("hukou_region", "residence_region", "household")
    if id_number is not None:
        check = validate_id_number(id_number)
        if not check.ok:
            raise ValidationFailed(
                "身份证号码有误：" + check.errors[0].message, code="INVALID_ID_NUMBER"
            )
        lookup = Q(id_number=check.normalized)
    elif person_id is not None:
        lookup = Q(pk=person_id)
    else:
        raise ValidationFailed("缺少人员标识", code="PERSON_REQUIRED")
    # The scope check needs only the key; the row itself is read once, below.
    in_scope = person_scoped(actor).filter(lookup).values_list("pk", flat=True).first()
    if in_scope is None:
        exists = base.filter(lookup).values_list("pk", flat=True).first()
        if exists is None and Scope.for_user(actor).unrestricted:
            raise NotFound("未找到该人员", code="PERSON_NOT_FOUND")
        if exists is None:
            raise PermissionDenied(OUT_OF_SCOPE_OR_UNKNOWN, code="OUT_OF_SCOPE")
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.DENIED,
                target_type="person",
                target_id=exists,
                person_id=exists,
                purpose=purpose,
                purpose_note=purpose_note,
            )
        raise PermissionDenied(OUT_OF_SCOPE_OR_UNKNOWN, code="OUT_OF_SCOPE")
    person = base.get(pk=in_scope)
    enrollments = [
        EnrollmentView(
            scheme_code=e.scheme_id,
            scheme_name=e.scheme.name,
            status=e.get_status_display(),
            insurance_region=e.insurance_region.name,
            employer=e.employer.name if e.employer else "",
            start_date=e.start_date,
            end_date=e.end_date,
        )
        for e in Enrollment.objects.filter(person=person)
        .select_related("scheme", "insurance_region", "employer")
        .order_by("scheme_id", "start_date")
    ]
    members: list[PersonRow] = []
    if person.household_id is not None:
        members = [
            _row(m)
            for m in person_scoped(actor)
            .filter(household_id=person.household_id)
            .exclude(pk=person.pk)
            .select_related("hukou_region")
            .only(*PERSON_ROW_FIELDS)
            .order_by("birth_date")
        ]
    changes = [
        ChangeView(
            at=f"{timezone.localtime(c.at):%Y-%m-%d %H:%M}",
            field=c.field,
            old_value=c.old_value if reveal else "***",
            new_value=c.new_value if reveal else "***",
            reason=c.reason,
        )
        for c in PersonChange.objects.filter(person=person).order_by("-at", "-id")[:50]
    ]
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.REVEAL_PERSON if reveal else action,
            target_type="person",
            target_id=person.pk,
            person_id=person.pk,
            purpose=purpose,
            purpose_note=purpose_note,
        )
    return PersonDetail(
        pk=person.pk,
        revealed=reveal,
        id_number=person.id_number if reveal else mask_id_number(person.id_number),
        name=person.name if reveal else mask_name(person.name),
        gender=person.get_gender_display(),
        birth_date=person.birth_date,
        age=_age(person.birth_date, date.today()),  # noqa: DTZ011 - ages are civil dates
        ethnicity=person.ethnicity,
        hukou_region=person.hukou_region.full_name or person.hukou_region.name,
        hukou_region_code=person.hukou_region_id,
        residence_region=(
            person.residence_region.full_name or person.residence_region.name
            if person.residence_region
            else ""
        ),
        hukou_type=person.get_hukou_type_display(),
        life_status=person.get_life_status_display(),
        status_date=person.status_date,
        phone=(person.phone if reveal else mask_phone(person.phone)) if person.phone else "",
        household_number=person.household.number if person.household else "",
        household_members=members,
        enrollments=enrollments,
        changes=changes,
    )


def person_who_viewed(*, person_id: int) -> QuerySet[AuditEvent]:
    """Audit rows about one person: the basis of the citizen's 'who looked at my data'."""
    return AuditEvent.objects.filter(person_id=person_id).order_by("-at")


__all__ = [
    "PersonDetail",
    "PersonRow",
    "person_detail",
    "person_scoped",
    "person_search",
    "person_who_viewed",
]


@dataclass(frozen=True)
class StatusBasis:
    """Why the person has their life status: the latest recorded change of it."""

    at: str
    reason: str
    source: str
    from_file: bool


def person_status_basis(*, person_id: int) -> StatusBasis | None:
    """The latest life-status change of a person (a death recorded from a civil-affairs
    batch reads 民政死亡数据（导入批次#12 …） 第3行). The caller has checked the scope."""
    change = (
        PersonChange.objects.filter(person_id=person_id, field="life_status")
        .order_by("-at", "-id")
        .first()
    )
    if change is None:
        return None
    return StatusBasis(
        at=f"{timezone.localtime(change.at):%Y-%m-%d %H:%M}",
        reason=change.reason,
        source=change.source,
        from_file=change.source.startswith("intake:"),
    )
