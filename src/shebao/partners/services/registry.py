"""The partner registry: partners and their life cycle, service points, terminals with their
OAuth2 client credentials, granted scopes, rate limits, webhook and the application directory.

Every change is one function, in one transaction, audited with the acting card-centre user.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.accounts.services import organisation_create
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.geo.models import Region
from shebao.partners.choices import (
    CardFunction,
    DirectoryStatus,
    PartnerField,
    PartnerStatus,
    ServicePointKind,
)
from shebao.partners.domain.lifecycle import PartnerEvent, next_status
from shebao.partners.domain.scopes import parse_fields, parse_services
from shebao.partners.models import DirectoryService, Partner, ServicePoint, Terminal

__all__ = [
    "TerminalCredential",
    "directory_service_create",
    "partner_approve",
    "partner_end",
    "partner_register",
    "partner_resume",
    "partner_set_rate_limit",
    "partner_set_scopes",
    "partner_set_webhook",
    "partner_suspend",
    "service_point_create",
    "terminal_deactivate",
    "terminal_issue",
    "terminal_rotate_secret",
]

# Who runs the platform: approves partners, issues terminals, grants scopes.
CARD_CENTRE_ROLES = frozenset({Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN})
MAX_RATE_LIMIT = 1_000_000


def require_card_centre(actor: User) -> None:
    if not (actor.is_superuser or actor.has_role(*CARD_CENTRE_ROLES)):
        raise PermissionDenied("只有社保卡管理中心可以管理合作机构", code="CARD_CENTRE_ONLY")


def _audit(actor: User | None, action: AuditAction, obj: Any, **detail: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        target_type=obj._meta.model_name,
        target_id=obj.pk,
        detail=detail,
    )


def _locked_partner(partner_id: int) -> Partner:
    partner = (
        Partner.objects.select_for_update()
        .select_related("organisation")
        .filter(pk=partner_id)
        .first()
    )
    if partner is None:
        raise NotFound("未找到该合作机构", code="PARTNER_NOT_FOUND")
    return partner


@transaction.atomic
def partner_register(
    *,
    actor: User | None,
    name: str,
    field: str,
    region: Region,
    code: str = "",
    credit_code: str = "",
    contact_name: str = "",
    contact_phone: str = "",
) -> Partner:
    """A partner applies (已申请): its organisation (kind 合作机构) and partner record. It
    can do nothing until the card centre approves it and grants scopes."""
    name = name.strip()
    if not name:
        raise ValidationFailed("请填写机构名称", code="PARTNER_NAME_REQUIRED")
    if field not in PartnerField.values:
        raise ValidationFailed(f"未知的应用领域“{field}”", code="PARTNER_FIELD_INVALID")
    code = code.strip() or f"P{secrets.token_hex(4).upper()}"
    if Organisation.objects.filter(code=code).exists():
        raise ValidationFailed(f"机构编码 {code} 已存在", code="PARTNER_CODE_TAKEN")
    organisation = organisation_create(
        actor=actor,
        code=code,
        name=name,
        kind=OrganisationKind.PARTNER,
        region=region,
        credit_code=credit_code,
    )
    partner = Partner(
        organisation=organisation,
        field=field,
        contact_name=contact_name.strip(),
        contact_phone=contact_phone.strip(),
        granted_services=[],
        granted_fields=[],
    )
    partner.full_clean()
    partner.save()
    _audit(actor, AuditAction.CREATE, partner, field=field)
    return partner


def _transition(actor: User, partner_id: int, event: PartnerEvent, reason: str) -> Partner:
    require_card_centre(actor)
    partner = _locked_partner(partner_id)
    before = partner.status
    partner.status = next_status(partner.status, event)
    fields = ["status"]
    if event is PartnerEvent.APPROVE:
        partner.approved_at = timezone.now()
        fields.append("approved_at")
    partner.save(update_fields=fields)
    # A partner that is not approved keeps no way in: its organisation is switched off with
    # it, which also ends its operators' scope (accounts.scoping refuses inactive orgs).
    active = partner.status == PartnerStatus.APPROVED
    if partner.organisation.is_active != active and partner.status != PartnerStatus.APPLIED:
        Organisation.objects.filter(pk=partner.organisation_id).update(is_active=active)
    _audit(
        actor,
        AuditAction.APPROVE if event is PartnerEvent.APPROVE else AuditAction.UPDATE,
        partner,
        event=str(event),
        from_status=before,
        to_status=partner.status,
        reason=reason.strip()[:200],
    )
    return partner


@transaction.atomic
def partner_approve(*, actor: User, partner_id: int, reason: str = "") -> Partner:
    return _transition(actor, partner_id, PartnerEvent.APPROVE, reason)


@transaction.atomic
def partner_suspend(*, actor: User, partner_id: int, reason: str) -> Partner:
    if not reason.strip():
        raise ValidationFailed("暂停合作机构须填写原因", code="REASON_REQUIRED")
    return _transition(actor, partner_id, PartnerEvent.SUSPEND, reason)


@transaction.atomic
def partner_resume(*, actor: User, partner_id: int, reason: str = "") -> Partner:
    return _transition(actor, partner_id, PartnerEvent.RESUME, reason)


@transaction.atomic
def partner_end(*, actor: User, partner_id: int, reason: str) -> Partner:
    if not reason.strip():
        raise ValidationFailed("终止合作须填写原因", code="REASON_REQUIRED")
    partner = _transition(actor, partner_id, PartnerEvent.END, reason)
    Terminal.objects.filter(service_point__partner=partner).update(is_active=False)
    return partner


@transaction.atomic
def partner_set_scopes(
    *, actor: User, partner_id: int, fields: Iterable[str], services: Iterable[str]
) -> Partner:
    """Grant exactly these person fields and services (what is not listed is withdrawn)."""
    require_card_centre(actor)
    partner = _locked_partner(partner_id)
    before = (list(partner.granted_fields), list(partner.granted_services))
    partner.granted_fields = parse_fields(fields)
    partner.granted_services = parse_services(services)
    partner.save(update_fields=["granted_fields", "granted_services"])
    _audit(
        actor,
        AuditAction.UPDATE,
        partner,
        scopes_before={"fields": before[0], "services": before[1]},
        scopes={"fields": partner.granted_fields, "services": partner.granted_services},
    )
    return partner


@transaction.atomic
def partner_set_rate_limit(*, actor: User, partner_id: int, per_minute: int) -> Partner:
    require_card_centre(actor)
    if not 1 <= per_minute <= MAX_RATE_LIMIT:
        raise ValidationFailed(
            f"每分钟调用上限须在 1 至 {MAX_RATE_LIMIT} 之间", code="RATE_LIMIT_INVALID"
        )
    partner = _locked_partner(partner_id)
    before = partner.rate_limit_per_minute
    partner.rate_limit_per_minute = per_minute
    partner.save(update_fields=["rate_limit_per_minute"])
    _audit(actor, AuditAction.UPDATE, partner, rate_limit_before=before, rate_limit=per_minute)
    return partner


@transaction.atomic
def partner_set_webhook(*, actor: User, partner_id: int, url: str) -> tuple[Partner, str]:
    """Register (or, with an empty URL, remove) the partner's change-notification URL.
    Returns the partner and its new signing secret, shown once; notifications start from
    the changes after now (earlier ones stay in the pull feed)."""
    from shebao.registry.models import PersonChange

    require_card_centre(actor)
    partner = _locked_partner(partner_id)
    url = url.strip()
    if url and not url.startswith(("https://", "http://")):
        raise ValidationFailed("通知地址须以 https:// 开头", code="WEBHOOK_URL_INVALID")
    secret = secrets.token_hex(32) if url else ""
    partner.webhook_url = url
    partner.webhook_secret = secret
    partner.webhook_failures = 0
    partner.webhook_next_attempt_at = None
    partner.webhook_last_error = ""
    last = PersonChange.objects.order_by("-pk").values_list("pk", flat=True).first()
    partner.webhook_cursor = last or 0
    partner.full_clean()
    partner.save()
    _audit(actor, AuditAction.UPDATE, partner, webhook=bool(url))
    return partner, secret


@transaction.atomic
def service_point_create(
    *,
    actor: User,
    partner_id: int,
    name: str,
    region: Region,
    kind: str,
    address: str = "",
) -> ServicePoint:
    require_card_centre(actor)
    partner = _locked_partner(partner_id)
    if kind not in ServicePointKind.values:
        raise ValidationFailed(f"未知的网点类型“{kind}”", code="SERVICE_POINT_KIND_INVALID")
    point = ServicePoint(
        partner=partner, name=name.strip(), region=region, kind=kind, address=address.strip()
    )
    point.full_clean()
    point.save()
    _audit(actor, AuditAction.CREATE, point, partner=partner.pk)
    return point


@dataclass(frozen=True)
class TerminalCredential:
    """A terminal and its client secret in plain text: shown once, stored only hashed."""

    terminal: Terminal
    client_id: str
    client_secret: str


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def terminal_issue(
    *, actor: User, service_point_id: int, code: str, name: str = ""
) -> TerminalCredential:
    """A terminal at a service point, with its OAuth2 client (client-credentials grant) and
    a service user of the partner's organisation that its calls are audited under."""
    require_card_centre(actor)
    point = (
        ServicePoint.objects.select_related("partner__organisation")
        .filter(pk=service_point_id)
        .first()
    )
    if point is None:
        raise NotFound("未找到该服务网点", code="SERVICE_POINT_NOT_FOUND")
    code = code.strip().upper()
    if not code or len(code) > 32 or not code.replace("-", "").isalnum():
        raise ValidationFailed("终端编号须为 1-32 位字母、数字或“-”", code="TERMINAL_CODE_INVALID")
    if Terminal.objects.filter(code=code).exists():
        raise ValidationFailed(f"终端编号 {code} 已存在", code="TERMINAL_CODE_TAKEN")
    service_user = User(
        username=f"terminal:{code}"[:150],
        full_name=f"{point.partner.organisation.name} 终端 {code}"[:64],
        organisation=point.partner.organisation,
    )
    service_user.set_unusable_password()
    service_user.save()
    secret = _new_secret()
    application_model = get_application_model()
    application = application_model(
        name=f"{point.partner.organisation.name} {code}"[:255],
        user=service_user,
        client_type=application_model.CLIENT_CONFIDENTIAL,
        authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
    )
    application.save()
    terminal = Terminal.objects.create(
        service_point=point,
        code=code,
        name=name.strip()[:64],
        client_id=application.client_id,
        service_user=service_user,
    )
    _audit(actor, AuditAction.TOKEN_CREATE, terminal, partner=point.partner_id, code=code)
    return TerminalCredential(
        terminal=terminal, client_id=application.client_id, client_secret=secret
    )


