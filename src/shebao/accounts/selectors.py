from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from shebao.accounts.choices import Role
from shebao.accounts.models import ApiToken, AuditEvent, User
from shebao.accounts.scoping import Scope
from shebao.errors import PermissionDenied

AUDIT_VIEWER_ROLES = (Role.AUDITOR, Role.SYSTEM_ADMIN)


@dataclass(frozen=True)
class AuditFilter:
    username: str = ""
    action: str = ""
    person_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def audit_event_list(*, actor: User, filters: AuditFilter) -> QuerySet[AuditEvent]:
    """Audit events visible to an auditor: those of organisations inside the auditor's
    region subtree, and the events of nobody's organisation — anonymous self-service checks
    and applications, failed logins under unknown names, the system's own jobs — which no
    region owns (all of them for a system administrator)."""
    if not (actor.is_superuser or actor.has_role(*AUDIT_VIEWER_ROLES)):
        raise PermissionDenied("只有审计员和系统管理员可以查看审计日志", code="ROLE_REQUIRED")
    scope = Scope.for_user(actor)
    qs = AuditEvent.objects.all()
    if not scope.unrestricted:
        from shebao.accounts.models import Organisation

        org_ids = scope.filter(Organisation.objects.all(), region_fields=("region__code",)).values(
            "pk"
        )
        qs = qs.filter(Q(organisation_id__in=org_ids) | Q(organisation_id__isnull=True))
    if filters.username:
        qs = qs.filter(username__icontains=filters.username)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.person_id is not None:
        qs = qs.filter(person_id=filters.person_id)
    if filters.since is not None:
        qs = qs.filter(at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(at__lt=filters.until)
    return qs.order_by("-at", "-id")


def api_token_list(*, actor: User) -> QuerySet[ApiToken]:
    """The tokens an account page lists: one's own; a system administrator sees everyone's."""
    tokens = ApiToken.objects.select_related("user").order_by("revoked_at", "-created_at")
    if actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN):
        return tokens
    return tokens.filter(user=actor)
