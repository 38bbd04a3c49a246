"""What the payment pages share: the signed-in actor and the role gate."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest

from shebao.accounts.models import User
from shebao.errors import PermissionDenied


def actor_with_roles(request: HttpRequest, roles: Iterable[str]) -> User:
    """The signed-in user, if one of `roles` (or a superuser); otherwise PermissionDenied."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    if not user.is_superuser and not user.has_role(*roles):
        raise PermissionDenied("您的角色不能办理待遇发放业务", code="PAYMENT_ROLE_REQUIRED")
    return user
