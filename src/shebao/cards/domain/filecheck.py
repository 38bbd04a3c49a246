"""`check-applications` as a library function: read the files, apply the rules, write
`eligibility.csv` and `eligibility.xlsx`.

The CSV is the contract for other systems: UTF-8, header `row,id_number,name,eligible,reasons`,
`row` the 1-based data row of the applications file, `eligible` 1 or 0, `reasons` the codes in
`Reason` order joined by ';'. The XLSX is for the unit that sent the file: every row with its
original columns, whether it qualifies and the reasons in Chinese (不符合制卡条件原因), and a
sheet before it with only the rows to correct and re-submit.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

import polars as pl

from shebao.cards.domain.eligibility import SCOPE_ATTRIBUTES, Programme, Reason, canonical_banks
from shebao.cards.domain.engine import (
    APPLICATION_KEYS,
    CARD_KEYS,
    POPULATION_KEYS,
    EligibilityResult,
    check_applications,
)
from shebao.cards.domain.photos import (
    PhotoSpec,
    PhotoVerdict,
    check_zip_photos,
    photo_index,
)
from shebao.cards.domain.tables import ROW, ColumnSpec, Table, TableError, read_table
from shebao.cards.domain.xlsx import Sheet, write_xlsx
from shebao.identity.spreadsheet import FORMULA_PATTERN

__all__ = [
    "APPLICATION_COLUMNS",
    "CARD_COLUMNS",
    "CSV_HEADER",
    "POPULATION_COLUMNS",
    "CheckSummary",
    "ZipPhotos",
    "check_application_files",
]

_ID_ALIASES: Final[tuple[str, ...]] = ("身份证号", "身份证号码", "公民身份号码", "社会保障号码")
APPLICATION_COLUMNS: Final[tuple[ColumnSpec, ...]] = (
    ColumnSpec("id_number", "身份证号(18位)", _ID_ALIASES),
    ColumnSpec("name", "姓名"),
    ColumnSpec("bank", "银行", ("合作银行", "服务银行", "金融服务银行"), required=False),
    ColumnSpec("gender", "性别", required=False),
    ColumnSpec("phone", "联系电话", ("手机号码", "手机号", "电话", "联系方式")),
    ColumnSpec(
        "work_number",
        "工作证号(学籍号)",
        ("工作证号", "学籍号", "工号", "工作证号/学籍号"),
        required=False,
    ),
)
POPULATION_COLUMNS: Final[tuple[ColumnSpec, ...]] = (
    ColumnSpec("id_number", "公民身份号码", ("身份证号码", "身份证号", "社会保障号码")),
    ColumnSpec("name", "姓名"),
    ColumnSpec("region_code", "户籍地区划代码", ("户籍地行政区划代码", "户籍区划代码")),
    ColumnSpec("status", "人员状态"),
    ColumnSpec("hukou_type", "户籍类型", required=False),
    ColumnSpec("death_date", "死亡日期", required=False),
    # The insurance facts the scope rules may need (是/否); without them those rules are not
    # applied and the summary says so.
    ColumnSpec("insured", "是否本地参保", ("是否参保", "本地参保"), required=False),
    ColumnSpec(
        "enterprise_employee", "是否参保企业职工", ("参保企业职工", "企业职工"), required=False
    ),
)
CARD_COLUMNS: Final[tuple[ColumnSpec, ...]] = (
    ColumnSpec("id_number", "社会保障号码", ("公民身份号码", "身份证号码", "身份证号")),
    ColumnSpec("card_number", "卡号", ("社保卡号", "社会保障卡号"), required=False),
    ColumnSpec("status", "卡状态", ("状态",)),
)
CSV_HEADER: Final[tuple[str, ...]] = ("row", "id_number", "name", "eligible", "reasons")


@dataclass(frozen=True, slots=True)
class ZipPhotos:
    """The photos of a ZIP, checked by a worker pool (`workers` None: all usable CPUs)."""

    path: Path
    spec: PhotoSpec
    workers: int | None = None
    index: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def open(
        cls, path: Path, spec: PhotoSpec, workers: int | None = None, *, name: str | None = None
    ) -> ZipPhotos:
        """`name`: the ZIP's name as its owner gave it (it is stored under another)."""
        import zipfile

        from shebao.identity.filesafety import UnsafeFile, check_zip

        source = name or path.name
        if not path.is_file():
            raise TableError("FILE_NOT_FOUND", f"照片压缩包不存在：{path}")
        try:
            # Member count, total and ratios measured before any member is read.
            check_zip(path, source)
            index = photo_index(path)
        except UnsafeFile as exc:
            raise TableError(exc.code, f"照片压缩包：{exc.message}") from exc
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise TableError(
                "UNREADABLE_FILE",
                f"照片压缩包（{source}）无法读取：不是有效的 ZIP 压缩包或已损坏，"
                "请重新压缩照片（ZIP 格式）后上传",
            ) from exc
        return cls(path=path, spec=spec, workers=workers, index=index.by_stem)

    def check(self, entries: Sequence[str]) -> Mapping[str, PhotoVerdict]:
        return check_zip_photos(self.path, entries, self.spec, workers=self.workers)


@dataclass(frozen=True, slots=True)
class CheckSummary:
    rows: int
    eligible: int
    counts: dict[Reason, int]
    skipped_rules: tuple[str, ...]
    photos_checked: int
    outputs: tuple[Path, ...]
    seconds: dict[str, float]

    @property
    def ineligible(self) -> int:
        return self.rows - self.eligible


_YES: Final[frozenset[str]] = frozenset({"是", "1", "Y", "YES", "TRUE", "已参保", "参保"})
_NO: Final[frozenset[str]] = frozenset({"否", "0", "N", "NO", "FALSE", "未参保"})


