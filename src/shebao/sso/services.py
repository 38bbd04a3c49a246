"""Writes of single sign-on: the citizen's session, consents, and QR sign-ins.

citizen_session_start(request, user=holder, acr=Assurance.SMS)   # after o1's SMS check
consent_grant(user=..., application=..., scopes=[...])
consent_revoke(user=..., consent_id=...)                          # deletes its tokens
qr = qr_login_start(application=..., scopes=...)                  # the computer
qr_login_decide(token=..., user=holder, allow=True)               # the phone
user = qr_login_complete(qr_id=..., browser_secret=...)           # the computer again
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.models import (
    AbstractApplication,
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from shebao.accounts.audit import audit_record
from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import User
from shebao.errors import NotFound, PermissionDenied, ValidationFailed
from shebao.sso.choices import Assurance, QrLoginStatus
from shebao.sso.domain import qr_next_status
from shebao.sso.holders import holder_person_id
from shebao.sso.models import Consent, QrLogin

SESSION_ACR: Final[str] = "sso_acr"
SESSION_QR: Final[str] = "sso_qr"
QR_LIFETIME: Final[timedelta] = timedelta(minutes=2)
_BACKEND: Final[str] = "shebao.accounts.backends.LockoutModelBackend"


def citizen_session_start(request: HttpRequest, *, user: User, acr: str) -> None:
    """Sign this browser in as a holder at assurance level `acr` (after the holder's own
    check: SMS code or the e-card confirmation). Replaces any earlier session."""
    if acr not in Assurance.values:
        raise ValidationFailed("认证级别不正确", code="SSO_ACR_INVALID")
    if holder_person_id(user) is None:
        raise PermissionDenied("该账号不是持卡人账号", code="SSO_NOT_HOLDER")
    login(request, user, backend=_BACKEND)
    request.session[SESSION_ACR] = acr


def session_assurance(request: HttpRequest) -> str:
    """The assurance level of this browser's holder session, '' when not a holder's."""
    user = request.user
    if not user.is_authenticated or holder_person_id(user) is None:
        return ""
    return str(request.session.get(SESSION_ACR, ""))


def _scope_text(scopes: list[str] | str) -> str:
    items = scopes.split() if isinstance(scopes, str) else scopes
    return " ".join(sorted(set(items)))


def consent_covering(*, user: User, application: AbstractApplication, scopes: list[str]) -> bool:
    consent = Consent.objects.filter(
        user=user, application=application, revoked_at__isnull=True
    ).first()
    return consent is not None and set(scopes) <= set(consent.scope_list)


@transaction.atomic
def consent_grant(*, user: User, application: AbstractApplication, scopes: list[str]) -> Consent:
    """Record the holder's permission for a portal; a wider request widens the active one."""
    person_id = holder_person_id(user)
    if person_id is None:
        raise PermissionDenied("该账号不是持卡人账号", code="SSO_NOT_HOLDER")
    consent = (
        Consent.objects.select_for_update()
        .filter(user=user, application=application, revoked_at__isnull=True)
        .first()
    )
    if consent is None:
        consent = Consent(user=user, application=application, scopes=_scope_text(scopes))
    else:
        consent.scopes = _scope_text(consent.scope_list + list(scopes))
        consent.granted_at = timezone.now()
    consent.full_clean()
    consent.save()
    audit_record(
        actor=user,
        action=AuditAction.CONSENT_GRANT,
        target_type="sso_consent",
        target_id=consent.pk,
        person_id=person_id,
        purpose=Purpose.SINGLE_SIGN_ON,
        detail={"client": application.name, "scopes": consent.scope_list},
    )
    return consent


def sso_login_record(
    *, user: User, application: AbstractApplication, scopes: list[str], acr: str
) -> None:
    """The audit row of one sign-in to a portal: the citizen sees it on his or her page as
    the portal having received the listed data."""
    with transaction.atomic():
        audit_record(
            actor=user,
            action=AuditAction.SSO_LOGIN,
            target_type="oauth_application",
            target_id=application.pk,
            person_id=holder_person_id(user),
            purpose=Purpose.SINGLE_SIGN_ON,
            detail={"client": application.name, "scopes": sorted(scopes), "acr": acr},
        )


