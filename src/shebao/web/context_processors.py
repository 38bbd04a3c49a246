from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from shebao.accounts.models import User

SYSTEM_NAME = "社保卡与全民参保登记系统"


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The page shell: system name, the signed-in user's header line and the menu."""
    from shebao.web.navigation import menu_for, menu_sections, role_labels

    context: dict[str, Any] = {"system_name": SYSTEM_NAME, "nav_items": [], "nav_sections": []}
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return context
    items = menu_for(user, request.path)
    organisation = user.organisation
    context.update(
        nav_items=items,
        nav_sections=menu_sections(items),
        header_roles=role_labels(user),
        header_organisation=organisation.name if organisation is not None else "",
    )
    return context
