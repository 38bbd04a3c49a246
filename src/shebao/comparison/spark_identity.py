"""The ID-number validator as Spark column expressions, for the Spark comparison engine.

Built-in Spark SQL functions only (no Python UDF, so nothing leaves the JVM), from the very
constants of `shebao.identity.id_number` and the character table of `identity._text`, and in
the same precedence: the normalised value, the first error code, the birth date and the
gender agree with `validate_id_number` exactly (a differential test holds them to it).

    with_id_check(frame, "raw", as_of)   → frame + id_n, id_error, id_birth_date, id_gender

The columns are added in stages (`withColumn`), so that the translated value and its digits
are computed once per row and then referred to by name. The first 17 digits are read as one
BIGINT and the birth date as one INT (`try_cast`, which cannot fail under ANSI mode whatever
the text holds); the rare 15-digit numbers are read digit by digit. Regular expressions are
paired with a length check because Java's `$` also matches before a final line terminator.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from shebao.identity._text import id_number_translation
from shebao.identity.id_number import (
    ID_CHECK_CHARS,
    ID_WEIGHTS,
    MIN_BIRTH_DATE,
    PROVINCE_CODES,
    Gender,
    IdErrorCode,
)

__all__ = ["ID_CHECK_COLUMNS", "with_id_check"]

ID_CHECK_COLUMNS: Final[tuple[str, ...]] = ("id_n", "id_error", "id_birth_date", "id_gender")
_TMP: Final[str] = "__shebao_id_"
_STAGES: Final[tuple[str, ...]] = ("c", "n", "wf", "v", "ymd", "birth_ok")


def _translate_arguments() -> tuple[str, str]:
    """`translate` deletes the characters of `from` without a counterpart in `to`, so the
    deleted characters go last (as in `duckdb_sql`)."""
    table = id_number_translation()
    mapped = [(src, dst) for src, dst in table.items() if dst]
    deleted = [src for src, dst in table.items() if not dst]
    return "".join(s for s, _ in mapped) + "".join(deleted), "".join(d for _, d in mapped)


def _digit(text: Column, position: int) -> Column:
    """The digit at 1-based `position` as an int (meaningful only where it is a digit)."""
    return F.ascii(F.substring(text, position, 1)) - F.lit(48)


def _check_char(total: Column) -> Column:
    chars = F.array(*[F.lit(c) for c in ID_CHECK_CHARS])
    return F.element_at(chars, ((total % F.lit(11)) + F.lit(1)).cast("int"))


def _sum(terms: list[Column]) -> Column:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _check_sum(v: str) -> Column:
    """Σ digit·weight over the 17 digits of the BIGINT column `v`, as `duckdb_sql` does it:
    with q_k = v div 10^k, digit_k ≡ q_k + q_(k+1) (mod 11), so the sum is Σ c_k·q_k with
    c_k = ω_k + ω_(k−1): one division per digit. The total stays within BIGINT."""
    by_power = [ID_WEIGHTS[16 - k] for k in range(17)]
    factors = [by_power[0]] + [(by_power[k] + by_power[k - 1]) % 11 for k in range(1, 17)]
    terms = [f"{factors[0]} * {v}"] + [
        f"{factor} * ({v} div {10**k})" for k, factor in enumerate(factors) if k and factor
    ]
    return F.expr(" + ".join(terms))


def _all_digits(text: Column, length: int, last: str = "[0-9]") -> Column:
    pattern = f"^[0-9]{{{length - 1}}}{last}$"
    return (F.length(text) == F.lit(length)) & text.rlike(pattern)


def with_id_check(frame: DataFrame, column: str, as_of: date) -> DataFrame:
    """`frame` with the validation of its string column `column` as of `as_of`: id_n (the
    normalised value), id_error (NULL when valid, else an IdErrorCode value), id_birth_date
    and id_gender ('M' / 'F'; both set whenever the birth-date part is valid)."""
    source, target = _translate_arguments()
    s = F.coalesce(F.col(column), F.lit(""))
    t = {name: F.col(f"{_TMP}{name}") for name in _STAGES}

    # 1. the cleaned text: well-formed values (nearly all) skip translate().
    frame = frame.withColumn(
        f"{_TMP}c",
        F.when(_all_digits(s, 18, "[0-9X]"), s).otherwise(F.translate(s, source, target)),
    )
    # 2. 15-digit numbers upgraded: 6 digits, "19", 9 digits and the check character of
    # those 17. The digits of the body are read from the 15 directly.
    c = t["c"]
    body = [_digit(c, i) for i in range(1, 7)] + [F.lit(1), F.lit(9)]
    body += [_digit(c, i) for i in range(7, 16)]
    upgraded = F.concat(
        F.substring(c, 1, 6),
        F.lit("19"),
        F.substring(c, 7, 9),
        _check_char(_sum([w * d for w, d in zip(ID_WEIGHTS, body, strict=True)])),
    )
    frame = frame.withColumn(f"{_TMP}n", F.when(_all_digits(c, 15), upgraded).otherwise(c))
    # 3. The first 17 digits as one BIGINT and the birth date as one INT (both meaningful
    # only when well-formed): integer arithmetic on them is several times faster than
    # reading 17 characters one by one.
    n = t["n"]
    frame = frame.withColumns(
        {
            f"{_TMP}wf": _all_digits(n, 18, "[0-9X]"),
            f"{_TMP}v": F.substring(n, 1, 17).try_cast("bigint"),
            f"{_TMP}ymd": F.substring(n, 7, 8).try_cast("int"),
        }
    )
    ymd_name = f"`{_TMP}ymd`"
    y = F.expr(f"{ymd_name} div 10000")
    m = F.expr(f"({ymd_name} div 100) % 100")
    d = F.expr(f"{ymd_name} % 100")
    wf = t["wf"]
    leap = ((y % 4) == 0) & (((y % 100) != 0) | ((y % 400) == 0))
    days_in_month = (
        F.when(m == 2, F.when(leap, 29).otherwise(28)).when(m.isin(4, 6, 9, 11), 30).otherwise(31)
    )
    ymd = t["ymd"]
    min_birth = MIN_BIRTH_DATE.year * 10000 + MIN_BIRTH_DATE.month * 100 + MIN_BIRTH_DATE.day
    as_of_ymd = as_of.year * 10000 + as_of.month * 100 + as_of.day
    birth_ok = (
        m.between(1, 12) & d.between(F.lit(1), days_in_month) & ymd.between(min_birth, as_of_ymd)
    )
    frame = frame.withColumn(f"{_TMP}birth_ok", wf & birth_ok)
    check = _check_char(_check_sum(f"`{_TMP}v`"))
    e = IdErrorCode
    error = (
        F.when(n.isNull() | (n == F.lit("")), F.lit(e.EMPTY.value))
        .when(F.length(n) != 18, F.lit(e.BAD_LENGTH.value))
        .when(~wf, F.lit(e.BAD_FORMAT.value))
        .when(~F.substring(n, 1, 2).isin(*sorted(PROVINCE_CODES)), F.lit(e.BAD_PROVINCE.value))
        .when(~birth_ok, F.lit(e.BAD_BIRTH_DATE.value))
        .when(check != F.substring(n, 18, 1), F.lit(e.BAD_CHECK.value))
    )
    known = t["birth_ok"]
    return frame.withColumns(
        {
            "id_n": n,
            "id_error": error,
            "id_birth_date": F.when(known, F.make_date(y, m, d)),
            "id_gender": F.when(
                known,
                F.when((t["v"] % 2) == 1, F.lit(Gender.MALE.value)).otherwise(
                    F.lit(Gender.FEMALE.value)
                ),
            ),
        }
    ).drop(*[f"{_TMP}{name}" for name in _STAGES])
