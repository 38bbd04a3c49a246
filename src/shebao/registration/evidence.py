"""A finding's evidence as a clerk reads it: the department's row beside the register's, the
differing digits and characters marked, and the detail's lists as tables with Chinese
headers. Built from the finding's stored detail (the engines' JSON) and the registry.

Before the clerk states a purpose the values are masked (same length, so the marks still
show where they differ); after, in full."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from shebao.comparison.domain import Category
from shebao.geo.models import Region
from shebao.identity.masking import mask_id_number, mask_name
from shebao.registration.models import Finding
from shebao.registry.models import Person

__all__ = ["Comparison", "Evidence", "Segment", "Table", "finding_evidence", "marked"]


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool


@dataclass(frozen=True)
class Comparison:
    """One field, as the department's row has it and as the register has it."""

    label: str
    department: list[Segment]
    register: list[Segment]
    differs: bool


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class Evidence:
    reason: str
    department_title: str  # "参保.csv 第3行"
    register_title: str  # "人员库" / "疑似对应：人员库"
    comparisons: list[Comparison] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    register_person_id: int | None = None  # the register row's person, for a link


def marked(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    """`a` and `b` cut into runs, the characters that differ marked. Equal lengths (ID
    numbers) are compared position by position: a mistyped digit is marked where it is."""
    if len(a) == len(b):
        flags_a = [x != y for x, y in zip(a, b, strict=True)]
        flags_b = flags_a
    else:
        flags_a, flags_b = [True] * len(a), [True] * len(b)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
            None, a, b, autojunk=False
        ).get_opcodes():
            if tag == "equal":
                flags_a[i1:i2] = [False] * (i2 - i1)
                flags_b[j1:j2] = [False] * (j2 - j1)
    return _runs(a, flags_a), _runs(b, flags_b)


def _runs(text: str, flags: list[bool]) -> list[Segment]:
    out: list[Segment] = []
    for char, flag in zip(text, flags, strict=True):
        if out and out[-1].marked == flag:
            out[-1] = Segment(out[-1].text + char, flag)
        else:
            out.append(Segment(char, flag))
    return out


def _masked(segments: list[Segment], mask: Callable[[str], str]) -> list[Segment]:
    """The same runs over the masked text (masks keep the length)."""
    full = "".join(s.text for s in segments)
    shown = mask(full)
    if len(shown) != len(full):
        return [Segment(shown, any(s.marked for s in segments))]
    out, start = [], 0
    for segment in segments:
        out.append(Segment(shown[start : start + len(segment.text)], segment.marked))
        start += len(segment.text)
    return out


def _compare(
    label: str, department: str, register: str, mask: Callable[[str], str] | None
) -> Comparison:
    left, right = marked(department, register)
    if mask is not None:
        left, right = _masked(left, mask), _masked(right, mask)
    return Comparison(label, left, right, department != register)


def _plain(label: str, department: str, register: str) -> Comparison:
    return Comparison(
        label,
        [Segment(department or "—", False)],
        [Segment(register or "—", False)],
        bool(department and register and department != register),
    )


# Keys of the engines' detail JSON, in Chinese; columns of its lists likewise.
_FACT_LABELS: Final[dict[str, str]] = {
    "column": "文件中的列",
    "value": "文件中的值",
    "county_code": "户籍所在区县",
    "birth_date": "出生日期",
    "age": "比对基准日年龄",
    "scheme_code": "险种",
    "group": "险种类别",
    "population_sources": "比对的人口库文件",
    "agreed": "一致的项目",
    "differed": "不一致的项目",
    "note": "说明",
    "population": "公安人口库记录",
    "rows": "出现的行",
}
# Shown in the comparison instead (masked until revealed), or said by the reason already.
_SKIPPED_KEYS: Final[frozenset[str]] = frozenset(
    {"reason", "error", "comparisons", "matched", "population_names", "value"}
)
# Personal data: shown once the clerk has stated a purpose.
_PERSONAL_KEYS: Final[frozenset[str]] = frozenset({"birth_date", "age"})
_TABLE_TITLES: Final[dict[str, str]] = {
    "enrollments": "参保缴费记录",
    "records": "已查到的记录（未计为参保）",
    "death": "死亡记录",
    "active": "仍在参保缴费或发放待遇的记录",
    "prison": "服刑记录",
    "benefits": "待遇发放记录",
}
_COLUMN_LABELS: Final[dict[str, str]] = {
    "source": "来源文件",
    "row": "行号",
    "scheme_code": "险种",
    "region_code": "参保地",
    "status": "状态",
    "death_date": "死亡日期",
    "start": "服刑起始日期",
    "end": "服刑截止日期",
    "last_paid_month": "最后发放年月",
}
_GROUP_LABELS: Final[dict[str, str]] = {"pension": "养老保险", "medical": "医疗保险"}


