"""DuckDB SQL macros that read cells: text, codes, dates and months, vectorised.

Macros rather than Python: a file of ten million rows is read by DuckDB in its own threads,
never one Python call per cell.
"""

from __future__ import annotations

from typing import Final

import duckdb

from shebao.identity._text import FULL_WIDTH_DIGITS
from shebao.identity.duckdb_sql import register_identity_macros

__all__ = ["MAX_DATE", "MIN_DATE", "register_intake_macros"]

# Dates outside these bounds are typing errors (0990, 2990), not dates.
MIN_DATE: Final[str] = "1900-01-01"
MAX_DATE: Final[str] = "2100-12-31"
# Excel counts days from 1899-12-30 (its 1900 leap-year bug makes serials from 61 on exact).
_EXCEL_EPOCH: Final[str] = "1899-12-30"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _macros() -> list[str]:
    full, ascii_digits = _sql_string(FULL_WIDTH_DIGITS + "．"), _sql_string("0123456789.")
    iso = "'^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})(?:[ T].*)?$'"
    return [
        # A code cell (trimmed by the reader) with full-width digits folded and the ".0" that
        # numbers gain in Excel dropped.
        f"""CREATE OR REPLACE MACRO shebao_code_text(s) AS
            regexp_replace(translate(s, {full}, {ascii_digits}), '\\.0+$', '')""",
        # 1990-01-02, 1990-1-2, 1990/1/2, 1990.1.2, 1990年1月2日, 19900102, an Excel serial
        # number, or any of these followed by a time of day. `s` is trimmed.
        f"""CREATE OR REPLACE MACRO shebao__date_any(s) AS CAST(coalesce(
            try_strptime(s, '%Y-%m-%d'),
            CASE
                WHEN regexp_full_match(s, '[0-9]{{8}}') THEN try_strptime(s, '%Y%m%d')
                WHEN regexp_full_match(s, '[0-9]{{1,5}}(\\.0+)?')
                    THEN CAST(DATE '{_EXCEL_EPOCH}' + CAST(CAST(s AS DOUBLE) AS INTEGER)
                              AS TIMESTAMP)
                ELSE try_strptime(regexp_extract(
                    replace(regexp_replace(translate(s, {full}, {ascii_digits}),
                                           '[年月/.]', '-', 'g'), '日', ''),
                    {iso}, 1), '%Y-%m-%d')
            END) AS DATE)""",
        # list_extract([x], 0/1) rather than CASE, so that DuckDB computes x once per row.
        f"""CREATE OR REPLACE MACRO shebao_parse_date(s) AS list_extract(
            [shebao__date_any(s)],
            CAST(coalesce(shebao__date_any(s) BETWEEN DATE '{MIN_DATE}' AND DATE '{MAX_DATE}',
                          false) AS INTEGER))""",
        # YYYYMM from 202406, 2024-06, 2024/6, 2024年6月 or a whole date; NULL otherwise.
        # The usual YYYYMM passes one regular expression; the rest take the long way.
        """CREATE OR REPLACE MACRO shebao__month_parts(s) AS regexp_extract(
            replace(regexp_replace(s, '[年/.]', '-', 'g'), '月', ''),
            '^([0-9]{4})-?([0-9]{1,2})$', ['y', 'm'])""",
        """CREATE OR REPLACE MACRO shebao__month_slow(s) AS list_transform(
            [shebao__month_parts(s)],
            lambda p: CASE
                WHEN TRY_CAST(p.m AS INTEGER) BETWEEN 1 AND 12 AND p.y BETWEEN '1900' AND '2100'
                THEN p.y || lpad(p.m, 2, '0')
                ELSE strftime(shebao_parse_date(s), '%Y%m') END)[1]""",
        """CREATE OR REPLACE MACRO shebao_parse_month(s) AS (
            CASE WHEN regexp_full_match(s, '(19[0-9]{2}|20[0-9]{2}|2100)(0[1-9]|1[0-2])')
                 THEN s ELSE shebao__month_slow(shebao_code_text(s)) END)""",
    ]


def register_intake_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The identity macros (`shebao_normalize_id`, ...) and the cell readers above; also
    turns DuckDB's terminal progress bar off."""
    register_identity_macros(con)
    # DuckDB draws a progress bar on the terminal for long queries; a library must not.
    con.execute("SET enable_progress_bar = false").fetchall()
    for statement in _macros():
        con.execute(statement)
