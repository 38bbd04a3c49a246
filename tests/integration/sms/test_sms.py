"""The SMS port and one-time codes: the file backend writes one JSON line per message
(phone, text, time) to <data dir>/sms/outbox.jsonl; the console backend never prints a full
phone number; a code is kept only as a salted HMAC, belongs to its purpose and subject, is
accepted once, and an unknown backend name is refused at once."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from shebao.errors import ValidationFailed
from shebao.sms.backends import outbox_path, sms_send
from shebao.sms.models import OneTimeCode
from shebao.sms.services import Throttled, otp_issue, otp_verify

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path
    settings.SHEBAO_SMS_BACKEND = "file"


def _code() -> str:
    text = json.loads(outbox_path().read_text(encoding="utf-8").splitlines()[-1])["text"]
    return text.split("码", 1)[1][:6]


def test_the_file_backend_appends_one_json_line_per_message() -> None:
    sms_send(phone=PHONE, text="第一条")
    sms_send(phone="13900000000", text="第二条")
    lines = [json.loads(x) for x in outbox_path().read_text(encoding="utf-8").splitlines()]
    assert [(m["phone"], m["text"]) for m in lines] == [
        (PHONE, "第一条"),
        ("13900000000", "第二条"),
    ]
    assert all(m["time"].endswith("+00:00") for m in lines)


def test_the_console_backend_masks_the_phone(settings, capsys) -> None:  # type: ignore[no-untyped-def]
    settings.SHEBAO_SMS_BACKEND = "console"
    sms_send(phone=PHONE, text="验证码 123456")
    err = capsys.readouterr().err
    assert "验证码 123456" in err and PHONE not in err and "5678" in err
    settings.SHEBAO_SMS_BACKEND = "pigeon"
    with pytest.raises(ImproperlyConfigured, match="SHEBAO_SMS_BACKEND"):
        sms_send(phone=PHONE, text="x")


def test_a_code_is_hashed_bound_to_its_subject_and_used_once() -> None:
    issued = otp_issue(
        purpose="test", subject="person:1", phone=PHONE, text="码{code}，{minutes}分钟"
    )
    code = _code()
    row = OneTimeCode.objects.get(pk=issued.code_id)
    assert code not in row.code_hash and row.salt not in ("", code)
    assert (issued.expires_at - row.created_at).total_seconds() == 300
    with pytest.raises(ValidationFailed):
        otp_verify(code_id=issued.code_id, purpose="test", subject="person:2", code=code)
    otp_verify(code_id=issued.code_id, purpose="test", subject="person:1", code=code)
    with pytest.raises(ValidationFailed) as used:
        otp_verify(code_id=issued.code_id, purpose="test", subject="person:1", code=code)
    assert used.value.code == "OTP_USED"
    with pytest.raises(Throttled) as soon:
        otp_issue(purpose="test", subject="person:1", phone=PHONE, text="码{code}")
    assert soon.value.code == "OTP_RESEND_TOO_SOON" and soon.value.status == 429
