"""Demo portals that sign citizens in with the e-card (OpenID Connect clients), registered
by `demo_seed()` from `shebao.demo.services.demo_build`.

The client secret is stored hashed; each run sets a fresh one and writes it, with the
client id and redirect URI, to `<data dir>/sso/demo_clients.json` for the journeys and the
bench (the file is readable only by its owner). The redirect hosts are `.invalid` on
purpose: a test intercepts the redirect and exchanges the code itself."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from django.conf import settings
from django.db import transaction
from oauth2_provider.models import Application


@dataclass(frozen=True, slots=True)
class DemoPortal:
    client_id: str
    name: str
    redirect_uri: str


DEMO_PORTALS: Final[tuple[DemoPortal, ...]] = (
    DemoPortal("demo-zwfw", "湖北政务服务网（演示）", "https://zwfw.demo.invalid/oidc/callback"),
    DemoPortal("demo-library", "市图书馆读者服务（演示）", "https://library.demo.invalid/cb"),
)


def demo_clients_path() -> Path:
    return Path(settings.DATA_DIR) / "sso" / "demo_clients.json"


@transaction.atomic
def demo_seed() -> list[dict[str, str]]:
    """Register (or refresh) the demo portals; returns what was written to the file."""
    written: list[dict[str, str]] = []
    for portal in DEMO_PORTALS:
        secret = secrets.token_urlsafe(32)
        app = Application.objects.filter(client_id=portal.client_id).first() or Application(
            client_id=portal.client_id
        )
        app.name = portal.name
        app.client_type = Application.CLIENT_CONFIDENTIAL
        app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
        app.redirect_uris = portal.redirect_uri
        app.algorithm = Application.RS256_ALGORITHM
        app.skip_authorization = False
        app.client_secret = secret  # hashed by the model on save
        app.save()
        written.append(
            {
                "client_id": portal.client_id,
                "client_secret": secret,
                "name": portal.name,
                "redirect_uri": portal.redirect_uri,
            }
        )
    path = demo_clients_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps(written, ensure_ascii=False, indent=2), encoding="utf-8")
    return written
