"""The second factor: a time-based one-time code (TOTP, RFC 6238) from an authenticator app,
kept in django-otp's `TOTPDevice`.

Accounts of the roles in `SECOND_FACTOR_ROLES` (and staff and superusers) are logged in only
after the password AND a code are right (see `shebao.web.login`). Wrong codes count toward
the same per-(username, client) lockout as wrong passwords. Enrolment, every right and wrong
code and an administrator's reset are audited. The secret is shown once, while enrolling;
nothing shows it afterwards (the admin site does not list the devices)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import segno
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from shebao.accounts.audit import audit_record
from shebao.accounts.backends import login_failures_clear, login_locked, record_login_failure
from shebao.accounts.choices import AuditAction
from shebao.accounts.models import User

DEVICE_NAME = "动态口令"
ISSUER = "shebao"


def totp_device(user: User) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if enrolled."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def totp_enrolled(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@transaction.atomic
def totp_enrol_start(user: User) -> TOTPDevice:
    """A fresh unconfirmed device with a new random key (an earlier unconfirmed one is
    dropped, so a key seen on an abandoned enrolment page is useless)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_secret_text(device: TOTPDevice) -> str:
    """The key in Base32, as authenticator apps take it typed in (groups of four)."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def totp_provisioning_uri(device: TOTPDevice, username: str) -> str:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    label = quote(f"{ISSUER}:{username}")
    return (
        f"otpauth://totp/{label}?secret={secret}&issuer={ISSUER}"
        f"&algorithm=SHA1&digits={device.digits}&period={device.step}"
    )


def totp_qr_data_uri(device: TOTPDevice, username: str) -> str:
    """The enrolment QR code as an SVG data URI (the CSP allows `data:` images only)."""
    qr = segno.make(totp_provisioning_uri(device, username), error="m")
    return str(qr.svg_data_uri(scale=5, border=2))


def _clean(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace())


def totp_check(*, user: User, device: TOTPDevice, code: str, client: str) -> bool:
    """Check a code on the device. A wrong code counts toward the lockout of
    (username, client) and is audited; while the pair is locked no code is checked."""
    if login_locked(username=user.username, client=client):
        with transaction.atomic():
            audit_record(
                actor=user,
                action=AuditAction.OTP_FAILED,
                username=user.username,
                detail={"locked": True},
            )
        return False
    code = _clean(code)
    ok = code.isdigit() and len(code) == device.digits and device.verify_token(code)
    if not ok:
        record_login_failure(
            user=user, username=user.username, client=client, action=AuditAction.OTP_FAILED
        )
        return False
    login_failures_clear(username=user.username, client=client)
    return True


@transaction.atomic
def totp_enrol_confirm(*, user: User, device: TOTPDevice, client: str) -> None:
    """After a right first code: the device becomes the user's only one."""
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(
        actor=user,
        action=AuditAction.OTP_ENROL,
        username=user.username,
        target_type="user",
        target_id=user.pk,
        detail={"client": client},
    )


def totp_passed_record(*, user: User) -> None:
    with transaction.atomic():
        audit_record(actor=user, action=AuditAction.OTP_PASSED, username=user.username)


@transaction.atomic
def totp_reset(*, actor: User, user: User) -> int:
    """Recovery for a lost phone: an administrator removes the user's devices, and the user
    enrols again at the next login (after the password)."""
    removed, _ = TOTPDevice.objects.filter(user=user).delete()
    audit_record(
        actor=actor,
        action=AuditAction.OTP_RESET,
        target_type="user",
        target_id=user.pk,
        detail={"username": user.username, "devices_removed": removed},
    )
    return int(removed)
