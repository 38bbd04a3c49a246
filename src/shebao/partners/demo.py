"""The demo's partners (`demo_seed()`, called by `shebao.demo.services.demo_build` after the
card step): one in each kind of place the seed names — a hospital, a pharmacy, the bus
company, the city library, a museum, a scenic spot, a sports centre, the government service
hall and a bank — approved, with a service point, a terminal, scopes and directory entries;
and the account `partner` (合作机构经办 of the hospital).

Each run gives every demo terminal a fresh client secret (stored hashed) and writes the ids
and secrets to `<data dir>/partners/demo_terminals.json` (owner-only) for the journeys and
the identity bench; never to the log. Idempotent: a second run finds what the first made."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from django.conf import settings
from django.db import transaction

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.services import user_create
from shebao.geo.models import Region
from shebao.partners.choices import PartnerStatus
from shebao.partners.models import DirectoryService, Partner, ServicePoint, Terminal
from shebao.partners.services.registry import (
    directory_service_create,
    partner_approve,
    partner_register,
    partner_set_rate_limit,
    partner_set_scopes,
    service_point_create,
    terminal_issue,
    terminal_rotate_secret,
)

__all__ = ["DemoPartnerAccount", "demo_seed", "demo_terminals_path"]


@dataclass(frozen=True, slots=True)
class _Spec:
    code: str
    name: str
    field: str
    point: str
    kind: str
    terminal: str
    fields: tuple[str, ...]
    services: tuple[str, ...]
    directory: tuple[tuple[str, tuple[str, ...], date], ...]


_VERIFY = ("verify", "redeem_qr", "upload_usage", "change_feed")
SPECS: Final[tuple[_Spec, ...]] = (
    _Spec(
        "DEMO-P-HOSP",
        "市中心医院",
        "medical",
        "门诊大厅",
        "hospital",
        "HOSP-001",
        ("full_name", "gender", "birth_date", "card_number", "card_status", "life_status"),
        _VERIFY,
        (
            ("持卡实名就医挂号", ("physical", "ecard", "identity"), date(2024, 3, 1)),
            ("医保结算（持卡/亮码）", ("physical", "ecard", "finance"), date(2024, 6, 1)),
        ),
    ),
    _Spec(
        "DEMO-P-PHARM",
        "百姓大药房",
        "medical",
        "滨江店",
        "pharmacy",
        "PHARM-001",
        ("masked_name", "card_status"),
        _VERIFY,
        (("药店购药刷卡", ("physical", "ecard", "finance"), date(2024, 9, 1)),),
    ),
    _Spec(
        "DEMO-P-BUS",
        "市公交集团",
        "transport",
        "1路公交",
        "transit",
        "BUS-001",
        ("masked_name",),
        _VERIFY,
        (("乘坐公交（刷卡/扫码）", ("physical", "ecard", "transport"), date(2025, 1, 1)),),
    ),
    _Spec(
        "DEMO-P-LIB",
        "市图书馆",
        "culture_tourism",
        "总馆借阅台",
        "library",
        "LIB-001",
        ("masked_name", "card_status"),
        _VERIFY,
        (("持卡借阅图书", ("physical", "ecard", "identity"), date(2024, 12, 1)),),
    ),
    _Spec(
        "DEMO-P-MUSEUM",
        "市博物馆",
        "culture_tourism",
        "入口闸机",
        "museum",
        "MUS-001",
        ("masked_name",),
        _VERIFY,
        (("刷卡入馆参观", ("physical", "ecard", "identity"), date(2025, 5, 18)),),
    ),
    _Spec(
        "DEMO-P-SCENIC",
        "梁子湖景区",
        "culture_tourism",
        "南门检票口",
        "scenic_spot",
        "SCENIC-001",
        ("masked_name",),
        _VERIFY,
        (("持卡入园（惠民门票）", ("physical", "ecard", "identity"), date(2025, 4, 1)),),
    ),
    _Spec(
        "DEMO-P-SPORTS",
        "市体育中心",
        "sports",
        "游泳馆",
        "sports_venue",
        "SPORTS-001",
        ("masked_name",),
        _VERIFY,
        (("场馆预约入场", ("physical", "ecard", "identity"), date(2025, 6, 1)),),
    ),
    _Spec(
        "DEMO-P-HALL",
        "市政务服务中心",
        "government",
        "综合窗口",
        "service_hall",
        "HALL-001",
        ("full_name", "gender", "birth_date", "masked_id_number", "card_status", "life_status"),
        _VERIFY,
        (("持卡办理政务服务", ("physical", "ecard", "identity"), date(2024, 1, 1)),),
    ),
    _Spec(
        "DEMO-P-BANK",
        "农业银行鄂州分行（一卡通）",
        "finance",
        "城区营业部",
        "bank_branch",
        "BANK-001",
        ("full_name", "card_number", "card_status"),
        _VERIFY,
        (("社保卡金融账户存取款", ("physical", "finance"), date(2023, 7, 1)),),
    ),
)
# The hospital's terminals serve the identity bench: its limit is set high enough not to be
# what the bench measures (the limiter still runs on every call).
HOSPITAL_RATE_LIMIT: Final[int] = 600_000


@dataclass(frozen=True, slots=True)
class DemoPartnerAccount:
    username: str
    role: str
    role_label: str
    organisation: str


def demo_terminals_path() -> Path:
    return Path(settings.DATA_DIR) / "partners" / "demo_terminals.json"


def _card_centre_actor(city_code: str) -> User:
    centre = Organisation.objects.filter(
        kind=OrganisationKind.CARD_CENTRE, region__code__startswith=city_code[:4]
    ).first()
    actor = (
        User.objects.filter(organisation=centre, roles__role=Role.CARD_CENTRE_OPERATOR).first()
        if centre is not None
        else None
    )
    if actor is None:
        actor = User.objects.filter(roles__role=Role.CARD_CENTRE_OPERATOR).first()
    if actor is None:
        raise RuntimeError("演示数据缺少社保卡管理中心经办账号")
    return actor


@transaction.atomic
def demo_seed(*, city_code: str, password: str) -> list[DemoPartnerAccount]:
    actor = _card_centre_actor(city_code)
    city = Region.objects.get(code=city_code)
    districts = list(
        Region.objects.filter(code__startswith=city_code[:4], level=3).order_by("code")
    )
    credentials: list[dict[str, str]] = []
    for n, spec in enumerate(SPECS):
        region = districts[n % len(districts)] if districts else city
        partner = Partner.objects.filter(organisation__code=spec.code).first()
        if partner is None:
            partner = partner_register(
                actor=actor,
                name=spec.name,
                field=spec.field,
                region=region,
                code=spec.code,
                contact_name="演示联系人",
                contact_phone="027-60000000",
            )
        if partner.status == PartnerStatus.APPLIED:
            partner = partner_approve(actor=actor, partner_id=partner.pk, reason="演示数据")
        partner_set_scopes(
            actor=actor, partner_id=partner.pk, fields=spec.fields, services=spec.services
        )
        if spec.kind == "hospital":
            partner_set_rate_limit(
                actor=actor, partner_id=partner.pk, per_minute=HOSPITAL_RATE_LIMIT
            )
        point = ServicePoint.objects.filter(partner=partner, name=spec.point).first()
        if point is None:
            point = service_point_create(
                actor=actor,
                partner_id=partner.pk,
                name=spec.point,
                region=region,
                kind=spec.kind,
                address=f"{region.name}演示路{n + 1}号",
            )
        terminal = Terminal.objects.filter(code=spec.terminal).first()
        if terminal is None:
            credential = terminal_issue(
                actor=actor, service_point_id=point.pk, code=spec.terminal, name="演示终端"
            )
        else:
            credential = terminal_rotate_secret(actor=actor, terminal_id=terminal.pk)
        credentials.append(
            {
                "partner": spec.name,
                "terminal": spec.terminal,
                "client_id": credential.client_id,
                "client_secret": credential.client_secret,
            }
        )
        for name, functions, since in spec.directory:
            if not DirectoryService.objects.filter(partner=partner, name=name).exists():
                directory_service_create(
                    actor=actor,
                    partner_id=partner.pk,
                    name=name,
                    field=spec.field,
                    card_functions=functions,
                    regions=[city],
                    since=since,
                    service_point_ids=[point.pk],
                )
    path = demo_terminals_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps(credentials, ensure_ascii=False, indent=2), encoding="utf-8")

    hospital = Partner.objects.select_related("organisation").get(organisation__code=SPECS[0].code)
    if not User.objects.filter(username="partner").exists():
        user_create(
            actor=None,
            username="partner",
            password=password,
            organisation=hospital.organisation,
            roles=[Role.PARTNER_OPERATOR],
            full_name="演示医院经办",
        )
    return [
        DemoPartnerAccount(
            username="partner",
            role=str(Role.PARTNER_OPERATOR),
            role_label=Role.PARTNER_OPERATOR.label,
            organisation=hospital.organisation.name,
        )
    ]