def _locked_terminal(terminal_id: int) -> Terminal:
    terminal = Terminal.objects.select_for_update().filter(pk=terminal_id).first()
    if terminal is None:
        raise NotFound("未找到该终端", code="TERMINAL_NOT_FOUND")
    return terminal


def _revoke_tokens(terminal: Terminal) -> None:
    from oauth2_provider.models import get_access_token_model

    get_access_token_model().objects.filter(application__client_id=terminal.client_id).delete()


@transaction.atomic
def terminal_rotate_secret(*, actor: User, terminal_id: int) -> TerminalCredential:
    """A new client secret (shown once); the old one and every token issued with it stop
    working at once."""
    require_card_centre(actor)
    terminal = _locked_terminal(terminal_id)
    application = get_application_model().objects.get(client_id=terminal.client_id)
    secret = _new_secret()
    application.client_secret = secret
    application.save()
    _revoke_tokens(terminal)
    terminal.secret_rotated_at = timezone.now()
    terminal.save(update_fields=["secret_rotated_at"])
    _audit(actor, AuditAction.TOKEN_REVOKE, terminal, rotated=True, code=terminal.code)
    return TerminalCredential(terminal=terminal, client_id=terminal.client_id, client_secret=secret)


@transaction.atomic
def terminal_deactivate(*, actor: User, terminal_id: int) -> Terminal:
    require_card_centre(actor)
    terminal = _locked_terminal(terminal_id)
    terminal.is_active = False
    terminal.save(update_fields=["is_active"])
    _revoke_tokens(terminal)
    _audit(actor, AuditAction.TOKEN_REVOKE, terminal, code=terminal.code)
    return terminal


