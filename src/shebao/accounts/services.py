"""Writes for organisations, users, roles and API tokens. Each runs in a transaction and
writes its audit row in that same transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.models import ApiToken, Organisation, User, UserRole
from shebao.errors import NotFound, ValidationFailed
from shebao.geo.models import Region

TOKEN_PREFIX = "sb_"  # noqa: S105 - a public marker of our tokens, not a secret


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def organisation_create(
    *,
    actor: User | None,
    code: str,
    name: str,
    kind: OrganisationKind | str,
    region: Region,
    parent: Organisation | None = None,
    credit_code: str = "",
) -> Organisation:
    if kind not in OrganisationKind.values:
        raise ValidationFailed(f"未知的机构类型：{kind}", code="ORGANISATION_KIND_INVALID")
    if kind == OrganisationKind.BANK_BRANCH and (
        parent is None or parent.kind not in (OrganisationKind.BANK, OrganisationKind.BANK_BRANCH)
    ):
        raise ValidationFailed("银行网点必须隶属于合作银行", code="BRANCH_NEEDS_BANK")
    org = Organisation(
        code=code, name=name, kind=kind, region=region, parent=parent, credit_code=credit_code
    )
    try:
        org.full_clean()
    except ValidationError as exc:
        raise ValidationFailed("机构信息不完整或有误", details=[exc.message_dict]) from exc
    org.save()
    audit_record(
        actor=actor, action=AuditAction.CREATE, target_type="organisation", target_id=org.pk
    )
    return org


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    organisation: Organisation | None,
    roles: Iterable[Role | str],
    full_name: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
) -> User:
    roles = list(dict.fromkeys(roles))
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationFailed(f"未知的角色：{'、'.join(unknown)}", code="ROLE_INVALID")
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(f"用户名 {username} 已存在", code="USERNAME_TAKEN")
    user = User(
        username=username,
        full_name=full_name,
        organisation=organisation,
        is_staff=is_staff or Role.SYSTEM_ADMIN in roles,
        is_superuser=is_superuser,
    )
    # Services also run from the CLI, outside any request: speak Chinese there too, and
    # render the lazy messages while the language is active.
    with translation.override("zh-hans"):
        try:
            validate_password(password, user)
        except ValidationError as exc:
            problems = "；".join(str(m) for m in exc.messages)
            raise ValidationFailed(f"密码不符合安全要求：{problems}", code="PASSWORD_WEAK") from exc
    user.set_password(password)
    user.save()
    UserRole.objects.bulk_create([UserRole(user=user, role=r) for r in roles])
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target_type="user",
        target_id=user.pk,
        detail={"roles": roles},
    )
    return user


@transaction.atomic
def api_token_create(
    *, actor: User, owner: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its one-time plain text (never stored)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=owner, name=name, prefix=raw[:10], digest=_digest(raw), expires_at=expires_at
    )
    audit_record(
        actor=actor, action=AuditAction.TOKEN_CREATE, target_type="api_token", target_id=token.pk
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action=AuditAction.TOKEN_REVOKE,
            target_type="api_token",
            target_id=token.pk,
        )
    return token


def api_token_authenticate(raw: str) -> User | None:
    """The active user behind a bearer token, or None. Comparison is on the digest."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user", "user__organisation__region")
        .filter(digest=_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
