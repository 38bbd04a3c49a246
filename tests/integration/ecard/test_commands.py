"""`shebao ecard keys | rotate-keys | qr | redeem | verify` as the card centre's operators and
the checks use them."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
import zxingcpp
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.ecard.services.common import CARD_CENTRE_TERMINAL
from shebao.ecard.services.keys import keys_published
from shebao.identity.masking import mask_id_number, mask_name
from tests.integration.ecard.world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path


def _run(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("ecard", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_keys_lists_current_then_previous_as_kid_and_uncompressed_point() -> None:
    _, first = _run("keys")
    lines = first.splitlines()
    assert len(lines) == 1
    kid, point = lines[0].split(" ")
    assert len(kid) == 8 and len(point) == 130 and point.startswith("04")
    _run("rotate-keys")
    _, second = _run("keys")
    assert second.splitlines()[1] == lines[0]
    assert second.splitlines()[0].split(" ")[0] == keys_published()[0].kid
    key_file = Path(settings.DATA_DIR) / "ecard" / "keys" / f"{kid}.key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_qr_writes_a_png_prints_the_text_then_redeem_once_and_verify(tmp_path: Path) -> None:
    world: World = build_world()
    person = world.people[0]
    out = tmp_path / "qr.png"
    code, text = _run("qr", "--card", world.cards[0].card_number, "--out", str(out))
    text = text.strip()
    assert code == 0 and text.startswith("SBK1:") and len(text) <= 220
    found = zxingcpp.read_barcodes(Image.open(out), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [f.text for f in found] == [text]
    assert AuditEvent.objects.get(action=AuditAction.ISSUE_ECARD).username == "shebao ecard"

    code, body = _run("verify", text)
    check = json.loads(body)
    assert code == 0 and check["ok"] is True and check["code"] == "OK"

    code, body = _run("redeem", text)
    redeemed = json.loads(body)
    assert code == 0 and redeemed["ok"] is True and redeemed["code"] == "OK"
    assert redeemed["holder"] == {
        "name": mask_name(person.name),
        "id_number": mask_id_number(person.id_number),
    }
    assert person.id_number not in body
    assert AuditEvent.objects.get(action=AuditAction.QR_REDEEM).detail["terminal"] == (
        CARD_CENTRE_TERMINAL
    )

    code, body = _run("redeem", text)
    assert code == 1 and json.loads(body)["code"] == "REPLAYED" and "已被使用" in body
    code, body = _run("verify", text[:-3] + ("AAA" if text[-3:] != "AAA" else "BBB"))
    assert code == 1 and json.loads(body)["code"] in {"FORGED", "MALFORMED"}
    code, body = _run("redeem", "not a code")
    assert code == 1 and json.loads(body)["code"] == "MALFORMED"


def test_qr_for_an_unknown_card_is_an_error_in_chinese(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="未找到"):
        _run("qr", "--card", "X00000000", "--out", str(tmp_path / "x.png"))
