"""Writes for organisations, users, roles and API tokens. Each runs in a transaction and
writes its audit row in that same transaction."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import ApiScope, AuditAction, OrganisationKind, Role
from shebao.accounts.models import ApiToken, Organisation, User, UserRole
from shebao.errors import NotFound, ValidationFailed
from shebao.geo.models import Region

TOKEN_PREFIX = "sb_"  # noqa: S105 - a public marker of our tokens, not a secret
API_TOKEN_MAX_DAYS = 365


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


def api_token_scope_choices() -> list[tuple[str, str]]:
    """The scopes a token may be given (every API router; each router still checks roles)."""
    return [(str(value), str(label)) for value, label in ApiScope.choices]


@transaction.atomic
def api_token_create(
    *,
    actor: User,
    owner: User,
    name: str,
    expires_at: datetime | None = None,
    scopes: Iterable[str] | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its one-time plain text (never stored).

    Without `scopes` the token may call every router its owner's roles allow; without
    `expires_at` it lasts the longest allowed (`API_TOKEN_MAX_DAYS`)."""
    name = name.strip()
    if not name:
        raise ValidationFailed("请填写令牌用途", code="TOKEN_NAME_REQUIRED")
    if len(name) > 64:
        raise ValidationFailed("令牌用途不能超过 64 个字", code="TOKEN_NAME_TOO_LONG")
    now = timezone.now()
    latest = now + timedelta(days=API_TOKEN_MAX_DAYS)
    if expires_at is None:
        expires_at = latest
    elif expires_at > latest + timedelta(minutes=1):
        raise ValidationFailed(
            f"令牌有效期最长 {API_TOKEN_MAX_DAYS} 天", code="TOKEN_EXPIRY_TOO_LONG"
        )
    chosen = list(dict.fromkeys(ApiScope.values if scopes is None else scopes))
    unknown = [s for s in chosen if s not in ApiScope.values]
    if unknown:
        raise ValidationFailed(f"未知的接口范围：{'、'.join(unknown)}", code="TOKEN_SCOPE_INVALID")
    if not chosen:
        raise ValidationFailed("请至少选择一个可调用的接口", code="TOKEN_SCOPE_REQUIRED")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=owner,
        name=name,
        prefix=raw[:10],
        digest=_digest(raw),
        expires_at=expires_at,
        scopes=chosen,
    )
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_CREATE,
        target_type="api_token",
        target_id=token.pk,
        detail={
            "owner": owner.username,
            "scopes": chosen,
            "expires_at": expires_at.isoformat(),
        },
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke a token: its owner may, and a system administrator may revoke anyone's.
    Another user's token answers as if it did not exist."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
    if token is None or not api_token_manageable(actor=actor, owner_id=token.user_id):
        raise NotFound("令牌不存在", code="TOKEN_NOT_FOUND")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action=AuditAction.TOKEN_REVOKE,
            target_type="api_token",
            target_id=token.pk,
            detail={"owner_id": token.user_id},
        )
    return token


def api_token_manageable(*, actor: User, owner_id: int) -> bool:
    """A user manages his own tokens; a system administrator manages everyone's."""
    return actor.pk == owner_id or actor.is_superuser or actor.has_role(Role.SYSTEM_ADMIN)


def api_token_resolve(raw: str) -> ApiToken | None:
    """The active token behind a bearer string (with its active user), or None.
    Comparison is on the digest; a successful use stamps `last_used_at`."""
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
    return token


def api_token_authenticate(raw: str) -> User | None:
    """The active user behind a bearer token, or None."""
    token = api_token_resolve(raw)
    return None if token is None else token.user
