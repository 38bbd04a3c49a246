"""Home-service appointments (上门服务): booking by the holder or a relative on a public
form, verified by an SMS code sent to the phone given (the phone the clerk will call), and
the work of the town or district clerk who visits: take or assign, record the visit, or
cancel. Every step is audited; the clerk sees only appointments in the clerk's region.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose, Role
from shebao.accounts.models import User
from shebao.accounts.scoping import Scope
from shebao.cards.domain.home_service import (
    KIND_LABELS,
    REASON_LABELS,
    HomeServiceEvent,
    HomeServiceStatus,
    home_service_transition,
)
from shebao.cards.models import HomeServiceAppointment
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.identity.id_number import normalize_id_number
from shebao.identity.names import normalize_name
from shebao.registry.models import Person
from shebao.sms.services import IssuedCode, keyed_hash, otp_issue, otp_verify

__all__ = [
    "CLERK_ROLES",
    "BookingInput",
    "home_service_assign",
    "home_service_book",
    "home_service_cancel",
    "home_service_request_code",
    "home_service_visible",
    "home_service_visit",
]

OTP_PURPOSE: Final[str] = "home_service"
CLERK_ROLES: Final[frozenset[str]] = frozenset(
    {Role.TOWN_CLERK, Role.DISTRICT_CLERK, Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN}
)
_MAX_AHEAD: Final[timedelta] = timedelta(days=60)


def _phone(raw: str) -> str:
    phone = "".join(ch for ch in raw if ch.isdigit())
    if len(phone) != 11 or not phone.startswith("1"):
        raise ValidationFailed("请填写11位手机号码", code="PHONE_INVALID")
    return phone


def home_service_request_code(*, phone: str, client: str = "") -> IssuedCode:
    """Send a verification code to the phone the booking gives (throttled by the gateway)."""
    number = _phone(phone)
    return otp_issue(
        purpose=OTP_PURPOSE,
        subject=keyed_hash(number, salt=OTP_PURPOSE),
        phone=number,
        text="您正在预约社会保障卡上门服务，验证码{code}，{minutes}分钟内有效。",
        client=client,
    )


@dataclass(frozen=True, slots=True)
class BookingInput:
    id_number: str
    name: str
    booker_name: str
    booker_relation: str
    phone: str
    address: str
    kind: str
    reason: str
    preferred_date: date
    note: str = ""


def _new_reference() -> str:
    return "SM" + timezone.localdate().strftime("%y%m%d") + secrets.token_hex(3).upper()


def home_service_book(*, data: BookingInput, code_id: int, code: str) -> HomeServiceAppointment:
    """A booking from the public form, once the SMS code of its phone is right. The person
    must be in the registry under that ID number and name (the message does not say which
    was wrong)."""
    phone = _phone(data.phone)
    problems = []
    if data.kind not in KIND_LABELS:
        problems.append("请选择办理事项")
    if data.reason not in REASON_LABELS:
        problems.append("请选择上门原因")
    if not data.address.strip():
        problems.append("请填写上门地址")
    if not data.booker_name.strip():
        problems.append("请填写预约人姓名")
    today = timezone.localdate()
    if not today < data.preferred_date <= today + _MAX_AHEAD:
        problems.append("希望上门日期应在明天至60天内")
    if problems:
        raise ValidationFailed("；".join(problems), code="HOME_SERVICE_INVALID")
    otp_verify(
        code_id=code_id,
        purpose=OTP_PURPOSE,
        subject=keyed_hash(phone, salt=OTP_PURPOSE),
        code=code,
    )
    person = Person.objects.filter(id_number=normalize_id_number(data.id_number)).first()
    if person is None or normalize_name(person.name) != normalize_name(data.name):
        raise ValidationFailed(
            "服务对象的身份证号码与姓名不符，请核对", code="HOME_SERVICE_PERSON_MISMATCH"
        )
    with transaction.atomic():
        appointment = HomeServiceAppointment.objects.create(
            reference=_new_reference(),
            person=person,
            region_id=person.residence_region_id or person.hukou_region_id,
            kind=data.kind,
            reason=data.reason,
            booker_name=data.booker_name.strip()[:64],
            booker_relation=(data.booker_relation.strip() or "本人")[:16],
            phone=phone,
            address=data.address.strip()[:255],
            preferred_date=data.preferred_date,
            note=data.note.strip()[:255],
        )
        audit_record(
            actor=None,
            action=AuditAction.CREATE,
            target_type="home_service",
            target_id=appointment.pk,
            person_id=person.pk,
            purpose=Purpose.CITIZEN_REQUEST.value,
            detail={"reference": appointment.reference, "kind": data.kind, "online": True},
            username="citizen",
        )
    return appointment


def _clerk(actor: User) -> Scope:
    if not (actor.is_superuser or actor.has_role(*CLERK_ROLES)):
        raise PermissionDenied("您的角色不能处理上门服务预约", code="HOME_SERVICE_FORBIDDEN")
    return Scope.for_user(actor)


def home_service_visible(*, actor: User, status: str = "") -> QuerySet[HomeServiceAppointment]:
    """The appointments in the actor's region, soonest first."""
    qs = _clerk(actor).filter(HomeServiceAppointment.objects.all(), region_fields=("region__code",))
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("person", "assigned_to", "region").order_by("preferred_date", "pk")


