"""Eligibility: every reason, the fixed order, programmes, and the vectorised engine held to
the one-record reference rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shebao.cards.domain.eligibility import (
    Application,
    PersonFacts,
    Programme,
    Reason,
    canonical_bank,
    canonical_banks,
    check_application,
    person_facts,
    photo_entry,
    reasons_text,
)
from shebao.cards.domain.engine import EligibilityResult, check_applications
from shebao.cards.domain.photos import PhotoProblem, PhotoProblemCode, PhotoVerdict
from shebao.cards.domain.programmes import PANYU
from shebao.identity.id_number import normalize_id_number, validate_id_number
from tests.unit.cards.samples import id_number

pytestmark = pytest.mark.unit

AS_OF = date(2025, 6, 30)
YOUNG = id_number(birth=date(1990, 5, 1), sequence=11)
OLD = id_number(birth=date(1960, 1, 1), sequence=21)  # 65 on AS_OF
JUST_60 = id_number(birth=date(1965, 6, 30), sequence=31)  # 60 on AS_OF exactly
ALMOST_60 = id_number(birth=date(1965, 7, 1), sequence=41)  # 59 on AS_OF
DEAD = id_number(birth=date(1980, 1, 1), sequence=51)
STRANGER = id_number(area="430102", birth=date(1985, 1, 1), sequence=61)
ELSEWHERE = id_number(area="430102", birth=date(1950, 1, 1), sequence=71)
BAD_CHECK = YOUNG[:17] + ("0" if YOUNG[17] != "0" else "1")
GOOD_PHONE = "13800138000"
OK_PHOTO = PhotoVerdict()
BAD_PHOTO = PhotoVerdict((PhotoProblem(PhotoProblemCode.BACKGROUND_DARK, "照片背景不够浅"),))


def population(rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
    base = {"status": "正常", "death_date": "", "hukou_type": "户籍", "region_code": "440113001"}
    records = [{**base, **row} for row in rows]
    frame = pl.DataFrame(records).with_row_index("__row", offset=1)
    return frame.with_columns(pl.col("__row").cast(pl.Int64))


POPULATION = population(
    [
        {"id_number": YOUNG},
        {"id_number": OLD},
        {"id_number": JUST_60},
        {"id_number": ALMOST_60},
        {"id_number": DEAD, "status": "死亡", "death_date": "2024-01-01"},
        {"id_number": ELSEWHERE, "hukou_type": "非户籍", "region_code": "430102"},
    ]
)


def applications(rows: Sequence[Mapping[str, str]]) -> pl.DataFrame:
    base = {"name": "张三", "bank": "农业银行", "phone": GOOD_PHONE, "work_number": ""}
    return pl.DataFrame(
        [{"__row": i, **base, **row} for i, row in enumerate(rows, start=1)],
        schema={
            "__row": pl.Int64,
            "id_number": pl.String,
            "name": pl.String,
            "bank": pl.String,
            "phone": pl.String,
            "work_number": pl.String,
        },
    )


@dataclass
class FakePhotos:
    """A PhotoSource over a dict: stem → entry, entry → verdict; counts what it checked."""

    verdicts: dict[str, PhotoVerdict]
    checked: list[str] = field(default_factory=list)

    @property
    def index(self) -> Mapping[str, str]:
        return {entry.rsplit(".", 1)[0].upper(): entry for entry in self.verdicts}

    def check(self, entries: Sequence[str]) -> Mapping[str, PhotoVerdict]:
        self.checked.extend(entries)
        return {e: self.verdicts[e] for e in entries}


def run(
    rows: Sequence[Mapping[str, str]],
    *,
    pop: pl.DataFrame = POPULATION,
    cards: pl.DataFrame | None = None,
    photos: FakePhotos | None = None,
    banks: Sequence[str] | None = None,
    programme: Programme | None = None,
) -> EligibilityResult:
    return check_applications(
        applications(rows),
        pop,
        cards=cards,
        photos=photos,
        banks=canonical_banks(banks) if banks is not None else None,
        programme=programme,
        as_of=AS_OF,
    )


def reasons(result: EligibilityResult) -> list[str]:
    return result.frame["reasons"].to_list()


# ---- each reason ---------------------------------------------------------------------------


def test_an_eligible_row() -> None:
    result = run([{"id_number": YOUNG}])
    assert result.frame.row(0, named=True) == {
        "row": 1,
        "id_number": YOUNG,
        "name": "张三",
        "eligible": True,
        "reasons": "",
        "messages": "",
    }


def test_invalid_id_says_why_and_keeps_the_number_as_written() -> None:
    result = run([{"id_number": BAD_CHECK}, {"id_number": "12345"}])
    assert reasons(result) == ["INVALID_ID", "INVALID_ID"]
    assert result.frame["messages"].to_list() == [
        "身份证号码无效：校验位错误",
        "身份证号码无效：长度应为18位（或15位旧号码）",
    ]
    assert result.frame["id_number"].to_list() == [BAD_CHECK, "12345"]


def test_ids_are_normalised_before_matching() -> None:
    lower_x = id_number(birth=date(1991, 1, 1), sequence=3)
    assert lower_x.endswith("X") or True  # any valid number; the variants below matter
    pop = population([{"id_number": lower_x}])
    full_width = lower_x.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    result = run([{"id_number": lower_x.lower()}, {"id_number": f" {full_width} "}], pop=pop)
    assert result.frame["id_number"].to_list() == [lower_x, lower_x]
    assert reasons(result) == ["", "DUPLICATE_APPLICATION"]


def test_fifteen_digit_numbers_are_upgraded() -> None:
    old = id_number(birth=date(1970, 3, 4), sequence=123)
    short = old[:6] + old[8:17]
    result = run([{"id_number": short}], pop=population([{"id_number": old}]))
    assert reasons(result) == [""]
    assert result.frame["id_number"].to_list() == [old]


def test_not_in_population_and_deceased() -> None:
    result = run([{"id_number": STRANGER}, {"id_number": DEAD}])
    assert reasons(result) == ["NOT_IN_POPULATION", "DECEASED"]
    assert result.frame["messages"].to_list() == ["人口库中查无此人", "人口库登记为已死亡"]


def test_a_death_date_alone_or_on_a_duplicate_population_row_means_deceased() -> None:
    pop = population(
        [
            {"id_number": YOUNG},
            {"id_number": YOUNG, "death_date": "2024-05-05"},
            {"id_number": OLD, "death_date": "2020-01-01"},
        ]
    )
    assert reasons(run([{"id_number": YOUNG}, {"id_number": OLD}], pop=pop)) == [
        "DECEASED",
        "DECEASED",
    ]


def test_photos_are_only_checked_when_supplied() -> None:
    assert reasons(run([{"id_number": YOUNG}])) == [""]
    photos = FakePhotos({f"{YOUNG}.jpg": OK_PHOTO, "GZ7.jpg": BAD_PHOTO})
    result = run(
        [{"id_number": YOUNG}, {"id_number": OLD}, {"id_number": JUST_60, "work_number": "gz7"}],
        photos=photos,
    )
    assert reasons(result) == ["", "NO_PHOTO", "PHOTO_QUALITY"]
    assert result.frame["messages"].to_list()[1:] == [
        "无照片：照片包中没有以身份证号或工作证号(学籍号)命名的照片",
        "照片不符合制卡要求：照片背景不够浅",
    ]
    assert result.photos_checked == 2


def test_a_photo_named_by_the_number_as_written_is_found() -> None:
    lower = YOUNG.lower()
    photos = FakePhotos({f"{lower}.jpg": OK_PHOTO})
    assert reasons(run([{"id_number": lower}], photos=photos)) == [""]


def test_a_shared_photo_is_checked_once() -> None:
    photos = FakePhotos({f"{YOUNG}.jpg": OK_PHOTO})
    run([{"id_number": YOUNG}, {"id_number": YOUNG}], photos=photos)
    assert photos.checked == [f"{YOUNG}.jpg"]


def test_has_card_counts_normal_and_lost_cards_only() -> None:
    cards = pl.DataFrame(
        {
            "id_number": [YOUNG, OLD.lower(), JUST_60, ALMOST_60],
            "status": ["正常", "挂失", "注销", "临时挂失"],
        }
    )
    rows = [{"id_number": i} for i in (YOUNG, OLD, JUST_60, ALMOST_60)]
    result = run(rows, cards=cards)
    assert reasons(result) == ["HAS_CARD", "HAS_CARD", "", "HAS_CARD"]
    assert result.frame["messages"][0] == "已持有有效的社会保障卡：已有状态为正常或挂失的社会保障卡"


def test_duplicates_point_at_the_first_row() -> None:
    rows = [{"id_number": YOUNG}, {"id_number": OLD}, {"id_number": YOUNG}, {"id_number": YOUNG}]
    result = run(rows)
    assert reasons(result) == ["", "", "DUPLICATE_APPLICATION", "DUPLICATE_APPLICATION"]
    assert result.frame["messages"][3] == "重复申领：与第 1 行的身份证号码相同"


def test_invalid_numbers_are_not_also_duplicates_or_anything_else() -> None:
    cards = pl.DataFrame({"id_number": [BAD_CHECK], "status": ["正常"]})
    result = run([{"id_number": BAD_CHECK}, {"id_number": BAD_CHECK}], cards=cards)
    assert reasons(result) == ["INVALID_ID", "INVALID_ID"]


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("13800138000", True),
        ("138-0013-8000", True),
        ("+86 138 0013 8000", True),
        ("１３８００１３８０００", True),
        ("", False),
        ("1380013800", False),
        ("12800138000", False),
        ("020-12345678", False),
    ],
)
def test_phone_numbers(phone: str, ok: bool) -> None:
    result = run([{"id_number": YOUNG, "phone": phone}])
    assert reasons(result) == ["" if ok else "INVALID_PHONE"]
    if not ok:
        assert result.frame["messages"][0].startswith("联系电话无效：手机号码")


def test_banks_are_compared_by_canonical_name() -> None:
    rows = [
        {"id_number": YOUNG, "bank": "中国农业银行"},
        {"id_number": OLD, "bank": "邮政储蓄银行"},
        {"id_number": JUST_60, "bank": "工商银行"},
        {"id_number": ALMOST_60, "bank": ""},
    ]
    result = run(rows, banks=["农行", "中国邮政储蓄银行股份有限公司"])
    assert reasons(result) == ["", "", "BANK_NOT_COOPERATING", "BANK_NOT_COOPERATING"]
    assert result.frame["messages"].to_list()[2:] == [
        "所选银行不是合作银行：“工商银行”，合作银行为农业银行、邮储银行",
        "所选银行不是合作银行：未选择银行，合作银行为农业银行、邮储银行",
    ]
    assert reasons(run(rows)) == ["", "", "", ""]  # no banks given: no bank check


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("中国农业银行", "农业银行"),
        ("农行", "农业银行"),
        ("中国银行", "中国银行"),
        ("中行", "中国银行"),
        ("中国建设银行股份有限公司", "建设银行"),
        ("广州农村商业银行", "广州农商银行"),
        ("中国邮政储蓄银行", "邮储银行"),
        (" 邮储银行 ", "邮储银行"),
    ],
)
def test_canonical_bank_names(written: str, canonical: str) -> None:
    assert canonical_bank(written) == canonical


def test_panyu_scope_puts_household_registered_people_of_60_and_over_out() -> None:
    rows = [{"id_number": i} for i in (YOUNG, OLD, JUST_60, ALMOST_60, ELSEWHERE)]
    assert reasons(run(rows)) == ["", "", "", "", ""]  # no programme: no scope rules
    result = run(rows, programme=PANYU)
    assert reasons(result) == ["", "OUT_OF_SCOPE", "OUT_OF_SCOPE", "", ""]
    assert result.frame["messages"][1] == "不在本次发卡范围：户籍人员年满60周岁"
    # The files carry no insurance data: the non-hukou rules are reported as not applied.
    assert result.skipped_rules == (
        "非户籍人员未在本地参保",
        "非户籍的参保企业职工不在本次发卡范围",
    )


def test_household_registration_elsewhere_counts_as_non_hukou() -> None:
    old_elsewhere = id_number(area="440113", birth=date(1950, 1, 1), sequence=81)
    pop = population([{"id_number": old_elsewhere, "region_code": "440106001"}])
    assert reasons(run([{"id_number": old_elsewhere}], pop=pop, programme=PANYU)) == [""]


def test_non_hukou_rules_apply_when_the_data_is_there() -> None:
    pop = population(
        [
            {
                "id_number": YOUNG,
                "hukou_type": "非户籍",
                "enterprise_employee": True,
                "insured": True,
            },
            {
                "id_number": OLD,
                "hukou_type": "非户籍",
                "enterprise_employee": False,
                "insured": False,
            },
            {
                "id_number": JUST_60,
                "hukou_type": "非户籍",
                "enterprise_employee": False,
                "insured": True,
            },
            {"id_number": ALMOST_60, "enterprise_employee": True, "insured": False},
        ]
    )
    rows = [{"id_number": i} for i in (YOUNG, OLD, JUST_60, ALMOST_60)]
    result = run(rows, pop=pop, programme=PANYU)
    assert reasons(result) == ["OUT_OF_SCOPE", "OUT_OF_SCOPE", "", ""]
    assert result.frame["messages"].to_list()[:2] == [
        "不在本次发卡范围：非户籍的参保企业职工不在本次发卡范围",
        "不在本次发卡范围：非户籍人员未在本地参保",
    ]
    assert result.skipped_rules == ()


def test_all_reasons_in_the_fixed_order() -> None:
    cards = pl.DataFrame({"id_number": [OLD], "status": ["正常"]})
    pop = population([{"id_number": OLD, "status": "死亡"}])
    photos = FakePhotos({f"{OLD}.jpg": BAD_PHOTO})
    rows = [
        {"id_number": OLD},
        {"id_number": OLD, "phone": "1", "bank": "工商银行"},
    ]
    result = run(rows, pop=pop, cards=cards, photos=photos, banks=["农业银行"], programme=PANYU)
    assert reasons(result)[1] == (
        "DECEASED;PHOTO_QUALITY;HAS_CARD;DUPLICATE_APPLICATION;INVALID_PHONE;"
        "BANK_NOT_COOPERATING;OUT_OF_SCOPE"
    )
    assert [r.value for r in Reason] == [
        "INVALID_ID",
        "NOT_IN_POPULATION",
        "DECEASED",
        "NO_PHOTO",
        "PHOTO_QUALITY",
        "HAS_CARD",
        "DUPLICATE_APPLICATION",
        "INVALID_PHONE",
        "BANK_NOT_COOPERATING",
        "OUT_OF_SCOPE",
    ]
    counts = result.counts()
    assert counts[Reason.DECEASED] == 2
    assert counts[Reason.DUPLICATE_APPLICATION] == 1
    assert counts[Reason.INVALID_ID] == 0


def test_reasons_text_orders_failures() -> None:
    from shebao.cards.domain.eligibility import Failure

    codes, messages = reasons_text(
        [Failure(Reason.OUT_OF_SCOPE, "x"), Failure(Reason.INVALID_ID, "y")]
    )
    assert codes == "INVALID_ID;OUT_OF_SCOPE"
    assert messages == "身份证号码无效：y；不在本次发卡范围：x"


def test_an_empty_application_file() -> None:
    result = run([])
    assert result.frame.height == 0
    assert result.counts() == dict.fromkeys(Reason, 0)


# ---- the engine against the reference rules ------------------------------------------------

POOL = [YOUNG, OLD, JUST_60, ALMOST_60, DEAD, STRANGER, ELSEWHERE]
ID_VARIANTS = st.sampled_from(POOL).flatmap(
    lambda i: st.sampled_from(
        [i, i.lower(), i[:17] + ("0" if i[17] != "0" else "1"), i[:6] + i[8:17], i[:10], ""]
    )
)
PHONES = st.sampled_from(["13800138000", "1380013800", "", "+86 13900139000", "abc", "19912345678"])
BANKS = st.sampled_from(["农业银行", "中国农业银行", "工商银行", "", "邮储银行"])
WORK = st.sampled_from(["", "GZ1", "gz2", "GZ3"])
STATUSES = st.sampled_from(["正常", "死亡", "迁出"])


@dataclass(frozen=True)
class Scenario:
    pop: list[dict[str, object]]
    apps: list[dict[str, str]]
    cards: list[dict[str, str]]
    photos: dict[str, PhotoVerdict] | None  # file stem → verdict
    banks: list[str] | None
    programme: Programme | None


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    with_attributes = draw(st.booleans())
    person: dict[str, st.SearchStrategy[object]] = {
        "id_number": st.sampled_from(POOL).flatmap(lambda i: st.sampled_from([i, i.lower()])),
        "status": STATUSES,
        "death_date": st.sampled_from(["", "", "2024-01-01"]),
        "hukou_type": st.sampled_from(["户籍", "非户籍", ""]),
        "region_code": st.sampled_from(["440113001", "440106", "430102"]),
    }
    if with_attributes:
        person |= {
            "enterprise_employee": st.one_of(st.none(), st.booleans()),
            "insured": st.one_of(st.none(), st.booleans()),
        }
    application = {"id_number": ID_VARIANTS, "phone": PHONES, "bank": BANKS, "work_number": WORK}
    card = {
        "id_number": st.sampled_from(POOL),
        "status": st.sampled_from(["正常", "挂失", "注销", "临时挂失", "作废"]),
    }
    stems = st.sampled_from([*POOL, YOUNG.lower(), "GZ1", "GZ2", "gz3"])
    return Scenario(
        pop=draw(st.lists(st.fixed_dictionaries(person), max_size=10)),
        apps=draw(st.lists(st.fixed_dictionaries(application), max_size=12)),
        cards=draw(st.lists(st.fixed_dictionaries(card), max_size=4)),
        photos=draw(
            st.none() | st.dictionaries(stems, st.sampled_from([OK_PHOTO, BAD_PHOTO]), max_size=6)
        ),
        banks=draw(st.none() | st.sampled_from([["农业银行"], ["农行", "邮储银行"], []])),
        programme=draw(st.sampled_from([None, PANYU])),
    )


def population_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    if rows:
        return population(rows)
    return pl.DataFrame(
        schema=dict.fromkeys(
            ["id_number", "status", "death_date", "hukou_type", "region_code"], pl.String
        )
        | {"__row": pl.Int64}
    )


def reference(s: Scenario) -> list[tuple[int, str, str, str]]:
    """The reference rules row by row: (row, id_number, codes, messages)."""
    pop = population_frame(s.pop)
    known = frozenset(a for a in ("enterprise_employee", "insured") if a in pop.columns)
    people: dict[str, list[PersonFacts]] = {}
    for row in pop.iter_rows(named=True):
        people.setdefault(normalize_id_number(row["id_number"]), []).append(
            PersonFacts(
                id_number=row["id_number"],
                status=row["status"],
                death_date=row["death_date"],
                hukou_type=row["hukou_type"],
                region_code=row["region_code"],
                enterprise_employee=row.get("enterprise_employee"),
                insured=row.get("insured"),
            )
        )
    held = {
        normalize_id_number(c["id_number"])
        for c in s.cards
        if c["status"] in ("正常", "挂失", "临时挂失", "正式挂失")
    }
    index = {stem.upper(): f"{stem}.jpg" for stem in s.photos or {}}
    verdicts = {f"{stem}.jpg": v for stem, v in (s.photos or {}).items()}
    banks = canonical_banks(s.banks) if s.banks is not None else None
    first: dict[str, int] = {}
    out = []
    for i, raw in enumerate(s.apps, start=1):
        app = Application(
            row=i,
            id_number=raw["id_number"],
            name="张三",
            bank=raw["bank"],
            phone=raw["phone"],
            work_number=raw["work_number"],
        )
        check = validate_id_number(app.id_number, as_of=AS_OF)
        if check.ok:
            first.setdefault(check.normalized, i)
        entry = photo_entry(app, check.normalized, index)
        failures = check_application(
            app,
            person=person_facts(people[check.normalized]) if check.normalized in people else None,
            holds_card=check.normalized in held,
            first_row_with_id=first.get(check.normalized) if check.ok else None,
            photos_checked=s.photos is not None,
            photo=verdicts[entry] if entry is not None else None,
            banks=banks,
            programme=s.programme,
            as_of=AS_OF,
            known_attributes=known,
        )
        codes, messages = reasons_text(failures)
        out.append((i, check.normalized if check.ok else app.id_number, codes, messages))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_engine_agrees_with_the_reference_rules(s: Scenario) -> None:
    photos = (
        FakePhotos({f"{stem}.jpg": v for stem, v in s.photos.items()})
        if s.photos is not None
        else None
    )
    result = run(
        s.apps,
        pop=population_frame(s.pop),
        cards=pl.DataFrame(s.cards, schema={"id_number": pl.String, "status": pl.String}),
        photos=photos,
        banks=s.banks,
        programme=s.programme,
    )
    got = list(result.frame.select("row", "id_number", "reasons", "messages").iter_rows())
    assert got == reference(s)
