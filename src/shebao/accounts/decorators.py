"""View guards shared by the staff pages.

`login_required` alone lets every signed-in account in, card holders (持卡人, signed in
through the portal) and partner staff (合作机构经办) included; the access matrix (ADR 0014)
found about a dozen staff pages guarded that way. `staff_required` turns those two away with
403 before the view runs, so a staff page never depends on its selectors returning an empty
page for them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from shebao.accounts.choices import Role

# Roles of the offices that run the programme: everyone but holders and partner staff.
OFFICE_ROLES: frozenset[str] = frozenset(Role.values) - {Role.CITIZEN, Role.PARTNER_OPERATOR}


def is_office_staff(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return bool(OFFICE_ROLES & set(getattr(user, "role_codes", ())))


_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def staff_required(view: _View) -> _View:
    """Signed-in office staff only: the anonymous visitor goes to the sign-in page, a holder
    or a partner operator gets 403 (the same for every object, so nothing is revealed)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_office_staff(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return cast(_View, wrapped)
