"""Authentication with lockout per (username, client) after repeated failures, every attempt
audited.

Failures are counted per username and client address (`LoginThrottle`), for unknown names
exactly as for real ones: the lockout neither reveals which names exist nor lets anyone lock
an account out from everywhere. While a pair is locked even the right password is refused,
and the login form gives the same answer in all three cases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import SECOND_FACTOR_ROLES, AuditAction
from shebao.accounts.context import current_request
from shebao.accounts.models import LoginThrottle, User


def login_client(request: HttpRequest | None) -> str:
    """The client address failures are counted under (the audit log's address)."""
    address = current_request.get().ip_address
    if not address and request is not None:
        address = request.META.get("REMOTE_ADDR")
    return (address or "")[:64]


def login_locked(*, username: str, client: str) -> bool:
    throttle = LoginThrottle.objects.filter(username=username, client=client).first()
    return throttle is not None and throttle.is_locked()


def record_login_failure(
    *,
    user: User | None,
    username: str,
    client: str,
    action: AuditAction = AuditAction.LOGIN_FAILED,
) -> bool:
    """One more failure for the pair (a wrong password, or a wrong one-time code after the
    right password); the threshold locks it for the configured minutes. True when this
    failure locked the pair."""
    with transaction.atomic():
        throttle, _ = LoginThrottle.objects.select_for_update().get_or_create(
            username=username, client=client
        )
        throttle.failures += 1
        audit_record(actor=user, action=action, username=username)
        locked = False
        if throttle.failures >= settings.SHEBAO_LOCKOUT_THRESHOLD:
            throttle.locked_until = timezone.now() + timedelta(
                minutes=settings.SHEBAO_LOCKOUT_MINUTES
            )
            throttle.failures = 0
            locked = True
            audit_record(
                actor=user,
                action=AuditAction.LOCKED_OUT,
                username=username,
                detail={"until": throttle.locked_until.isoformat(), "client": client},
            )
        throttle.save()
    return locked


def login_failures_clear(*, username: str, client: str) -> None:
    LoginThrottle.objects.filter(username=username, client=client).delete()


def second_factor_required(user: User) -> bool:
    """Card-centre, bank, auditor and administrator accounts (and anyone who may open the
    admin site) sign in with a one-time code after the password."""
    return user.is_superuser or user.is_staff or user.has_role(*SECOND_FACTOR_ROLES)


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None or password is None:
            return None
        username = username[:150]
        client = login_client(request)
        user = User.objects.filter(username=username).first()
        if login_locked(username=username, client=client):
            User().set_password(password)  # same cost as a real check
            with transaction.atomic():
                audit_record(
                    actor=user,
                    action=AuditAction.LOGIN_FAILED,
                    username=username,
                    detail={"locked": True},
                )
            return None
        if user is None:
            User().set_password(password)  # same cost as a real check: no user enumeration
            record_login_failure(user=None, username=username, client=client)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            # With a second factor to come, the failures stay counted until the code is
            # right too: otherwise the password alone would reset the count of wrong codes.
            if not second_factor_required(user):
                login_failures_clear(username=username, client=client)
            return user
        record_login_failure(user=user, username=username, client=client)
        return None
