"""The TOTP second factor of card-centre, bank, auditor and administrator accounts: never
logged in on the password alone, enrolment with the key shown once, wrong codes counted
toward the same lockout, replays refused, every step audited, an administrator's reset."""

from __future__ import annotations

import base64
import json
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from shebao.accounts.choices import AuditAction, OrganisationKind, Role
from shebao.accounts.demo_totp import demo_totp_code, demo_totp_seed
from shebao.accounts.models import AuditEvent, LoginThrottle, User
from shebao.accounts.second_factor import totp_reset
from shebao.errors import PermissionDenied
from tests.factories import PASSWORD, make_org, make_regions, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def centre() -> User:
    make_regions()
    return make_user(
        Role.CARD_CENTRE_OPERATOR,
        make_org(OrganisationKind.CARD_CENTRE, "420700"),
        username="centre_op",
    )


@pytest.fixture
def enrolled(centre: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=centre, name="手机", confirmed=True)


def _code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = totp.time + steps_ahead * device.step
    return str(totp.token()).zfill(device.digits)


def _password(client: Client, username: str = "centre_op") -> Any:
    return client.post("/login/", {"username": username, "password": PASSWORD})


def _logged_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def test_password_alone_does_not_log_in_and_enrolment_shows_the_key_once(centre: User) -> None:
    client = Client()
    response = _password(client)
    assert response["Location"] == "/login/enrol/"
    assert not _logged_in(client)

    page = client.get("/login/enrol/").content.decode()
    assert 'src="data:image/svg+xml' in page  # the QR code, allowed by the CSP (no inline)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page)
    assert secret, page
    key = base64.b32decode(secret.group(1).replace(" ", ""))
    device = TOTPDevice.objects.get(user=centre, confirmed=False)
    assert device.bin_key == key

    response = client.post("/login/enrol/", {"code": _code(device)})
    assert response["Location"] == "/"
    assert _logged_in(client)
    device.refresh_from_db()
    assert device.confirmed
    actions = set(AuditEvent.objects.filter(user=centre).values_list("action", flat=True))
    assert {AuditAction.OTP_ENROL, AuditAction.OTP_PASSED, AuditAction.LOGIN} <= actions
    # The key is never shown again: the next login asks for a code, not for enrolment.
    client.post("/logout/")
    assert _password(Client())["Location"] == "/login/code/"


def test_a_new_enrolment_page_draws_a_new_key(centre: User) -> None:
    client = Client()
    _password(client)
    client.get("/login/enrol/")
    first = TOTPDevice.objects.get(user=centre).key
    client.get("/login/enrol/")
    assert TOTPDevice.objects.filter(user=centre).count() == 1
    assert TOTPDevice.objects.get(user=centre).key != first


def test_right_code_logs_in_wrong_code_is_audited_and_a_replay_refused(
    centre: User, enrolled: TOTPDevice
) -> None:
    client = Client()
    assert _password(client)["Location"] == "/login/code/"
    wrong = client.post("/login/code/", {"code": "000000" if _code(enrolled) != "000000" else "1"})
    assert wrong.status_code == 200
    assert "动态口令错误" in wrong.content.decode()
    assert not _logged_in(client)
    assert AuditEvent.objects.filter(user=centre, action=AuditAction.OTP_FAILED).count() == 1
    assert LoginThrottle.objects.get(username="centre_op").failures == 1

    enrolled.refresh_from_db()
    code = _code(enrolled)
    enrolled.throttling_failure_count = 0  # django-otp's own back-off: not what is tested
    enrolled.save()
    response = client.post("/login/code/?next=/persons/", {"code": code})
    assert response["Location"] == "/"
    assert _logged_in(client)
    assert not LoginThrottle.objects.filter(username="centre_op").exists()
    assert AuditEvent.objects.filter(user=centre, action=AuditAction.OTP_PASSED).count() == 1

    other = Client()
    _password(other)
    again = other.post("/login/code/", {"code": code})
    assert again.status_code == 200 and not _logged_in(other)


def test_wrong_codes_lock_like_wrong_passwords_and_the_password_does_not_reset_them(
    centre: User, enrolled: TOTPDevice, settings: Any
) -> None:
    settings.SHEBAO_LOCKOUT_THRESHOLD = 3
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    right = _code(enrolled)
    wrong = "999999" if right != "999999" else "888888"
    client = Client()
    _password(client)
    client.post("/login/code/", {"code": wrong})
    client.post("/login/code/", {"code": wrong})
    # The right password again does not wipe the two wrong codes ...
    _password(client)
    response = client.post("/login/code/", {"code": wrong})
    # ... so the third wrong code locks the pair, and the login starts over.
    assert response["Location"] == "/login/"
    assert LoginThrottle.objects.get(username="centre_op").is_locked()
    assert AuditEvent.objects.filter(user=centre, action=AuditAction.LOCKED_OUT).exists()
    # Locked: even the right password and the right code do not log in.
    response = _password(client)
    assert response.status_code == 200 and "用户名或密码错误" in response.content.decode()
    assert not _logged_in(client)
    assert client.post("/login/code/", {"code": right})["Location"] == "/login/"
    assert not _logged_in(client)