def _locked(actor: User, appointment_id: int) -> HomeServiceAppointment:
    found = (
        home_service_visible(actor=actor).select_for_update(of=("self",)).filter(pk=appointment_id)
    ).first()
    if found is None:
        raise NotFound("未找到该预约，或不在您的辖区", code="HOME_SERVICE_NOT_FOUND")
    return found


def _step(
    actor: User, appointment: HomeServiceAppointment, event: HomeServiceEvent, **detail: str
) -> None:
    appointment.status = home_service_transition(HomeServiceStatus(appointment.status), event).value
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target_type="home_service",
        target_id=appointment.pk,
        person_id=appointment.person_id,
        purpose=Purpose.CARD_SERVICE.value,
        detail={"reference": appointment.reference, "event": event.value, **detail},
    )


@transaction.atomic
def home_service_assign(
    *, actor: User, appointment_id: int, clerk: User | None = None
) -> HomeServiceAppointment:
    """Assign to the clerk who will visit (the actor, when `clerk` is None); the clerk must
    be a clerk whose region covers the appointment."""
    appointment = _locked(actor, appointment_id)
    visitor = clerk or actor
    if not (visitor.has_role(Role.TOWN_CLERK, Role.DISTRICT_CLERK, Role.CARD_CENTRE_OPERATOR)):
        raise ValidationFailed("只能派给镇（街）、区级或卡中心经办人员", code="HOME_SERVICE_CLERK")
    if not Scope.for_user(visitor).contains_region(appointment.region_id):
        raise ValidationFailed("该经办人员的辖区不含服务对象所在地", code="HOME_SERVICE_CLERK")
    _step(actor, appointment, HomeServiceEvent.ASSIGN, clerk=visitor.get_username())
    appointment.assigned_to = visitor
    appointment.assigned_at = timezone.now()
    appointment.save(update_fields=["status", "assigned_to", "assigned_at"])
    return appointment


@transaction.atomic
def home_service_visit(*, actor: User, appointment_id: int, outcome: str) -> HomeServiceAppointment:
    """The assigned clerk records the visit and what was done."""
    appointment = _locked(actor, appointment_id)
    if appointment.assigned_to_id != actor.pk:
        raise PermissionDenied("只有上门经办人可以登记办结", code="HOME_SERVICE_NOT_ASSIGNEE")
    if not outcome.strip():
        raise ValidationFailed("请填写办理结果", code="HOME_SERVICE_OUTCOME_REQUIRED")
    _step(actor, appointment, HomeServiceEvent.VISIT)
    appointment.visited_at = timezone.now()
    appointment.outcome = outcome.strip()[:255]
    appointment.save(update_fields=["status", "visited_at", "outcome"])
    return appointment


@transaction.atomic
def home_service_cancel(*, actor: User, appointment_id: int, reason: str) -> HomeServiceAppointment:
    appointment = _locked(actor, appointment_id)
    if not reason.strip():
        raise ValidationFailed("请填写取消原因", code="HOME_SERVICE_REASON_REQUIRED")
    _step(actor, appointment, HomeServiceEvent.CANCEL)
    appointment.cancelled_reason = reason.strip()[:255]
    appointment.save(update_fields=["status", "cancelled_reason"])
    return appointment
