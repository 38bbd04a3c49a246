"""Reads of single sign-on for the citizen's pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from oauth2_provider.scopes import get_scopes_backend

from shebao.accounts.models import User
from shebao.sso.models import Consent


@dataclass(frozen=True, slots=True)
class ConsentRow:
    pk: int
    client: str
    scopes: list[str]
    granted_at: datetime
    revoked_at: datetime | None


def consent_list(*, user: User) -> list[ConsentRow]:
    """The citizen's portal authorisations, active first, with the scopes in Chinese."""
    described = get_scopes_backend().get_all_scopes()
    rows = (
        Consent.objects.filter(user=user)
        .select_related("application")
        .order_by("revoked_at", "-granted_at")
    )
    return [
        ConsentRow(
            pk=c.pk,
            client=c.application.name,
            scopes=[str(described.get(s, s)) for s in c.scope_list],
            granted_at=c.granted_at,
            revoked_at=c.revoked_at,
        )
        for c in rows
    ]
