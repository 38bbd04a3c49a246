from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import AuditEvent
from shebao.accounts.selectors import AuditFilter, audit_event_list
from shebao.errors import PermissionDenied, ValidationFailed
from shebao.registry.selectors import person_detail, person_who_viewed
from tests.factories import make_org, make_person, make_regions, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]  # flush must cope


@pytest.fixture
def event() -> AuditEvent:
    return audit_record(actor=None, action=AuditAction.EXPORT, username="someone")


def test_orm_refuses_update_and_delete(event: AuditEvent) -> None:
    event.purpose = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(purpose="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_database_refuses_update_and_delete(event: AuditEvent) -> None:
    table = AuditEvent._meta.db_table
    for sql in (f"UPDATE {table} SET purpose = 'x'", f"DELETE FROM {table}"):  # noqa: S608
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    assert AuditEvent.objects.get(pk=event.pk).purpose == ""


def test_view_audited_with_purpose_and_queryable_by_person() -> None:
    make_regions()
    village = make_org(OrganisationKind.VILLAGE_COMMITTEE, "420704001201")
    clerk = make_user(Role.VILLAGE_CLERK, village)
    person = make_person("420704001201")
    with pytest.raises(ValidationFailed) as missing:
        person_detail(actor=clerk, person_id=person.pk, purpose="")
    assert missing.value.code == "PURPOSE_REQUIRED"
    with pytest.raises(ValidationFailed) as vague:
        person_detail(actor=clerk, person_id=person.pk, purpose="other", purpose_note="")
    assert vague.value.code == "PURPOSE_NOTE_REQUIRED"
    detail = person_detail(actor=clerk, person_id=person.pk, purpose="data_correction", reveal=True)
    assert detail.id_number == person.id_number
    rows = list(person_who_viewed(person_id=person.pk))
    assert [r.action for r in rows][:1] == [AuditAction.REVEAL_PERSON]
    assert rows[0].purpose == "data_correction"
    assert rows[0].user_id == clerk.pk
    assert rows[0].organisation_id == village.pk


def test_audit_viewer_scope() -> None:
    make_regions()
    bureau = make_org(OrganisationKind.BUREAU, "420700")
    district_a = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420704")
    district_b = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420702")
    city_auditor = make_user(Role.AUDITOR, bureau)
    district_auditor = make_user(Role.AUDITOR, district_a)
    clerk_a = make_user(Role.DISTRICT_CLERK, district_a)
    clerk_b = make_user(Role.DISTRICT_CLERK, district_b)
    audit_record(actor=clerk_a, action=AuditAction.EXPORT)
    audit_record(actor=clerk_b, action=AuditAction.EXPORT)
    city = audit_event_list(actor=city_auditor, filters=AuditFilter(action=AuditAction.EXPORT))
    assert {e.user_id for e in city} == {clerk_a.pk, clerk_b.pk}
    local = audit_event_list(actor=district_auditor, filters=AuditFilter(action=AuditAction.EXPORT))
    assert {e.user_id for e in local} == {clerk_a.pk}
    with pytest.raises(PermissionDenied):
        audit_event_list(actor=clerk_a, filters=AuditFilter())
