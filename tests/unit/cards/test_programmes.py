"""Programme configuration: the shipped Panyu programme and TOML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from shebao.cards.domain.eligibility import (
    HukouAgeLimit,
    NonHukouEnterpriseEmployeesExcluded,
    NonHukouMustBeInsured,
)
from shebao.cards.domain.photos import PhotoSpec
from shebao.cards.domain.programmes import PANYU, ProgrammeError, load_programme

pytestmark = pytest.mark.unit


def test_panyu_is_the_seed_rules() -> None:
    assert load_programme("panyu") is PANYU
    assert PANYU.scope == (
        HukouAgeLimit(max_age=60),
        NonHukouMustBeInsured(),
        NonHukouEnterpriseEmployeesExcluded(),
    )
    assert PANYU.hukou_region_prefixes == ("440113",)
    assert PANYU.photo == PhotoSpec(width=358, height=441, tolerance_px=2, max_bytes=20 * 1024)


def test_a_programme_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(
        """
name = "ezhou"
title = "鄂州市社会保障卡发行"
hukou_region_prefixes = ["420700"]
banks = ["农业银行"]
[photo]
max_bytes = 30720
tolerance_px = 4
[[scope]]
rule = "hukou_age_limit"
max_age = 70
[[scope]]
rule = "non_hukou_enterprise_employees_excluded"
""",
        encoding="utf-8",
    )
    programme = load_programme(str(path))
    assert programme.name == "ezhou"
    assert programme.scope == (HukouAgeLimit(70), NonHukouEnterpriseEmployeesExcluded())
    assert programme.photo.max_bytes == 30720
    assert programme.photo.tolerance_px == 4
    assert programme.photo.width == 358
    assert programme.banks == ("农业银行",)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('title = "x"', "缺少 name"),
        ('name = "x"\n[[scope]]\nrule = "nobody"', "未知的发卡范围规则"),
        ('name = "x"\n[[scope]]\nrule = "hukou_age_limit"', "max_age"),
        ('name = "x"\n[photo]\ncolour = true', "未知的设置"),
        ('name = "x"\n[photo]\nwidth = 0', "配置有误"),
        ("name = ", "无法读取"),
    ],
)
def test_bad_configuration_is_refused_in_chinese(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProgrammeError, match=says) as caught:
        load_programme(str(path))
    assert caught.value.code == "PROGRAMME_INVALID"


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ProgrammeError, match="已配置：default、panyu"):
        load_programme("nowhere")
