"""上门服务: a relative books a home visit for an elderly holder on the public form (the
phone verified by an SMS code from the file outbox); the town clerk takes it, sees the full
contact (audited), records the visit; cancelling, a wrong code, a person mismatch and
another town's clerk are refused (issue #11 §6)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import AuditEvent
from shebao.cards.models import HomeServiceAppointment
from shebao.cards.services.home_service import (
    home_service_assign,
    home_service_cancel,
    home_service_visible,
    home_service_visit,
)
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.sms.backends import outbox_path
from tests.factories import make_org, make_person, make_regions, make_user

pytestmark = pytest.mark.django_db

PHONE = "13900001234"


def _last_code(phone: str = PHONE) -> str:
    last = json.loads(outbox_path().read_text(encoding="utf-8").splitlines()[-1])
    assert last["phone"] == phone
    found = re.search(r"验证码(\d{6})", last["text"])
    assert found is not None
    return found.group(1)


@pytest.fixture
def world(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path
    make_regions()
    centre = make_org(OrganisationKind.CARD_CENTRE, "420700")
    district = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420704", parent=centre)
    town = make_org(OrganisationKind.TOWN_OFFICE, "420704001", parent=district)
    other_town = make_org(OrganisationKind.TOWN_OFFICE, "420702100", parent=centre)
    return {
        "elder": make_person("420704001201", name="王秀英"),
        "town_clerk": make_user(Role.TOWN_CLERK, town),
        "town_clerk_2": make_user(Role.TOWN_CLERK, town),
        "other_clerk": make_user(Role.TOWN_CLERK, other_town),
    }


def _book(client: Client, elder, code: str | None = None, phone: str = PHONE) -> str:  # type: ignore[no-untyped-def]
    form = {
        "name": elder.name,
        "id_number": elder.id_number,
        "reason": "elderly",
        "kind": "activate",
        "address": "凤凰街道凤凰村3组12号",
        "preferred_date": (timezone.localdate() + timedelta(days=3)).isoformat(),
        "booker_name": "李建国",
        "booker_relation": "子女",
        "phone": phone,
    }
    sent = client.post("/cards/home-service/", {**form, "action": "send_code"})
    assert "验证码已发送" in sent.content.decode()
    booked = client.post(
        "/cards/home-service/", {**form, "action": "book", "code": code or _last_code(phone)}
    )
    return booked.content.decode()


def test_a_relative_books_and_the_town_clerk_visits(world) -> None:  # type: ignore[no-untyped-def]
    page = _book(Client(), world["elder"])
    assert "预约成功" in page
    appointment = HomeServiceAppointment.objects.get()
    assert appointment.reference in page
    assert (appointment.status, appointment.region_id) == ("booked", "420704001201")
    clerk = world["town_clerk"]
    client = Client()
    client.force_login(clerk)
    listing = client.get("/cards/home-service/work/").content.decode()
    assert appointment.reference in listing and "王*英" in listing and PHONE not in listing
    client.post("/cards/home-service/work/", {"appointment": appointment.pk, "action": "take"})
    appointment.refresh_from_db()
    assert (appointment.status, appointment.assigned_to_id) == ("assigned", clerk.pk)
    mine = client.get("/cards/home-service/work/").content.decode()
    assert PHONE in mine and "凤凰村3组12号" in mine
    assert AuditEvent.objects.filter(
        target_type="home_service", action="view_person", user_id=clerk.pk
    ).exists()
    # Only the assigned clerk records the visit.
    with pytest.raises(PermissionDenied):
        home_service_visit(actor=world["town_clerk_2"], appointment_id=appointment.pk, outcome="x")
    client.post(
        "/cards/home-service/work/",
        {"appointment": appointment.pk, "action": "visit", "outcome": "已上门激活社保卡"},
    )
    appointment.refresh_from_db()
    assert appointment.status == "visited" and appointment.outcome == "已上门激活社保卡"
    with pytest.raises(ValidationFailed) as caught:
        home_service_cancel(actor=clerk, appointment_id=appointment.pk, reason="重复")
    assert caught.value.code == "HOME_SERVICE_INVALID_TRANSITION"
    events = AuditEvent.objects.filter(target_type="home_service", action__in=["create", "update"])
    assert events.count() == 3


def test_a_wrong_code_or_a_mismatched_person_books_nothing(world) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    assert "验证码" in _book(client, world["elder"], code="000000")
    assert HomeServiceAppointment.objects.count() == 0
    stranger = make_person("420704001201", name="张伟")
    stranger.name = "李四"  # the form gives a name the registry does not hold for that ID
    page = _book(Client(), stranger, phone="13900005678")
    assert "身份证号码与姓名不符" in page
    assert HomeServiceAppointment.objects.count() == 0


def test_another_towns_clerk_neither_sees_nor_takes_it(world) -> None:  # type: ignore[no-untyped-def]
    _book(Client(), world["elder"])
    appointment = HomeServiceAppointment.objects.get()
    other = world["other_clerk"]
    assert not home_service_visible(actor=other).exists()
    with pytest.raises(NotFound):
        home_service_assign(actor=other, appointment_id=appointment.pk)
    # Nor can the town clerk hand it to a clerk of another town.
    with pytest.raises(ValidationFailed):
        home_service_assign(actor=world["town_clerk"], appointment_id=appointment.pk, clerk=other)
    home_service_cancel(
        actor=world["town_clerk"], appointment_id=appointment.pk, reason="已自行到窗口办理"
    )
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
