"""One world for the generated access matrix: every role's user in one district (鄂城区,
420704), and for each kind of object a URL can name, one object inside that district (and
inside the bank, employer and partner of the users) and one outside it (梁子湖区, 420702,
another bank, another partner). Built once per test module through the real services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.cards.domain.custody import HandoverKind, HandoverStatus
from shebao.cards.models import Card, Handover, HandoverItem
from shebao.comparison.domain import Category
from shebao.ecard.models import HolderAccount
from shebao.geo.models import Region
from shebao.partners.models import Partner
from shebao.partners.services.registry import partner_approve, partner_register
from shebao.registration.choices import RunStatus
from shebao.registration.models import ComparisonRun, Finding
from shebao.registry.models import BankAccount, Employer, Person
from shebao.registry.services import enrollment_create
from tests.factories import make_card, make_org, make_person, make_regions, make_user

INSIDE = "420704"  # 鄂城区: every scoped user's district
OUTSIDE = "420702"  # 梁子湖区
CREDIT_IN = "91420700MA4F000019"
CREDIT_OUT = "91420700MA4F000027"

# Everyone who can hold a session: each role, a user whose organisation is missing, and the
# anonymous visitor. The citizen is a card holder signed in through the portal.
ANONYMOUS = "anonymous"
NO_ORG = "no_org"
ACTORS: tuple[str, ...] = (*Role.values, NO_ORG, ANONYMOUS)


@dataclass
class World:
    users: dict[str, User]
    # kind -> (inside object's URL value, outside object's URL value)
    objects: dict[str, tuple[str, str]] = field(default_factory=dict)
    # kind -> the actors whose scope holds the inside object, for kinds scoped by
    # organisation rather than region (a handover is its two units' business); the rest of
    # the route's audience must answer for it as for a missing object. Absent: everyone.
    sees_inside: dict[str, frozenset[str]] = field(default_factory=dict)
    # kind -> the actors who also see the outside object (default: the city-wide ones).
    sees_outside: dict[str, frozenset[str]] = field(default_factory=dict)
    persons: dict[str, Person] = field(default_factory=dict)


def build_world() -> World:
    make_regions()
    centre = make_org(OrganisationKind.CARD_CENTRE, "420700")
    bureau = make_org(OrganisationKind.BUREAU, "420700")
    district = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, INSIDE)
    far_district = make_org(OrganisationKind.DISTRICT_CARD_OFFICE, OUTSIDE)
    town = make_org(OrganisationKind.TOWN_OFFICE, "420704001")
    village = make_org(OrganisationKind.VILLAGE_COMMITTEE, "420704001201")
    dept = make_org(OrganisationKind.DEPARTMENT, "420700")
    employer_org = make_org(OrganisationKind.EMPLOYER, INSIDE, credit_code=CREDIT_IN)
    bank = make_org(OrganisationKind.BANK, "420700")
    branch = make_org(OrganisationKind.BANK_BRANCH, INSIDE, parent=bank)
    other_bank = make_org(OrganisationKind.BANK, "420700")
    paying = make_org(OrganisationKind.PAYING_OFFICE, INSIDE)

    centre_user = make_user(Role.CARD_CENTRE_OPERATOR, centre)
    partner_in = _partner(centre_user, "鄂城区示例医院", INSIDE)
    partner_out = _partner(centre_user, "梁子湖区示例医院", OUTSIDE)

    person_in = make_person("420704001201", name="李明", phone="13800000001")
    person_out = make_person("420702100201", name="赵强", phone="13800000002")
    for person, credit, region, acct_bank, acct_branch, n in (
        (person_in, CREDIT_IN, INSIDE, bank, branch, 1),
        (person_out, CREDIT_OUT, OUTSIDE, other_bank, None, 2),
    ):
        employer = Employer.objects.create(
            credit_code=credit, name=f"示例公司{n}", kind="enterprise", region_id=region
        )
        enrollment_create(
            actor=None,
            person=person,
            scheme_code="110",
            insurance_region_code=region,
            start_date=date(2010, 1, 1),
            employer=employer,
        )
        BankAccount.objects.create(
            person=person,
            bank=acct_bank,
            branch=acct_branch,
            account_number=f"622848000000000{n}",
            opened_on=date(2020, 1, 1),
        )
    card_in = make_card(person_in, custodian=district, status="active", bank=bank)
    card_out = make_card(person_out, custodian=far_district, status="active", bank=other_bank)
    far_town = make_org(OrganisationKind.TOWN_OFFICE, "420702100")

    orgs: dict[str, Organisation | None] = {
        Role.LEADER_VIEWER: bureau,
        Role.CARD_CENTRE_OPERATOR: centre,
        Role.DISTRICT_CLERK: district,
        Role.TOWN_CLERK: town,
        Role.VILLAGE_CLERK: village,
        Role.DEPARTMENT_CLERK: dept,
        Role.EMPLOYER_CLERK: employer_org,
        Role.BANK_OPERATOR: branch,
        Role.SURVEYOR: town,
        Role.AUDITOR: bureau,
        Role.SYSTEM_ADMIN: bureau,
        Role.PAYING_OFFICE_CLERK: paying,
        Role.PARTNER_OPERATOR: partner_in.organisation,
    }
    users = {role: make_user(role, org) for role, org in orgs.items()}
    users[Role.CARD_CENTRE_OPERATOR] = centre_user
    users[NO_ORG] = make_user(Role.DISTRICT_CLERK, None)
    citizen = make_user(Role.CITIZEN, None)
    HolderAccount.objects.create(user=citizen, person=person_in)
    users[Role.CITIZEN] = citizen

    world = World(users=users, persons={"in": person_in, "out": person_out})
    world.objects["person"] = (str(person_in.pk), str(person_out.pk))
    world.objects["village"] = ("420704001201", "420702100201")
    world.objects["partner"] = (str(partner_in.pk), str(partner_out.pk))
    # Handovers: 鄂城区's office to its town (with 李明's card), 梁子湖区's to its own town.
    world.objects["handover"] = (
        str(_handover(district, town, card_in).pk),
        str(_handover(far_district, far_town, card_out).pk),
    )
    world.sees_inside["handover"] = frozenset(
        {Role.DISTRICT_CLERK, Role.TOWN_CLERK, Role.SURVEYOR, Role.SYSTEM_ADMIN}
    )
    world.sees_outside["handover"] = frozenset({Role.SYSTEM_ADMIN})
    # Findings of one comparison run: 李明's in 凤凰村, 赵强's in 太和村.
    run = ComparisonRun.objects.create(
        as_of=date(2026, 6, 30), status=RunStatus.SUCCEEDED, findings_total=2
    )
    world.objects["finding"] = (
        str(_finding(run, person_in, "420704001201").pk),
        str(_finding(run, person_out, "420702100201").pk),
    )
    return world


def _finding(run: ComparisonRun, person: Person, region_code: str) -> Finding:
    return Finding.objects.create(
        run=run,
        first_run=run,
        category=Category.NOT_IN_POPULATION.value,
        source_key=f"matrix:{person.pk}",
        id_number=person.id_number,
        name=person.name,
        person=person,
        region_id=region_code,
    )


def _handover(sender: Organisation, receiver: Organisation, card: Card) -> Handover:
    """A dispatched handover of one card, as `handover_create` leaves it."""
    handover = Handover.objects.create(
        number=uuid.uuid4().hex[:32],
        kind=HandoverKind.CARDS.value,
        from_organisation=sender,
        to_organisation=receiver,
        status=HandoverStatus.DISPATCHED.value,
        dispatched_at=timezone.now(),
        listed_count=1,
    )
    HandoverItem.objects.create(handover=handover, card=card, code=card.card_number)
    return handover


def _partner(actor: User, name: str, region_code: str) -> Partner:
    partner = partner_register(
        actor=actor, name=name, field="medical", region=Region.objects.get(code=region_code)
    )
    partner_approve(actor=actor, partner_id=partner.pk)
    partner.refresh_from_db()
    return partner
