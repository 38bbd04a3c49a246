"""The ID-number validator as DuckDB SQL macros, for batch checks over millions of rows.

Pure SQL macros, not Python UDFs: DuckDB inlines them into its vectorised execution, while a
UDF calls back into Python. They agree with `id_number` exactly (normalised value, first
error code in the same precedence, birth date, gender); a differential test holds them to it.

    shebao_normalize_id(s)                          → VARCHAR
    shebao_id_check_char(first17)                   → VARCHAR (NULL unless 17 digits)
    shebao_id_error(s, as_of := current_date)       → NULL when valid, else an IdErrorCode value
    shebao_id_birth_date(s, as_of := current_date)  → DATE, when the birth-date part is valid
    shebao_id_gender(s, as_of := current_date)      → 'M' / 'F', likewise
    shebao_id_check(s, as_of := current_date)       → STRUCT(normalized, error, birth_date,
                                                      gender): all four at the cost of one

Each checking macro casts substrings of the normalised value to INTEGER once (the first 17
digits as two integers, and the birth date) and works on those with // and % inside a single
lambda, rather than with 17 substr() calls. On this 2-core machine that is roughly 1-3 µs of
CPU per row depending on load, 10-20 times faster than the Python validator; see
bench/bench_identity_sql.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import duckdb

from shebao.identity._issues import today_in_china
from shebao.identity._text import id_number_translation
from shebao.identity.id_number import (
    ID_CHECK_CHARS,
    ID_WEIGHTS,
    MIN_BIRTH_DATE,
    PROVINCE_CODES,
    Gender,
    IdErrorCode,
)

__all__ = [
    "MACRO_NAMES",
    "SqlIdResult",
    "register_identity_macros",
    "sql_id_error_flat",
    "sql_validate_ids",
]

MACRO_NAMES: Final[tuple[str, ...]] = (
    "shebao_normalize_id",
    "shebao_id_check_char",
    "shebao_id_error",
    "shebao_id_birth_date",
    "shebao_id_gender",
    "shebao_id_check",
)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _translate_arguments() -> tuple[str, str]:
    """`translate(s, from, to)` deletes the characters of `from` that have no counterpart in
    `to`, so the deleted characters go last."""
    table = id_number_translation()
    mapped = [(src, dst) for src, dst in table.items() if dst]
    deleted = [src for src, dst in table.items() if not dst]
    source = "".join(src for src, _ in mapped) + "".join(deleted)
    target = "".join(dst for _, dst in mapped)
    return _sql_string(source), _sql_string(target)


def _let(value: str, name: str, body: str) -> str:
    """`body` with `name` bound to `value`, which is evaluated once per row.

    DuckDB expands macros textually, so a macro argument used twenty times is twenty copies
    of its expression, each planned separately (nested macros made planning take seconds) and
    each computed again wherever the common-subexpression optimizer does not reach: inside
    CASE, AND and OR, and in every WHERE clause. A one-element list mapped through a lambda is
    DuckDB's nearest thing to `let`; it behaves the same in SELECT and WHERE.
    """
    return f"list_transform([{value}], lambda {name}: {body})[1]"


def _check_sum_mod_11(v: str) -> str:
    """Σ digit·weight (mod 11) over the 17 digits of the non-negative BIGINT `v`.

    With q_k = v // 10^k, digit_k = q_k − 10·q_(k+1) ≡ q_k + q_(k+1) (mod 11), so the sum is
    Σ c_k·q_k with c_k = ω_k + ω_(k−1), ω_k being the weight of the digit worth 10^k: one
    division per digit instead of two. The total stays below 1.2·10^18, within BIGINT.
    """
    by_power = [ID_WEIGHTS[16 - k] for k in range(17)]
    factors = [by_power[0]] + [(by_power[k] + by_power[k - 1]) % 11 for k in range(1, 17)]
    terms = [f"{factors[0]} * {v}"] + [
        f"{factor} * ({v} // {10**k})" for k, factor in enumerate(factors) if k and factor
    ]
    return f"(({' + '.join(terms)}) % 11)"


_SHAPE_18: Final[str] = "'[0-9]{17}[0-9X]'"
# A 100-character 0/1 table indexed by the 2-digit province code: DuckDB turns a long IN list
# into a join.
_PROVINCES: Final[str] = "".join(
    "1" if f"{code:02d}" in PROVINCE_CODES else "0" for code in range(100)
)
_MIN_BIRTH: Final[int] = (
    MIN_BIRTH_DATE.year * 10000 + MIN_BIRTH_DATE.month * 100 + MIN_BIRTH_DATE.day
)
_FLAT_PREFIX: Final[str] = "_idc_"


def _parts(n: str, as_of_ymd: str) -> dict[str, str]:
    """SQL of each part of the normalised value `n`, each a single cast of a substring of n,
    so that n appears only a few times: the optimizer shares those copies in a SELECT list,
    and elsewhere (WHERE) each costs one regexp on well-formed input. All are INTEGER, so
    that the arithmetic over them needs no casts of its constants (DuckDB does not fold
    constants inside lambdas). They are meaningful only when n is well-formed: TRY_CAST
    alone accepts "+1e5" and the like. `as_of_ymd`: the as-of date as an INTEGER YYYYMMDD."""
    return {
        "n": n,
        "well_formed": f"regexp_full_match({n}, {_SHAPE_18})",
        "head": f"TRY_CAST(substr({n}, 1, 8) AS INTEGER)",
        "tail": f"TRY_CAST(substr({n}, 9, 9) AS INTEGER)",
        "year": f"TRY_CAST(substr({n}, 7, 4) AS INTEGER)",
        "month": f"TRY_CAST(substr({n}, 11, 2) AS INTEGER)",
        "day": f"TRY_CAST(substr({n}, 13, 2) AS INTEGER)",
        "as_of": as_of_ymd,
    }


def _birth_ok(r: Callable[[str], str]) -> str:
    """The birth-date part is a real date from MIN_BIRTH_DATE to the as-of date; `r` names
    the parts. A month m other than February has 30 + ((m + m // 8) % 2) days."""
    days_in_month = f"""CASE WHEN {r("month")} = 2
        THEN CASE WHEN {r("year")} % 4 = 0 AND ({r("year")} % 100 <> 0 OR {r("year")} % 400 = 0)
            THEN 29 ELSE 28 END
        ELSE 30 + ({r("month")} + {r("month")} // 8) % 2 END"""
    return f"""({r("month")} BETWEEN 1 AND 12
        AND {r("day")} BETWEEN 1 AND {days_in_month}
        AND {r("year")} * 10000 + {r("month")} * 100 + {r("day")}
            BETWEEN {_MIN_BIRTH} AND {r("as_of")})"""


def _error(r: Callable[[str], str]) -> str:
    """The first IdErrorCode of the number whose parts `r` names, NULL when it is valid.
    head holds digits 1-8 and tail digits 9-17."""
    e = IdErrorCode
    check_sum = " + ".join(
        [f"{ID_WEIGHTS[7 - k]} * (({r('head')} // {10**k}) % 10)" for k in range(8)]
        + [f"{ID_WEIGHTS[16 - k]} * (({r('tail')} // {10**k}) % 10)" for k in range(9)]
    )
    check_char = f"substr({_sql_string(ID_CHECK_CHARS)}, 1 + ({check_sum}) % 11, 1)"
    n = r("n")
    return f"""CASE
        WHEN {n} IS NULL OR {n} = '' THEN '{e.EMPTY}'
        WHEN length({n}) <> 18 THEN '{e.BAD_LENGTH}'
        WHEN NOT {r("well_formed")} THEN '{e.BAD_FORMAT}'
        WHEN substr('{_PROVINCES}', 1 + {r("head")} // 1000000, 1) = '0' THEN '{e.BAD_PROVINCE}'
        WHEN NOT {_birth_ok(r)} THEN '{e.BAD_BIRTH_DATE}'
        WHEN {check_char} <> substr({n}, 18, 1) THEN '{e.BAD_CHECK}'
        END"""


def sql_id_error_flat(column: str, as_of: date) -> tuple[str, str]:
    """`shebao_id_error(column, as_of)` for a column of normalised ID numbers (as
    `shebao_normalize_id` returns them), as two plain projections instead of the macro's
    lambda: (parts, error). `parts` is a SELECT-list fragment for a query over `column`
    (it adds columns named _idc_*); `error` is the expression over them for the query
    around that one. DuckDB runs a lambda row by row and a projection a vector at a time:
    on ten million numbers this took 7 s where the macro took 16."""
    ymd = str(as_of.year * 10000 + as_of.month * 100 + as_of.day)
    parts = ", ".join(f"{sql} AS {_FLAT_PREFIX}{name}" for name, sql in _parts(column, ymd).items())
    return parts, _error(lambda name: f"{_FLAT_PREFIX}{name}")


def _macro_sql() -> list[str]:
    source, target = _translate_arguments()
    # Characters the normaliser leaves alone: values made only of these skip translate(),
    # which costs microseconds per row.
    unchanged = "'[0-9A-Za-wyz]*'"
    shape_18 = _SHAPE_18
    as_of_ymd = "CAST(year(as_of) * 10000 + month(as_of) * 100 + day(as_of) AS INTEGER)"
    parts = (
        "struct_pack("
        + ", ".join(
            f"{name} := {sql}" for name, sql in _parts("shebao_normalize_id(s)", as_of_ymd).items()
        )
        + ")"
    )

    def r(name: str) -> str:
        return f"r.{name}"

    error = _error(r)
    birth_known = f"r.well_formed AND {_birth_ok(r)}"
    birth_date = f"CASE WHEN {birth_known} THEN make_date(r.year, r.month, r.day) END"
    gender = f"""CASE WHEN {birth_known}
        THEN CASE WHEN r.tail % 2 = 1 THEN '{Gender.MALE}' ELSE '{Gender.FEMALE}' END END"""
    check = (
        f"struct_pack(normalized := r.n, error := {error}, "
        f"birth_date := {birth_date}, gender := {gender})"
    )

    def from_parts(body: str) -> str:
        return _let("shebao__id_parts(s, as_of)", "r", body)

    # Old numbers were only issued to people born in the 1900s, hence the fixed "19".
    upgraded = "substr(c, 1, 6) || '19' || substr(c, 7)"
    # Rare, so the check character is computed the short way (an expression that is also
    # cheap to plan, which matters as the normalised value is copied into every check).
    weights = "[" + ", ".join(map(str, ID_WEIGHTS)) + "]"
    digit_sum = (
        f"list_sum(list_transform(range(17), lambda i: "
        f"{weights}[i + 1] * CAST(substr(b, CAST(i + 1 AS INTEGER), 1) AS INTEGER)))"
    )
    with_check_char = (
        f"b || substr({_sql_string(ID_CHECK_CHARS)}, CAST(1 + {digit_sum} % 11 AS INTEGER), 1)"
    )
    upgrade_15 = f"""CASE WHEN regexp_full_match(c, '[0-9]{{15}}')
        THEN {_let(upgraded, "b", with_check_char)}
        ELSE c END"""
    check_char_of_17 = """CASE WHEN length(f) = 17 AND regexp_full_match(f, '[0-9]{17}')
        THEN shebao__id_check_of(CAST(f AS BIGINT)) END"""
    return [
        f"""CREATE OR REPLACE TEMP MACRO shebao__id_clean(s) AS (
            CASE WHEN regexp_full_match(s, {unchanged}) THEN s
            ELSE translate(s, {source}, {target}) END)""",
        f"""CREATE OR REPLACE TEMP MACRO shebao__id_check_of(v) AS substr(
            {_sql_string(ID_CHECK_CHARS)}, CAST(1 + {_check_sum_mod_11("v")} AS INTEGER), 1)""",
        f"CREATE OR REPLACE TEMP MACRO shebao_id_check_char(f) AS ({check_char_of_17})",
        f"CREATE OR REPLACE TEMP MACRO shebao__id_upgrade_15(c) AS ({upgrade_15})",
        f"""CREATE OR REPLACE TEMP MACRO shebao_normalize_id(s) AS (
            CASE WHEN regexp_full_match(s, {shape_18}) THEN s
            ELSE {_let("shebao__id_clean(s)", "c", "shebao__id_upgrade_15(c)")} END)""",
        f"CREATE OR REPLACE TEMP MACRO shebao__id_parts(s, as_of) AS {parts}",
        f"""CREATE OR REPLACE TEMP MACRO shebao_id_error(s, as_of := current_date) AS
            {from_parts(error)}""",
        f"""CREATE OR REPLACE TEMP MACRO shebao_id_birth_date(s, as_of := current_date) AS
            {from_parts(birth_date)}""",
        f"""CREATE OR REPLACE TEMP MACRO shebao_id_gender(s, as_of := current_date) AS
            {from_parts(gender)}""",
        f"""CREATE OR REPLACE TEMP MACRO shebao_id_check(s, as_of := current_date) AS
            {from_parts(check)}""",
    ]


def register_identity_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the `shebao_*` ID-number macros (see the module docstring) on a
    connection, as temporary macros that live as long as the connection."""
    for statement in _macro_sql():
        con.execute(statement)


@dataclass(frozen=True, slots=True)
class SqlIdResult:
    raw: str | None
    normalized: str | None
    error: IdErrorCode | None
    birth_date: date | None
    gender: Gender | None


def sql_validate_ids(
    con: duckdb.DuckDBPyConnection,
    values: Sequence[str | None],
    as_of: date | None = None,
    *,
    combined: bool = False,
) -> list[SqlIdResult]:
    """Run the macros over `values` (registering them first) and return one result per value,
    in input order: from the four single-purpose macros, or with `combined` from
    `shebao_id_check` alone."""
    register_identity_macros(con)
    outputs = (
        "c.normalized, c.error, c.birth_date, c.gender FROM (SELECT i, raw, "
        "shebao_id_check(raw, $as_of) AS c"
        if combined
        else "shebao_normalize_id(raw), shebao_id_error(raw, $as_of), "
        "shebao_id_birth_date(raw, $as_of), shebao_id_gender(raw, $as_of) FROM (SELECT i, raw"
    )
    rows = con.execute(
        f"""SELECT raw, {outputs} FROM (
                SELECT unnest($values) AS raw, generate_subscripts($values, 1) AS i))
            ORDER BY i""",  # noqa: S608 - the interpolated text is a constant
        {"values": list(values), "as_of": as_of or today_in_china()},
    ).fetchall()
    return [
        SqlIdResult(
            raw=raw,
            normalized=normalized,
            error=None if error is None else IdErrorCode(error),
            birth_date=birth,
            gender=None if gender is None else Gender(gender),
        )
        for raw, normalized, error, birth, gender in rows
    ]
