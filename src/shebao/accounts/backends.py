"""Authentication with lockout after repeated failures, every attempt audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User


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
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            User().set_password(password)  # same cost as a real check: no user enumeration
            with transaction.atomic():
                audit_record(actor=None, action=AuditAction.LOGIN_FAILED, username=username)
            return None
        if user.is_locked():
            with transaction.atomic():
                audit_record(actor=user, action=AuditAction.LOGIN_FAILED, detail={"locked": True})
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            if user.failed_login_count:
                User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
                user.failed_login_count = 0
            return user
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(failed_login_count=F("failed_login_count") + 1)
            user.refresh_from_db(fields=["failed_login_count"])
            audit_record(actor=user, action=AuditAction.LOGIN_FAILED)
            if user.failed_login_count >= settings.SHEBAO_LOCKOUT_THRESHOLD:
                until = timezone.now() + timedelta(minutes=settings.SHEBAO_LOCKOUT_MINUTES)
                User.objects.filter(pk=user.pk).update(locked_until=until, failed_login_count=0)
                audit_record(
                    actor=user, action=AuditAction.LOCKED_OUT, detail={"until": until.isoformat()}
                )
        return None
