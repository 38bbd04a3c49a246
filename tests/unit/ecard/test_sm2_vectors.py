"""SM2 with SM3 and the default signer ID, pinned to the published example of GM/T 0003.5-2012
(GB/T 32918.5) Annex A — signature with the recommended curve: the key pair, the signer's Z
value, the message digest e and the signature (r, s) for the message "message digest". The
same vector is used by OpenSSL (test/sm2_internal_test.c) and Go's and other SM2 libraries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from gmalglib import sm2 as raw_sm2
from gmalglib import sm3_digest

from shebao.ecard.domain.sm2 import (
    SIGNER_ID,
    SM2KeyError,
    SM2Verifier,
    sm2_backend,
    sm2_generate_keypair,
    sm2_public_key,
    sm2_sign,
    sm2_verify,
)

pytestmark = pytest.mark.unit

PRIVATE = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
PUBLIC = bytes.fromhex(
    "04"
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
Z_A = bytes.fromhex("B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3")
DIGEST_E = bytes.fromhex("F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640")
SIGNATURE = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)
MESSAGE = b"message digest"


def test_sm3_published_example_abc() -> None:
    # GB/T 32905-2016 (GM/T 0004) Appendix A, example 1.
    assert sm3_digest(b"abc").hex() == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_the_public_key_of_the_published_private_key() -> None:
    assert sm2_public_key(PRIVATE) == PUBLIC


def test_the_signer_z_value_and_digest_with_the_default_id() -> None:
    assert SIGNER_ID == b"1234567812345678"
    assert raw_sm2.SM2(pk=PUBLIC, uid=SIGNER_ID).get_entity_info() == Z_A
    assert sm3_digest(Z_A + MESSAGE) == DIGEST_E


def test_the_published_signature_verifies() -> None:
    assert sm2_verify(PUBLIC, MESSAGE, SIGNATURE)
    assert SM2Verifier(PUBLIC).verify(MESSAGE, SIGNATURE)


def test_the_published_signature_fails_on_another_message_or_a_flipped_bit() -> None:
    assert not sm2_verify(PUBLIC, b"message digesT", SIGNATURE)
    flipped = bytes([SIGNATURE[0] ^ 1]) + SIGNATURE[1:]
    assert not sm2_verify(PUBLIC, MESSAGE, flipped)
    assert not sm2_verify(PUBLIC, MESSAGE, SIGNATURE[:63])
    assert not sm2_verify(PUBLIC, MESSAGE, b"\xff" * 64)  # r, s out of range


def test_own_signatures_verify_under_the_published_key() -> None:
    signature = sm2_sign(PRIVATE, MESSAGE)
    assert len(signature) == 64 and signature != SIGNATURE  # random k each time
    assert sm2_verify(PUBLIC, MESSAGE, signature)


def test_generated_keys_and_refused_keys() -> None:
    private, public = sm2_generate_keypair()
    assert len(private) == 32 and len(public) == 65 and public[0] == 4
    assert sm2_public_key(private) == public
    with pytest.raises(SM2KeyError):
        SM2Verifier(PUBLIC[:-1] + bytes([PUBLIC[-1] ^ 1]))  # not on the curve
    with pytest.raises(SM2KeyError):
        sm2_sign(b"\x00" * 32, MESSAGE)


def test_this_platform_verifies_with_openssl() -> None:
    # The Debian machines and CI have libcrypto 3 with SM2: the faster backend must load
    # (it passes the published example at import, or is not used).
    assert sm2_backend() == "openssl"


@pytest.mark.parametrize("backend", ["openssl", "gmalglib"])
def test_both_backends_agree_on_the_published_example_and_on_tampering(backend: str) -> None:
    verifier = SM2Verifier(PUBLIC, backend=backend)
    assert verifier.verify(MESSAGE, SIGNATURE)
    assert not verifier.verify(b"message digesT", SIGNATURE)
    for i in (0, 31, 32, 63):  # a bit flipped in r and in s
        flipped = SIGNATURE[:i] + bytes([SIGNATURE[i] ^ 0x80]) + SIGNATURE[i + 1 :]
        assert not verifier.verify(MESSAGE, flipped)
    assert not verifier.verify(MESSAGE, b"\xff" * 64)  # r, s out of range
    assert not verifier.verify(MESSAGE, b"\x00" * 64)  # r = s = 0
    assert not verifier.verify(MESSAGE, SIGNATURE[:63])


@pytest.mark.parametrize("backend", ["openssl", "gmalglib"])
def test_both_backends_verify_fresh_signatures_of_any_length(backend: str) -> None:
    private, public = sm2_generate_keypair()
    verifier = SM2Verifier(public, backend=backend)
    other = SM2Verifier(PUBLIC, backend=backend)
    for size in (0, 1, 55, 160, 1000):
        message = (bytes(range(256)) * 4)[:size]
        signature = sm2_sign(private, message)
        assert verifier.verify(message, signature)
        assert not other.verify(message, signature)  # another key
        assert not verifier.verify(message + b"\x00", signature)


def test_a_verifier_is_shared_by_threads() -> None:
    verifier = SM2Verifier(PUBLIC)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: verifier.verify(MESSAGE, SIGNATURE), range(40)))
    assert all(results)
