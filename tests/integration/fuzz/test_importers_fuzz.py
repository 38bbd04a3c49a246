"""Every importer, fed hostile files: no crash, bounded work, a proper refusal.

Issue 14 §2. The fixed corpus (corpus.py) holds the known attacks (ZIP bombs, entity
expansion, a cell at XFD1048576, a million columns, 10 MB cells, wrong encodings, open
quotes, NUL bytes, formulas, images that are not images or claim 4 gigapixels); hypothesis
adds random bytes, CSV text in every encoding and damaged XLSX. A refusal must carry a
machine code and a Chinese message naming the file as its owner named it.

Bounded for CI (a few dozen examples per importer); `bench/fuzz_imports.py --seconds N`
runs the same for as long as asked and prints what it tried.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.fuzz import corpus
from tests.integration.fuzz.importers import IMPORTERS, assert_proper_refusal, run

pytestmark = pytest.mark.unit

_FUZZ = settings(
    max_examples=20,
    deadline=timedelta(seconds=10),  # a hang, not a slow machine: most examples take ms
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
HEADERS = {
    "intake.department_file": corpus.INTAKE_HEADER,
    "cards.applications": corpus.APPLICATION_HEADER,
}
TABLE_IMPORTERS = [name for name in IMPORTERS if name != "cards.photo_zip"]
XLSX_IMPORTERS = [
    name for name in TABLE_IMPORTERS if name not in ("payments.bank_results", "usage.upload")
]
# Refused by the checks made before parsing (shebao.identity.filesafety): these files
# would otherwise cost gigabytes or abort the process.
GUARDED = {
    "xlsx-zip-bomb-1gb": {"ARCHIVE_TOO_LARGE"},
    "xlsx-far-cell-xfd1048576": {"TOO_MANY_COLUMNS", "TOO_MANY_CELLS"},
    "xlsx-16384-columns": {"TOO_MANY_COLUMNS"},
    "xlsx-billion-laughs": {"FORBIDDEN_XML"},
    "zip-member-bomb-256mb": {"ARCHIVE_TOO_LARGE"},
}


def _name(label: str, suffix: str) -> str:
    # Not the stored name: the message must use the one the user gave.
    return f"长沙市 {label}（第2版）{suffix}"


def _corpus() -> list[tuple[str, corpus.Case]]:
    cases: list[tuple[str, corpus.Case]] = []
    for importer in TABLE_IMPORTERS:
        header = HEADERS.get(importer, corpus.TARGETS_HEADER)
        cases += [(importer, case) for case in corpus.csv_cases(header)]
        if importer in XLSX_IMPORTERS:
            cases += [(importer, case) for case in corpus.xlsx_cases(header)]
    cases += [("cards.photo_zip", case) for case in corpus.photo_zip_cases()]
    return cases


@pytest.mark.parametrize(
    ("importer", "case"), _corpus(), ids=lambda v: v if isinstance(v, str) else v.label
)
def test_a_hostile_file_is_refused_properly_or_read(importer: str, case: corpus.Case) -> None:
    name = _name(case.label, case.suffix)
    outcome = run(importer, case.make(), name)
    assert_proper_refusal(importer, outcome, name)
    if case.label in GUARDED:
        assert not outcome.accepted
        assert outcome.code in GUARDED[case.label], outcome


@pytest.mark.parametrize("importer", list(IMPORTERS))
@_FUZZ
@given(data=corpus.random_bytes, suffix=st.sampled_from([".csv", ".xlsx", ".zip", ".txt"]))
def test_random_bytes(importer: str, data: bytes, suffix: str) -> None:
    if importer == "cards.photo_zip":
        suffix = ".zip"
    name = _name("随机", suffix)
    assert_proper_refusal(importer, run(importer, data, name), name)


@pytest.mark.parametrize("importer", TABLE_IMPORTERS)
@_FUZZ
@given(data=st.data())
def test_csv_text_in_any_encoding(importer: str, data: st.DataObject) -> None:
    header = HEADERS.get(importer, corpus.TARGETS_HEADER)
    raw = data.draw(corpus.encoded_csv(header))
    name = _name("编码", ".csv")
    assert_proper_refusal(importer, run(importer, raw, name), name)


@pytest.mark.parametrize("importer", XLSX_IMPORTERS)
@_FUZZ
@given(data=st.data())
def test_xlsx_with_any_cells(importer: str, data: st.DataObject) -> None:
    raw = data.draw(corpus.xlsx_from_rows(HEADERS.get(importer, corpus.TARGETS_HEADER)))
    name = _name("表格", ".xlsx")
    assert_proper_refusal(importer, run(importer, raw, name), name)


@pytest.mark.parametrize("importer", XLSX_IMPORTERS)
@_FUZZ
@given(data=st.data())
def test_damaged_xlsx(importer: str, data: st.DataObject) -> None:
    header = HEADERS.get(importer, corpus.TARGETS_HEADER)
    good = corpus.xlsx_file(corpus.sheet_xml([header.split(","), ["张三"] * 5]))
    raw = data.draw(corpus.mutated(good))
    name = _name("损坏", ".xlsx")
    assert_proper_refusal(importer, run(importer, raw, name), name)


@_FUZZ
@given(data=st.data())
def test_damaged_photo_zip(data: st.DataObject) -> None:
    good = corpus.photo_zip_cases()[3].make()  # a ZIP with one (bad) photo
    raw = data.draw(corpus.mutated(good))
    name = _name("照片", ".zip")
    assert_proper_refusal("cards.photo_zip", run("cards.photo_zip", raw, name), name)


def test_a_formula_cell_is_never_evaluated(tmp_path: object) -> None:
    """An XLSX formula cell reads as the value the sender's spreadsheet showed (cached),
    never as its formula and never computed here; in CSV a formula is plain text."""
    from pathlib import Path

    from shebao.intake.formats.readers import read_raw

    work = Path(str(tmp_path))
    xlsx = work / "公式.xlsx"
    xlsx.write_bytes(
        corpus.xlsx_file(
            corpus.sheet_xml(
                [corpus.INTAKE_HEADER.split(","), ["=1+1", "=cmd|' /C calc'!A0", "x", "y", "z"]],
                formula=True,
            )
        )
    )
    cells = read_raw(xlsx).frame.row(0)
    assert cells[1:3] == ("2", "2")  # the cached <v>, not "=1+1" and not evaluated
    csv = work / "公式.csv"
    csv.write_text(f"{corpus.INTAKE_HEADER}\n=1+1,=cmd|' /C calc'!A0,x,y,z\n", encoding="utf-8")
    assert read_raw(csv).frame.row(0)[1:3] == ("=1+1", "=cmd|' /C calc'!A0")


@_FUZZ
@given(data=st.one_of(corpus.random_bytes, corpus.encoded_csv("卡号,结果,原因")))
def test_vendor_result_rows_refuse_what_they_cannot_read(data: bytes) -> None:
    """The vendor's result file, once its signature is verified and it is decrypted: any
    content reads or is refused with a code (a GBK file was a server error)."""
    from shebao.cards.services.production import _read_result_rows
    from shebao.errors import ValidationFailed

    try:
        _read_result_rows(data, ("卡号", "结果"))
    except ValidationFailed as error:
        assert error.code in {"MISSING_COLUMNS", "RESULT_FILE_UNREADABLE"}
        assert corpus_han(error.message)


def corpus_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_usage_csv_with_a_bare_carriage_return_is_refused() -> None:
    """Found by bench/fuzz_imports.py: a bare CR inside a row was a server error (csv.Error)."""
    outcome = run("usage.upload", b"a,b\rc\n1,2\n", "用量.csv")
    assert not outcome.accepted
    assert_proper_refusal("usage.upload", outcome, "用量.csv")


def test_usage_csv_with_an_unclosed_quote_is_refused() -> None:
    outcome = run("usage.upload", b'card_number,service\n"123,abc\n', "用量.csv")
    assert not outcome.accepted
    assert_proper_refusal("usage.upload", outcome, "用量.csv")
