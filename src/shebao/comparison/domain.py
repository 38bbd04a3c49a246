"""The comparison's rules and vocabulary: categories of findings, scheme groups, the statuses
that count as insured, and the shapes of the results. Pure: no engine, no Django.

Every engine implements the categories exactly as defined here (the docstrings of `Category`
are the definitions), on valid, normalised ID numbers: a source row counts for a person only
through an exact match of normalised ID numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Final

from shebao.intake.formats.kinds import BenefitStatus, EnrollmentStatus, PersonStatus, SourceKind

__all__ = [
    "COVERAGE_COLUMNS",
    "DEFAULT_THRESHOLD",
    "FINDINGS_COLUMNS",
    "INSURED_ENROLLMENT_STATUSES",
    "MEDICAL_SCHEMES",
    "PENSION_MIN_AGE",
    "PENSION_SCHEMES",
    "REJECTED_COLUMNS",
    "Category",
    "CoverageRow",
    "Finding",
    "Level",
    "SchemeGroup",
    "age_on",
    "category_skip_reason",
    "pension_birth_cutoff",
    "scheme_group_of",
]


class Level(StrEnum):
    ROW = "row"  # about one row of one file: findings carry source and row
    PERSON = "person"  # about a person across files: source and row are empty


class Category(StrEnum):
    """The categories, in the order findings are written."""

    INVALID_ID = "INVALID_ID"
    """A row of any source whose normalised ID number fails validation."""

    NOT_IN_POPULATION = "NOT_IN_POPULATION"
    """A row of a non-population source with a valid ID number absent from the population
    base."""

    NAME_MISMATCH = "NAME_MISMATCH"
    """A row of a non-population source with a valid ID number that is in the population base,
    whose normalised name is none of the population base's normalised names for it."""

    DUPLICATE_RECORD = "DUPLICATE_RECORD"
    """One ID number on more than one row of the same source (enrollment and benefit
    sources: with the same scheme code). One finding per ID number (and scheme), on its first
    row; the detail lists every row."""

    DUPLICATE_ENROLLMENT = "DUPLICATE_ENROLLMENT"
    """A person with two or more enrollments in status 参保缴费 in the pension group or in the
    medical group that differ in scheme code or insurance region. One finding per group."""

    PENSION_UNINSURED = "PENSION_UNINSURED"
    """A person of the population base, alive (every population row 正常, not in the death
    source), aged 16 or over on the as-of date by the birth date in the ID number, not in the
    student source, with no pension enrollment in 参保缴费 or 暂停缴费 and no pension benefit
    in 正常发放."""

    MEDICAL_UNINSURED = "MEDICAL_UNINSURED"
    """A person of the population base, alive as above, with no medical enrollment in
    参保缴费 or 暂停缴费."""

    DECEASED_ACTIVE = "DECEASED_ACTIVE"
    """A person dead by the population base (a row 死亡) or the death source with an
    enrollment in 参保缴费 or a benefit in 正常发放."""

    IMPRISONED_BENEFIT = "IMPRISONED_BENEFIT"
    """A person serving a sentence on the as-of date (start ≤ as-of ≤ end, or no end) with a
    pension benefit in 正常发放."""

    PROBABLE_MATCH = "PROBABLE_MATCH"
    """For a row flagged INVALID_ID or NOT_IN_POPULATION, the population person it most
    probably is, with a match probability, where that reaches the threshold (default 0.9).
    One finding per row, beside its INVALID_ID or NOT_IN_POPULATION finding; it changes no
    person-level category until a clerk confirms it."""

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def level(self) -> Level:
        return Level.PERSON if self in _PERSON_LEVEL else Level.ROW

    @property
    def order(self) -> int:
        return list(Category).index(self)


_LABELS: Final[dict[Category, str]] = {
    Category.INVALID_ID: "身份证号码无效",
    Category.NOT_IN_POPULATION: "公安人口库中无此人",
    Category.NAME_MISMATCH: "姓名与公安人口库不一致",
    Category.DUPLICATE_RECORD: "重复记录",
    Category.DUPLICATE_ENROLLMENT: "重复参保",
    Category.PENSION_UNINSURED: "应参未参养老保险",
    Category.MEDICAL_UNINSURED: "未参加医疗保险",
    Category.DECEASED_ACTIVE: "死亡人员仍在参保或领取待遇",
    Category.IMPRISONED_BENEFIT: "服刑人员领取养老待遇",
    Category.PROBABLE_MATCH: "疑似同一人",
}
_PERSON_LEVEL: Final[frozenset[Category]] = frozenset(
    {
        Category.DUPLICATE_ENROLLMENT,
        Category.PENSION_UNINSURED,
        Category.MEDICAL_UNINSURED,
        Category.DECEASED_ACTIVE,
        Category.IMPRISONED_BENEFIT,
    }
)


