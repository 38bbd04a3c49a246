"""Pages of the back office. Each view parses input with a form, calls a selector or a
service, and renders; scoping, masking and auditing happen in those selectors/services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from shebao.accounts.audit import audit_record
from shebao.accounts.backends import second_factor_required
from shebao.accounts.choices import AuditAction
from shebao.accounts.decorators import staff_required
from shebao.accounts.models import AuditEvent, User
from shebao.accounts.scoping import Scope
from shebao.accounts.selectors import AuditFilter, audit_event_list
from shebao.cards.selectors.person import person_cards
from shebao.errors import PermissionDenied, ShebaoError, ValidationFailed
from shebao.identity.masking import mask_id_number, mask_name
from shebao.pages import error_page as _error_page
from shebao.pages import page_number as _page_number
from shebao.payments.selectors import person_payments
from shebao.registration.roles import FINDING_WORK_ROLES
from shebao.registration.selectors import person_registration
from shebao.registry.selectors import person_detail, person_search, person_status_basis
from shebao.registry.services import DEATH_REVOKE_ROLES, person_death_revoke
from shebao.web.audit_display import event_views
from shebao.web.exports import audit_csv_lines
from shebao.web.forms import (
    AuditFilterForm,
    DeathRevokeForm,
    LoginForm,
    PersonSearchForm,
    PurposeForm,
)
from shebao.web.login import second_factor_begin
from shebao.web.navigation import Crumb, menu_for, role_labels
from shebao.web.session import (
    StatedPurpose,
    forget_purpose,
    remember_purpose,
    remember_query,
    remembered_purpose,
    remembered_query,
)

SEARCH_PAGE_SIZE = 20
AUDIT_PAGE_SIZE = 50


def _actor(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("请先登录", code="UNAUTHENTICATED")
    return user


def _crumbs(*trail: tuple[str, str]) -> list[Crumb]:
    return [Crumb("首页", reverse("web:home")), *(Crumb(label, url) for label, url in trail)]


def _initial(stated: StatedPurpose | None) -> dict[str, str]:
    return {"purpose": stated.purpose, "purpose_note": stated.note} if stated else {}


# ---------------------------------------------------------------- sign in and out


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or "web:home")
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and form.user is not None:
        if second_factor_required(form.user):
            # Not logged in yet: the one-time code comes first (shebao.web.login).
            return second_factor_begin(request, form.user, next_url)
        login(request, form.user)
        with transaction.atomic():
            audit_record(actor=form.user, action=AuditAction.LOGIN)
        return redirect(next_url or "web:home")
    return render(request, "web/login.html", {"form": form, "next": next_url})


@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out on POST (a link or a prefetch must not end a session)."""
    if request.method != "POST":
        return redirect("web:home" if request.user.is_authenticated else "web:login")
    user = request.user
    if isinstance(user, User) and user.is_authenticated:
        with transaction.atomic():
            audit_record(actor=user, action=AuditAction.LOGOUT)
        logout(request)
        messages.info(request, "您已安全退出系统。")
    return redirect("web:login")


# ---------------------------------------------------------------- home


def _scope_text(user: User) -> str:
    scope = Scope.for_user(user)
    if scope.empty:
        return "尚未分配数据范围，请联系系统管理员"
    if scope.unrestricted:
        return "全部地区"
    org = user.organisation
    region = (org.region.full_name or org.region.name) if org is not None else ""
    if scope.bank_id is not None:
        return f"{region}范围内本行的持卡客户"
    if scope.employer_credit_code is not None:
        return f"{region}范围内本单位参保职工"
    return f"{region}及下辖区划"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    org = user.organisation
    return render(
        request,
        "web/home.html",
        {
            "organisation": org,
            "region": (org.region.full_name or org.region.name) if org is not None else "",
            "roles": role_labels(user),
            "scope_text": _scope_text(user),
            "shortcuts": [e for e in menu_for(user) if e.on_home],
            "stated_purpose": remembered_purpose(request),
        },
    )


# ---------------------------------------------------------------- persons


