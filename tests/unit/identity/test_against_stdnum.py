"""Differential tests against python-stdnum (`stdnum.cn.ric`, `stdnum.cn.uscc`).

The two libraries must agree on format, check character and birth date. They differ on
purpose in three places, each asserted precisely rather than skipped:

- stdnum rejects a number whose address code its table does not know for the birth year
  (InvalidComponent from `get_birth_place`); shebao accepts it, with the warning
  ADDRESS_CODE_UNKNOWN when the code is not a current county code, since people keep
  numbers issued by counties that were later merged or re-coded.
- shebao rejects birth dates before 1900 or after the as-of date, and unknown provinces.
- For credit codes, stdnum insists on digits in positions 1-8; shebao allows letters of the
  alphabet in positions 1-2 (registration authorities such as 农业 N), as GB 32100 does.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Iterator
from datetime import date

import pytest
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from shebao.identity.address_codes import is_known_address_code
from shebao.identity.credit_code import (
    CREDIT_CODE_ALPHABET,
    CreditCodeErrorCode,
    credit_code_check_char,
    validate_credit_code,
)
from shebao.identity.id_number import (
    MIN_BIRTH_DATE,
    IdErrorCode,
    IdWarningCode,
    id_number_check_char,
    validate_id_number,
)
from tests.unit.identity.cases import AS_OF, mutated_credit_code, mutated_id

pytestmark = pytest.mark.unit

SAMPLES = 20_000


@pytest.fixture(autouse=True, scope="module")
def _memoized_stdnum_place_lookup() -> Iterator[None]:
    # stdnum walks its address table in pure Python for every number (most of this test's
    # time); the answer depends only on the 6-digit prefix it is given.
    places = numdb.get("cn/loc")
    places.info = functools.lru_cache(maxsize=None)(places.info)  # type: ignore[method-assign]
    yield
    del places.info


def _stdnum_outcome(validate: object, number: str) -> type[ValidationError] | None:
    try:
        validate(number)  # type: ignore[operator]
    except ValidationError as error:
        return type(error)
    except KeyError:
        # stdnum's address table lists 81 (香港) and 82 (澳门) without counties, and its
        # place lookup then fails with KeyError: an address-code rejection all the same.
        return InvalidComponent
    return None


def _stdnum_birth_date(number: str) -> date | None:
    try:
        return ric.get_birth_date(number)
    except (InvalidComponent, ValueError):
        return None


def test_id_numbers_agree_with_stdnum() -> None:
    rng = random.Random(1999)
    tally: Counter[str] = Counter()
    for _ in range(SAMPLES):
        raw = mutated_id(rng)
        ours = validate_id_number(raw, as_of=AS_OF)
        number = ours.normalized  # stdnum knows neither full-width forms nor 15 digits
        codes = ours.error_codes
        if not number.isascii():
            assert codes[0] in (IdErrorCode.BAD_LENGTH, IdErrorCode.BAD_FORMAT), raw
            tally["non-ascii"] += 1
            continue

        outcome = _stdnum_outcome(ric.validate, number)
        if len(number) != 18:
            assert outcome is InvalidLength, raw
            assert codes == ((IdErrorCode.EMPTY,) if not number else (IdErrorCode.BAD_LENGTH,))
            tally["length"] += 1
            continue
        if outcome is InvalidFormat or number[17] not in "0123456789X":
            # stdnum checks the first 17 characters for digits and leaves a bad 18th
            # character to its checksum comparison; both are a format error here.
            assert outcome in (InvalidFormat, InvalidChecksum), raw
            assert codes == (IdErrorCode.BAD_FORMAT,), raw
            tally["format"] += 1
            continue

        # Well-formed for both: compare the parts one by one.
        assert ric.calc_check_digit(number) == id_number_check_char(number[:17])
        assert (IdErrorCode.BAD_CHECK in codes) == (outcome is InvalidChecksum), raw
        real_date = _stdnum_birth_date(number)
        in_range = real_date is not None and MIN_BIRTH_DATE <= real_date <= AS_OF
        assert ours.birth_date == (real_date if in_range else None), raw
        assert (IdErrorCode.BAD_BIRTH_DATE in codes) == (not in_range), raw
        unknown = IdWarningCode.ADDRESS_CODE_UNKNOWN in [w.code for w in ours.warnings]

        if outcome is None:
            tally["both valid" if ours.ok else "stdnum valid, date out of range"] += 1
            assert ours.ok == in_range, raw
            assert IdErrorCode.BAD_PROVINCE not in codes, raw
        elif outcome is InvalidComponent and real_date is not None:
            # stdnum's only remaining objection: the birth place.
            if IdErrorCode.BAD_PROVINCE in codes:
                tally["bad province"] += 1
                continue
            assert ours.ok == in_range, raw
            assert unknown == (not is_known_address_code(number[:6])), raw
            tally["stdnum rejects place, accepted with warning" if unknown else
                  "stdnum rejects place, current county"] += 1  # fmt: skip
        else:
            tally["both reject"] += 1
            assert not ours.ok, raw

    # Every branch above was exercised substantially.
    for key in (
        "length",
        "format",
        "both valid",
        "both reject",
        "bad province",
        "stdnum rejects place, accepted with warning",
    ):
        assert tally[key] > 100, tally


def test_credit_codes_agree_with_stdnum() -> None:
    rng = random.Random(32100)
    tally: Counter[str] = Counter()
    for _ in range(SAMPLES):
        raw = mutated_credit_code(rng)
        ours = validate_credit_code(raw)
        code = ours.normalized
        if not code.isascii():
            assert ours.first_error in (
                CreditCodeErrorCode.BAD_LENGTH,
                CreditCodeErrorCode.BAD_FORMAT,
            )
            tally["non-ascii"] += 1
            continue
        outcome = _stdnum_outcome(uscc.validate, code)
        if len(code) != 18:
            assert outcome is InvalidLength
            assert ours.first_error == (
                CreditCodeErrorCode.EMPTY if not code else CreditCodeErrorCode.BAD_LENGTH
            )
            tally["length"] += 1
            continue
        in_alphabet = all(ch in CREDIT_CODE_ALPHABET for ch in code)
        letters_in_front = in_alphabet and code[2:8].isdigit() and not code[:2].isdigit()
        if letters_in_front:
            assert outcome is InvalidFormat, code
            assert ours.first_error in (None, CreditCodeErrorCode.BAD_CHECK), code
            tally["letters in positions 1-2"] += 1
        elif outcome is InvalidFormat:
            assert ours.first_error == CreditCodeErrorCode.BAD_FORMAT, code
            tally["format"] += 1
            continue
        else:
            assert ours.first_error != CreditCodeErrorCode.BAD_FORMAT, code
            assert (ours.first_error == CreditCodeErrorCode.BAD_CHECK) == (
                outcome is InvalidChecksum
            ), code
            assert ours.ok == (outcome is None), code
            tally["valid" if ours.ok else "checksum"] += 1
        assert uscc.calc_check_digit(code) == credit_code_check_char(code[:17]), code
    for key in ("length", "format", "valid", "checksum", "letters in positions 1-2"):
        assert tally[key] > 100, tally
