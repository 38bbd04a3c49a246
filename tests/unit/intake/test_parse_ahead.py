"""The snapshot writer's read-ahead: batches in order, errors raised to the writer, and the
parsing thread stopped when the writer gives up."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pyarrow as pa
import pytest

from shebao.intake.formats.parsing import _Ahead

pytestmark = pytest.mark.unit


def batches(count: int, fail_at: int | None = None) -> Iterator[pa.RecordBatch]:
    for index in range(count):
        if index == fail_at:
            raise ValueError("parse failed")
        yield pa.record_batch({"row": [index]})


def test_batches_come_in_order_and_the_end_repeats() -> None:
    ahead = _Ahead(batches(20), depth=2)
    assert [b.column(0)[0].as_py() for b in ahead] == list(range(20))
    assert list(ahead) == []
    ahead.close()


def test_an_error_in_the_parsing_thread_reaches_the_writer() -> None:
    ahead = _Ahead(batches(10, fail_at=3), depth=2)
    seen = []
    with pytest.raises(ValueError, match="parse failed"):
        for batch in ahead:
            seen.append(batch.column(0)[0].as_py())
    assert seen == [0, 1, 2]
    ahead.close()


def test_closing_early_stops_the_parsing_thread() -> None:
    ahead = _Ahead(batches(1_000), depth=2)
    next(ahead)
    ahead.close()
    assert not any(t.name == "shebao-intake-parse" and t.is_alive() for t in threading.enumerate())
