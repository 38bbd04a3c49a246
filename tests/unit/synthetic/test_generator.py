"""The synthetic population generator: deterministic, valid codes, plausible structure."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import numpy as np
import polars as pl
import pytest

from shebao.geo.data import division_table
from shebao.identity.credit_code import validate_credit_code
from shebao.identity.duckdb_sql import register_identity_macros
from shebao.identity.id_number import validate_id_number
from shebao.identity.names import normalize_name, validate_name
from shebao.identity.phone import is_valid_mobile
from shebao.synthetic import (
    DEPARTMENT_KINDS,
    SCHEME_FLOORS,
    Village,
    dataset_generate,
    department_frames,
    write_department_files,
)
from shebao.synthetic import _tables as tables

pytestmark = pytest.mark.unit

AS_OF = date(2026, 6, 30)
ORIGINS = ("421102", "420202", "420281")  # 黄冈 黄州区, 黄石 黄石港区, 大冶市


def ezhou_villages(per_town: int = 3) -> list[Village]:
    """Three committees under each real town of 鄂州市 (the codes the demo generates)."""
    rows = {r.code: r for r in division_table().rows}
    out: list[Village] = []
    for town in (r for r in rows.values() if r.level == 4 and r.code.startswith("4207")):
        rural = town.name.endswith(("镇", "乡"))
        for i in range(per_town):
            code = f"{town.code}{(201 if rural else 1) + i:03d}"
            name = f"试点{i}村村委会" if rural else f"试点{i}社区居民委员会"
            out.append(
                Village(
                    code=code,
                    name=name,
                    town_code=town.code,
                    county_code=town.code[:6],
                    town_name=town.name,
                    county_name=rows[town.code[:6]].name,
                    full_name=town.full_name + name,
                )
            )
    return out


@pytest.fixture(scope="module")
def ds():  # type: ignore[no-untyped-def]
    return dataset_generate(
        villages=ezhou_villages(),
        persons=60_000,
        seed=7,
        as_of=AS_OF,
        origin_counties=ORIGINS,
        city_name="鄂州市",
    )


def ages(frame: pl.DataFrame, column: str = "birth_date") -> np.ndarray:
    return ((AS_OF - frame[column]).dt.total_days() / 365.2425).to_numpy()


def test_same_seed_same_data_other_seed_other_data() -> None:
    kwargs = {"villages": ezhou_villages(1), "persons": 3_000, "as_of": AS_OF}
    a = dataset_generate(seed=11, **kwargs)  # type: ignore[arg-type]
    b = dataset_generate(seed=11, **kwargs)  # type: ignore[arg-type]
    c = dataset_generate(seed=12, **kwargs)  # type: ignore[arg-type]
    for name in ("households", "persons", "employers", "enrollments", "benefits", "students"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert not a.persons["id_number"].equals(c.persons["id_number"])
    assert a.persons.height == 3_000


def test_every_id_number_is_valid_in_duckdb_and_a_sample_in_python(ds) -> None:  # type: ignore[no-untyped-def]
    persons = ds.persons
    con = duckdb.connect()
    register_identity_macros(con)
    con.register("persons", persons.select("id_number").to_arrow())
    row = con.execute(
        "SELECT count(*) FROM persons WHERE shebao_id_error(id_number, $as_of) IS NOT NULL",
        {"as_of": AS_OF},
    ).fetchone()
    assert row == (0,)
    # The birth date and sex in the number are the person's.
    ids = persons["id_number"]
    assert (ids.str.slice(6, 8) == persons["birth_date"].dt.strftime("%Y%m%d")).all()
    odd = ids.str.slice(16, 1).cast(pl.Int32) % 2 == 1
    assert (odd == (persons["gender"] == "M")).all()
    for row in persons.sample(2_000, seed=1).iter_rows(named=True):
        check = validate_id_number(row["id_number"], as_of=AS_OF)
        assert check.ok, check.errors
        assert check.birth_date == row["birth_date"]
        assert check.gender == row["gender"]


def test_id_numbers_and_household_numbers_are_unique(ds) -> None:  # type: ignore[no-untyped-def]
    assert ds.persons["id_number"].n_unique() == ds.persons.height
    assert ds.households["household_number"].n_unique() == ds.households.height
    assert ds.employers["credit_code"].n_unique() == ds.employers.height


def test_address_code_is_the_county_of_the_village_or_of_origin(ds) -> None:  # type: ignore[no-untyped-def]
    p = ds.persons
    assert (p["id_number"].str.slice(0, 6) == p["address_code"]).all()
    local = p.filter(pl.col("hukou_type") == "hukou")
    assert (local["address_code"] == local["residence_region_code"].str.slice(0, 6)).all()
    assert (local["hukou_region_code"] == local["residence_region_code"]).all()
    migrants = p.filter(pl.col("hukou_type") == "non_hukou")
    assert 0.06 < migrants.height / p.height < 0.14
    assert set(migrants["hukou_region_code"].unique()) <= set(ORIGINS)


def test_age_pyramid_is_plausible(ds) -> None:  # type: ignore[no-untyped-def]
    a = ages(ds.persons)
    assert a.min() >= 0 and a.max() < 106
    assert 0.12 < (a < 15).mean() < 0.20  # census 2020: 17.95 %
    assert 0.58 < ((a >= 15) & (a < 60)).mean() < 0.70  # 63.35 %
    assert 0.16 < (a >= 60).mean() < 0.26  # 18.70 %, older since
    # Women outlive men: more women than men among the over-80s.
    p = ds.persons.with_columns(age=pl.Series(a))
    old = p.filter(pl.col("age") >= 80)
    assert (old["gender"] == "F").mean() > 0.5


def test_households_hold_together(ds) -> None:  # type: ignore[no-untyped-def]
    p = ds.persons.with_columns(age=pl.Series(ages(ds.persons)))
    heads = p.filter(pl.col("relation_to_head") == "户主")
    assert heads["household_number"].n_unique() == heads.height == ds.households.height
    assert heads["age"].min() >= 25
    members = p.join(
        heads.select("household_number", head_age="age", head_gender="gender"),
        on="household_number",
    )
    rel = pl.col("relation_to_head")
    children = members.filter(rel.is_in(["子", "女"]))
    assert (children["head_age"] - children["age"]).min() >= 15
    grandchildren = members.filter(rel.is_in(["孙子", "孙女"]))
    assert (grandchildren["head_age"] - grandchildren["age"]).min() >= 40
    parents = members.filter(rel.is_in(["父亲", "母亲"]))
    assert (parents["age"] - parents["head_age"]).min() >= 18
    spouses = members.filter(rel == "配偶")
    assert spouses["household_number"].n_unique() == spouses.height  # at most one
    assert (spouses["gender"] != spouses["head_gender"]).all()
    assert spouses["age"].min() >= 20
    male = {"子", "父亲", "孙子", "女婿"}
    female = {"女", "母亲", "孙女", "儿媳"}
    assert (members.filter(rel.is_in(male))["gender"] == "M").all()
    assert (members.filter(rel.is_in(female))["gender"] == "F").all()
    # Members live in the household's village and share its hukou type.
    joined = p.join(ds.households, on="household_number", suffix="_hh")
    assert joined.height == p.height
    assert (joined["residence_region_code"] == joined["village_code"]).all()
    assert (joined["hukou_type"] == joined["hukou_type_hh"]).all()
    sizes = p.group_by("household_number").len()
    assert 2.3 < sizes["len"].mean() < 3.2  # census 2020: 2.62


def test_names_phones_and_ethnicity(ds) -> None:  # type: ignore[no-untyped-def]
    p = ds.persons
    surnames = sorted((s for s, _ in tables.SURNAMES), key=len, reverse=True)
    for name in p["name"].sample(3_000, seed=2):
        assert validate_name(name).ok
        assert normalize_name(name) == name
        assert any(name.startswith(s) for s in surnames)
        assert 2 <= len(name) <= 4
    assert (p["name"].str.len_chars() <= 4).all()
    han = (p["ethnicity"] == "汉族").mean()
    assert 0.92 < han < 0.99
    a = ages(p)
    phones = p["phone"]
    assert phones.filter(pl.Series(a < 16)).null_count() == int((a < 16).sum())
    assert phones.drop_nulls().str.contains(r"^1[3-9][0-9]{9}$").all()
    assert all(is_valid_mobile(x) for x in phones.drop_nulls().head(500))
    assert phones.filter(pl.Series(a >= 18)).is_not_null().mean() > 0.8


def test_life_status_is_dated_and_rare(ds) -> None:  # type: ignore[no-untyped-def]
    p = ds.persons
    alive = p.filter(pl.col("life_status") == "alive")
    assert alive["status_date"].null_count() == alive.height
    gone = p.filter(pl.col("life_status") != "alive")
    assert gone["status_date"].null_count() == 0
    assert (gone["status_date"] >= gone["birth_date"]).all()
    assert (gone["status_date"] <= AS_OF).all()
    dead = (p["life_status"] == "deceased").mean()
    moved = (p["life_status"] == "moved_out").mean()
    assert 0.002 < dead < 0.02 and 0.002 < moved < 0.03
    assert not p.filter(pl.col("death_unreported"))["life_status"].ne("deceased").any()


def test_employers_have_valid_credit_codes_and_realistic_kinds(ds) -> None:  # type: ignore[no-untyped-def]
    e = ds.employers
    for code in e["credit_code"]:
        assert validate_credit_code(code).ok, code
    assert (e["credit_code"].str.slice(2, 6) == e["region_code"]).all()
    shares = dict(e["kind_label"].value_counts(normalize=True).iter_rows())
    assert set(shares) == {"机关", "事业单位", "企业", "社会组织", "个体"}
    assert shares["企业"] > 0.5 and shares["个体"] > 0.15 and shares["机关"] < 0.05
    prefix = {"机关": "11", "事业单位": "12", "企业": "91", "个体": "92"}
    for label, code in prefix.items():
        assert (
            e.filter(pl.col("kind_label") == label)["credit_code"].str.slice(0, 2) == code
        ).all()
    assert e["name"].str.len_chars().min() >= 4


def test_enrollments_follow_the_rules_of_the_schemes(ds) -> None:  # type: ignore[no-untyped-def]
    p = ds.persons.with_columns(age=pl.Series(ages(ds.persons)))
    e = ds.enrollments.join(
        p.select("person_no", "birth_date", "age", "student", "life_status"), on="person_no"
    ).join(
        ds.employers.select(pl.col("credit_code").alias("employer_credit_code"), "kind"),
        on="employer_credit_code",
        how="left",
    )
    assert e.height == ds.enrollments.height
    # One record per person and scheme.
    assert e.select("person_no", "scheme_code").is_duplicated().sum() == 0
    assert set(e["status"].unique()) == {"active", "suspended", "terminated"}
    assert (e["start_date"] <= AS_OF).all()
    for scheme, floor in SCHEME_FLOORS.items():
        assert (e.filter(pl.col("scheme_code") == scheme)["start_date"] >= floor).all(), scheme
    # Pension and employee schemes start after the 16th birthday.
    adult = e.filter(pl.col("scheme_code") != "390")
    sixteenth = adult["birth_date"].dt.offset_by("16y")
    assert (adult["start_date"] >= sixteenth).all()
    # Children are covered only by resident medical insurance.
    assert set(e.filter(pl.col("age") < 16)["scheme_code"].unique()) <= {"390"}
    # Enterprise pension for enterprises, public pension for government and institutions.
    k = pl.col("kind")
    assert (
        e.filter(
            (pl.col("scheme_code") == "110") & k.is_in(["government", "public_institution"])
        ).height
        == 0
    )
    assert (
        e.filter(
            (pl.col("scheme_code") == "120") & k.is_in(["enterprise", "individual_business"])
        ).height
        == 0
    )
    assert e.filter(pl.col("scheme_code").is_in(["210", "410", "510"]) & k.is_null()).height == 0
    assert e.filter(pl.col("scheme_code").is_in(["170", "390"]) & k.is_not_null()).height == 0
    ended = e.filter(pl.col("status") == "terminated")
    assert ended["end_date"].null_count() == 0 and (ended["end_date"] >= ended["start_date"]).all()
    assert (
        e.filter(pl.col("status") != "terminated")["end_date"].null_count()
        == e.filter(pl.col("status") != "terminated").height
    )
    assert (e["insurance_region_code"].str.len_chars() == 6).all()
    shares = e["status"].value_counts(normalize=True)
    active = shares.filter(pl.col("status") == "active")["proportion"][0]
    assert 0.8 < active < 0.95


def test_coverage_is_in_the_expected_range(ds) -> None:  # type: ignore[no-untyped-def]
    p = ds.persons.with_columns(age=pl.Series(ages(ds.persons)))
    e = ds.enrollments
    pension = set(e.filter(pl.col("scheme_code").is_in(["110", "120", "170"]))["person_no"])
    medical = set(e.filter(pl.col("scheme_code").is_in(["310", "390"]))["person_no"])
    eligible = p.filter((pl.col("age") >= 16) & ~pl.col("student"))["person_no"]
    pension_share = np.mean([x in pension for x in eligible])
    medical_share = np.mean([x in medical for x in p["person_no"]])
    assert 0.88 <= pension_share <= 0.97, pension_share
    assert 0.94 <= medical_share <= 0.995, medical_share


def test_pensions_are_paid_from_pension_age(ds) -> None:  # type: ignore[no-untyped-def]
    b = ds.benefits.join(
        ds.persons.select("person_no", "birth_date", "gender", "life_status"), on="person_no"
    )
    a = ages(b)
    threshold = np.where((b["scheme_code"] == "170") | (b["gender"] == "M"), 60, 55)
    assert (a >= threshold).all()
    assert b["last_paid"].str.contains(r"^20[0-9]{2}(0[1-9]|1[0-2])$").all()
    dead = b.filter(pl.col("life_status") == "deceased")
    # Most payments to the dead have stopped; a few have not (what the comparison finds).
    stopped = (dead["benefit_status"] == "终止发放").mean()
    assert 0.7 < stopped < 1.0


def test_department_files_have_the_agreed_headers(ds, tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = write_department_files(ds, tmp_path)
    assert set(paths) == set(DEPARTMENT_KINDS)
    expected = {
        "population": "公民身份号码,姓名,性别,出生日期,民族,户籍地区划代码,户号,与户主关系,"
        "户籍类型,人员状态,死亡日期,居住地区划代码",
        "enrollment": "公民身份号码,姓名,险种代码,参保状态,参保地区划代码,"
        "单位统一社会信用代码,参保日期",
        "benefit": "公民身份号码,姓名,险种代码,待遇状态,最近发放年月",
        "death": "公民身份号码,姓名,死亡日期",
        "prison": "公民身份号码,姓名,服刑起始日期,服刑截止日期",
        "student": "公民身份号码,姓名,学籍号,学校名称",
        "employer": "统一社会信用代码,单位名称,单位类型,所在区划代码,成立日期,登记状态",
    }
    for kind, header in expected.items():
        text = paths[kind].read_text(encoding="utf-8")
        assert text.splitlines()[0] == header, kind
    population = pl.read_csv(paths["population"], infer_schema=False)
    assert population.height == ds.persons.height
    assert set(population["性别"].unique()) == {"男", "女"}
    assert set(population["户籍类型"].unique()) == {"户籍", "非户籍"}
    assert set(population["人员状态"].unique()) == {"正常", "死亡", "迁出"}
    assert population["出生日期"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert population["公民身份号码"].str.contains(r"^\d{17}[\dX]$").all()
    death = pl.read_csv(paths["death"], infer_schema=False)
    assert death.height == (ds.persons["life_status"] == "deceased").sum()
    # Deaths the police have not yet recorded: in the death file, 正常 in the population file.
    unreported = set(ds.persons.filter(pl.col("death_unreported"))["id_number"])
    shown = population.filter(pl.col("公民身份号码").is_in(list(unreported)))
    assert (shown["人员状态"] == "正常").all() and shown["死亡日期"].null_count() == shown.height
    enrollment = pl.read_csv(paths["enrollment"], infer_schema=False)
    assert set(enrollment["参保状态"].unique()) == {"参保缴费", "暂停缴费", "终止参保"}
    assert enrollment.height == ds.enrollments.height
    student = pl.read_csv(paths["student"], infer_schema=False)
    pupils = student.filter(pl.col("学籍号").str.starts_with("G"))
    assert (pupils["学籍号"] == "G" + pupils["公民身份号码"]).all()
    benefit = pl.read_csv(paths["benefit"], infer_schema=False)
    assert set(benefit["待遇状态"].unique()) <= {"正常发放", "暂停发放", "终止发放"}
    employer = pl.read_csv(paths["employer"], infer_schema=False)
    assert set(employer["登记状态"].unique()) <= {"存续", "注销", "吊销"}
    # The names in every file are the names of the population register.
    names = dict(zip(population["公民身份号码"], population["姓名"], strict=True))
    for kind in ("enrollment", "benefit", "prison", "student"):
        frame = department_frames(ds, (kind,))[kind]
        assert all(
            names[i] == n for i, n in frame.select("公民身份号码", "姓名").head(300).iter_rows()
        )


def test_rejects_nonsense_input() -> None:
    with pytest.raises(ValueError):
        dataset_generate(villages=[], persons=10)
    with pytest.raises(ValueError):
        dataset_generate(villages=ezhou_villages(1), persons=0)


def test_a_single_village_and_tiny_population_work() -> None:
    village = ezhou_villages(1)[:1]
    small = dataset_generate(villages=village, persons=7, seed=1, as_of=AS_OF)
    assert small.persons.height == 7
    assert re.fullmatch(r"\d{12}\d{4}", small.households["household_number"][0])
    assert small.employers.height >= 5


def test_employer_names_are_unique_at_a_million_people() -> None:
    """The work-plan import matches employers by name: at 1 M people the generator gave
    eleven employers the name 鄂城区人民政府办公室, and the import refused them as ambiguous."""
    big = dataset_generate(villages=ezhou_villages(), persons=1_000_000, seed=42)
    names = big.employers.get_column("name")
    assert names.len() > 10_000
    assert names.n_unique() == names.len()
    assert (names == "鄂城区人民政府办公室").sum() == 1
