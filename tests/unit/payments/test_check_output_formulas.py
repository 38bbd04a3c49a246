"""The check's CSV output carries names and ID numbers from the clerk's file: a cell that a
spreadsheet would run as a formula (`=cmd|' /C calc'!A0`) is written with a leading
apostrophe, as every export does (shebao.identity.spreadsheet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.payments.test_check_files import run, two_people

pytestmark = pytest.mark.unit


def test_a_formula_in_a_name_is_written_as_text(tmp_path: Path) -> None:
    world, a, _b = two_people()
    world.pay(a, "=cmd|' /C calc'!A0")
    rows = run(tmp_path, **world.files(tmp_path))
    assert rows[0]["name"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["id_number"] == a
