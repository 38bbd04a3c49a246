"""The dynamic QR code's text: COSE_Sign1 (RFC 9052) that plain cbor2 decodes, Base45
(RFC 9285) that round-trips, at most 220 characters, no personal data, and the offline check's
result codes: a tampered byte is FORGED, a key not published is UNKNOWN_KEY, a stale code is
EXPIRED, garbage is MALFORMED."""

from __future__ import annotations

import os

import base45
import cbor2
import pytest

from shebao.ecard.domain.qr import (
    MAX_TEXT_LENGTH,
    PREFIX,
    QrClaims,
    QrResult,
    b45decode,
    qr_encode,
    qr_sig_structure,
    qr_verify_offline,
)
from shebao.ecard.domain.sm2 import SM2Verifier, sm2_generate_keypair, sm2_verify

pytestmark = pytest.mark.unit

NOW = 1_800_000_000
PRIVATE, PUBLIC = sm2_generate_keypair()
KID = b"\x12\x34\x56\x78"
KEYS = {KID: SM2Verifier(PUBLIC)}


def _text(*, issued: int = NOW, ttl: int = 60, token: bytes | None = None) -> str:
    claims = QrClaims(
        token=token or os.urandom(16), issued_at=issued, expires_at=issued + ttl, kid=KID
    )
    return qr_encode(claims, PRIVATE)


def test_the_text_is_prefixed_base45_of_a_tagged_cose_sign1() -> None:
    text = _text()
    assert text.startswith(PREFIX)
    raw = base45.b45decode(text[len(PREFIX) :])
    assert base45.b45encode(raw).decode() == text[len(PREFIX) :]
    sign1 = cbor2.loads(raw)
    assert isinstance(sign1, cbor2.CBORTag) and sign1.tag == 18
    protected, unprotected, payload, signature = sign1.value
    assert cbor2.loads(protected) == {1: "SM2-SM3", 4: KID}
    assert dict(unprotected) == {}
    claims = cbor2.loads(payload)
    assert set(claims) == {4, 6, 7, "kid"}
    assert claims[6] == NOW and claims[4] == NOW + 60 and claims["kid"] == KID
    assert len(claims[7]) == 16
    assert len(signature) == 64
    # The signature is over the standard Sig_structure, built here independently.
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    assert to_be_signed == qr_sig_structure(protected, payload)
    assert sm2_verify(PUBLIC, to_be_signed, signature)


def test_the_text_is_short_enough_for_a_quick_scan() -> None:
    lengths = {len(_text(issued=NOW + i * 99_991)) for i in range(50)}
    assert max(lengths) <= MAX_TEXT_LENGTH == 220


def test_no_personal_data_only_an_opaque_token() -> None:
    token = os.urandom(16)
    payload = cbor2.loads(cbor2.loads(base45.b45decode(_text(token=token)[5:])).value[2])
    assert payload[7] == token
    assert all(isinstance(v, int | bytes) for v in payload.values())


def test_a_fresh_code_is_ok_with_its_claims() -> None:
    check = qr_verify_offline(_text(), KEYS, now=NOW + 10)
    assert check.ok and check.code == "OK"
    assert check.claims is not None and check.claims.kid == KID


def test_every_tampered_byte_is_refused() -> None:
    raw = bytearray(base45.b45decode(_text()[5:]))
    results = set()
    for i in range(len(raw)):
        changed = bytearray(raw)
        changed[i] ^= 0x01
        text = PREFIX + base45.b45encode(bytes(changed)).decode()
        results.add(qr_verify_offline(text, KEYS, now=NOW + 10).result)
    assert QrResult.OK not in results
    assert QrResult.FORGED in results


def test_a_changed_signature_or_payload_is_forged() -> None:
    sign1 = cbor2.loads(base45.b45decode(_text()[5:]))
    protected, _unprotected, payload, signature = sign1.value
    bad_sig = bytes([signature[0] ^ 0x80]) + signature[1:]
    claims = dict(cbor2.loads(payload))
    claims[4] += 3600  # a longer life
    for body in (
        [protected, {}, payload, bad_sig],
        [protected, {}, cbor2.dumps(claims, canonical=True), signature],
    ):
        text = PREFIX + base45.b45encode(cbor2.dumps(cbor2.CBORTag(18, body))).decode()
        check = qr_verify_offline(text, KEYS, now=NOW + 10)
        assert check.result is QrResult.FORGED
        assert "伪造" in check.message


def test_a_key_not_published_is_unknown() -> None:
    _, other_public = sm2_generate_keypair()
    check = qr_verify_offline(_text(), {b"\x00\x00\x00\x01": SM2Verifier(other_public)}, now=NOW)
    assert check.result is QrResult.UNKNOWN_KEY
    # The same kid with another key: the signature does not verify.
    check = qr_verify_offline(_text(), {KID: SM2Verifier(other_public)}, now=NOW)
    assert check.result is QrResult.FORGED


def test_expiry_after_sixty_seconds() -> None:
    text = _text()
    assert qr_verify_offline(text, KEYS, now=NOW + 59).ok
    check = qr_verify_offline(text, KEYS, now=NOW + 60)
    assert check.result is QrResult.EXPIRED and "过期" in check.message


def test_a_code_from_the_future_beyond_the_clock_skew_is_refused() -> None:
    assert qr_verify_offline(_text(issued=NOW + 20), KEYS, now=NOW).ok
    assert qr_verify_offline(_text(issued=NOW + 300), KEYS, now=NOW).result is (QrResult.MALFORMED)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SBK1:",
        "SBK1:hello world",
        "SBK2:" + "A" * 50,
        "HC1:6BFOXN",
        "SBK1:" + base45.b45encode(cbor2.dumps([1, 2, 3])).decode(),
        "SBK1:" + base45.b45encode(cbor2.dumps(cbor2.CBORTag(98, []))).decode(),
        "SBK1:" + base45.b45encode(b"\xff\x00").decode(),
        "SBK1:" + "0" * 5000,
    ],
)
def test_garbage_is_malformed(text: str) -> None:
    check = qr_verify_offline(text, KEYS, now=NOW)
    assert check.result is QrResult.MALFORMED and check.message


def test_an_untagged_sign1_with_another_alg_is_malformed() -> None:
    sign1 = cbor2.loads(base45.b45decode(_text()[5:]))
    protected, _, payload, signature = sign1.value
    es256 = cbor2.dumps({1: -7, 4: KID})
    text = PREFIX + base45.b45encode(cbor2.dumps([es256, {}, payload, signature])).decode()
    assert qr_verify_offline(text, KEYS, now=NOW).result is QrResult.MALFORMED
    untagged = PREFIX + base45.b45encode(cbor2.dumps([protected, {}, payload, signature])).decode()
    assert qr_verify_offline(untagged, KEYS, now=NOW + 1).ok


def test_every_result_has_a_chinese_message() -> None:
    for result in QrResult:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in result.message)


def test_base45_decoding_matches_the_reference_package() -> None:
    for size in range(0, 200):
        data = os.urandom(size)
        assert b45decode(base45.b45encode(data).decode()) == data
    assert b45decode("FGW") == b"\xff\xff"  # the largest group (RFC 9285 §4.3)


@pytest.mark.parametrize("text", ["A", "GGW", "::", "ab", "0\u00c4A", "AB\n"])
def test_base45_refuses_what_is_not_base45(text: str) -> None:
    with pytest.raises(ValueError):
        b45decode(text)
