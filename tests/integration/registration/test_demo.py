"""The registration demo on a small demo city: batches imported, a run with findings,
registration status for everyone; run twice, nothing changes."""

from __future__ import annotations

import pytest

from shebao.demo.services import DEMO_AS_OF, demo_build
from shebao.intake.models import ImportBatch
from shebao.registration.choices import RegistrationState, RunStatus
from shebao.registration.demo import registration_demo_seed
from shebao.registration.models import ComparisonRun, Finding, PersonRegistration
from shebao.registry.models import Person

pytestmark = pytest.mark.django_db


def test_registration_demo(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # 襄阳市: the registration demo does not depend on the reports demo (鄂州市 only).
    summary = demo_build(people=600, seed=7, city_code="420600")
    # `demo_build` seeds the registration demo itself: calling it again finds everything there.
    first = registration_demo_seed(
        department_files=summary.department_files, as_of=DEMO_AS_OF, region_code=summary.city_code
    )
    assert first.run is not None and first.run.status == RunStatus.SUCCEEDED, first.run.error
    assert len(first.batches) >= 2 and first.batches_created == 0 and not first.run_created
    assert Finding.objects.filter(run=first.run).exists()
    assert PersonRegistration.objects.count() == Person.objects.count()
    assert PersonRegistration.objects.filter(state=RegistrationState.REGISTERED).exists()
    again = registration_demo_seed(
        department_files=summary.department_files, as_of=DEMO_AS_OF, region_code=summary.city_code
    )
    assert again.batches_created == 0 and not again.run_created
    assert ImportBatch.objects.count() == len(first.batches)
    assert ComparisonRun.objects.count() == 1
