"""The access matrix, generated from the URL configuration and the API schema (issue #14 §1).

Every route must declare its rule in `shebao.accounts.access`; for every route and every
actor (each role, a user without organisation, the anonymous visitor) the route is requested
and the answer held to the rule: the audience is served, anyone else is turned away. For
routes that name an object, an object inside the actor's scope, one outside it and one that
does not exist are requested: outside and missing must be answered alike (no existence
oracle), and a refused actor gets the same answer for all three. A served personal page
writes an audit row naming the actor, the purpose and the person.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from shebao.accounts.access import (
    ANONYMOUS,
    CITIZEN,
    PUBLIC,
    RULES,
    STAFF,
    AccessRule,
    Route,
    api_routes,
    django_routes,
    rule_for,
)
from shebao.accounts.choices import AuditAction, Role
from shebao.accounts.models import AuditEvent
from shebao.api.v1 import api
from shebao.identity.masking import mask_id_number
from tests.factories import id_number_for
from tests.integration.security.world import ACTORS, NO_ORG, World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _all_routes() -> list[Route]:
    return [*django_routes(), *api_routes(api.get_openapi_schema())]


ROUTES = _all_routes()
# The admin site answers for ~190 routes under one rule; its object pages are Django's own.
MATRIX = [r for r in ROUTES if not (r.key.startswith("admin:") and r.kwargs)]
ADMIN_ACTORS = (Role.SYSTEM_ADMIN.value, Role.DISTRICT_CLERK.value, Role.CITIZEN.value, ANONYMOUS)

# Organisations at the city level (and the unrestricted administrator) see both districts.
CITY_WIDE = {
    Role.LEADER_VIEWER,
    Role.CARD_CENTRE_OPERATOR,
    Role.DEPARTMENT_CLERK,
    Role.AUDITOR,
    Role.SYSTEM_ADMIN,
}

MISSING = {
    "id_number": id_number_for("420704", date(1980, 1, 1), 499),  # well formed, nobody's
    "village": "420702100299",  # in the other district
}
MISSING_DEFAULT = "987654321"

LOGIN_PATHS = ("/login/", "/sso/login/", "/admin/login/", "/me/login/")


def _api_path(route: Route, values: dict[str, str]) -> str:
    path = route.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _django_path(route: Route, values: dict[str, str]) -> str:
    # Fill each converter group of the pattern with the value for its name.
    path = route.path
    for name, value in values.items():
        path = re.sub(r"<(?:\w+:)?" + name + r">", value, path)
    return path


def _example(path: str) -> str:
    # A regular-expression route (the OIDC discovery document) as a plain path.
    return path.replace("^", "").replace("\\", "").replace("/?$", "/").replace("$", "")


def url(route: Route, value: str | None) -> str:
    values = dict.fromkeys(route.kwargs, value or MISSING_DEFAULT)
    if "fmt" in values:
        values["fmt"] = "csv"
    if route.key.startswith(("GET ", "POST ")):
        return _api_path(route, values)
    return _example(_django_path(route, values))


def refused(response: HttpResponse) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    location = response.get("Location", "") if response.status_code == 302 else ""
    return bool(location) and location.split("?")[0].endswith(LOGIN_PATHS)


def served(response: HttpResponse) -> bool:
    return not refused(response) and response.status_code < 500


def outcome(response: HttpResponse, value: str = "") -> str:
    """Status and redirect target, with the object's own value (which a redirect back to
    the object's page carries) taken out, so that two objects' answers compare."""
    if response.status_code == 302:
        location = response.get("Location", "").split("?")[0]
        return "302 " + (location.replace(value, "{obj}") if value else location)
    return str(response.status_code)


@pytest.fixture(scope="module")
def clients(world: World, django_db_blocker: Any) -> Iterator[dict[str, Client]]:
    out: dict[str, Client] = {}
    with django_db_blocker.unblock():
        for actor in ACTORS:
            client = Client(raise_request_exception=True)
            if actor != ANONYMOUS:
                client.force_login(world.users[actor])
                session = client.session
                # The purpose a clerk states once and the person pages reuse.
                session["shebao.purpose"] = {"purpose": "card_service", "note": ""}
                session.save()
            out[actor] = client
    yield out


def request(client: Client, method: str, path: str) -> HttpResponse:
    if method == "POST":
        return client.post(path, {})  # type: ignore[return-value]
    return client.get(path)  # type: ignore[return-value]


# ------------------------------------------------------------------ (a) every route declared


def test_every_route_and_endpoint_declares_its_access_rule() -> None:
    undeclared = sorted(r.key for r in ROUTES if rule_for(r.key) is None)
    assert not undeclared, f"routes without an access rule in shebao.accounts.access: {undeclared}"
    keys = {r.key for r in ROUTES}
    stale = sorted(k for k in RULES if k not in keys)
    assert not stale, f"access rules for routes that no longer exist: {stale}"


def test_holders_and_partner_staff_see_no_staff_page_without_a_reason() -> None:
    """A route served both to staff and to holders or partner staff (login is all it asks)
    says why in its declaration; every other staff page is refused to them, which the
    matrix below checks route by route."""
    outsiders = {Role.CITIZEN.value, Role.PARTNER_OPERATOR.value}
    loose = sorted(
        r.key
        for r in ROUTES
        if (rule := rule_for(r.key)) is not None
        and rule.audience != PUBLIC
        and not rule.token
        and rule.audience & outsiders
        and rule.audience & STAFF
        and not rule.why
    )
    assert not loose, f"pages for any signed-in account without a reason: {loose}"


def test_the_matrix_covers_pages_api_and_admin() -> None:
    keys = {r.key for r in MATRIX}
    assert "web:person_detail" in keys
    assert "GET /api/v1/persons/{id_number}" in keys
    assert "admin:index" in keys
    assert len(MATRIX) > 150


# ------------------------------------------------------------------ (b) role × route × object

# Audit actions that record a change: a refused write must not have written one.
WRITES = {
    AuditAction.CREATE,
    AuditAction.UPDATE,
    AuditAction.DELETE,
    AuditAction.APPROVE,
    AuditAction.IMPORT,
    AuditAction.TOKEN_CREATE,
    AuditAction.TOKEN_REVOKE,
    AuditAction.ISSUE_ECARD,
}
# Actors whose view of the API description is enough (it is the same for every account).
FEW = (Role.DISTRICT_CLERK.value, Role.CITIZEN.value, ANONYMOUS)


def _method(route: Route, clients: dict[str, Client], path: str) -> str:
    if route.key.startswith(("GET ", "POST ")):
        return route.methods[0]
    # Pages that only take POST answer a GET with 405; ask them with a POST instead.
    probe = clients[Role.SYSTEM_ADMIN.value].get(path)
    return "POST" if probe.status_code == 405 else "GET"


def _wrote(world: World, actor: str, before: int) -> bool:
    if actor == ANONYMOUS:
        return False
    return AuditEvent.objects.filter(
        pk__gt=before, user=world.users[actor], action__in=WRITES
    ).exists()


def _last_audit() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.parametrize("route", MATRIX, ids=lambda r: r.key)
def test_access_matrix(route: Route, world: World, clients: dict[str, Client]) -> None:
    rule = rule_for(route.key)
    assert rule is not None, route.key
    if route.key.startswith("admin:"):
        actors: tuple[str, ...] = ADMIN_ACTORS
    elif route.key.startswith("api-v1:openapi"):
        actors = FEW
    else:
        actors = ACTORS
    built = world.objects.get(rule.obj or "") if route.kwargs else None
    method = _method(route, clients, url(route, _missing(rule)))
    problems: list[str] = []
    for actor in actors:
        client = clients[actor]
        allowed = actor in rule.audience and actor != NO_ORG
        if route.kwargs:
            problems += _object_checks(route, rule, world, client, actor, method, allowed, built)
            continue
        if method == "POST" and allowed:
            continue  # the audience's writes are the owning app's tests; here, refusals
        path = url(route, None)
        before = _last_audit()
        response = request(client, method, path)
        if response.status_code >= 500:
            problems.append(f"{actor} {method} {path}: {response.status_code}")
        elif rule.audience == PUBLIC or actor == NO_ORG:
            continue
        elif rule.token:
            if response.status_code == 200:
                problems.append(f"{actor} {method} {path}: a session was served a token route")
        elif allowed and not served(response):
            problems.append(f"{actor} {method} {path}: refused ({outcome(response)}), declared")
        elif allowed and method == "GET" and _shows_person(response, world, rule):
            problems += _audit_checks(route, rule, world, actor, before)
        elif not allowed and method == "GET" and not refused(response):
            problems.append(f"{actor} GET {path}: served ({outcome(response)}), undeclared")
        elif not allowed and method == "POST" and _wrote(world, actor, before):
            problems.append(f"{actor} POST {path}: wrote ({outcome(response)}), undeclared")
    assert not problems, "\n".join(problems)


def _missing(rule: AccessRule) -> str:
    return MISSING.get(rule.obj or "", MISSING_DEFAULT)


def _object_checks(
    route: Route,
    rule: AccessRule,
    world: World,
    client: Client,
    actor: str,
    method: str,
    allowed: bool,
    built: tuple[str, str] | None,
) -> list[str]:
    """Inside, outside and missing objects, for one actor; the answer to each is compared
    with the object's own value taken out of redirect targets."""
    problems: list[str] = []
    missing_value = _missing(rule)
    missing_path = url(route, missing_value)
    before = _last_audit()
    missing = request(client, method, missing_path)
    if missing.status_code >= 500:
        problems.append(f"{actor} {method} {missing_path} (missing): {missing.status_code}")
    if built is None:
        return problems
    inside_value, outside_value = built
    outside_path = url(route, outside_value)
    before = _last_audit()
    outside = request(client, method, outside_path)
    kind = rule.obj or ""
    sees_outside = allowed and actor in world.sees_outside.get(kind, CITY_WIDE)
    sees_inside = allowed and actor in world.sees_inside.get(kind, frozenset({actor}))
    if method == "POST" and not sees_outside and _wrote(world, actor, before):
        problems.append(f"{actor} POST {outside_path}: wrote to an object outside the scope")
    if not sees_outside and outcome(outside, outside_value) != outcome(missing, missing_value):
        problems.append(
            f"{actor} {method} {outside_path}: outside answers {outcome(outside)}, "
            f"a missing object {outcome(missing)} — the answer tells that it exists"
        )
    if method == "POST":
        return problems  # only refusals are asked of writes here
    inside_path = url(route, inside_value)
    before = _last_audit()
    inside = request(client, method, inside_path)
    if inside.status_code >= 500:
        problems.append(f"{actor} GET {inside_path}: {inside.status_code}")
    elif sees_inside and not served(inside):
        problems.append(f"{actor} GET {inside_path}: refused ({outcome(inside)})")
    elif not sees_inside and outcome(inside, inside_value) != outcome(missing, missing_value):
        why = "not in the audience" if not allowed else "the object is not in its scope"
        problems.append(
            f"{actor} GET {inside_path}: {why}, answers "
            f"{outcome(inside)} but {outcome(missing)} for a missing object"
        )
    if sees_inside and inside.status_code == 200:
        shown = _shows_person(inside, world, rule)
        if shown or rule.personal:
            problems += _audit_checks(route, rule, world, actor, before, shown=shown)
    return problems


