"""The admin lists targets, figures, batches and bulletins, and refuses to edit them."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from shebao.accounts.choices import Role
from shebao.geo.models import Region
from shebao.reports.models import Bulletin, Target
from tests.factories import make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DATA = Path(__file__).parent / "data"


def test_admin_is_read_only(hunan: dict[str, Region], tmp_path: Path) -> None:
    call_command("targets", "import", str(DATA / "hunan_2014_07_targets.csv"), stdout=StringIO())
    call_command("figures", "import", str(DATA / "hunan_2014_07_figures.csv"), stdout=StringIO())
    call_command(
        "bulletin", "--month=2014-07", "--region=430000", f"--out={tmp_path / 'b.txt'}",
        stdout=StringIO(),
    )  # fmt: skip
    user = make_user(Role.SYSTEM_ADMIN, None, username="reports_admin")
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    client = Client()
    client.force_login(user)
    for page in ("target", "reportedfigure", "importbatch", "bulletin"):
        assert client.get(f"/admin/reports/{page}/").status_code == 200
    target = Target.objects.first()
    assert target is not None
    assert client.get(f"/admin/reports/target/{target.pk}/change/").status_code == 200
    assert client.get("/admin/reports/target/add/").status_code == 403
    bulletin = Bulletin.objects.get()
    assert client.post(f"/admin/reports/bulletin/{bulletin.pk}/delete/").status_code == 403
    assert Bulletin.objects.filter(pk=bulletin.pk).exists()
