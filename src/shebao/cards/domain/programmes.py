"""Issuing programmes (发卡项目) and how they are configured.

A programme is a `Programme` value: its scope rules, the photo standard, the cooperating banks.
The shipped programmes are registered in `PROGRAMMES` by name (`--programme panyu`); a card
centre configures its own in a TOML file and names the file (`--programme /etc/shebao/x.toml`).
The programme the system runs is named once, by the setting SHEBAO_CARD_PROGRAMME (default
`default`): the applications (collective, counter, online) and `shebao cards
check-applications` (unless told otherwise) apply that one rule set.

    name = "example"
    title = "某区社会保障卡发行"
    hukou_region_prefixes = ["440113"]     # where "household-registered" means here
    banks = ["农业银行", "邮储银行"]         # optional; --banks overrides
    [photo]                                  # optional; PhotoSpec fields
    max_bytes = 20480
    tolerance_px = 2
    [[scope]]
    rule = "hukou_age_limit"                 # 户籍人员年满 max_age 周岁不在范围
    max_age = 60
    [[scope]]
    rule = "non_hukou_enterprise_employees_excluded"
    [[scope]]
    rule = "non_hukou_must_be_insured"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, Final

from shebao.cards.domain.eligibility import (
    HukouAgeLimit,
    NonHukouEnterpriseEmployeesExcluded,
    NonHukouMustBeInsured,
    Programme,
    ScopeRule,
)
from shebao.cards.domain.photos import PhotoSpec
from shebao.errors import ShebaoError

__all__ = [
    "DEFAULT",
    "PANYU",
    "PROGRAMMES",
    "ProgrammeError",
    "load_programme",
    "programme_from_mapping",
]

# 广州市番禺区社会保障（市民）卡基本全覆盖工作方案（2013）, 三、发行对象: 辖区内户籍人员
# （60周岁以下）和非户籍参保人员（参保企业职工除外）. Photos: 小一寸白底彩色标准证件电子相片.
PANYU: Final[Programme] = Programme(
    name="panyu",
    title="广州市番禺区社会保障（市民）卡基本全覆盖（2013）",
    scope=(
        HukouAgeLimit(max_age=60),
        NonHukouMustBeInsured(),
        NonHukouEnterpriseEmployeesExcluded(),
    ),
    hukou_region_prefixes=("440113",),
    photo=PhotoSpec(),
)

# The programme a card centre runs unless it configures its own (SHEBAO_CARD_PROGRAMME): the
# seed's issuing scope without its district — household-registered persons under 60 and
# non-household-registered persons insured here; who is household-registered is read from
# 户籍类型 (the registry's household type, the population file's column).
DEFAULT: Final[Programme] = Programme(
    name="default",
    title="社会保障卡发行（户籍人员60周岁以下，非户籍人员须在本地参保）",
    scope=(HukouAgeLimit(max_age=60), NonHukouMustBeInsured()),
    photo=PhotoSpec(),
)

PROGRAMMES: Final[Mapping[str, Programme]] = {PANYU.name: PANYU, DEFAULT.name: DEFAULT}


class ProgrammeError(ShebaoError):
    def __init__(self, message: str) -> None:
        super().__init__(code="PROGRAMME_INVALID", message=message, status=422)


def _rule(item: Mapping[str, Any]) -> ScopeRule:
    kind = item.get("rule")
    if kind == "hukou_age_limit":
        max_age = item.get("max_age")
        if not isinstance(max_age, int) or not 0 < max_age < 150:
            raise ProgrammeError("发卡范围规则 hukou_age_limit 须给出 max_age（周岁，整数）")
        return HukouAgeLimit(max_age=max_age)
    if kind == "non_hukou_enterprise_employees_excluded":
        return NonHukouEnterpriseEmployeesExcluded()
    if kind == "non_hukou_must_be_insured":
        return NonHukouMustBeInsured()
    raise ProgrammeError(f"未知的发卡范围规则：{kind}")


def programme_from_mapping(data: Mapping[str, Any]) -> Programme:
    try:
        photo_fields = {f.name for f in fields(PhotoSpec)}
        photo_data = dict(data.get("photo", {}))
        unknown = set(photo_data) - photo_fields
        if unknown:
            raise ProgrammeError(f"照片规格中有未知的设置：{'、'.join(sorted(unknown))}")
        return Programme(
            name=str(data["name"]),
            title=str(data.get("title", data["name"])),
            scope=tuple(_rule(item) for item in data.get("scope", [])),
            hukou_region_prefixes=tuple(str(p) for p in data.get("hukou_region_prefixes", [])),
            photo=PhotoSpec(**photo_data),
            banks=tuple(str(b) for b in data.get("banks", [])),
        )
    except KeyError as exc:
        raise ProgrammeError(f"发卡项目配置缺少 {exc.args[0]}") from exc
    except (TypeError, ValueError) as exc:
        raise ProgrammeError(f"发卡项目配置有误：{exc}") from exc


def load_programme(name_or_path: str) -> Programme:
    """A registered programme by name, or a TOML file describing one."""
    if name_or_path in PROGRAMMES:
        return PROGRAMMES[name_or_path]
    path = Path(name_or_path)
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ProgrammeError(f"无法读取发卡项目配置文件 {path}：{exc}") from exc
        return programme_from_mapping(data)
    known = "、".join(sorted(PROGRAMMES))
    raise ProgrammeError(
        f"未知的发卡项目：{name_or_path}（已配置：{known}；或给出 .toml 配置文件）"
    )
