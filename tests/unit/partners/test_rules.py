"""Pure rules of the partners app: scope filtering, the sliding-window rate limit, the
partner life cycle and the HMAC-SM3 webhook signature."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from shebao.errors import ValidationFailed
from shebao.partners.domain.lifecycle import PartnerTransitionError, next_status
from shebao.partners.domain.ratelimit import rate_decide, window_start
from shebao.partners.domain.scopes import fields_allowed, parse_fields, parse_services
from shebao.partners.domain.webhook import (
    backoff_seconds,
    hmac_sm3,
    signature_header,
    signature_valid,
)

pytestmark = pytest.mark.unit

PERSON = {
    "masked_name": "王*明",
    "full_name": "王小明",
    "gender": "男",
    "birth_date": "1980-05-17",
    "card_number": "T00000012",
    "card_status": "正常",
    "life_status": "正常",
    "masked_id_number": "4207**********1234",
}


def test_only_granted_fields_pass_and_unknown_keys_never_do() -> None:
    assert fields_allowed(PERSON, ["masked_name", "gender"]) == {
        "masked_name": "王*明",
        "gender": "男",
    }
    assert fields_allowed(PERSON, []) == {}
    assert fields_allowed({**PERSON, "phone": "13800000000"}, ["phone", "full_name"]) == {
        "full_name": "王小明"
    }


def test_grants_are_checked_deduplicated_and_sorted() -> None:
    assert parse_fields(["gender", "masked_name", "gender", " "]) == ["gender", "masked_name"]
    assert parse_services(["verify", "redeem_qr"]) == ["redeem_qr", "verify"]
    with pytest.raises(ValidationFailed) as refused:
        parse_fields(["phone"])
    assert refused.value.code == "SCOPE_UNKNOWN"
    assert "phone" in refused.value.message


def test_rate_limit_counts_the_previous_minute_by_the_part_still_in_the_window() -> None:
    start = window_start(1_700_000_000.0)
    assert start % 60 == 0
    # 15 s into the minute, 75 % of the previous minute's 100 calls still count.
    at = start + 15
    assert rate_decide(limit_per_minute=100, current=25, previous=100, epoch_seconds=at).allowed
    refused = rate_decide(limit_per_minute=100, current=26, previous=100, epoch_seconds=at)
    assert not refused.allowed
    assert refused.retry_after == 45
    # At the end of the minute the previous one hardly counts.
    assert (
        rate_decide(
            limit_per_minute=100, current=100, previous=100, epoch_seconds=start + 60 - 0.001
        ).allowed
        is False
    )
    assert rate_decide(
        limit_per_minute=100, current=99, previous=50, epoch_seconds=start + 59.9
    ).allowed
    assert not rate_decide(limit_per_minute=0, current=1, previous=0, epoch_seconds=at).allowed


def test_no_burst_of_twice_the_limit_at_a_minute_boundary() -> None:
    start = window_start(1_700_000_040.0)
    allowed = 0
    # 100 calls at the end of one minute, then as many as allowed at the very start of the next.
    for n in range(1, 201):
        if rate_decide(
            limit_per_minute=100, current=n, previous=100, epoch_seconds=start + 0.5
        ).allowed:
            allowed += 1
    assert allowed <= 1


def test_partner_life_cycle() -> None:
    assert next_status("applied", "approve") == "approved"
    assert next_status("approved", "suspend") == "suspended"
    assert next_status("suspended", "resume") == "approved"
    assert next_status("suspended", "end") == "ended"
    with pytest.raises(PartnerTransitionError) as refused:
        next_status("ended", "resume")
    assert refused.value.code == "PARTNER_TRANSITION_NOT_ALLOWED"
    assert "已终止" in refused.value.message
    with pytest.raises(PartnerTransitionError):
        next_status("applied", "suspend")


def test_hmac_sm3_agrees_with_openssl() -> None:
    if "sm3" not in hashlib.algorithms_available:
        pytest.fail("OpenSSL without SM3: the differential check cannot run")
    for key, message in ((b"key", b"data"), (b"k" * 100, b""), (b"", "变更".encode() * 50)):
        assert hmac_sm3(key, message) == hmac.new(key, message, "sm3").digest()


def test_a_signature_checks_body_secret_and_time() -> None:
    body = b'{"changes":[]}'
    header = signature_header(secret="s3cret", body=body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,sm3=")
    assert signature_valid(secret="s3cret", body=body, header=header, now=1_700_000_100)
    assert not signature_valid(secret="other", body=body, header=header, now=1_700_000_100)
    assert not signature_valid(secret="s3cret", body=body + b" ", header=header, now=1_700_000_100)
    assert not signature_valid(secret="s3cret", body=body, header=header, now=1_700_001_000)
    assert not signature_valid(secret="s3cret", body=body, header="garbage", now=1_700_000_000)


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_seconds(n) for n in range(0, 5)] == [0, 30, 60, 120, 240]
    assert backoff_seconds(30) == 3600
