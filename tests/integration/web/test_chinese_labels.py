"""Users read Chinese, not codes: the card history's channel on the counter page, the
comparison engine's name, and the admin's section headings (issue #10, item 3)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from shebao.accounts.models import User
from shebao.registration.models import ComparisonRun
from tests.factories import make_card
from tests.integration.cards.custody_world import Chain, build_chain

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_app_has_a_chinese_admin_heading() -> None:
    for config in apps.get_app_configs():
        if config.name.startswith("shebao."):
            heading = str(config.verbose_name)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in heading), config.name
    admin = User.objects.create_superuser("root_admin", password="Admin-password-1")
    page = _client(admin).get("/admin/").content.decode()
    for english in ("Accounts", "Cards", "Registry", "Reports", "Geo"):
        assert f">{english}<" not in page, english
    assert "社会保障卡发行" in page and "机构、用户与审计" in page


def test_engine_names_are_chinese() -> None:
    assert ComparisonRun(engine="duckdb").engine_label == "嵌入式引擎（DuckDB）"
    assert ComparisonRun(engine="spark").engine_label == "Spark 集群"


def test_card_history_channels_are_chinese_on_the_counter_page() -> None:
    chain: Chain = build_chain()
    card = make_card(chain.people[0], custodian=None, status="issued", bank=chain.bank)
    client = _client(chain.bank_clerk)
    client.post(reverse("cards:counter"), {"lookup": "1", "card_number": card.card_number})
    client.post(reverse("cards:counter"), {"action": "activate"})
    page = client.get(reverse("cards:counter")).content.decode()
    history = page[page.index("业务记录") :]
    assert "柜面" in history or "银行网点" in history
    for code in ("<td>counter</td>", "<td>bank</td>", "<td>system</td>", "<td>vendor</td>"):
        assert code not in history
