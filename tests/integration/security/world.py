"""One world for the generated access matrix: every role's user in one district (鄂城区,
420704), and for each kind of object a URL can name, one object inside that district (and
inside the bank, employer and partner of the users) and one outside it (梁子湖区, 420702,
another bank, another partner). Built once per test module through the real services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.ecard.models import HolderAccount
from shebao.geo.models import Region
from shebao.partners.models import Partner
from shebao.partners.services.registry import partner_approve, partner_register
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
    make_card(person_in, custodian=district, status="active", bank=bank)
    make_card(person_out, custodian=far_district, status="active", bank=other_bank)

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
    return world


def _partner(actor: User, name: str, region_code: str) -> Partner:
    partner = partner_register(
        actor=actor, name=name, field="medical", region=Region.objects.get(code=region_code)
    )
    partner_approve(actor=actor, partner_id=partner.pk)
    partner.refresh_from_db()
    return partner
