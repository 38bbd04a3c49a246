"""A small world for card-use tests: the 鄂州 card centre and its clerk, two approved
partners (a bus company and a hospital) with one service point and terminal each, a
partner that may not upload, and holders with cards."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.cards.models import Card
from shebao.partners.choices import PartnerField, PartnerStatus
from shebao.partners.models import Partner, ServicePoint, Terminal
from shebao.registry.models import Person
from tests.factories import make_card, make_org, make_person, make_regions, make_user

_seq = itertools.count(1)
NAMES = ["李建国", "王秀英", "张伟", "刘洋", "陈静", "杨帆"]


@dataclass
class UsageWorld:
    centre: Organisation
    centre_clerk: User
    bus: Terminal
    hospital: Terminal
    not_granted: Terminal
    bus_operator: User
    people: list[Person]
    cards: list[Card]


def make_terminal(
    *, name: str, field: str, region: str, kind: str, services: list[str]
) -> tuple[Terminal, User]:
    n = next(_seq)
    org = make_org(OrganisationKind.PARTNER, region, name=name)
    partner = Partner.objects.create(
        organisation=org, field=field, status=PartnerStatus.APPROVED, granted_services=services
    )
    point = ServicePoint.objects.create(
        partner=partner, name=f"{name}网点", region_id=region, kind=kind
    )
    service_user = make_user(Role.PARTNER_OPERATOR, org, username=f"terminal_u{n}")
    terminal = Terminal.objects.create(
        service_point=point, code=f"T-{n:04d}", client_id=f"client-{n}", service_user=service_user
    )
    operator = make_user(Role.PARTNER_OPERATOR, org)
    return terminal, operator


def build_usage_world(holders: int = 3) -> UsageWorld:
    make_regions()
    centre = make_org(OrganisationKind.CARD_CENTRE, "420700", name="鄂州市社会保障卡管理中心")
    clerk = make_user(Role.CARD_CENTRE_OPERATOR, centre)
    bus, bus_operator = make_terminal(
        name="鄂州公交集团",
        field=PartnerField.TRANSPORT,
        region="420704",
        kind="transit",
        services=["upload_usage"],
    )
    hospital, _ = make_terminal(
        name="鄂州市中心医院",
        field=PartnerField.MEDICAL,
        region="420702",
        kind="hospital",
        services=["upload_usage", "verify"],
    )
    not_granted, _ = make_terminal(
        name="鄂州图书馆",
        field=PartnerField.CULTURE_TOURISM,
        region="420704",
        kind="library",
        services=["verify"],
    )
    people = [make_person("420704001201", name=NAMES[i % len(NAMES)]) for i in range(holders)]
    cards = [make_card(p, custodian=None, status="active") for p in people]
    return UsageWorld(centre, clerk, bus, hospital, not_granted, bus_operator, people, cards)