def _masked_query(query: str) -> str:
    return mask_id_number(query) if any(ch.isdigit() for ch in query) else mask_name(query)


@staff_required
@require_http_methods(["GET", "POST"])
def person_search_view(request: HttpRequest) -> HttpResponse:
    """Search form (POST, then redirect) and the masked result list (GET ?page=N).

    The query is kept in the session, never in the URL: ID numbers stay out of browser
    history and access logs. Each result page is a search, audited by `person_search`.
    """
    actor = _actor(request)
    stated = remembered_purpose(request)
    context: dict[str, Any] = {
        "breadcrumbs": _crumbs(("人员查询", "")),
        "stated_purpose": stated,
        "page": None,
    }
    if request.method == "POST":
        form = PersonSearchForm(request.POST)
        if form.is_valid():
            remember_purpose(request, form.stated())
            remember_query(request, form.cleaned_data["q"].strip())
            return redirect(reverse("web:person_search") + "?page=1")
        return render(request, "web/person_search.html", {**context, "form": form})

    form = PersonSearchForm(initial=_initial(stated))
    query = remembered_query(request)
    if "page" in request.GET and query and stated is not None:
        try:
            page, total = person_search(
                actor=actor,
                query=query,
                purpose=stated.purpose,
                purpose_note=stated.note,
                page=_page_number(request),
                page_size=SEARCH_PAGE_SIZE,
            )
        except ValidationFailed as exc:
            form = PersonSearchForm(
                data={"q": query, "purpose": stated.purpose, "purpose_note": stated.note}
            )
            form.is_valid()
            form.add_error("q", exc.message)
        else:
            context.update(page=page, total=total, masked_query=_masked_query(query))
    return render(request, "web/person_search.html", {**context, "form": form})


def _render_person(
    request: HttpRequest,
    pk: int,
    stated: StatedPurpose,
    *,
    reveal: bool,
    reveal_form: PurposeForm | None = None,
    revoke_form: DeathRevokeForm | None = None,
) -> HttpResponse:
    try:
        detail = person_detail(
            actor=_actor(request),
            person_id=pk,
            purpose=stated.purpose,
            purpose_note=stated.note,
            reveal=reveal,
        )
    except ValidationFailed:
        # The remembered purpose is no longer acceptable: ask again.
        forget_purpose(request)
        return redirect("web:person_detail", pk=pk)
    except ShebaoError as exc:
        return _error_page(request, exc)
    actor = _actor(request)
    registration = person_registration(actor=actor, person_id=pk)
    cards = person_cards(person_id=pk)
    payments = person_payments(person_id=pk)
    may_revoke_death = actor.is_superuser or actor.has_role(*DEATH_REVOKE_ROLES)
    remembered = remembered_purpose(request)
    back = reverse("web:person_search") + ("?page=1" if remembered_query(request) else "")
    return render(
        request,
        "web/person_detail.html",
        {
            "breadcrumbs": _crumbs(("人员查询", back), ("人员信息", "")),
            "person": detail,
            "registration": registration,
            "cards": cards,
            "payments": payments,
            "status_basis": person_status_basis(person_id=pk),
            "may_revoke_death": may_revoke_death,
            "revoke_form": revoke_form or DeathRevokeForm(),
            "may_work_findings": actor.is_superuser or actor.has_role(*FINDING_WORK_ROLES),
            "stated_purpose": stated,
            "reveal_form": reveal_form
            or PurposeForm(prefix="reveal", initial=_initial(remembered)),
            "purpose_form": PurposeForm(initial=_initial(remembered)),
        },
    )


