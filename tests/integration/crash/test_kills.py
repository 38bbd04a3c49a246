"""Kill -9 in the middle of the work (issue #14 §3, issue #12's killed export).

For each operation — a department file import, a comparison run, a bank payment-file export
and the monthly bulletins on the worker; forming a production batch and confirming a
handover in the process that serves the request — the test starts the real process
(`shebao worker`, or the service call a server process makes), lets it reach a point in the
middle of the work (a seeded random choice among the operation's points, then a random
delay), sends SIGKILL, and checks:

- right after: the job is failed with a Chinese message and so is its owner (import batch,
  comparison run); nothing the killed work wrote is counted (no file recorded as sent, no
  card, no custody change, no finding changed);
- after resuming as a user would (re-submitting; a new worker fails the dead one's job by
  itself): the outcome equals an uninterrupted run's — nothing lost, nothing duplicated.

One kill per operation per database here; `bench/crash_kills.py` runs many at random points.
Set CRASH_SEED to replay a choice of points.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.integration.crash.harness import crash_env, kill_once
from tests.integration.crash.operations import OPERATIONS

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SEED = int(os.environ.get("CRASH_SEED", "20261207"))


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_kill_mid_work_loses_and_duplicates_nothing(operation: str, tmp_path: Path) -> None:
    rng = random.Random(f"{SEED}-{operation}")
    with crash_env(tmp_path / "env", operation) as env:
        outcome = kill_once(env, operation, rng)
    print(outcome)
    assert outcome.hit, f"the kill missed the work at {outcome.point}: {outcome.notes}"
    assert outcome.problems_after_kill == []
    assert outcome.problems_final == []


def test_bulletins_killed_between_their_two_formats_are_completed_on_resume(
    tmp_path: Path,
) -> None:
    # The first format is kept (committed), the second's transaction dies: the re-run must
    # produce the missing one, not take the month for done because one format has its figures.
    with crash_env(tmp_path / "env", "bulletin2") as env:
        outcome = kill_once(env, "bulletin", random.Random(0), point="audit:2")
    assert outcome.hit, outcome.notes
    assert outcome.problems_after_kill == []
    assert outcome.problems_final == []
