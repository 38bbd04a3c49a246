"""The department files the intake reads: their kinds, columns, header aliases and coded values.

Each kind of source file has a fixed set of columns, known by a Chinese label and the aliases
departments actually use for it; `*` columns are required. The standardised table an import
produces names the columns in English (`field`) and holds coded values as the stable codes
below (the registry's vocabulary), whatever words or numbers the file used.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "BENEFIT_STATUS_VALUES",
    "CODED_VALUES",
    "ENROLLMENT_STATUS_VALUES",
    "EXPECTED_VALUES",
    "GENDER_VALUES",
    "HUKOU_TYPE_VALUES",
    "KIND_SPECS",
    "PERSON_STATUS_VALUES",
    "SCHEME_VALUES",
    "BenefitStatus",
    "ColumnSpec",
    "EnrollmentStatus",
    "KindSpec",
    "PersonStatus",
    "SourceKind",
    "ValueType",
    "spec_of",
]


class SourceKind(StrEnum):
    POPULATION = "population"
    ENROLLMENT = "enrollment"
    BENEFIT = "benefit"
    DEATH = "death"
    PRISON = "prison"
    STUDENT = "student"
    EMPLOYER = "employer"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS: Final[dict[SourceKind, str]] = {
    SourceKind.POPULATION: "公安人口库",
    SourceKind.ENROLLMENT: "参保数据",
    SourceKind.BENEFIT: "待遇领取",
    SourceKind.DEATH: "死亡人员",
    SourceKind.PRISON: "服刑人员",
    SourceKind.STUDENT: "在校学生",
    SourceKind.EMPLOYER: "用人单位",
}


class ValueType(StrEnum):
    """How a column's cells are read. Required columns reject a row whose cell cannot be read;
    optional columns leave such a cell empty."""

    ID_NUMBER = "id_number"  # kept as read, plus its normalised form; never rejected
    NAME = "name"  # kept as read (trimmed); never rejected
    TEXT = "text"
    DATE = "date"
    MONTH = "month"  # YYYYMM
    SCHEME = "scheme"
    ENROLLMENT_STATUS = "enrollment_status"
    BENEFIT_STATUS = "benefit_status"
    PERSON_STATUS = "person_status"
    GENDER = "gender"
    HUKOU_TYPE = "hukou_type"
    REGION_CODE = "region_code"


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"  # 参保缴费
    SUSPENDED = "suspended"  # 暂停缴费
    TERMINATED = "terminated"  # 终止参保

    @property
    def label(self) -> str:
        return {"active": "参保缴费", "suspended": "暂停缴费", "terminated": "终止参保"}[self]


class BenefitStatus(StrEnum):
    PAID = "paid"  # 正常发放
    PAUSED = "paused"  # 暂停发放
    STOPPED = "stopped"  # 终止发放

    @property
    def label(self) -> str:
        return {"paid": "正常发放", "paused": "暂停发放", "stopped": "终止发放"}[self]


class PersonStatus(StrEnum):
    ALIVE = "alive"  # 正常
    DECEASED = "deceased"  # 死亡
    MOVED_OUT = "moved_out"  # 迁出

    @property
    def label(self) -> str:
        return {"alive": "正常", "deceased": "死亡", "moved_out": "迁出"}[self]


# What a cell may say, mapped to the stored code. Cells are trimmed, full-width digits folded
# and a trailing ".0" (numbers that passed through Excel) dropped before the lookup.
SCHEME_VALUES: Final[dict[str, str]] = {
    **{code: code for code in ("110", "120", "170", "210", "310", "390", "410", "510")},
    "企业职工基本养老保险": "110",
    "机关事业单位养老保险": "120",
    "机关事业单位基本养老保险": "120",
    "城乡居民基本养老保险": "170",
    "失业保险": "210",
    "职工基本医疗保险": "310",
    "城乡居民基本医疗保险": "390",
    "工伤保险": "410",
    "生育保险": "510",
}
# AAC031: 1 参保缴费, 2 暂停缴费, 3 终止缴费 (= 终止参保).
ENROLLMENT_STATUS_VALUES: Final[dict[str, str]] = {
    "参保缴费": EnrollmentStatus.ACTIVE,
    "1": EnrollmentStatus.ACTIVE,
    "暂停缴费": EnrollmentStatus.SUSPENDED,
    "2": EnrollmentStatus.SUSPENDED,
    "终止参保": EnrollmentStatus.TERMINATED,
    "终止缴费": EnrollmentStatus.TERMINATED,
    "3": EnrollmentStatus.TERMINATED,
}
BENEFIT_STATUS_VALUES: Final[dict[str, str]] = {
    "正常发放": BenefitStatus.PAID,
    "暂停发放": BenefitStatus.PAUSED,
    "终止发放": BenefitStatus.STOPPED,
}
PERSON_STATUS_VALUES: Final[dict[str, str]] = {
    "正常": PersonStatus.ALIVE,
    "死亡": PersonStatus.DECEASED,
    "迁出": PersonStatus.MOVED_OUT,
}
# GB/T 2261.1: 1 男, 2 女.
GENDER_VALUES: Final[dict[str, str]] = {
    "男": "M",
    "男性": "M",
    "1": "M",
    "M": "M",
    "女": "F",
    "女性": "F",
    "2": "F",
    "F": "F",
}
HUKOU_TYPE_VALUES: Final[dict[str, str]] = {"户籍": "hukou", "非户籍": "non_hukou"}

# What the rejection reason lists as the accepted values of a coded column.
EXPECTED_VALUES: Final[dict[ValueType, str]] = {
    ValueType.SCHEME: "应为险种代码110、120、170、210、310、390、410、510之一",
    ValueType.ENROLLMENT_STATUS: "应为参保缴费、暂停缴费、终止参保（或代码1、2、3）",
    ValueType.BENEFIT_STATUS: "应为正常发放、暂停发放、终止发放",
    ValueType.PERSON_STATUS: "应为正常、死亡、迁出",
    ValueType.GENDER: "应为男或女",
    ValueType.HUKOU_TYPE: "应为户籍或非户籍",
}
CODED_VALUES: Final[dict[ValueType, dict[str, str]]] = {
    ValueType.SCHEME: SCHEME_VALUES,
    ValueType.ENROLLMENT_STATUS: ENROLLMENT_STATUS_VALUES,
    ValueType.BENEFIT_STATUS: BENEFIT_STATUS_VALUES,
    ValueType.PERSON_STATUS: PERSON_STATUS_VALUES,
    ValueType.GENDER: GENDER_VALUES,
    ValueType.HUKOU_TYPE: HUKOU_TYPE_VALUES,
}


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    field: str  # column name in the standardised table
    label: str  # the standard Chinese header
    value_type: ValueType
    required: bool = False
    aliases: tuple[str, ...] = ()  # other headers meaning the same column
    region_lengths: tuple[int, ...] = ()  # for REGION_CODE: the accepted numbers of digits

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.label, *self.aliases)


@dataclass(frozen=True, slots=True)
class KindSpec:
    kind: SourceKind
    columns: tuple[ColumnSpec, ...]

    @property
    def required(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.required)

    @property
    def has_id_number(self) -> bool:
        return any(c.value_type is ValueType.ID_NUMBER for c in self.columns)

    def column(self, field: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.field == field:
                return spec
        raise KeyError(field)


_ID = ColumnSpec(
    "id_number",
    "公民身份号码",
    ValueType.ID_NUMBER,
    required=True,
    aliases=(
        "身份证号",
        "身份证号码",
        "社会保障号码",
        "公民身份证号码",
        "公民身份证号",
        "身份证件号码",
        "证件号码",
        "社保号码",
    ),
)
_NAME = ColumnSpec(
    "name", "姓名", ValueType.NAME, required=True, aliases=("人员姓名", "参保人姓名", "学生姓名")
)
_SCHEME = ColumnSpec(
    "scheme_code",
    "险种代码",
    ValueType.SCHEME,
    required=True,
    aliases=("险种编码", "险种类型", "险种"),
)


def _date(field: str, label: str, *aliases: str, required: bool = False) -> ColumnSpec:
    return ColumnSpec(field, label, ValueType.DATE, required=required, aliases=aliases)


KIND_SPECS: Final[dict[SourceKind, KindSpec]] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            SourceKind.POPULATION,
            (
                _ID,
                _NAME,
                ColumnSpec("gender", "性别", ValueType.GENDER),
                _date("birth_date", "出生日期", "出生年月日"),
                ColumnSpec("ethnicity", "民族", ValueType.TEXT),
                ColumnSpec(
                    "hukou_region_code",
                    "户籍地区划代码",
                    ValueType.REGION_CODE,
                    required=True,
                    aliases=("户籍地行政区划代码", "户籍区划代码", "户籍所在地区划代码"),
                    region_lengths=(6, 9, 12),
                ),
                ColumnSpec("household_number", "户号", ValueType.TEXT),
                ColumnSpec("relation_to_head", "与户主关系", ValueType.TEXT),
                ColumnSpec("hukou_type", "户籍类型", ValueType.HUKOU_TYPE),
                ColumnSpec(
                    "person_status",
                    "人员状态",
                    ValueType.PERSON_STATUS,
                    required=True,
                    aliases=("人口状态",),
                ),
                _date("death_date", "死亡日期"),
            ),
        ),
        KindSpec(
            SourceKind.ENROLLMENT,
            (
                _ID,
                _NAME,
                _SCHEME,
                ColumnSpec(
                    "enrollment_status",
                    "参保状态",
                    ValueType.ENROLLMENT_STATUS,
                    required=True,
                    aliases=("缴费状态", "个人参保状态", "个人缴费状态"),
                ),
                ColumnSpec(
                    "insurance_region_code",
                    "参保地区划代码",
                    ValueType.REGION_CODE,
                    required=True,
                    aliases=("参保地行政区划代码", "参保区划代码"),
                    region_lengths=(6,),
                ),
                ColumnSpec(
                    "employer_credit_code",
                    "单位统一社会信用代码",
                    ValueType.TEXT,
                    aliases=("参保单位统一社会信用代码", "单位社会信用代码"),
                ),
                _date("enrolled_on", "参保日期", "首次参保日期", "参保时间"),
            ),
        ),
        KindSpec(
            SourceKind.BENEFIT,
            (
                _ID,
                _NAME,
                _SCHEME,
                ColumnSpec(
                    "benefit_status",
                    "待遇状态",
                    ValueType.BENEFIT_STATUS,
                    required=True,
                    aliases=("发放状态", "待遇发放状态"),
                ),
                ColumnSpec(
                    "last_paid_month",
                    "最近发放年月",
                    ValueType.MONTH,
                    aliases=("最后发放年月", "发放年月"),
                ),
            ),
        ),
        KindSpec(
            SourceKind.DEATH,
            (_ID, _NAME, _date("death_date", "死亡日期", "死亡时间", required=True)),
        ),
        KindSpec(
            SourceKind.PRISON,
            (
                _ID,
                _NAME,
                _date(
                    "sentence_start", "服刑起始日期", "服刑开始日期", "刑期起始日期", required=True
                ),
                _date("sentence_end", "服刑截止日期", "服刑结束日期", "刑期截止日期", "刑满日期"),
            ),
        ),
        KindSpec(
            SourceKind.STUDENT,
            (
                _ID,
                _NAME,
                ColumnSpec("student_number", "学籍号", ValueType.TEXT, aliases=("全国学籍号",)),
                ColumnSpec("school_name", "学校名称", ValueType.TEXT, aliases=("就读学校",)),
            ),
        ),
        KindSpec(
            SourceKind.EMPLOYER,
            (
                ColumnSpec(
                    "credit_code",
                    "统一社会信用代码",
                    ValueType.TEXT,
                    required=True,
                    aliases=("社会信用代码", "信用代码"),
                ),
                ColumnSpec(
                    "employer_name",
                    "单位名称",
                    ValueType.TEXT,
                    required=True,
                    aliases=("企业名称",),
                ),
                ColumnSpec("employer_type", "单位类型", ValueType.TEXT, aliases=("企业类型",)),
                ColumnSpec(
                    "region_code",
                    "所在区划代码",
                    ValueType.REGION_CODE,
                    aliases=("所在地区划代码", "区划代码"),
                    region_lengths=(6, 9, 12),
                ),
                _date("established_on", "成立日期"),
                ColumnSpec(
                    "registration_status", "登记状态", ValueType.TEXT, aliases=("经营状态",)
                ),
            ),
        ),
    )
}


def spec_of(kind: SourceKind) -> KindSpec:
    return KIND_SPECS[kind]