def _render_purpose_page(request: HttpRequest, pk: int, form: PurposeForm) -> HttpResponse:
    return render(
        request,
        "web/person_purpose.html",
        {
            "breadcrumbs": _crumbs(("人员查询", reverse("web:person_search")), ("说明用途", "")),
            "form": form,
            "pk": pk,
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def person_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The masked person page. POST states (or changes) the purpose for this session."""
    if request.method == "POST":
        form = PurposeForm(request.POST)
        if form.is_valid():
            remember_purpose(request, form.stated())
            messages.success(request, f"已记录查看用途：{form.stated().label}")
            return redirect("web:person_detail", pk=pk)
        return _render_purpose_page(request, pk, form)
    stated = remembered_purpose(request)
    if stated is None:
        return _render_purpose_page(request, pk, PurposeForm())
    return _render_person(request, pk, stated, reveal=False)


@staff_required
@require_http_methods(["GET", "POST"])
def person_reveal_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the full data once, for a purpose stated now (audited as REVEAL_PERSON).

    The revealed page is the answer to this POST and is not kept: a reload or a GET goes
    back to the masked page."""
    if request.method != "POST":
        return redirect("web:person_detail", pk=pk)
    form = PurposeForm(request.POST, prefix="reveal")
    if form.is_valid():
        return _render_person(request, pk, form.stated(), reveal=True)
    stated = remembered_purpose(request)
    if stated is None:
        return redirect("web:person_detail", pk=pk)
    return _render_person(request, pk, stated, reveal=False, reveal_form=form)


@staff_required
@require_http_methods(["POST"])
def person_revoke_death_view(request: HttpRequest, pk: int) -> HttpResponse:
    """撤销死亡登记: a clerk revokes a death recorded in error, with a reason (audited)."""
    form = DeathRevokeForm(request.POST)
    stated = remembered_purpose(request)
    if stated is None:
        return redirect("web:person_detail", pk=pk)
    if not form.is_valid():
        return _render_person(request, pk, stated, reveal=False, revoke_form=form)
    try:
        person_death_revoke(actor=_actor(request), person_id=pk, reason=form.cleaned_data["reason"])
    except ValidationFailed as exc:
        form.add_error("reason", exc.message)
        return _render_person(request, pk, stated, reveal=False, revoke_form=form)
    except ShebaoError as exc:
        return _error_page(request, exc)
    messages.success(
        request, "已撤销死亡登记，人员状态恢复为正常。已注销的社会保障卡不能恢复，如需用卡请申领。"
    )
    return redirect("web:person_detail", pk=pk)


# ---------------------------------------------------------------- audit log


def _audit_events(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    """The filter form and the matching events (none while the form has errors).

    `audit_event_list` is called first, so that a user without the auditor role gets a
    refusal rather than form errors."""
    actor = _actor(request)
    events = audit_event_list(actor=actor, filters=AuditFilter())  # refuses non-auditors
    form = AuditFilterForm(request.GET)
    if form.is_valid():
        events = audit_event_list(actor=actor, filters=form.filters())
    else:
        events = events.none()
    return form, events.select_related("organisation")


@login_required
def audit_list_view(request: HttpRequest) -> HttpResponse:
    try:
        form, events = _audit_events(request)
    except ShebaoError as exc:
        return _error_page(request, exc)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(_page_number(request))
    return render(
        request,
        "web/audit_list.html",
        {
            "breadcrumbs": _crumbs(("审计日志", "")),
            "form": form,
            "page": page,
            "rows": event_views(page.object_list),
            "filtered": any(v for k, v in request.GET.items() if k != "page"),
        },
    )


@login_required
def audit_export_view(request: HttpRequest) -> HttpResponseBase:
    """The filtered audit rows as CSV; the export itself is audited (EXPORT)."""
    try:
        form, events = _audit_events(request)
    except ShebaoError as exc:
        return _error_page(request, exc)
    if not form.is_valid():
        return redirect(reverse("web:audit_list") + "?" + request.GET.urlencode())
    count = events.count()
    with transaction.atomic():
        audit_record(
            actor=_actor(request),
            action=AuditAction.EXPORT,
            target_type="audit_event",
            person_id=form.cleaned_data.get("person") or None,
            detail={"format": "csv", "rows": count, "filters": form.describe()},
        )
    response = StreamingHttpResponse(
        audit_csv_lines(events.iterator(chunk_size=2000)), content_type="text/csv; charset=utf-8"
    )
    stamp = f"{timezone.localtime():%Y%m%d-%H%M%S}"
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