def _population_frame(table: Table) -> pl.DataFrame:
    """The population in the engine's layout, with the insurance attributes (SCOPE_ATTRIBUTES)
    the file carries as Booleans (是/否; anything else unknown)."""
    frame = table.canonical([s for s in POPULATION_COLUMNS if s.key in POPULATION_KEYS])
    for key in SCOPE_ATTRIBUTES:
        if key in table.columns:
            text = pl.col(table.columns[key]).fill_null("").str.strip_chars().str.to_uppercase()
            frame = frame.with_columns(
                table.frame.select(
                    pl.when(text.is_in(list(_YES)))
                    .then(pl.lit(True))
                    .when(text.is_in(list(_NO)))
                    .then(pl.lit(False))
                    .otherwise(pl.lit(None, dtype=pl.Boolean))
                    .alias(key)
                ).to_series()
            )
    return frame


def check_application_files(
    *,
    population: Path,
    applications: Path,
    out_dir: Path,
    as_of: date,
    photos: Path | None = None,
    cards: Path | None = None,
    banks: Sequence[str] | None = None,
    programme: Programme | None = None,
    workers: int | None = None,
) -> CheckSummary:
    """Raises TableError (a ShebaoError) for an input that cannot be used."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[name] = now - started
        started = now

    app_table = read_table(applications, APPLICATION_COLUMNS, what="申领文件")
    pop_table = read_table(population, POPULATION_COLUMNS, what="人口库文件")
    card_table = read_table(cards, CARD_COLUMNS, what="持卡文件") if cards else None
    spec = programme.photo if programme else PhotoSpec()
    photo_source = ZipPhotos.open(photos, spec, workers) if photos else None
    lap("read")

    if banks is None and programme is not None and programme.banks:
        banks = programme.banks
    if banks is not None and "bank" not in app_table.columns:
        raise TableError(
            "MISSING_COLUMNS",
            f"申领文件（{app_table.source}）没有“银行”列，无法检查是否为合作银行",
        )
    result: EligibilityResult = check_applications(
        app_table.canonical([s for s in APPLICATION_COLUMNS if s.key in APPLICATION_KEYS]),
        _population_frame(pop_table),
        cards=card_table.canonical([s for s in CARD_COLUMNS if s.key in CARD_KEYS])
        if card_table
        else None,
        photos=photo_source,
        banks=canonical_banks(banks) if banks is not None else None,
        programme=programme,
        as_of=as_of,
    )
    lap("check")
    seconds["check_photos"] = result.photo_seconds

    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "eligibility.csv"
    xlsx_path = out_dir / "eligibility.xlsx"
    _write_csv(result.frame, csv_path)
    lap("write_csv")
    _write_xlsx(result.frame, app_table, xlsx_path)
    lap("write_xlsx")
    eligible = int(result.frame["eligible"].sum())
    return CheckSummary(
        rows=result.frame.height,
        eligible=eligible,
        counts=result.counts(),
        skipped_rules=result.skipped_rules,
        photos_checked=result.photos_checked,
        outputs=(csv_path, xlsx_path),
        seconds=seconds,
    )


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.select(
        pl.col("row"),
        # Text from the checked file, opened in a spreadsheet: never a formula.
        _as_text("id_number"),
        _as_text("name"),
        pl.when(pl.col("eligible")).then(pl.lit("1")).otherwise(pl.lit("0")).alias("eligible"),
        # Null, not "": an eligible row ends in a bare comma rather than in "".
        pl.when(pl.col("reasons") != "").then(pl.col("reasons")).alias("reasons"),
    ).write_csv(tmp)
    os.replace(tmp, path)


_ROW_HEADER: Final[str] = "行号"
_ELIGIBLE_HEADER: Final[str] = "是否符合制卡条件"
_REASON_HEADER: Final[str] = "不符合制卡条件原因"
_CODE_HEADER: Final[str] = "原因代码"


def _write_xlsx(frame: pl.DataFrame, table: Table, path: Path) -> None:
    # A re-submitted feedback file carries the previous round's added columns: replace them.
    ours = {_ROW_HEADER, _ELIGIBLE_HEADER, _REASON_HEADER, _CODE_HEADER}
    originals = [c for c in table.original_columns if c not in ours]
    joined = (
        table.frame.join(
            frame.select(pl.col("row").alias(ROW), "eligible", "messages", "reasons"),
            on=ROW,
            how="left",
        )
        .sort(ROW)
        .select(
            pl.col(ROW).alias(_ROW_HEADER),
            *originals,
            pl.when(pl.col("eligible"))
            .then(pl.lit("是"))
            .otherwise(pl.lit("否"))
            .alias(_ELIGIBLE_HEADER),
            pl.col("messages").alias(_REASON_HEADER),
            pl.col("reasons").alias(_CODE_HEADER),
        )
    )
    widths = [8, *([16] * len(originals)), 10, 60, 30]
    # The rows to correct come first: the unit edits that sheet and sends the file back as
    # it is (the reader takes the first sheet with a header; the extra columns are ignored).
    write_xlsx(
        path,
        [
            Sheet(
                "不符合制卡条件（更正后重新提交）",
                joined.filter(pl.col(_CODE_HEADER) != ""),
                widths,
            ),
            Sheet("全部检查结果", joined, widths),
        ],
    )


def _as_text(name: str) -> pl.Expr:
    """The column with a leading apostrophe where a spreadsheet would read a formula."""
    column = pl.col(name)
    return (
        pl.when(column.str.contains(FORMULA_PATTERN))
        .then(pl.lit("'") + column)
        .otherwise(column)
        .alias(name)
    )
