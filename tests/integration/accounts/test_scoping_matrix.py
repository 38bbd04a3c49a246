"""Role by role: nothing outside a user's scope is readable or writable, through the
selectors, the services and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.test import Client

from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import AuditEvent, User
from shebao.accounts.services import api_token_create
from shebao.errors import PermissionDenied
from shebao.registry.models import BankAccount, Employer, Person
from shebao.registry.selectors import person_detail, person_scoped
from shebao.registry.services import enrollment_create, person_update
from tests.factories import make_org, make_person, make_regions, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CREDIT = "91420700MA4F000019"  # not checked here; only used as the employer's key


@dataclass
class World:
    users: dict[str, User]
    persons: dict[str, Person]


@pytest.fixture
def world() -> World:
    make_regions()
    bureau = make_org(OrganisationKind.BUREAU, "420700")
    centre = make_org(OrganisationKind.CARD_CENTRE, "420700")
    district = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, "420704")
    town = make_org(OrganisationKind.TOWN_OFFICE, "420704001")
    village = make_org(OrganisationKind.VILLAGE_COMMITTEE, "420704001201")
    dept = make_org(OrganisationKind.DEPARTMENT, "420700")
    employer_org = make_org(OrganisationKind.EMPLOYER, "420704", credit_code=CREDIT)
    bank = make_org(OrganisationKind.BANK, "420700")
    branch = make_org(OrganisationKind.BANK_BRANCH, "420704", parent=bank)

    p_v1 = make_person("420704001201", name="李明")
    p_v2 = make_person("420704001202", name="王芳", male=False)
    p_far = make_person("420702100201", name="赵强")
    employer = Employer.objects.create(
        credit_code=CREDIT, name="鄂州示例公司", kind="enterprise", region_id="420704"
    )
    enrollment_create(
        actor=None,
        person=p_v1,
        scheme_code="110",
        insurance_region_code="420704",
        start_date=date(2010, 1, 1),
        employer=employer,
    )
    BankAccount.objects.create(
        person=p_v1,
        bank=bank,
        branch=branch,
        account_number="6228480000000001",
        opened_on=date(2020, 1, 1),
    )
    users = {
        Role.LEADER_VIEWER: make_user(Role.LEADER_VIEWER, bureau),
        Role.CARD_CENTRE_OPERATOR: make_user(Role.CARD_CENTRE_OPERATOR, centre),
        Role.DISTRICT_CLERK: make_user(Role.DISTRICT_CLERK, district),
        Role.TOWN_CLERK: make_user(Role.TOWN_CLERK, town),
        Role.VILLAGE_CLERK: make_user(Role.VILLAGE_CLERK, village),
        Role.DEPARTMENT_CLERK: make_user(Role.DEPARTMENT_CLERK, dept),
        Role.EMPLOYER_CLERK: make_user(Role.EMPLOYER_CLERK, employer_org),
        Role.BANK_OPERATOR: make_user(Role.BANK_OPERATOR, branch),
        Role.SURVEYOR: make_user(Role.SURVEYOR, town),
        Role.AUDITOR: make_user(Role.AUDITOR, bureau),
        Role.SYSTEM_ADMIN: make_user(Role.SYSTEM_ADMIN, bureau),
        "no_org": make_user(Role.VILLAGE_CLERK, None),
    }
    return World(users=users, persons={"v1": p_v1, "v2": p_v2, "far": p_far})


ALL = {"v1", "v2", "far"}
EXPECTED: dict[str, set[str]] = {
    Role.LEADER_VIEWER: ALL,
    Role.CARD_CENTRE_OPERATOR: ALL,
    Role.DISTRICT_CLERK: {"v1", "v2"},
    Role.TOWN_CLERK: {"v1", "v2"},
    Role.VILLAGE_CLERK: {"v1"},
    Role.DEPARTMENT_CLERK: ALL,
    Role.EMPLOYER_CLERK: {"v1"},  # only its own staff
    Role.BANK_OPERATOR: {"v1"},  # only its own customers
    Role.SURVEYOR: {"v1", "v2"},
    Role.AUDITOR: ALL,
    Role.SYSTEM_ADMIN: ALL,
    "no_org": set(),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_selector_scope(world: World, role: str) -> None:
    visible = set(person_scoped(world.users[role]).values_list("pk", flat=True))
    expected = {world.persons[k].pk for k in EXPECTED[role]}
    assert visible == expected


@pytest.mark.parametrize("role", list(EXPECTED))
def test_person_detail_refuses_outside_scope(world: World, role: str) -> None:
    user = world.users[role]
    for key, person in world.persons.items():
        if key in EXPECTED[role]:
            detail = person_detail(actor=user, person_id=person.pk, purpose="card_service")
            assert detail.pk == person.pk
            assert detail.id_number != person.id_number  # masked by default
        else:
            with pytest.raises(PermissionDenied):
                person_detail(actor=user, person_id=person.pk, purpose="card_service")
            assert AuditEvent.objects.filter(
                user=user, action=AuditAction.DENIED, person_id=person.pk
            ).exists()


@pytest.mark.parametrize("role", list(EXPECTED))
def test_person_update_refuses_outside_scope(world: World, role: str) -> None:
    user = world.users[role]
    for key, person in world.persons.items():
        if key in EXPECTED[role]:
            person_update(
                actor=user, person_id=person.pk, changes={"ethnicity": "回族"}, reason="核对户籍"
            )
            person.refresh_from_db()
            assert person.ethnicity == "回族"
        else:
            with pytest.raises(PermissionDenied):
                person_update(
                    actor=user,
                    person_id=person.pk,
                    changes={"ethnicity": "回族"},
                    reason="越权修改",
                )
            person.refresh_from_db()
            assert person.ethnicity == ""


@pytest.mark.parametrize("role", list(EXPECTED))
def test_api_lookup_scope(world: World, role: str) -> None:
    user = world.users[role]
    _, raw = api_token_create(actor=user, owner=user, name="测试")
    client = Client()
    for key, person in world.persons.items():
        response = client.get(
            f"/api/v1/persons/{person.id_number}",
            {"purpose": "card_service"},
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        if key in EXPECTED[role]:
            assert response.status_code == 200, response.content
            body = response.json()
            assert body["id_number"] != person.id_number
            assert body["revealed"] is False
        else:
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "OUT_OF_SCOPE"
