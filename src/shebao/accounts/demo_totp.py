"""Fixed, published TOTP keys for the demo accounts that need a second factor.

The demo (and its journey tests) must sign in as the card centre, the bank, the auditor and
the administrator without a phone: each such demo account gets a device whose key is derived
from its username and a published constant, listed in `<data dir>/demo_totp.json`, and
`shebao totp-code USERNAME` prints the current code. Never in production: both refuse there."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from shebao.accounts.choices import SECOND_FACTOR_ROLES
from shebao.accounts.models import User
from shebao.errors import PermissionDenied

DEMO_TOTP_FILE = "demo_totp.json"
DEMO_DEVICE_NAME = "演示动态口令"
# Published on purpose: anyone may compute the demo's codes. Production refuses demo keys.
_DEMO_KEY_SEED = b"shebao-demo-totp-2026"


def demo_totp_key(username: str) -> bytes:
    """The demo key of an account: 20 bytes (the RFC 6238 SHA-1 key length)."""
    return hmac.new(_DEMO_KEY_SEED, username.encode(), hashlib.sha1).digest()


def totp_code(key: bytes, at: float | None = None, *, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 code of `key` at time `at` (now by default)."""
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(value).zfill(digits)


def demo_totp_path() -> Path:
    return Path(settings.DATA_DIR) / DEMO_TOTP_FILE


def _refuse_in_production() -> None:
    if settings.PRODUCTION:
        raise PermissionDenied("生产环境不使用演示动态口令", code="DEMO_TOTP_IN_PRODUCTION")


def demo_totp_seed() -> dict[str, str]:
    """Give every account that needs a second factor and has no device the demo device;
    write the keys of all demo devices to `demo_totp.json`. Returns username → Base32 key."""
    _refuse_in_production()
    users = list(
        User.objects.filter(
            Q(is_superuser=True) | Q(is_staff=True) | Q(roles__role__in=list(SECOND_FACTOR_ROLES))
        )
        .distinct()
        .order_by("username")
    )
    with transaction.atomic():
        enrolled = set(
            TOTPDevice.objects.filter(user__in=users, confirmed=True).values_list(
                "user_id", flat=True
            )
        )
        TOTPDevice.objects.bulk_create(
            [
                TOTPDevice(
                    user=u,
                    name=DEMO_DEVICE_NAME,
                    key=demo_totp_key(u.username).hex(),
                    confirmed=True,
                )
                for u in users
                if u.pk not in enrolled
            ]
        )
    demo_keys = {
        u.username: base64.b32encode(demo_totp_key(u.username)).decode()
        for u in users
        if TOTPDevice.objects.filter(
            user=u, confirmed=True, key=demo_totp_key(u.username).hex()
        ).exists()
    }
    payload = {
        "about": (
            "演示账号的动态口令密钥（公开，仅用于演示）。当前口令：uv run shebao totp-code 用户名；"
            "也可把密钥（Base32）加入任意验证器应用。"
        ),
        "step_seconds": 30,
        "digits": 6,
        "accounts": demo_keys,
    }
    path = demo_totp_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return demo_keys


def demo_totp_code(username: str) -> str:
    """The current code of a demo account (from `demo_totp.json`, as a user's app would)."""
    _refuse_in_production()
    path = demo_totp_path()
    if not path.exists():
        raise PermissionDenied(f"没有找到 {path}：请先运行 shebao demo", code="DEMO_TOTP_MISSING")
    accounts = json.loads(path.read_text(encoding="utf-8")).get("accounts", {})
    secret = accounts.get(username)
    if secret is None:
        raise PermissionDenied(
            f"{username} 不是使用演示动态口令的账号", code="DEMO_TOTP_UNKNOWN_ACCOUNT"
        )
    return totp_code(base64.b32decode(secret))
