"""The demo build: idempotent, every role can log in, and scopes hold."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User, UserRole
from shebao.demo.services import DEMO_PASSWORD, demo_build
from shebao.geo.models import Region
from shebao.registry.models import BankAccount, Employer, Enrollment, Household, Person
from shebao.registry.selectors import person_scoped

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STAFF_ROLES = set(Role.values) - {Role.CITIZEN}


def snapshot() -> dict[str, int]:
    models = (Region, Organisation, User, UserRole, Person, Household, Employer, Enrollment,
              BankAccount)  # fmt: skip
    return {m.__name__: m.objects.count() for m in models}


def test_demo_builds_twice_and_every_role_can_work(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = FAST_HASHER  # the policy validators still apply
    first = demo_build(people=1_000, seed=5)
    assert first.load.persons == 1_000
    # An account for every staff role (two paying-office clerks: one prepares, the other
    # approves); citizens sign in with their card and an SMS code instead.
    assert {a.role for a in first.accounts} == STAFF_ROLES
    usernames = {a.username for a in first.accounts}
    assert len(usernames) == len(first.accounts)
    assert User.objects.filter(username__in=usernames).count() == len(usernames)
    assert first.bank_accounts_created > 0
    counts = snapshot()

    second = demo_build(people=1_000, seed=5)
    assert snapshot() == counts
    assert second.load.created == 0 and second.load.persons_skipped == 1_000
    assert (second.regions.created, second.villages.created) == (0, 0)
    assert (second.organisations_created, second.accounts_created) == (0, 0)
    assert second.bank_accounts_created == 0
    assert second.persons_in_city == 1_000

    # One account per role, each able to log in with the shared password.
    usernames = [a.username for a in second.accounts]
    roles = set(
        UserRole.objects.filter(user__username__in=usernames).values_list("role", flat=True)
    )
    assert roles == STAFF_ROLES
    for username in usernames:
        assert Client().login(username=username, password=DEMO_PASSWORD), username
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff


def test_the_issuing_chain_and_the_scopes_of_the_accounts(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = FAST_HASHER
    demo_build(people=1_000, seed=9)
    users = {u.username: u for u in User.objects.select_related("organisation__region")}

    # The chain: card centre under the bureau, 区卡办 under the centre, towns, villages.
    district = users["district"].organisation
    town = users["town"].organisation
    village = users["village"].organisation
    assert district is not None and town is not None and village is not None
    assert (district.kind, district.region_id) == (OrganisationKind.DISTRICT_CARD_OFFICE, "420704")
    assert district.parent is not None and district.parent.kind == OrganisationKind.CARD_CENTRE
    assert (town.name, town.region_id, town.parent_id) == (
        "凤凰街道办事处",
        "420704001",
        district.pk,
    )
    assert village.kind == OrganisationKind.VILLAGE_COMMITTEE and village.parent_id == town.pk
    assert village.region.level == 5 and village.region_id.startswith("420704001")
    villages = Region.objects.filter(level=5, code__startswith="4207").count()
    assert Organisation.objects.filter(kind=OrganisationKind.VILLAGE_COMMITTEE).count() == villages
    towns = Region.objects.filter(level=4, code__startswith="4207").count()
    assert Organisation.objects.filter(kind=OrganisationKind.TOWN_OFFICE).count() == towns
    assert Organisation.objects.filter(kind=OrganisationKind.BANK).count() == 3
    branches = Organisation.objects.filter(kind=OrganisationKind.BANK_BRANCH)
    assert branches.count() == 3 and all(b.parent.kind == OrganisationKind.BANK for b in branches)
    employers = Organisation.objects.filter(
        kind__in=[OrganisationKind.EMPLOYER, OrganisationKind.PUBLIC_INSTITUTION,
                  OrganisationKind.SCHOOL]
    )  # fmt: skip
    assert employers.count() == Employer.objects.count()
    assert set(employers.values_list("credit_code", flat=True)) == set(
        Employer.objects.values_list("credit_code", flat=True)
    )

    # The village clerk sees the people of the village, and only them.
    mine = person_scoped(users["village"])
    residents = Person.objects.filter(residence_region_id=village.region_id)
    assert mine.count() == residents.count() > 0
    assert set(mine.values_list("pk", flat=True)) == set(residents.values_list("pk", flat=True))
    # The town clerk sees more: the whole street.
    town_people = person_scoped(users["town"])
    assert town_people.count() > mine.count()
    assert (
        not town_people.exclude(residence_region__code__startswith="420704001")
        .exclude(hukou_region__code__startswith="420704001")
        .exists()
    )
    # The bank sees its customers; the employer its employees.
    customers = person_scoped(users["bank"])
    holders = BankAccount.objects.filter(bank__code="BKABC420700").values("person").distinct()
    assert customers.count() == holders.count() > 0
    staff = person_scoped(users["employer"])
    code = users["employer"].organisation.credit_code  # type: ignore[union-attr]
    assert staff.count() > 0
    assert (
        staff.count()
        == Person.objects.filter(enrollments__employer__credit_code=code).distinct().count()
    )
    # The leader and the admin see the whole city.
    assert person_scoped(users["leader"]).count() == Person.objects.count() == 1_000
    assert person_scoped(users["admin"]).count() == 1_000


def test_the_command_prints_the_account_table(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = FAST_HASHER
    out = StringIO()
    call_command("demo", "--people", "300", "--seed", "3", "--no-serve", stdout=out)
    text = out.getvalue()
    assert "演示环境就绪" in text
    for username in ("leader", "centre", "district", "town", "village", "dept", "employer",
                     "bank", "surveyor", "auditor", "admin"):  # fmt: skip
        assert username in text
        assert User.objects.filter(username=username).exists()
    assert DEMO_PASSWORD in text
    assert "凤凰街道办事处" in text
    assert Person.objects.count() == 300
    # No personal data on the console: no ID number of the generated people.
    assert not any(p in text for p in Person.objects.values_list("id_number", flat=True))


def test_every_demo_account_opens_every_page_of_its_menu(settings) -> None:  # type: ignore[no-untyped-def]
    """The demo shows every capability: each role's menu pages open with the demo's data
    (registration findings, card batches and handovers, reports) and say something."""
    from shebao.cards.models import Card, Handover
    from shebao.registration.models import Finding
    from shebao.reports.models import LiveFigure
    from shebao.web.navigation import menu_for

    settings.PASSWORD_HASHERS = FAST_HASHER
    summary = demo_build(people=1_500, seed=11)
    assert Finding.objects.filter(category="PROBABLE_MATCH").exists()
    assert Card.objects.filter(status="active").exists()
    assert Handover.objects.exists()
    assert LiveFigure.objects.exists()
    for account in summary.accounts:
        user = User.objects.get(username=account.username)
        client = Client()
        client.force_login(user)
        for entry in menu_for(user):
            if entry.url.startswith(("/admin/", "/api/")):
                continue
            response = client.get(entry.url)
            assert response.status_code == 200, (account.username, entry.url)
