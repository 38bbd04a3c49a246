"""Every importer's reader behind one signature, and what counts as a proper refusal.

`run(importer, data, user_name)` writes the bytes under a stored name unlike the user's
(as an upload is stored), reads them, and returns an `Outcome`: accepted, or refused with a
machine code and a Chinese message. Anything else (an unexpected exception type) propagates:
that is the crash the fuzzing looks for.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shebao.cards.domain.filecheck import APPLICATION_COLUMNS, ZipPhotos
from shebao.cards.domain.photos import PhotoSpec
from shebao.cards.domain.tables import TableError
from shebao.cards.domain.tables import read_table as cards_read_table
from shebao.errors import ShebaoError
from shebao.intake.formats.errors import IntakeError
from shebao.intake.formats.readers import read_raw
from shebao.payments.domain.bankfile import read_results_frame
from shebao.reports.domain.rows import parse_figures, parse_targets
from shebao.reports.domain.work_plan import parse_work_plan
from shebao.reports.tabular import TableUnreadable
from shebao.reports.tabular import read_table as reports_read_table
from shebao.usage.domain.records import parse_csv, parse_json_lines

__all__ = ["IMPORTERS", "NAMELESS", "Outcome", "assert_proper_refusal", "run"]

_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    code: str = ""
    message: str = ""


def _intake(path: Path, name: str) -> Outcome:
    try:
        read_raw(path, name=name)
    except IntakeError as error:
        return Outcome(False, error.code, error.message)
    return Outcome(True)


def _cards(path: Path, name: str) -> Outcome:
    try:
        cards_read_table(path, APPLICATION_COLUMNS, what="申领文件", name=name)
    except TableError as error:
        return Outcome(False, error.code, error.message)
    return Outcome(True)


def _reports(parse: Callable[..., object]) -> Callable[[Path, str], Outcome]:
    def read(path: Path, name: str) -> Outcome:
        named = path.with_name(name)
        path.rename(named)
        try:
            table = reports_read_table(named)
        except TableUnreadable as error:
            return Outcome(False, error.code, str(error))
        if parse is parse_work_plan:
            parse_work_plan(table)
        else:
            parse(table, set())
        return Outcome(True)

    return read


def _photos(path: Path, name: str) -> Outcome:
    try:
        photos = ZipPhotos.open(path, PhotoSpec(), 1, name=name)
    except TableError as error:
        return Outcome(False, error.code, error.message)
    names = list(photos.index.values())
    verdicts = photos.check(names)
    assert set(verdicts) == set(names)
    return Outcome(True)


def _bank_results(path: Path, name: str) -> Outcome:
    _frame, errors = read_results_frame(path.read_bytes())
    if errors and errors[0].row == 0:
        return Outcome(False, "RESULT_FILE_INVALID", errors[0].message())
    return Outcome(True)


def _usage(path: Path, name: str) -> Outcome:
    # The upload view decodes (UTF-8, else refused); the domain parses the text.
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return Outcome(False, "USAGE_BAD_ENCODING", "不是 UTF-8 编码")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        if name.endswith(".jsonl"):
            parse_json_lines(text, now=now)
        else:
            parse_csv(text, now=now)
    except ShebaoError as error:
        return Outcome(False, error.code, error.message)
    return Outcome(True)


IMPORTERS: dict[str, Callable[[Path, str], Outcome]] = {
    "intake.department_file": _intake,
    "cards.applications": _cards,
    "cards.photo_zip": _photos,
    "reports.targets": _reports(parse_targets),
    "reports.figures": _reports(parse_figures),
    "reports.work_plan": _reports(parse_work_plan),
    "payments.bank_results": _bank_results,
    "usage.upload": _usage,
}


# Whose refusals cannot name the user's file at the layer tested here: the domain function
# is given bytes or text, and the service or view that knows the name (being changed by
# other work now: payments/services/bank.py, usage/views.py) words the message. Reported.
NAMELESS: frozenset[str] = frozenset({"payments.bank_results", "usage.upload"})


def run(importer: str, data: bytes, user_name: str) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="shebao-fuzz-") as work:
        stored = Path(work) / f"upload-0001{Path(user_name).suffix}"
        stored.write_bytes(data)
        return IMPORTERS[importer](stored, user_name)


def assert_proper_refusal(importer: str, outcome: Outcome, user_name: str) -> None:
    """A refusal carries a machine code and a Chinese message naming the user's file."""
    if outcome.accepted:
        return
    assert outcome.code, outcome
    assert re.fullmatch(r"[A-Z][A-Z0-9_]+", outcome.code), outcome
    assert _HAN.search(outcome.message), outcome
    if importer not in NAMELESS:
        assert user_name in outcome.message, outcome
