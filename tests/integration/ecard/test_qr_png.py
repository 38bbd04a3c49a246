"""The QR PNG decodes with an independent reader (zxing-cpp) back to the exact text, which
then redeems."""

from __future__ import annotations

import base64
import io

import pytest
import zxingcpp
from PIL import Image

from shebao.ecard.services.ecards import ecard_issue_by_operator
from shebao.ecard.services.qr import qr_issue, qr_png, qr_png_data_uri, qr_redeem
from tests.integration.ecard.world import World, build_world

pytestmark = pytest.mark.django_db

# A terminal scans for QR codes. Asked for every format, zxing-cpp's linear-barcode readers
# once found a spurious short "barcode" ('4635') in a QR code's modules beside the real text.
QR_ONLY = zxingcpp.BarcodeFormat.QRCode


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path


def test_the_png_decodes_to_the_exact_text() -> None:
    world: World = build_world()
    ecard = ecard_issue_by_operator(card_number=world.cards[0].card_number, actor=world.clerk)
    issued = qr_issue(ecard)
    image = Image.open(io.BytesIO(qr_png(issued.text)))
    found = zxingcpp.read_barcodes(image, formats=QR_ONLY)
    assert len(found) == 1
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    assert found[0].text == issued.text
    assert qr_redeem(found[0].text, terminal_code="T", fields=[]).ecard_id == ecard.pk


def test_the_pages_codes_drawn_with_a_fixed_mask_decode_too() -> None:
    world: World = build_world()
    ecard = ecard_issue_by_operator(card_number=world.cards[0].card_number, actor=world.clerk)
    for _ in range(12):  # different random tokens: different module patterns
        issued = qr_issue(ecard)
        uri = qr_png_data_uri(issued.text, scale=5)
        assert uri.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        found = zxingcpp.read_barcodes(image, formats=QR_ONLY)
        assert [f.text for f in found] == [issued.text]
