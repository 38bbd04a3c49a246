"""Bulk loading of generated frames into the registry (COPY on PostgreSQL, batches on
SQLite): counts, idempotency, and the database's constraints."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from django.db.models import Count, F, Q

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.errors import ValidationFailed
from shebao.identity.id_number import validate_id_number
from shebao.registry.bulk import registry_bulk_load, registry_dataset_load
from shebao.registry.models import Employer, Enrollment, Household, Person
from shebao.synthetic import SyntheticDataset, Village, dataset_generate
from tests.factories import make_regions

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

AS_OF = date(2026, 6, 30)


def villages() -> list[Village]:
    regions = make_regions()
    return [
        Village(
            code=r.code,
            name=r.name,
            town_code=r.code[:9],
            county_code=r.code[:6],
            town_name=regions[r.code[:9]].name,
            county_name=regions[r.code[:6]].name,
            full_name=r.name,
        )
        for r in regions.values()
        if len(r.code) == 12
    ]


def generate(seed: int, persons: int = 2_000) -> SyntheticDataset:
    return dataset_generate(villages=villages(), persons=persons, seed=seed, as_of=AS_OF)


def counts() -> tuple[int, int, int, int]:
    return (
        Household.objects.count(),
        Person.objects.count(),
        Employer.objects.count(),
        Enrollment.objects.count(),
    )


def test_loads_everything_once_and_a_reload_adds_nothing() -> None:
    ds = generate(seed=1)
    first = registry_dataset_load(dataset=ds, source="test")
    assert first.persons == 2_000 == Person.objects.count()
    assert first.households == ds.households.height == Household.objects.count()
    assert first.employers == ds.employers.height == Employer.objects.count()
    assert first.enrollments == ds.enrollments.height == Enrollment.objects.count()
    assert first.persons_skipped == 0
    before = counts()
    again = registry_dataset_load(dataset=ds, source="test")
    assert again.created == 0
    assert again.persons_skipped == 2_000
    assert again.enrollments_skipped == ds.enrollments.height
    assert counts() == before
    imports = AuditEvent.objects.filter(action=AuditAction.IMPORT, target_type="registry")
    assert imports.count() == 2
    assert imports.order_by("at", "id").first().detail["persons"] == 2_000  # type: ignore[union-attr]


def test_loaded_rows_keep_their_links_and_constraints() -> None:
    ds = generate(seed=2)
    registry_dataset_load(dataset=ds)
    # Every person belongs to a household of the village they live in.
    assert Person.objects.filter(household__isnull=True).count() == 0
    assert Person.objects.exclude(household__region_id=F("residence_region_id")).count() == 0
    # The same people, field by field, for a sample.
    sample = ds.persons.sample(200, seed=3)
    stored = {
        p.id_number: p for p in Person.objects.filter(id_number__in=sample["id_number"].to_list())
    }
    for row in sample.iter_rows(named=True):
        p = stored[row["id_number"]]
        assert validate_id_number(p.id_number, as_of=AS_OF).ok
        assert (p.name, p.gender, p.birth_date) == (row["name"], row["gender"], row["birth_date"])
        assert (p.life_status, p.status_date) == (row["life_status"], row["status_date"])
        assert p.hukou_region_id == row["hukou_region_code"]
        assert p.phone == (row["phone"] or "")
        assert p.household is not None and p.household.number == row["household_number"]
    # Enrollments: one per person and scheme, dated, with their employer where they have one.
    dupes = (
        Enrollment.objects.values("person_id", "scheme_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    assert dupes == 0
    assert Enrollment.objects.filter(status="terminated", end_date__isnull=True).count() == 0
    assert Enrollment.objects.filter(end_date__lt=F("start_date")).count() == 0
    with_employer = ds.enrollments.filter(pl.col("employer_credit_code").is_not_null()).height
    assert Enrollment.objects.filter(employer__isnull=False).count() == with_employer
    assert (
        Enrollment.objects.filter(
            Q(scheme_id__in=["210", "410", "510"]) & Q(employer__isnull=True)
        ).count()
        == 0
    )


def test_a_second_dataset_adds_only_what_is_new() -> None:
    a, b = generate(seed=4, persons=1_000), generate(seed=5, persons=1_000)
    registry_dataset_load(dataset=a)
    # An existing person is kept as stored, even if the new data says otherwise.
    first_id = a.persons["id_number"][0]
    changed = a.persons.head(1).with_columns(name=pl.lit("改名"))
    result = registry_bulk_load(
        households=a.households.head(0),
        persons=pl.concat([changed, b.persons]),
        employers=b.employers,
        enrollments=b.enrollments,
    )
    assert result.persons_skipped == 1
    assert Person.objects.get(id_number=first_id).name == a.persons["name"][0]
    new_ids = set(b.persons["id_number"]) - set(a.persons["id_number"])
    assert result.persons == len(new_ids)
    assert Person.objects.count() == 1_000 + len(new_ids)


def test_unknown_regions_are_refused_and_nothing_is_written() -> None:
    ds = generate(seed=6, persons=200)
    bad = ds.persons.with_columns(
        hukou_region_code=pl.when(pl.col("person_no") == 0)
        .then(pl.lit("999999"))
        .otherwise(pl.col("hukou_region_code"))
    )
    with pytest.raises(ValidationFailed) as info:
        registry_bulk_load(
            households=ds.households,
            persons=bad,
            employers=ds.employers,
            enrollments=ds.enrollments,
        )
    assert info.value.code == "REGION_UNKNOWN"
    assert counts() == (0, 0, 0, 0)


def test_values_the_database_refuses_roll_the_whole_load_back() -> None:
    ds = generate(seed=7, persons=200)
    bad = ds.persons.with_columns(
        gender=pl.when(pl.col("person_no") == 5).then(pl.lit("X")).otherwise(pl.col("gender"))
    )
    with pytest.raises(ValidationFailed) as info:
        registry_bulk_load(
            households=ds.households,
            persons=bad,
            employers=ds.employers,
            enrollments=ds.enrollments,
        )
    assert info.value.code == "BULK_CONSTRAINT_VIOLATED"
    assert "person_gender_valid" in info.value.message
    assert counts() == (0, 0, 0, 0)


def test_missing_columns_are_named() -> None:
    ds = generate(seed=8, persons=50)
    with pytest.raises(ValidationFailed) as info:
        registry_bulk_load(
            households=ds.households,
            persons=ds.persons.drop("phone"),
            employers=ds.employers,
            enrollments=ds.enrollments,
        )
    assert info.value.code == "BULK_COLUMNS_MISSING"
    assert "phone" in info.value.message
