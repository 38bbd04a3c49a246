"""Account pages: the user's API tokens (issue with the secret shown once, list, revoke).

A system administrator sees and revokes everyone's tokens and may issue one for another
account. Citizens (e-card holders) have no API tokens."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from shebao.accounts.choices import ApiScope, Role
from shebao.accounts.forms import ApiTokenForm
from shebao.accounts.models import User
from shebao.accounts.selectors import api_token_list
from shebao.accounts.services import api_token_create, api_token_revoke
from shebao.errors import NotFound, ShebaoError

_SCOPE_LABELS = dict(ApiScope.choices)


def _actor(request: HttpRequest) -> User:
    """The logged-in staff user; citizens and role-less accounts get a 404 (no such page)."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    staff_roles = set(user.role_codes) - {Role.CITIZEN}
    if not (user.is_superuser or staff_roles):
        raise Http404
    return user


def _is_admin(user: User) -> bool:
    return user.is_superuser or user.has_role(Role.SYSTEM_ADMIN)


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens_view(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    admin = _is_admin(actor)
    form = ApiTokenForm(request.POST if request.method == "POST" else None, can_choose_owner=admin)
    issued: dict[str, object] | None = None
    if request.method == "POST" and form.is_valid():
        owner = actor
        owner_name = str(form.cleaned_data.get("owner") or "").strip()
        if admin and owner_name:
            found = User.objects.filter(username=owner_name, is_active=True).first()
            if found is None:
                form.add_error("owner", f"没有名为 {owner_name} 的有效账号")
            else:
                owner = found
        if not form.errors:
            expires = timezone.make_aware(
                datetime.combine(form.cleaned_data["expires_on"], time.max)
            )
            try:
                token, raw = api_token_create(
                    actor=actor,
                    owner=owner,
                    name=form.cleaned_data["name"],
                    expires_at=expires,
                    scopes=form.cleaned_data["scopes"],
                )
            except ShebaoError as exc:
                form.add_error(None, f"{exc.message}（{exc.code}）")
            else:
                # Rendered, not redirected: the secret lives only in this one response.
                issued = {"token": token, "raw": raw, "owner": owner}
                form = ApiTokenForm(can_choose_owner=admin)
    tokens = list(api_token_list(actor=actor)[:500])
    rows = [
        {
            "token": t,
            "scopes": "、".join(str(_SCOPE_LABELS.get(s, s)) for s in t.scopes) or "—",
            "active": t.is_active,
        }
        for t in tokens
    ]
    return render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "rows": rows, "issued": issued, "admin": admin},
    )


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    try:
        token = api_token_revoke(actor=actor, token_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"令牌 {token.prefix}…（{token.name}）已吊销，立即失效。")
    return redirect("accounts:api_tokens")
