"""The world is built once per module inside a transaction rolled back at the end: the
matrix makes thousands of requests and must not rebuild the world for each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from tests.integration.security.world import World, build_world


class _Rollback(Exception):
    pass


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[World]:
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                yield build_world()
                raise _Rollback
        except _Rollback:
            pass
