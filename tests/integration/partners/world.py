"""A small partner world built through the real services: the card centre, two approved
partners with a service point and a terminal each (real OAuth2 clients), and card holders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.test import Client

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import User
from shebao.cards.models import Card
from shebao.geo.models import Region
from shebao.partners.models import Partner
from shebao.partners.services.identity import caller_cache_clear
from shebao.partners.services.registry import (
    TerminalCredential,
    partner_approve,
    partner_register,
    partner_set_scopes,
    service_point_create,
    terminal_issue,
)
from shebao.registry.models import Person
from tests.factories import make_card, make_org, make_person, make_regions, make_user

ECHENG = "420704"


@dataclass
class PartnerWorld:
    centre_user: User
    hospital: Partner
    hospital_terminal: TerminalCredential
    bus: Partner
    bus_terminal: TerminalCredential
    holder: Person
    card: Card


def build_partner_world(
    *, hospital_fields: tuple[str, ...] = ("masked_name", "gender", "card_status")
) -> PartnerWorld:
    caller_cache_clear()
    make_regions()
    centre = make_org(OrganisationKind.CARD_CENTRE, "420700", name="鄂州市社保卡管理中心")
    centre_user = make_user(Role.CARD_CENTRE_OPERATOR, centre)
    region = Region.objects.get(code=ECHENG)
    hospital = partner_register(
        actor=centre_user, name="鄂州市中心医院", field="medical", region=region
    )
    bus = partner_register(actor=centre_user, name="鄂州公交集团", field="transport", region=region)
    for partner, fields in ((hospital, hospital_fields), (bus, ("masked_name",))):
        partner_approve(actor=centre_user, partner_id=partner.pk)
        partner_set_scopes(
            actor=centre_user,
            partner_id=partner.pk,
            fields=fields,
            services=["verify", "redeem_qr", "change_feed"],
        )
    hospital_point = service_point_create(
        actor=centre_user, partner_id=hospital.pk, name="门诊大厅", region=region, kind="hospital"
    )
    bus_point = service_point_create(
        actor=centre_user, partner_id=bus.pk, name="1路公交", region=region, kind="transit"
    )
    hospital_terminal = terminal_issue(
        actor=centre_user, service_point_id=hospital_point.pk, code="HOSP-001"
    )
    bus_terminal = terminal_issue(actor=centre_user, service_point_id=bus_point.pk, code="BUS-001")
    holder = make_person(ECHENG, name="王小明")
    card = make_card(holder, custodian=centre, status="active")
    hospital.refresh_from_db()
    bus.refresh_from_db()
    return PartnerWorld(
        centre_user=centre_user,
        hospital=hospital,
        hospital_terminal=hospital_terminal,
        bus=bus,
        bus_terminal=bus_terminal,
        holder=holder,
        card=card,
    )


def access_token(client: Client, credential: TerminalCredential) -> str:
    """A token from django-oauth-toolkit's token endpoint (client-credentials grant)."""
    response = client.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": credential.client_secret,
        },
    )
    assert response.status_code == 200, response.content
    token: str = response.json()["access_token"]
    return token


def call(client: Client, token: str, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if method == "GET":
        return client.get(f"/api/v1/partners{path}", headers=headers)
    return client.post(
        f"/api/v1/partners{path}", body or {}, content_type="application/json", headers=headers
    )
