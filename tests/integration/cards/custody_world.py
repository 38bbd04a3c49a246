"""A small issuing chain for the custody and card-life tests: the 鄂州 card centre, the 鄂城区
card office, 凤凰街道, two village committees, a department with a school, a bank with a branch,
their clerks, and people of 凤凰村."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.cards.models import Card
from shebao.registry.models import Person
from tests.factories import make_card, make_org, make_person, make_regions, make_user

CITY = "420700"
ECHENG = "420704"
PHOENIX_TOWN = "420704001"
PHOENIX = "420704001201"
FANKOU = "420704001202"


@dataclass
class Chain:
    centre: Organisation
    district: Organisation
    town: Organisation
    village: Organisation
    other_village: Organisation
    department: Organisation
    school: Organisation
    bank: Organisation
    branch: Organisation
    other_bank: Organisation
    centre_clerk: User
    district_clerk: User
    town_clerk: User
    village_clerk: User
    other_village_clerk: User
    department_clerk: User
    school_clerk: User
    bank_clerk: User
    other_bank_clerk: User
    people: list[Person]

    def cards_at_centre(self, n: int, *, bank: Organisation | None = None) -> list[Card]:
        return [
            make_card(self.people[i % len(self.people)], custodian=self.centre, bank=bank)
            for i in range(n)
        ]


def build_chain(people: int = 4) -> Chain:
    make_regions()
    centre = make_org(OrganisationKind.CARD_CENTRE, CITY, name="鄂州市社会保障卡管理中心")
    district = make_org(
        OrganisationKind.DISTRICT_CARD_OFFICE, ECHENG, parent=centre, name="鄂城区社保卡管理办公室"
    )
    town = make_org(
        OrganisationKind.TOWN_OFFICE, PHOENIX_TOWN, parent=district, name="凤凰街道办事处"
    )
    village = make_org(
        OrganisationKind.VILLAGE_COMMITTEE, PHOENIX, parent=town, name="凤凰村村委会"
    )
    other_village = make_org(
        OrganisationKind.VILLAGE_COMMITTEE, FANKOU, parent=town, name="樊口村村委会"
    )
    department = make_org(OrganisationKind.DEPARTMENT, ECHENG, parent=district, name="鄂城区教育局")
    school = make_org(OrganisationKind.SCHOOL, ECHENG, parent=department, name="凤凰小学")
    bank = make_org(OrganisationKind.BANK, CITY, name="农业银行鄂州分行")
    branch = make_org(OrganisationKind.BANK_BRANCH, ECHENG, parent=bank, name="农业银行鄂城支行")
    other_bank = make_org(OrganisationKind.BANK, CITY, name="邮储银行鄂州分行")
    persons = [
        make_person(PHOENIX, name=name, birth=date(1970 + i, 3, 8), phone=f"1381234{i:04d}")
        for i, name in enumerate(["李建国", "王秀英", "张伟", "刘洋", "陈静", "杨帆"][:people])
    ]
    return Chain(
        centre=centre,
        district=district,
        town=town,
        village=village,
        other_village=other_village,
        department=department,
        school=school,
        bank=bank,
        branch=branch,
        other_bank=other_bank,
        centre_clerk=make_user(Role.CARD_CENTRE_OPERATOR, centre),
        district_clerk=make_user(Role.DISTRICT_CLERK, district),
        town_clerk=make_user(Role.TOWN_CLERK, town),
        village_clerk=make_user(Role.VILLAGE_CLERK, village),
        other_village_clerk=make_user(Role.VILLAGE_CLERK, other_village),
        department_clerk=make_user(Role.DEPARTMENT_CLERK, department),
        school_clerk=make_user(Role.EMPLOYER_CLERK, school),
        bank_clerk=make_user(Role.BANK_OPERATOR, branch),
        other_bank_clerk=make_user(Role.BANK_OPERATOR, other_bank),
        people=persons,
    )


def numbers(cards: list[Card]) -> str:
    return "\n".join(c.card_number for c in cards)


def pass_down(sender: User, receiver: User, to: Organisation, cards: list[Card]) -> None:
    from shebao.cards.services.custody import handover_confirm, handover_create

    handover = handover_create(actor=sender, to_organisation_id=to.pk, card_numbers=numbers(cards))
    handover_confirm(actor=receiver, handover_id=handover.pk, arrived=numbers(cards))


def deliver_to_village(chain: Chain, cards: list[Card]) -> None:
    """Centre → district → town → village, everything arriving."""
    pass_down(chain.centre_clerk, chain.district_clerk, chain.district, cards)
    pass_down(chain.district_clerk, chain.town_clerk, chain.town, cards)
    pass_down(chain.town_clerk, chain.village_clerk, chain.village, cards)


__all__ = ["Chain", "build_chain", "deliver_to_village", "numbers", "pass_down"]