class SchemeGroup(StrEnum):
    PENSION = "pension"
    MEDICAL = "medical"

    @property
    def label(self) -> str:
        return {"pension": "养老保险", "medical": "医疗保险"}[self]

    @property
    def schemes(self) -> frozenset[str]:
        return PENSION_SCHEMES if self is SchemeGroup.PENSION else MEDICAL_SCHEMES


PENSION_SCHEMES: Final[frozenset[str]] = frozenset({"110", "120", "170"})
MEDICAL_SCHEMES: Final[frozenset[str]] = frozenset({"310", "390"})
# An enrollment that is paying or paused still covers the person; a terminated one does not.
INSURED_ENROLLMENT_STATUSES: Final[frozenset[str]] = frozenset(
    {EnrollmentStatus.ACTIVE, EnrollmentStatus.SUSPENDED}
)
ACTIVE_ENROLLMENT: Final[str] = EnrollmentStatus.ACTIVE
PAID_BENEFIT: Final[str] = BenefitStatus.PAID
ALIVE: Final[str] = PersonStatus.ALIVE
DECEASED: Final[str] = PersonStatus.DECEASED
PENSION_MIN_AGE: Final[int] = 16
DEFAULT_THRESHOLD: Final[float] = 0.9

FINDINGS_COLUMNS: Final[tuple[str, ...]] = (
    "category",
    "source",
    "row",
    "id_number",
    "name",
    "matched_id_number",
    "match_probability",
    "detail",
)
COVERAGE_COLUMNS: Final[tuple[str, ...]] = (
    "county_code",
    "county_name",
    "population",
    "pension_eligible",
    "pension_insured",
    "medical_insured",
    "pension_rate",
    "medical_rate",
)
REJECTED_COLUMNS: Final[tuple[str, ...]] = ("source", "row", "column", "code", "reason")


def scheme_group_of(scheme_code: str) -> SchemeGroup | None:
    if scheme_code in PENSION_SCHEMES:
        return SchemeGroup.PENSION
    if scheme_code in MEDICAL_SCHEMES:
        return SchemeGroup.MEDICAL
    return None


def age_on(birth: date, on: date) -> int:
    """Age in full years (周岁)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def pension_birth_cutoff(as_of: date, min_age: int = PENSION_MIN_AGE) -> int:
    """The latest birth date, as the integer YYYYMMDD, of a person aged `min_age` or over on
    `as_of`. As an integer rather than a date because someone born on 29 February reaches an
    age on 1 March of a common year: (Y-16)0229 compares right even where it is no date."""
    return (as_of.year - min_age) * 10000 + as_of.month * 100 + as_of.day


def category_skip_reason(category: Category, kinds: frozenset[SourceKind]) -> str | None:
    """Why a category is not computed for these inputs (None: it is). Without a population
    base every valid row would be 'not in the population', which tells nobody anything."""
    needs_population = {
        Category.NOT_IN_POPULATION,
        Category.NAME_MISMATCH,
        Category.PROBABLE_MATCH,
    }
    if category in needs_population and SourceKind.POPULATION not in kinds:
        return "未提供公安人口库（population），无法与人口库比对"
    return None


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of findings.csv."""

    category: Category
    source: str | None
    row: int | None
    id_number: str
    name: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    matched_id_number: str | None = None
    match_probability: float | None = None


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """One county of coverage.csv. The population is the living persons of the population
    base; pension coverage is of the eligible (16 or over, not a student)."""

    county_code: str
    county_name: str
    population: int
    pension_eligible: int
    pension_insured: int
    medical_insured: int

    @property
    def pension_rate(self) -> float | None:
        return self.pension_insured / self.pension_eligible if self.pension_eligible else None

    @property
    def medical_rate(self) -> float | None:
        return self.medical_insured / self.population if self.population else None
