"""The eligibility rules of `eligibility`, applied to whole files at once with DuckDB.

Joins, duplicates and ID validation run as SQL over Arrow tables (the `shebao_*` identity
macros); what repeats a lot but is cheap per distinct value (phones that are not plain 11-digit
numbers, bank names) is decided once per distinct value with the very functions the reference
rules use. Photos are checked per file, once per distinct photo, by the caller's
`PhotoSource` (a worker pool over the ZIP).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Protocol

import duckdb
import polars as pl

from shebao.cards.domain.eligibility import (
    DECEASED_STATUS,
    HAS_CARD_DETAIL,
    HOLDING_CARD_STATUSES,
    NO_PHOTO_DETAIL,
    NON_HUKOU,
    SCOPE_ATTRIBUTES,
    HukouAgeLimit,
    NonHukouEnterpriseEmployeesExcluded,
    NonHukouMustBeInsured,
    Programme,
    Reason,
    ScopeRule,
    banks_text,
    resolve_bank,
)
from shebao.cards.domain.photos import PhotoVerdict
from shebao.identity.duckdb_sql import register_identity_macros
from shebao.identity.id_number import IdErrorCode
from shebao.identity.phone import validate_mobile

__all__ = [
    "APPLICATION_KEYS",
    "CARD_KEYS",
    "POPULATION_KEYS",
    "EligibilityResult",
    "PhotoSource",
    "check_applications",
]

APPLICATION_KEYS: Final[tuple[str, ...]] = (
    "id_number",
    "name",
    "bank",
    "phone",
    "work_number",
)
POPULATION_KEYS: Final[tuple[str, ...]] = (
    "id_number",
    "status",
    "death_date",
    "hukou_type",
    "region_code",
)
CARD_KEYS: Final[tuple[str, ...]] = ("id_number", "status")
_PLAIN_MOBILE: Final[str] = r"^1[3-9][0-9]{9}$"


class PhotoSource(Protocol):
    """Photos by name: `index` maps an upper-cased file stem to its entry."""

    @property
    def index(self) -> Mapping[str, str]: ...

    def check(self, entries: Sequence[str]) -> Mapping[str, PhotoVerdict]: ...


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """`frame`: row, id_number, name, eligible (bool), reasons (codes joined by ';'), messages
    (Chinese, joined by '；'), one row per application row, in row order. `skipped_rules`:
    scope rules not applied because the inputs lack the data they need."""

    frame: pl.DataFrame
    skipped_rules: tuple[str, ...]
    photos_checked: int
    photo_seconds: float = 0.0

    def counts(self) -> dict[Reason, int]:
        exploded = self.frame.select(pl.col("reasons").str.split(";").alias("r")).explode("r")
        counted = exploded.filter(pl.col("r") != "").group_by("r").len()
        found = dict(zip(counted["r"].to_list(), counted["len"].to_list(), strict=True))
        return {reason: int(found.get(reason.value, 0)) for reason in Reason}


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scope_sql(rule: ScopeRule, as_of: date) -> str:
    """TRUE where the rule puts the person out of scope (p: person, b: application)."""
    match rule:
        case HukouAgeLimit(max_age=max_age):
            ymd = as_of.year * 10000 + as_of.month * 100 + as_of.day
            return (
                f"p.hukou_here AND ({ymd} - TRY_CAST(substr(b.id_norm, 7, 8) AS INTEGER)) // 10000"
                f" >= {max_age}"
            )
        case NonHukouEnterpriseEmployeesExcluded():
            return "NOT p.hukou_here AND p.enterprise_employee IS TRUE"
        case NonHukouMustBeInsured():
            return "NOT p.hukou_here AND p.insured IS FALSE"


def _phone_issues(phones: pl.Series) -> pl.DataFrame:
    """Messages for the distinct phones that are not plain mobile numbers and fail the
    validator (a plain 1[3-9]NNNNNNNNN passes it unchanged)."""
    odd = phones.filter(~phones.str.contains(_PLAIN_MOBILE)).unique().to_list()
    rows = [(p, validate_mobile(p)) for p in odd]
    return pl.DataFrame(
        {
            "phone": [p for p, c in rows if not c.ok],
            "message": [c.errors[0].message for _, c in rows if not c.ok],
        },
        schema={"phone": pl.String, "message": pl.String},
    )


def _frame(con: duckdb.DuckDBPyConnection, query: str) -> pl.DataFrame:
    return con.sql(query).pl()


def _person_attributes(population: pl.DataFrame) -> tuple[str, ...]:
    return tuple(a for a in SCOPE_ATTRIBUTES if a in population.columns)


def check_applications(
    applications: pl.DataFrame,
    population: pl.DataFrame,
    *,
    cards: pl.DataFrame | None = None,
    photos: PhotoSource | None = None,
    banks: frozenset[str] | None = None,
    programme: Programme | None = None,
    as_of: date,
) -> EligibilityResult:
    """Apply the rules to every row of `applications` (columns `__row` and APPLICATION_KEYS,
    strings) against `population` (`__row`, POPULATION_KEYS, optionally the Boolean
    SCOPE_ATTRIBUTES) and `cards` (CARD_KEYS). `banks` are canonical names."""
    con = duckdb.connect()
    try:
        return _run(con, applications, population, cards, photos, banks, programme, as_of)
    finally:
        con.close()


def _run(
    con: duckdb.DuckDBPyConnection,
    applications: pl.DataFrame,
    population: pl.DataFrame,
    cards: pl.DataFrame | None,
    photos: PhotoSource | None,
    banks: frozenset[str] | None,
    programme: Programme | None,
    as_of: date,
) -> EligibilityResult:
    register_identity_macros(con)
    attributes = _person_attributes(population)
    apps = applications.select("__row", *(pl.col(k).fill_null("") for k in APPLICATION_KEYS))
    pop = population.select(
        "__row",
        *(pl.col(k).fill_null("") for k in POPULATION_KEYS),
        *(pl.col(a).cast(pl.Boolean) for a in attributes),
    )
    con.register("apps", apps.to_arrow())
    con.register("population", pop.to_arrow())
    con.execute(
        """CREATE TEMP TABLE base AS
           SELECT "__row" AS row, id_number AS id_raw, name, bank, phone, work_number,
                  shebao_normalize_id(id_number) AS id_norm,
                  shebao_id_error(id_number, $as_of) AS id_error
           FROM apps""",
        {"as_of": as_of},
    )

    # The population rows of applicants only: one per ID number (the first), dead if any is.
    extra = "".join(f", first({a} ORDER BY rn) AS {a}" for a in attributes)
    prefixes = programme.hukou_region_prefixes if programme else ()
    here = " OR ".join(f"starts_with(region_code, {_sql_text(p)})" for p in prefixes) or "TRUE"
    # S608: the SQL is assembled from this module's constants and configuration values quoted
    # by _sql_text; file contents only ever arrive as registered tables.
    con.execute(
        f"""CREATE TEMP TABLE pop AS
            SELECT id,
                   bool_or(status = {_sql_text(DECEASED_STATUS)} OR death_date <> '')
                       AS deceased,
                   first(hukou_type <> {_sql_text(NON_HUKOU)} AND ({here}) ORDER BY rn)
                       AS hukou_here
                   {extra}
            FROM (SELECT shebao_normalize_id(id_number) AS id, "__row" AS rn, *
                  FROM population)
            WHERE id IN (SELECT id_norm FROM base WHERE id_error IS NULL)
            GROUP BY id"""  # noqa: S608
    )
    if cards is not None:
        con.register("cards", cards.select(pl.col(k).fill_null("") for k in CARD_KEYS).to_arrow())
        holding = ", ".join(_sql_text(s) for s in sorted(HOLDING_CARD_STATUSES))
        con.execute(
            f"""CREATE TEMP TABLE held AS
                SELECT DISTINCT shebao_normalize_id(id_number) AS id FROM cards
                WHERE status IN ({holding})"""  # noqa: S608 - constants only
        )
    else:
        con.execute("CREATE TEMP TABLE held (id VARCHAR)")

    # Photos: each row's file (by ID number, as normalised or as written, or by work number),
    # each distinct file checked once.
    photos_checked = 0
    photo_seconds = 0.0
    con.execute("CREATE TEMP TABLE photo_rows (row BIGINT, entry VARCHAR, ok BOOLEAN, msg VARCHAR)")
    if photos is not None:
        index = pl.DataFrame(
            {"stem": list(photos.index), "entry": list(photos.index.values())},
            schema={"stem": pl.String, "entry": pl.String},
        )
        con.register("photo_index", index.to_arrow())
        rows = _frame(
            con,
            """SELECT b.row, coalesce(p1.entry, p2.entry, p3.entry) AS entry FROM base b
               LEFT JOIN photo_index p1 ON p1.stem = upper(b.id_norm)
               LEFT JOIN photo_index p2 ON p2.stem = upper(b.id_raw)
               LEFT JOIN photo_index p3 ON p3.stem = upper(b.work_number)""",
        )
        entries = rows["entry"].drop_nulls().unique().sort().to_list()
        started = time.perf_counter()
        verdicts = photos.check(entries)
        photo_seconds = time.perf_counter() - started
        photos_checked = len(entries)
        verdict_frame = pl.DataFrame(
            {
                "entry": entries,
                "ok": [verdicts[e].ok for e in entries],
                "msg": [verdicts[e].message for e in entries],
            },
            schema={"entry": pl.String, "ok": pl.Boolean, "msg": pl.String},
        )
        joined = rows.join(verdict_frame, on="entry", how="left")
        con.register("photo_joined", joined.to_arrow())
        con.execute("INSERT INTO photo_rows SELECT row, entry, ok, msg FROM photo_joined")

    con.register("phone_issues", _phone_issues(apps["phone"]).to_arrow())
    check_banks = banks is not None
    if check_banks:
        distinct = apps["bank"].unique().to_list()
        bank_map = pl.DataFrame(
            {"bank": distinct, "ok": [resolve_bank(b, banks or ()) is not None for b in distinct]},
            schema={"bank": pl.String, "ok": pl.Boolean},
        )
    else:
        bank_map = pl.DataFrame(schema={"bank": pl.String, "ok": pl.Boolean})
    con.register("bank_map", bank_map.to_arrow())

    skipped: list[str] = []
    scope_columns: list[str] = []
    if programme is not None:
        for i, rule in enumerate(programme.scope):
            if not set(rule.needs) <= set(attributes):
                skipped.append(rule.message)
                continue
            scope_columns.append(
                f"coalesce(b.id_error IS NULL AND p.id IS NOT NULL AND ({_scope_sql(rule, as_of)}),"
                f" false) AS scope_{i}"
            )
    flags = _frame(
        con,
        f"""SELECT b.row,
                  CASE WHEN b.id_error IS NULL THEN b.id_norm ELSE b.id_raw END AS id_number,
                  b.name, b.bank, b.id_error,
                  b.id_error IS NULL AND p.id IS NULL AS not_in_population,
                  b.id_error IS NULL AND coalesce(p.deceased, false) AS deceased,
                  {str(photos is not None).upper()} AND ph.entry IS NULL AS no_photo,
                  coalesce(NOT ph.ok, false) AS photo_bad, ph.msg AS photo_msg,
                  b.id_error IS NULL AND h.id IS NOT NULL AS has_card,
                  b.id_error IS NULL AND d.first_row < b.row AS duplicate, d.first_row,
                  pi.message AS phone_msg,
                  {str(check_banks).upper()} AND NOT coalesce(bm.ok, false) AS bank_bad
                  {"".join(", " + c for c in scope_columns)}
           FROM base b
           LEFT JOIN pop p ON p.id = b.id_norm AND b.id_error IS NULL
           LEFT JOIN (SELECT DISTINCT id FROM held) h ON h.id = b.id_norm
           LEFT JOIN (SELECT id_norm, min(row) AS first_row FROM base
                      WHERE id_error IS NULL GROUP BY id_norm) d ON d.id_norm = b.id_norm
           LEFT JOIN photo_rows ph ON ph.row = b.row
           LEFT JOIN phone_issues pi ON pi.phone = b.phone
           LEFT JOIN bank_map bm ON bm.bank = b.bank
           ORDER BY b.row""",  # noqa: S608 - constants and rule SQL only
    )
    frame = _reasons(flags, programme, banks)
    return EligibilityResult(frame, tuple(skipped), photos_checked, photo_seconds)


def _reasons(
    flags: pl.DataFrame,
    programme: Programme | None,
    banks: frozenset[str] | None,
) -> pl.DataFrame:
    """Codes and Chinese messages from the flag columns, in Reason order."""
    id_messages = {code.value: code.message for code in IdErrorCode}
    applied = [
        (i, rule)
        for i, rule in enumerate(programme.scope if programme else ())
        if f"scope_{i}" in flags.columns
    ]
    scope_any = pl.any_horizontal([pl.col(f"scope_{i}") for i, _ in applied] or [pl.lit(False)])
    scope_msg = pl.concat_str(
        [pl.when(pl.col(f"scope_{i}")).then(pl.lit(rule.message)) for i, rule in applied]
        or [pl.lit(None, dtype=pl.String)],
        separator="；",
        ignore_nulls=True,
    )
    bank_list = banks_text(banks or frozenset())
    chosen = (
        pl.when(pl.col("bank") == "")
        .then(pl.lit("未选择银行"))
        .otherwise(pl.format("“{}”", pl.col("bank")))
    )

    def reason(code: Reason, condition: pl.Expr, detail: pl.Expr | None) -> tuple[pl.Expr, pl.Expr]:
        label = pl.lit(code.label)
        message = label if detail is None else pl.concat_str([label, pl.lit("："), detail])
        return (
            pl.when(condition).then(pl.lit(code.value)),
            pl.when(condition).then(message),
        )

    parts = [
        reason(
            Reason.INVALID_ID,
            pl.col("id_error").is_not_null(),
            pl.col("id_error").replace_strict(id_messages, default=None, return_dtype=pl.String),
        ),
        reason(Reason.NOT_IN_POPULATION, pl.col("not_in_population"), None),
        reason(Reason.DECEASED, pl.col("deceased"), None),
        reason(Reason.NO_PHOTO, pl.col("no_photo"), pl.lit(NO_PHOTO_DETAIL)),
        reason(Reason.PHOTO_QUALITY, pl.col("photo_bad"), pl.col("photo_msg")),
        reason(Reason.HAS_CARD, pl.col("has_card"), pl.lit(HAS_CARD_DETAIL)),
        reason(
            Reason.DUPLICATE_APPLICATION,
            pl.col("duplicate"),
            pl.format("与第 {} 行的身份证号码相同", pl.col("first_row")),
        ),
        reason(Reason.INVALID_PHONE, pl.col("phone_msg").is_not_null(), pl.col("phone_msg")),
        reason(
            Reason.BANK_NOT_COOPERATING,
            pl.col("bank_bad"),
            pl.concat_str([chosen, pl.lit(f"，合作银行为{bank_list}")]),
        ),
        reason(Reason.OUT_OF_SCOPE, scope_any, scope_msg),
    ]
    codes = pl.concat_str([c for c, _ in parts], separator=";", ignore_nulls=True)
    messages = pl.concat_str([m for _, m in parts], separator="；", ignore_nulls=True)
    return flags.select(
        pl.col("row"),
        pl.col("id_number"),
        pl.col("name"),
        (codes == "").alias("eligible"),
        codes.alias("reasons"),
        messages.alias("messages"),
    )
