"""Deterministic generators of ID numbers and credit codes, valid and damaged in the ways real
data is damaged, shared by the differential tests."""

from __future__ import annotations

import random
from datetime import date, timedelta

from shebao.identity._text import FULL_WIDTH_DIGITS, to_full_width
from shebao.identity.address_codes import known_address_codes
from shebao.identity.credit_code import CREDIT_CODE_ALPHABET, credit_code_check_char
from shebao.identity.id_number import ID_CHECK_CHARS, PROVINCE_CODES, id_number_check_char

AS_OF = date(2025, 6, 30)
PROVINCES = sorted(PROVINCE_CODES)
BAD_PROVINCES = ["00", "10", "16", "20", "30", "39", "47", "60", "66", "70", "80", "83", "91", "99"]
SPACES = [" ", "\u3000", "\t", "\n", "\xa0", "\u2002", "\u200b", "\ufeff", "\r\n"]
_KNOWN = sorted(known_address_codes())


def address_code(rng: random.Random) -> str:
    """Mostly current county codes, some plausible-looking unknown or historical ones."""
    roll = rng.random()
    if roll < 0.75:
        return rng.choice(_KNOWN)
    if roll < 0.95:
        return rng.choice(PROVINCES) + f"{rng.randrange(10000):04d}"
    return rng.choice(BAD_PROVINCES) + f"{rng.randrange(10000):04d}"


def birth(rng: random.Random, low: date = date(1900, 1, 1), high: date = AS_OF) -> date:
    return low + timedelta(days=rng.randrange((high - low).days + 1))


def id18(rng: random.Random, *, address: str | None = None, born: date | None = None) -> str:
    born = born or birth(rng)
    body = f"{address or address_code(rng)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + id_number_check_char(body)


def _replace(text: str, index: int, new: str) -> str:
    return text[:index] + new + text[index + 1 :]


def _with_date(rng: random.Random, yyyymmdd: str) -> str:
    body = f"{address_code(rng)}{yyyymmdd}{rng.randrange(1000):03d}"
    # Both a correct and a wrong check character, so that date and check errors combine.
    return body + (id_number_check_char(body) if rng.random() < 0.7 else rng.choice("0X5"))


