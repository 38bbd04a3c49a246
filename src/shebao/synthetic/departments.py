"""Department files from a synthetic dataset, in the layouts the intake consumes: Chinese
headers, dates as YYYY-MM-DD, months as YYYYMM, empty cells for missing values.

population  公安 population register (户籍 and 非户籍 residents)
enrollment  参保 records of the schemes
benefit     待遇 pension payments
death       民政/卫健 deaths
prison      司法 prison terms
student     教育 pupils and students
employer    市场监管/编办/民政 employer register
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from shebao.synthetic.generator import SyntheticDataset

__all__ = ["DEPARTMENT_KINDS", "department_frames", "write_department_files"]

DEPARTMENT_KINDS: Final[tuple[str, ...]] = (
    "population",
    "enrollment",
    "benefit",
    "death",
    "prison",
    "student",
    "employer",
)

_GENDER: Final[dict[str, str]] = {"M": "男", "F": "女"}
_HUKOU: Final[dict[str, str]] = {"hukou": "户籍", "non_hukou": "非户籍"}
_LIFE: Final[dict[str, str]] = {"alive": "正常", "deceased": "死亡", "moved_out": "迁出"}
_ENROLLMENT: Final[dict[str, str]] = {
    "active": "参保缴费",
    "suspended": "暂停缴费",
    "terminated": "终止参保",
}


def _names_of(dataset: SyntheticDataset, frame: pl.DataFrame) -> pl.Series:
    return dataset.persons["name"].gather(frame["person_no"])


def _population(ds: SyntheticDataset) -> pl.DataFrame:
    p = ds.persons
    c = pl.col
    # The police register has not yet recorded some deaths: those people still show 正常.
    reported_dead = (c("life_status") == "deceased") & ~c("death_unreported")
    status = (
        pl.when(c("death_unreported"))
        .then(pl.lit("alive"))
        .otherwise(c("life_status"))
        .replace_strict(_LIFE)
    )
    return p.select(
        c("id_number").alias("公民身份号码"),
        c("name").alias("姓名"),
        c("gender").replace_strict(_GENDER).alias("性别"),
        c("birth_date").alias("出生日期"),
        c("ethnicity").alias("民族"),
        c("hukou_region_code").alias("户籍地区划代码"),
        c("household_number").alias("户号"),
        c("relation_to_head").alias("与户主关系"),
        c("hukou_type").replace_strict(_HUKOU).alias("户籍类型"),
        status.alias("人员状态"),
        pl.when(reported_dead).then(c("status_date")).otherwise(None).alias("死亡日期"),
        c("residence_region_code").alias("居住地区划代码"),
    )


def _enrollment(ds: SyntheticDataset) -> pl.DataFrame:
    e = ds.enrollments
    c = pl.col
    return e.select(
        c("id_number").alias("公民身份号码"),
        _names_of(ds, e).alias("姓名"),
        c("scheme_code").alias("险种代码"),
        c("status").replace_strict(_ENROLLMENT).alias("参保状态"),
        c("insurance_region_code").alias("参保地区划代码"),
        c("employer_credit_code").alias("单位统一社会信用代码"),
        c("start_date").alias("参保日期"),
    )


def _benefit(ds: SyntheticDataset) -> pl.DataFrame:
    b = ds.benefits
    c = pl.col
    return b.select(
        c("id_number").alias("公民身份号码"),
        _names_of(ds, b).alias("姓名"),
        c("scheme_code").alias("险种代码"),
        c("benefit_status").alias("待遇状态"),
        c("last_paid").alias("最近发放年月"),
    )


def _death(ds: SyntheticDataset) -> pl.DataFrame:
    c = pl.col
    return ds.persons.filter(c("life_status") == "deceased").select(
        c("id_number").alias("公民身份号码"),
        c("name").alias("姓名"),
        c("status_date").alias("死亡日期"),
    )


def _prison(ds: SyntheticDataset) -> pl.DataFrame:
    j = ds.prisoners
    c = pl.col
    return j.select(
        c("id_number").alias("公民身份号码"),
        _names_of(ds, j).alias("姓名"),
        c("start_date").alias("服刑起始日期"),
        c("end_date").alias("服刑截止日期"),
    )


def _student(ds: SyntheticDataset) -> pl.DataFrame:
    s = ds.students
    c = pl.col
    return s.select(
        c("id_number").alias("公民身份号码"),
        _names_of(ds, s).alias("姓名"),
        c("student_number").alias("学籍号"),
        c("school_name").alias("学校名称"),
    )


def _employer(ds: SyntheticDataset) -> pl.DataFrame:
    c = pl.col
    return ds.employers.select(
        c("credit_code").alias("统一社会信用代码"),
        c("name").alias("单位名称"),
        c("kind_label").alias("单位类型"),
        c("region_code").alias("所在区划代码"),
        c("registered_on").alias("成立日期"),
        c("registration_status").alias("登记状态"),
    )


_BUILDERS: Final = {
    "population": _population,
    "enrollment": _enrollment,
    "benefit": _benefit,
    "death": _death,
    "prison": _prison,
    "student": _student,
    "employer": _employer,
}


def department_frames(
    dataset: SyntheticDataset, kinds: tuple[str, ...] = DEPARTMENT_KINDS
) -> dict[str, pl.DataFrame]:
    """The department files as frames with their Chinese headers."""
    unknown = set(kinds) - set(_BUILDERS)
    if unknown:
        raise ValueError(f"unknown department file kinds: {sorted(unknown)}")
    return {kind: _BUILDERS[kind](dataset) for kind in kinds}


def write_department_files(
    dataset: SyntheticDataset,
    out_dir: str | Path,
    *,
    kinds: tuple[str, ...] = DEPARTMENT_KINDS,
) -> dict[str, Path]:
    """Write `<kind>.csv` (UTF-8, header row) for each kind into `out_dir`; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind in kinds:
        frame = department_frames(dataset, (kind,))[kind]
        path = out / f"{kind}.csv"
        frame.write_csv(path, date_format="%Y-%m-%d")
        paths[kind] = path
    return paths