@transaction.atomic
def directory_service_create(
    *,
    actor: User,
    partner_id: int,
    name: str,
    field: str,
    card_functions: Iterable[str],
    regions: Iterable[Region],
    since: date,
    service_point_ids: Iterable[int] = (),
    status: str = DirectoryStatus.IN_SERVICE,
    description: str = "",
) -> DirectoryService:
    """An entry of the application directory: a service of the partner that accepts the
    card, with the card functions it uses, where and since when."""
    require_card_centre(actor)
    partner = _locked_partner(partner_id)
    # In the directory's own order: 实体卡, 电子卡, 身份凭证, 金融, 交通.
    wanted = set(card_functions)
    functions = [f for f in CardFunction.values if f in wanted]
    unknown = sorted(wanted - set(CardFunction.values))
    if unknown or not functions:
        raise ValidationFailed("请选择有效的用卡功能", code="CARD_FUNCTION_INVALID")
    if field not in PartnerField.values:
        raise ValidationFailed(f"未知的应用领域“{field}”", code="PARTNER_FIELD_INVALID")
    entry = DirectoryService(
        partner=partner,
        name=name.strip(),
        field=field,
        card_functions=functions,
        since=since,
        status=status,
        description=description.strip(),
    )
    entry.full_clean()
    entry.save()
    region_list = list(regions)
    if not region_list:
        raise ValidationFailed("请选择服务区域", code="DIRECTORY_REGION_REQUIRED")
    entry.regions.set(region_list)
    points = list(ServicePoint.objects.filter(partner=partner, pk__in=list(service_point_ids)))
    entry.service_points.set(points)
    _audit(actor, AuditAction.CREATE, entry, partner=partner.pk)
    return entry
