"""A small world for the web pages: 凤凰街道 with two villages, their clerks, an auditor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.test import Client

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import Organisation, User
from shebao.registry.models import Person
from tests.factories import make_org, make_person, make_regions, make_user

PHOENIX = "420704001201"  # 凤凰村
FANKOU = "420704001202"  # 樊口村
ECHENG = "420704"  # 鄂城区


@dataclass
class World:
    village_org: Organisation
    clerk: User
    other_clerk: User
    auditor: User
    person: Person
    relative: Person
    outsider: Person


@pytest.fixture(autouse=True)
def _fast_passwords(settings):  # type: ignore[no-untyped-def]
    # The production hasher costs ~0.3 s per check; these tests are about pages, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: None) -> World:
    make_regions()
    village_org = make_org(OrganisationKind.VILLAGE_COMMITTEE, PHOENIX, name="凤凰村村委会")
    other_org = make_org(OrganisationKind.VILLAGE_COMMITTEE, FANKOU, name="樊口村村委会")
    bureau = make_org(OrganisationKind.BUREAU, ECHENG, name="鄂城区人社局")
    clerk = make_user(Role.VILLAGE_CLERK, village_org, username="fenghuang_clerk")
    other_clerk = make_user(Role.VILLAGE_CLERK, other_org, username="fankou_clerk")
    auditor = make_user(Role.AUDITOR, bureau, username="echeng_auditor")
    person = make_person(
        PHOENIX,
        name="李建国",
        birth=date(1975, 3, 8),
        household="H4207040012010001",
        phone="13812345678",
    )
    relative = make_person(
        PHOENIX, name="王秀英", birth=date(1978, 11, 2), male=False, household="H4207040012010001"
    )
    outsider = make_person(FANKOU, name="陈志强", birth=date(1969, 7, 21))
    return World(village_org, clerk, other_clerk, auditor, person, relative, outsider)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clerk_client(world: World) -> Client:
    return logged_in(world.clerk)


@pytest.fixture
def auditor_client(world: World) -> Client:
    return logged_in(world.auditor)


__all__ = ["ECHENG", "FANKOU", "PHOENIX", "World", "logged_in"]