@transaction.atomic
def consent_revoke(*, user: User, consent_id: int) -> Consent:
    """End a consent and delete every token and code the portal holds for this citizen, so
    the portal can neither call userinfo nor refresh."""
    consent = (
        Consent.objects.select_for_update()
        .select_related("application")
        .filter(pk=consent_id, user=user)
        .first()
    )
    if consent is None:
        raise NotFound("授权记录不存在", code="SSO_CONSENT_NOT_FOUND")
    if consent.revoked_at is not None:
        raise ValidationFailed("该授权已撤销", code="SSO_CONSENT_ALREADY_REVOKED")
    consent.revoked_at = timezone.now()
    consent.save(update_fields=["revoked_at"])
    application = consent.application
    get_refresh_token_model().objects.filter(user=user, application=application).delete()
    get_access_token_model().objects.filter(user=user, application=application).delete()
    get_id_token_model().objects.filter(user=user, application=application).delete()
    get_grant_model().objects.filter(user=user, application=application).delete()
    audit_record(
        actor=user,
        action=AuditAction.CONSENT_REVOKE,
        target_type="sso_consent",
        target_id=consent.pk,
        person_id=holder_person_id(user),
        purpose=Purpose.SINGLE_SIGN_ON,
        detail={"client": application.name, "scopes": consent.scope_list},
    )
    return consent


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class QrStarted:
    qr: QrLogin
    browser_secret: str


def qr_login_start(*, application: AbstractApplication | None, scopes: str) -> QrStarted:
    """A new QR sign-in for this computer's browser; the secret stays in its session."""
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    qr = QrLogin.objects.create(
        token=secrets.token_urlsafe(32),
        browser_key_hash=_secret_hash(secret),
        application=application,
        scopes=_scope_text(scopes),
        created_at=now,
        expires_at=now + QR_LIFETIME,
    )
    return QrStarted(qr=qr, browser_secret=secret)


_QR_REFUSALS: Final[dict[str, tuple[str, str]]] = {
    "expired": ("二维码已过期，请在电脑上刷新后重新扫码", "SSO_QR_EXPIRED"),
    "pending": ("请先在手机上确认登录", "SSO_QR_NOT_CONFIRMED"),
    "confirmed": ("该登录已确认", "SSO_QR_ALREADY_DECIDED"),
    "completed": ("该二维码已使用", "SSO_QR_USED"),
    "refused": ("持卡人已拒绝本次登录", "SSO_QR_REFUSED"),
}


def _transition(qr: QrLogin, transition: str) -> str:
    try:
        return qr_next_status(
            status=qr.status, transition=transition, expires_at=qr.expires_at, now=timezone.now()
        )
    except ValueError as exc:
        message, code = _QR_REFUSALS[str(exc)]
        raise ValidationFailed(message, code=code) from exc


def qr_login_for_phone(*, token: str) -> QrLogin:
    qr = QrLogin.objects.select_related("application").filter(token=token).first()
    if qr is None:
        raise NotFound("二维码无效", code="SSO_QR_UNKNOWN")
    return qr


@transaction.atomic
def qr_login_decide(*, token: str, user: User, allow: bool) -> QrLogin:
    """The holder, signed in on the phone, confirms or refuses the sign-in shown."""
    if holder_person_id(user) is None:
        raise PermissionDenied("请先以持卡人身份登录电子社保卡", code="SSO_NOT_HOLDER")
    qr = QrLogin.objects.select_for_update().filter(token=token).first()
    if qr is None:
        raise NotFound("二维码无效", code="SSO_QR_UNKNOWN")
    qr.status = _transition(qr, "confirm" if allow else "refuse")
    qr.user = user
    qr.decided_at = timezone.now()
    qr.save(update_fields=["status", "user", "decided_at"])
    return qr


def _own_qr(qr_id: int, browser_secret: str, *, lock: bool) -> QrLogin:
    rows = QrLogin.objects.select_for_update() if lock else QrLogin.objects.all()
    qr = rows.filter(pk=qr_id).first()
    if qr is None or not hmac.compare_digest(qr.browser_key_hash, _secret_hash(browser_secret)):
        raise NotFound("扫码登录不存在", code="SSO_QR_UNKNOWN")
    return qr


def qr_login_status(*, qr_id: int, browser_secret: str) -> tuple[str, int]:
    """What the computer's page shows while it waits: status and seconds left."""
    qr = _own_qr(qr_id, browser_secret, lock=False)
    left = int((qr.expires_at - timezone.now()).total_seconds())
    if qr.status in (QrLoginStatus.PENDING, QrLoginStatus.CONFIRMED) and left <= 0:
        return "expired", 0
    return qr.status, max(left, 0)


@transaction.atomic
def qr_login_complete(*, qr_id: int, browser_secret: str) -> User:
    """Once only: the holder who confirmed on the phone, for this browser to sign in as."""
    qr = _own_qr(qr_id, browser_secret, lock=True)
    qr.status = _transition(qr, "complete")
    qr.save(update_fields=["status"])
    if qr.user is None:  # the check constraint makes this impossible
        raise NotFound("扫码登录不存在", code="SSO_QR_UNKNOWN")
    return qr.user
