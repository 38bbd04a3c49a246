"""The DuckDB macros against the Python validator: same normalised value, first error code,
birth date and gender, on tens of thousands of generated and damaged inputs."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import date

import duckdb
import pytest

from shebao.identity.duckdb_sql import (
    MACRO_NAMES,
    register_identity_macros,
    sql_id_error_flat,
    sql_validate_ids,
)
from shebao.identity.id_number import IdErrorCode, id_number_check_char, validate_id_number
from tests.unit.identity.cases import AS_OF, mutated_id

pytestmark = pytest.mark.unit


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    register_identity_macros(connection)
    yield connection
    connection.close()


def _inputs(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [mutated_id(rng) for _ in range(count)]


@pytest.mark.parametrize(
    ("combined", "count"), [(False, 30_000), (True, 10_000)], ids=["macros", "shebao_id_check"]
)
def test_sql_agrees_with_python(con: duckdb.DuckDBPyConnection, combined: bool, count: int) -> None:
    values = _inputs(count, seed=11643 + count)
    results = sql_validate_ids(con, values, AS_OF, combined=combined)
    assert len(results) == len(values)

    seen: Counter[str] = Counter()
    mismatches = []
    for raw, sql in zip(values, results, strict=True):
        py = validate_id_number(raw, as_of=AS_OF)
        seen[py.first_error or "OK"] += 1
        expected = (py.normalized, py.first_error, py.birth_date, py.gender)
        actual = (sql.normalized, sql.error, sql.birth_date, sql.gender)
        if expected != actual:
            mismatches.append((raw, expected, actual))
    assert not mismatches, mismatches[:10]
    # Every outcome occurs often enough for the agreement to mean something.
    assert set(seen) == {"OK", *IdErrorCode}
    assert min(seen.values()) > count // 200, seen


def test_flat_error_agrees_with_python_on_normalised_numbers(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The engine validates its normalised numbers with `sql_id_error_flat`, not the macro:
    the same first error (or none) as the Python validator for every outcome."""
    values = _inputs(30_000, seed=20261126)
    normalised = [validate_id_number(v, as_of=AS_OF).normalized or "" for v in values]
    parts, error = sql_id_error_flat("id", AS_OF)
    rows = con.execute(
        f"""SELECT i, {error} FROM (SELECT i, {parts} FROM (
                SELECT unnest($v) AS id, generate_subscripts($v, 1) AS i)) ORDER BY i""",  # noqa: S608
        {"v": normalised},
    ).fetchall()
    expected = [validate_id_number(v, as_of=AS_OF).first_error for v in normalised]
    assert [e for _, e in rows] == expected
    assert set(expected) == {None, *IdErrorCode}


def test_macros_exist(con: duckdb.DuckDBPyConnection) -> None:
    names = {
        row[0]
        for row in con.execute(
            "SELECT function_name FROM duckdb_functions() WHERE function_type = 'macro'"
        ).fetchall()
    }
    assert set(MACRO_NAMES) <= names


def test_null_and_empty(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute(
        "SELECT shebao_id_error(NULL), shebao_id_error(''), shebao_id_error(' \u3000'),"
        " shebao_normalize_id(NULL), shebao_id_birth_date(NULL), shebao_id_gender(NULL)"
    ).fetchone()
    assert row == ("EMPTY", "EMPTY", "EMPTY", None, None, None)


def test_check_char_macro(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(7)
    bodies = ["".join(rng.choice("0123456789") for _ in range(17)) for _ in range(2000)]
    rows = con.execute(
        "SELECT b, shebao_id_check_char(b) FROM unnest($b) AS t(b)", {"b": bodies}
    ).fetchall()
    assert all(char == id_number_check_char(body) for body, char in rows)
    bad = con.execute(
        "SELECT shebao_id_check_char('3604261991010100'),"
        " shebao_id_check_char('3604261991010100X'),"
        " shebao_id_check_char('+3604261991010100'), shebao_id_check_char(NULL)"
    ).fetchone()
    assert bad == (None, None, None, None)


def test_as_of_default_and_where_clause(con: duckdb.DuckDBPyConnection) -> None:
    future_body = "11010220990101007"
    future = future_body + id_number_check_char(future_body)
    values = ["360426199101010071", future, "36042619910102009X", "360426910101007"]
    # Without as_of the macros use today's date, as the Python validator does.
    rows = con.execute(
        "SELECT v, shebao_id_error(v) FROM unnest($v) AS t(v)", {"v": values}
    ).fetchall()
    assert dict(rows) == {v: (validate_id_number(v).first_error or None) for v in values}
    # In a WHERE clause (no common-subexpression sharing there) the result is the same.
    invalid = con.execute(
        "SELECT v FROM unnest($v) AS t(v) WHERE shebao_id_error(v, $d) IS NOT NULL ORDER BY v",
        {"v": values, "d": date(2025, 1, 1)},
    ).fetchall()
    assert [v for (v,) in invalid] == sorted([future, "36042619910102009X"])


def test_macros_work_on_a_table_column_with_a_per_row_as_of(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute(
        "CREATE TABLE people AS SELECT * FROM (VALUES"
        " ('360426199101010071', DATE '1990-12-31'),"
        " ('360426199101010071', DATE '1991-01-01')) t(id, on_day)"
    )
    rows = con.execute(
        "SELECT shebao_id_error(id, on_day), shebao_id_birth_date(id, on_day) FROM people"
        " ORDER BY on_day"
    ).fetchall()
    assert rows == [("BAD_BIRTH_DATE", None), (None, date(1991, 1, 1))]


def test_registration_is_idempotent_and_temporary(tmp_path: object) -> None:
    path = f"{tmp_path}/ids.duckdb"
    with duckdb.connect(path) as first:
        register_identity_macros(first)
        register_identity_macros(first)
        assert first.execute("SELECT shebao_normalize_id('360426910101007')").fetchone() == (
            "360426199101010071",
        )
    with duckdb.connect(path) as second, pytest.raises(duckdb.CatalogException):
        second.execute("SELECT shebao_normalize_id('1')")