# ------------------------------------------------------------------ (c) audit completeness


def _shows_person(response: HttpResponse, world: World, rule: AccessRule) -> bool:
    """Whether a page or JSON answer shows a person of the world: an ID number, full or
    masked, or a full name (the world's names appear nowhere else)."""
    # A holder's own pages show the holder's own data: no purpose is asked of it.
    kind = response.get("Content-Type", "")
    if (
        rule.audience == CITIZEN
        or bool(rule.unaudited)
        or getattr(response, "streaming", False)
        or not kind.startswith(("text/", "application/json"))
    ):
        return False
    text = response.content.decode("utf-8", "replace")
    for person in world.persons.values():
        if person.id_number in text or mask_id_number(person.id_number) in text:
            return True
        if person.name in text:
            return True
    return False


def _audit_checks(
    route: Route, rule: AccessRule, world: World, actor: str, before: int, *, shown: bool = True
) -> list[str]:
    """A served page showing a person is declared personal and wrote an audit row: who,
    why, and whom."""
    if not rule.personal:
        return [f"{actor} {route.key}: shows a person but is not declared personal"]
    rows = list(AuditEvent.objects.filter(pk__gt=before).order_by("pk"))
    if not shown:
        # A declared page that shows nobody of the world (an empty roster) or a file the
        # check cannot read: an audit row with a purpose is still asked of it.
        if not any(e.user_id == world.users[actor].pk and e.purpose for e in rows):
            return [f"{actor} {route.key}: personal route answered without an audit row"]
        return []
    user = world.users[actor]
    ids = {p.pk for p in world.persons.values()}
    mine = [e for e in rows if e.user_id == user.pk]
    if not mine:
        return [f"{actor} {route.key}: personal data shown, no audit row written"]
    if not any(e.purpose for e in mine):
        return [f"{actor} {route.key}: audit row without a purpose"]
    named = any(
        e.person_id in ids or ids & set((e.detail or {}).get("person_ids", [])) for e in mine
    )
    if not named:
        return [f"{actor} {route.key}: audit row does not name the person shown"]
    return []
