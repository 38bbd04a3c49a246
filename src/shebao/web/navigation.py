"""The navigation menu by role. Each entry names the roles that see it (empty: everyone)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from shebao.accounts.choices import Role
from shebao.accounts.models import User


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str] = frozenset()
    staff_only: bool = False


NAV: tuple[NavItem, ...] = (
    NavItem("首页", "web:home"),
)


def menu_for(user: User) -> list[dict[str, str]]:
    items = []
    for item in NAV:
        if item.staff_only and not user.is_staff:
            continue
        if item.roles and not (user.is_superuser or user.has_role(*item.roles)):
            continue
        items.append({"label": item.label, "url": reverse(item.url_name)})
    return items


__all__ = ["NAV", "NavItem", "Role", "menu_for"]
