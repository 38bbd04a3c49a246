from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client

from shebao.web.navigation import menu_for
from tests.factories import make_user
from tests.integration.web.conftest import World

pytestmark = pytest.mark.integration


def test_header_breadcrumb_and_menu(world: World, clerk_client: Client) -> None:
    page = clerk_client.get("/persons/").content.decode()
    assert "社保卡与全民参保登记系统" in page
    assert world.clerk.full_name in page
    assert "凤凰村村委会" in page
    assert 'aria-label="当前位置"' in page
    assert '<a href="/persons/" class="active" aria-current="page">人员查询</a>' in page
    assert 'href="/api/v1/docs"' in page
    assert 'href="/admin/"' not in page  # not staff


def test_home_is_role_aware(world: World, clerk_client: Client, auditor_client: Client) -> None:
    clerk_home = clerk_client.get("/").content.decode()
    assert "凤凰村村委会" in clerk_home
    assert "凤凰村村委会及下辖区划" in clerk_home  # region full name from the factories
    assert "人员查询" in clerk_home
    assert 'href="/audit/"' not in clerk_home
    auditor_home = auditor_client.get("/").content.decode()
    assert "审计员" in auditor_home
    assert '<span class="card-title">审计日志</span>' in auditor_home


def test_staff_see_the_admin_link(world: World) -> None:
    admin = make_user("system_admin", None, username="sysadmin")
    labels = [entry.label for entry in menu_for(admin)]
    # Everything the system offers, home first, the system section (admin, API docs) last.
    assert labels[0] == "首页"
    assert {"人员查询", "工作计划", "进度看板", "进度通报", "目标任务", "审计日志"} <= set(labels)
    assert labels[-2:] == ["管理后台", "接口文档"]
    client = Client()
    client.force_login(admin)
    page = client.get("/").content.decode()
    assert 'href="/admin/"' in page
    assert "全部地区" in page


def test_unknown_url_is_a_chinese_404(world: World, clerk_client: Client) -> None:
    response = clerk_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "您访问的页面或记录不存在" in response.content.decode()


def test_csrf_failure_page_is_chinese(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()


def test_500_page_renders_without_a_request() -> None:
    html = render_to_string("500.html")
    assert "系统错误" in html
    assert "/static/web/shebao.css" in html


def test_stylesheet_is_served_locally(world: World, clerk_client: Client) -> None:
    page = clerk_client.get("/").content.decode()
    assert '<link rel="stylesheet" href="/static/web/shebao.css">' in page
    assert "http://" not in page and "https://" not in page