def mutated_id(rng: random.Random) -> str:
    """One input: a valid number, or one damaged in a way chosen at random."""
    base = id18(rng)
    kind = rng.randrange(30)
    year = rng.randrange(1900, 2025)
    if kind == 0:  # wrong check character
        return base[:17] + rng.choice([c for c in ID_CHECK_CHARS if c != base[17]])
    if kind == 1:  # single-digit substitution in the body
        i = rng.randrange(17)
        return _replace(base, i, rng.choice([d for d in "0123456789" if d != base[i]]))
    if kind == 2:  # adjacent transposition
        i = rng.randrange(17)
        return base[:i] + base[i + 1] + base[i] + base[i + 2 :]
    if kind == 3:  # impossible dates
        return _with_date(
            rng,
            rng.choice(
                [
                    f"{year}0230",
                    f"{year}1301",
                    f"{year}0001",
                    f"{year}0100",
                    f"{year}0132",
                    f"{year}0431",
                    "19000229",
                    "21000229",
                    "19990229",
                    "00000101",
                ]
            ),
        )
    if kind == 4:  # possible dates at the edges
        return _with_date(
            rng, rng.choice(["19000101", "20000229", "19040229", "19961231", "19991231"])
        )
    if kind == 5:  # out of range: before 1900 or after the as-of date
        return _with_date(
            rng, rng.choice(["18991231", "18500615", "20250701", "20991231", f"{AS_OF:%Y%m%d}"])
        )
    if kind == 6:  # bad province
        return rng.choice(BAD_PROVINCES) + base[2:]
    if kind == 7:  # 15-digit old number
        old = id18(rng, born=birth(rng, date(1900, 1, 1), date(1999, 12, 31)))
        return old[:6] + old[8:17]
    if kind == 8:  # 15-digit with a broken date or a letter
        old = id18(rng, born=birth(rng, date(1900, 1, 1), date(1999, 12, 31)))
        short = old[:6] + old[8:17]
        i = rng.choice([8, 9, 10, 11, 3, 14])
        return _replace(short, i, rng.choice("39X"))
    if kind == 9:  # full-width digits and X
        table = str.maketrans("0123456789X", FULL_WIDTH_DIGITS + "Ｘ")
        return base.translate(table) if rng.random() < 0.5 else base[:9] + base[9:].translate(table)
    if kind == 10:  # lower-case x
        body = base[:17]
        return body + ("x" if rng.random() < 0.8 else "ｘ")
    if kind == 11:  # whitespace around and inside
        i = rng.randrange(19)
        return rng.choice(SPACES) + base[:i] + rng.choice(SPACES) + base[i:] + rng.choice(SPACES)
    if kind == 12:  # a letter in the body
        i = rng.randrange(17)
        return _replace(base, i, rng.choice("TIOxXabZ" + to_full_width("T")))
    if kind == 13:  # other characters in the body
        i = rng.randrange(18)
        return _replace(base, i, rng.choice(["-", "+", ".", "/", "张", "٣", "é", "e\u0301", "😀"]))
    if kind == 14:  # wrong lengths
        return rng.choice([base[:17], base[:16], base + "0", base + "X", base[:14], base * 2])
    if kind == 15:  # empty or blank
        return rng.choice(["", " ", "\u3000\u3000", "\t\n", "\u200b"])
    if kind == 16:  # last character not a digit or X
        return base[:17] + rng.choice("ABYZ-*")
    if kind == 17:  # what a spreadsheet does to a long number
        return rng.choice([f"{base[:17]}.0", f"{int(base[:17]):.6e}", "'" + base, base + "\u00a0"])
    if kind == 18:  # 16 or 19 digits of noise
        return "".join(rng.choice("0123456789") for _ in range(rng.choice([14, 15, 16, 19])))
    if kind == 19:  # 15 characters that are not 15 digits
        return base[:6] + base[8:16] + "X"
    return base


def valid_credit_code(rng: random.Random, *, letters_first: bool = False) -> str:
    alphabet = CREDIT_CODE_ALPHABET
    head = (
        rng.choice(alphabet[10:]) + rng.choice(alphabet)
        if letters_first
        else rng.choice("159") + rng.choice("123")
    )
    region = rng.choice(_KNOWN) if rng.random() < 0.8 else f"{rng.randrange(10**6):06d}"
    organisation = "".join(rng.choice(alphabet) for _ in range(9))
    body = head + region + organisation
    return body + credit_code_check_char(body)


def mutated_credit_code(rng: random.Random) -> str:
    base = valid_credit_code(rng, letters_first=rng.random() < 0.05)
    kind = rng.randrange(12)
    if kind == 0:
        return base[:17] + rng.choice([c for c in CREDIT_CODE_ALPHABET if c != base[17]])
    if kind == 1:
        i = rng.randrange(17)
        return _replace(base, i, rng.choice([c for c in CREDIT_CODE_ALPHABET if c != base[i]]))
    if kind == 2:
        i = rng.randrange(17)
        return base[:i] + base[i + 1] + base[i] + base[i + 2 :]
    if kind == 3:  # letters outside the alphabet
        return _replace(base, rng.randrange(18), rng.choice("IOZSV"))
    if kind == 4:  # a letter in the region code
        return _replace(base, rng.randrange(2, 8), rng.choice("ABMX"))
    if kind == 5:
        return base.lower()
    if kind == 6:
        return to_full_width(base) if rng.random() < 0.5 else " " + base[:9] + "\u3000" + base[9:]
    if kind == 7:
        return rng.choice([base[:17], base + "1", base[:10], ""])
    if kind == 8:
        return _replace(base, rng.randrange(18), rng.choice(["*", "张", "é"]))
    return base
