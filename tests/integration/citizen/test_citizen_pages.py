"""The holder's own pages: only a signed-in holder gets in; who looked at the data shows the
organisation, a masked staff identity, the purpose in Chinese and the time, never the
staff's name; a temporary loss report stops the card; revoking a consent is the holder's."""

from __future__ import annotations

import pytest
from django.test import Client

from shebao.accounts.choices import Purpose
from shebao.cards.models import Card
from shebao.registry.models import Person
from shebao.registry.selectors import person_detail
from tests.factories import make_org, make_user
from tests.integration.sso.conftest import COUNTY, sms_sign_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_the_pages_need_a_signed_in_holder(holder: Person) -> None:
    client = Client()
    for path in (
        "/me/",
        "/me/cards/",
        "/me/access/",
        "/me/consents/",
        "/me/use/",
        "/me/cards/loss/",
    ):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/sso/login/?next=")
    clerk = make_user("district_clerk", make_org("district_card_office", COUNTY))
    client.force_login(clerk)
    assert client.get("/me/").status_code == 302


def test_who_looked_at_my_data_and_why(holder: Person) -> None:
    office = make_org("district_card_office", COUNTY, name="鄂城区社保卡服务中心")
    clerk = make_user("district_clerk", office, username="wangfang77")
    clerk.full_name = "王芳"
    clerk.save()
    person_detail(actor=clerk, person_id=holder.pk, purpose=Purpose.CARD_SERVICE)

    client = Client()
    sms_sign_in(client, holder)
    html = client.get("/me/access/").content.decode()
    assert "鄂城区社保卡服务中心 工作人员 w***7" in html
    assert "社保卡业务办理" in html and "查看个人信息（脱敏）" in html
    assert "王芳" not in html and "wangfang77" not in html
    # The holder's own sign-in is not someone looking; the registry's import is the system.
    assert "系统（批量处理）" in html
    rows = html[html.index('id="access-rows"') :]
    assert rows.count("工作人员") == 1, rows


def test_a_temporary_loss_report_online(holder: Person) -> None:
    card = Card.objects.get(person=holder)
    client = Client()
    sms_sign_in(client, holder)
    page = client.get("/me/cards/loss/").content.decode()
    assert "临时挂失这张卡" in page and card.card_number not in page  # masked
    done = client.post("/me/cards/loss/", {"card": card.pk}, follow=True).content.decode()
    assert "已临时挂失" in done
    card.refresh_from_db()
    assert card.status == "temporary_loss"
    # Another person's card cannot be reported from this session.
    other = Card.objects.exclude(pk=card.pk).first()
    assert other is None or client.post("/me/cards/loss/", {"card": other.pk}).status_code == 302


def test_home_cards_and_card_use_render(holder: Person) -> None:
    client = Client()
    sms_sign_in(client, holder)
    home = client.get("/me/").content.decode()
    for label in ("我的卡", "用卡记录", "谁查看了我的信息", "授权登录管理", "挂失"):
        assert label in home
    cards = client.get("/me/cards/").content.decode()
    assert "实体社会保障卡" in cards or "实体社保卡" in cards
    assert "暂无用卡记录" in client.get("/me/use/").content.decode()
    assert "李*" in home or "*四" in home  # the name is masked even to the holder's page


def test_the_headers_sign_out_takes_a_holder_to_the_citizen_sign_in(holder: Person) -> None:
    client = Client()
    sms_sign_in(client, holder)
    home = client.get("/me/").content.decode()
    assert 'action="/me/logout/"' in home and 'action="/logout/"' not in home
    # One sign-out (the header's), and the logo leads back to the holder's own home page.
    assert home.count("/me/logout/") == 1
    assert '<a class="brand" href="/me/">' in home
    out = client.post("/me/logout/", follow=True)
    assert [url for url, _ in out.redirect_chain][-1].startswith("/sso/login/?next=")
    assert "您已安全退出" in out.content.decode()
    assert client.get("/me/").status_code == 302  # signed out
    # Staff keep the staff sign-out, back to the staff sign-in.
    clerk = make_user("district_clerk", make_org("district_card_office", COUNTY))
    client.force_login(clerk)
    page = client.get("/", follow=True).content.decode()
    assert 'action="/logout/"' in page and 'action="/me/logout/"' not in page