def test_the_code_page_needs_a_password_first(centre: User, enrolled: TOTPDevice) -> None:
    client = Client()
    response = client.post("/login/code/", {"code": _code(enrolled)})
    assert response["Location"] == "/login/"
    assert not _logged_in(client)


def test_the_code_step_expires(centre: User, enrolled: TOTPDevice, settings: Any) -> None:
    settings.SHEBAO_SECOND_FACTOR_SECONDS = -1
    client = Client()
    _password(client)
    assert client.post("/login/code/", {"code": _code(enrolled)})["Location"] == "/login/"
    assert not _logged_in(client)


@pytest.mark.parametrize(
    ("role", "kind", "region"),
    [
        (Role.BANK_OPERATOR, OrganisationKind.BANK, "420700"),
        (Role.AUDITOR, OrganisationKind.BUREAU, "420700"),
        (Role.SYSTEM_ADMIN, OrganisationKind.DATA_CENTRE, "420700"),
    ],
)
def test_bank_auditor_and_administrator_need_the_code_too(
    db: None, role: Role, kind: OrganisationKind, region: str
) -> None:
    make_regions()
    make_user(role, make_org(kind, region), username="second")
    client = Client()
    assert _password(client, "second")["Location"] == "/login/enrol/"
    assert not _logged_in(client)


def test_a_village_clerk_logs_in_with_the_password(db: None) -> None:
    make_regions()
    make_user(
        Role.VILLAGE_CLERK,
        make_org(OrganisationKind.VILLAGE_COMMITTEE, "420704001201"),
        username="village_op",
    )
    client = Client()
    assert _password(client, "village_op")["Location"] == "/"
    assert _logged_in(client)


def test_the_admin_site_has_no_password_only_login(centre: User) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    response = Client().post("/admin/login/", {"username": "centre_op", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_force_login_still_works_for_tests(centre: User) -> None:
    client = Client()
    client.force_login(centre)
    assert _logged_in(client)


def test_administrator_resets_a_lost_device_and_it_is_audited(
    centre: User, enrolled: TOTPDevice
) -> None:
    admin = make_user(Role.SYSTEM_ADMIN, centre.organisation, username="root_admin")
    assert totp_reset(actor=admin, user=centre) == 1
    assert not TOTPDevice.objects.filter(user=centre).exists()
    event = AuditEvent.objects.get(action=AuditAction.OTP_RESET)
    assert event.user == admin and event.target_id == str(centre.pk)
    assert _password(Client())["Location"] == "/login/enrol/"


def test_admin_action_resets_devices(centre: User, enrolled: TOTPDevice) -> None:
    admin = User.objects.create_superuser("super_admin", "", PASSWORD)
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factor", "_selected_action": [centre.pk]},
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=centre).exists()
    assert AuditEvent.objects.filter(user=admin, action=AuditAction.OTP_RESET).exists()


def test_admin_site_does_not_list_device_keys(enrolled: TOTPDevice) -> None:
    admin = User.objects.create_superuser("super_admin", "", PASSWORD)
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404


def test_demo_keys_are_written_and_give_working_codes(
    centre: User, settings: Any, tmp_path: Any
) -> None:
    settings.DATA_DIR = tmp_path
    keys = demo_totp_seed()
    assert set(keys) == {"centre_op"}
    written = json.loads((tmp_path / "demo_totp.json").read_text(encoding="utf-8"))
    assert written["accounts"] == keys
    out = StringIO()
    call_command("totp_code", "centre_op", stdout=out, stderr=StringIO())
    code = out.getvalue().strip()
    assert code == demo_totp_code("centre_op")
    client = Client()
    _password(client)
    assert client.post("/login/code/", {"code": code})["Location"] == "/"
    # Seeding again keeps the device (and its used steps) as it is.
    demo_totp_seed()
    assert TOTPDevice.objects.filter(user=centre).count() == 1
    with pytest.raises(CommandError):
        call_command("totp_code", "nobody", stdout=StringIO(), stderr=StringIO())


def test_demo_keys_are_refused_in_production(centre: User, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    settings.PRODUCTION = True
    with pytest.raises(PermissionDenied):
        demo_totp_seed()
    with pytest.raises(PermissionDenied):
        demo_totp_code("centre_op")
    assert not TOTPDevice.objects.exists()