class _Words:
    """Codes in the evidence as names: schemes and regions (looked up once)."""

    def __init__(self, schemes: Mapping[str, str]) -> None:
        self.schemes = schemes
        self._regions: dict[str, str] = {}

    def region(self, code: str) -> str:
        if code not in self._regions:
            region = Region.objects.filter(code=code).only("name", "full_name").first()
            self._regions[code] = f"{region.full_name or region.name}（{code}）" if region else code
        return self._regions[code]

    def scheme(self, code: str) -> str:
        name = self.schemes.get(code)
        return f"{code} {name}" if name else code

    def value(self, key: str, value: Any) -> str:
        if value is None or value == "" or value == []:
            return "—"
        if key == "scheme_code":
            return self.scheme(str(value))
        if key in ("county_code", "region_code"):
            return self.region(str(value))
        if key == "group":
            return _GROUP_LABELS.get(str(value), str(value))
        if key == "rows" and isinstance(value, list):
            return "第" + "、".join(str(v) for v in value) + "行"
        if key == "population" and isinstance(value, dict):
            return f"{value.get('source', '')} 第{value.get('row', '')}行"
        if key == "age":
            return f"{value}周岁"
        if isinstance(value, list):
            return "；".join(self.value("", v) for v in value)
        if isinstance(value, dict):
            return "，".join(
                f"{_COLUMN_LABELS.get(k, k)}：{self.value(k, v)}" for k, v in value.items()
            )
        if isinstance(value, bool):
            return "是" if value else "否"
        return str(value)


def _department_title(finding: Finding) -> str:
    if finding.source:
        return f"部门数据：{finding.source} 第{finding.row}行"
    return "部门数据（按人员汇总）"


def finding_evidence(finding: Finding, *, revealed: bool, schemes: Mapping[str, str]) -> Evidence:
    """The evidence of `finding` (its `person` and `region` loaded) for the detail page."""
    detail = dict(finding.detail or {})
    words = _Words(schemes)
    reason = str(detail.get("reason", "")) or Category(finding.category).label
    id_mask = None if revealed else mask_id_number
    name_mask = None if revealed else mask_name
    register: Person | None = finding.person
    register_title = "人员库"
    department_id = str(detail.get("value") or finding.id_number or "")
    department_name = finding.name or ""
    register_names: list[str] = []
    if finding.category == Category.PROBABLE_MATCH:
        matched = detail.get("matched") or {}
        number = str(matched.get("id_number") or finding.matched_id_number or "")
        register = (
            Person.objects.filter(id_number=number)
            .select_related("hukou_region", "household")
            .first()
            if number
            else None
        )
        register_title = "疑似对应：人员库"
        register_names = [str(matched.get("name") or "")]
        register_id = number
    else:
        register_id = register.id_number if register is not None else ""
        names = detail.get("population_names")
        if isinstance(names, list) and names:
            register_names = [str(n) for n in names]
    if register is not None and not register_names:
        register_names = [register.name]
    evidence = Evidence(
        reason=reason,
        department_title=_department_title(finding),
        register_title=register_title if register_id else "人员库（无此人）",
        register_person_id=register.pk if register is not None else None,
    )
    evidence.comparisons.append(_compare("公民身份号码", department_id, register_id, id_mask))
    # The name closest to the department's first: the one the marks are meaningful for.
    register_names.sort(key=lambda n: -difflib.SequenceMatcher(None, department_name, n).ratio())
    for index, name in enumerate(register_names or [""]):
        label = "姓名" if index == 0 else "姓名（人员库另有）"
        evidence.comparisons.append(_compare(label, department_name, name, name_mask))
    if register is not None and revealed:
        evidence.comparisons.append(_plain("性别", "", register.get_gender_display()))
        evidence.comparisons.append(_plain("出生日期", "", register.birth_date.isoformat()))
        hukou = register.hukou_region
        evidence.comparisons.append(
            _plain("户籍地", "", (hukou.full_name or hukou.name) if hukou else "")
        )
        if register.household is not None:
            evidence.comparisons.append(_plain("户号", "", register.household.number))
    for key, value in detail.items():
        if key in _SKIPPED_KEYS or (key in _PERSONAL_KEYS and not revealed):
            continue
        if key in _TABLE_TITLES and isinstance(value, list):
            columns = [
                k for k in _COLUMN_LABELS if any(isinstance(v, dict) and k in v for v in value)
            ]
            evidence.tables.append(
                Table(
                    title=_TABLE_TITLES[key],
                    headers=[_COLUMN_LABELS[k] for k in columns],
                    rows=[
                        [words.value(k, v.get(k)) for k in columns]
                        for v in value
                        if isinstance(v, dict)
                    ],
                )
            )
            continue
        evidence.facts.append((_FACT_LABELS.get(str(key), str(key)), words.value(key, value)))
    return evidence
