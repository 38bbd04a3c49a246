"""A hostile file is refused whole through the import services: no rows, no batch.

The readers' fuzzing (test_importers_fuzz.py) proves no crash and a proper message; here the
services that write run on the real database (SQLite and PostgreSQL) with the same corpus,
and the row counts are compared before and after.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shebao.errors import ShebaoError
from shebao.geo.models import Region
from shebao.intake.models import ImportBatch as IntakeBatch
from shebao.intake.services import import_batch_submit
from shebao.reports.models import ImportBatch as ReportsBatch
from shebao.reports.models import ReportedFigure, Target
from shebao.reports.services import figures_import, targets_import
from tests.integration.fuzz import corpus
from tests.integration.reports.conftest import HUNAN, make_region

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# The cheap half of the corpus and every bomb: the costly ones are read in the reader tests.
_SKIP = {"csv-10mb-cell", "csv-open-quote-long", "xlsx-10mb-cell"}


def _cases(header: str) -> list[corpus.Case]:
    cases = corpus.csv_cases(header) + corpus.xlsx_cases(header)
    return [case for case in cases if case.label not in _SKIP]


@pytest.fixture
def hunan(db: None) -> dict[str, Region]:
    return {code: make_region(code, name) for code, name in HUNAN.items()}


def _counts() -> tuple[int, ...]:
    return (
        Target.objects.count(),
        ReportedFigure.objects.count(),
        ReportsBatch.objects.count(),
        IntakeBatch.objects.count(),
    )


@pytest.mark.parametrize("case", _cases(corpus.TARGETS_HEADER), ids=lambda c: c.label)
def test_targets_and_figures_import_nothing_from_a_hostile_file(
    hunan: dict[str, Region], tmp_path: Path, case: corpus.Case
) -> None:
    before = _counts()
    path = tmp_path / f"湖南 目标 {case.label}{case.suffix}"
    path.write_bytes(case.make())
    for importer in (targets_import, figures_import):
        with pytest.raises(ShebaoError) as refused:
            importer(path=path, actor=None)
        details = refused.value.details
        assert refused.value.code == "IMPORT_REJECTED"
        if details and details[0]["code"] == "FILE_UNREADABLE":  # the file as a whole: named
            assert path.name in str(details[0]["message"])
    assert _counts() == before


@pytest.mark.parametrize("case", _cases(corpus.INTAKE_HEADER), ids=lambda c: c.label)
def test_a_department_file_is_refused_before_a_batch_exists(
    tmp_path: Path, case: corpus.Case
) -> None:
    before = _counts()
    path = tmp_path / "upload-0001.bin"
    path.write_bytes(case.make())
    name = f"公安 户籍 {case.label}{case.suffix}"
    try:
        import_batch_submit(actor=None, path=path, file_name=name)
    except ShebaoError as error:
        assert error.code and name in error.message, error.message
        assert _counts() == before
    else:  # accepted at the door (its headers read): queued, nothing imported yet
        assert IntakeBatch.objects.count() == before[3] + 1
