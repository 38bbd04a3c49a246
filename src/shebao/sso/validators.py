"""The OpenID Connect rules django-oauth-toolkit leaves to us: pairwise subjects, claims
limited to the granted scopes and the assurance level (acr) of the sign-in."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any, Final

from django.conf import settings
from oauth2_provider.models import AbstractApplication, get_grant_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request

from shebao.sso.domain import pairwise_subject, sector_of
from shebao.sso.holders import holder_person
from shebao.sso.models import GrantAssurance

# Client secrets are stored with the slow password hasher (Argon2id, about a second here);
# a portal presents the same secret on every token request. A correct secret is therefore
# remembered per process for a few minutes, keyed by the stored hash and a SHA-256 of the
# presented secret (never the secret itself). A wrong secret is never remembered and always
# pays the full cost; rotating a secret changes the stored hash, so the old one stops at once.
_SECRET_CACHE_SECONDS: Final[float] = 300.0
_SECRET_CACHE_SIZE: Final[int] = 1024
_verified_secrets: OrderedDict[tuple[str, str], float] = OrderedDict()
_verified_lock = threading.Lock()


def _secret_key(provided: str, stored: str) -> tuple[str, str]:
    return stored, hashlib.sha256(provided.encode()).hexdigest()


def pairwise_key() -> bytes:
    configured = getattr(settings, "SHEBAO_OIDC_PAIRWISE_KEY", "")
    if configured:
        return str(configured).encode()
    return hashlib.sha256(b"shebao.sso.pairwise|" + settings.SECRET_KEY.encode()).digest()


def subject_for(*, application: AbstractApplication, person_id: int) -> str:
    return pairwise_subject(
        key=pairwise_key(), sector=sector_of(application.redirect_uris), person_id=person_id
    )


class ShebaoOAuth2Validator(OAuth2Validator):
    # Which scope releases each claim; a claim not listed here is never released.
    oidc_claim_scope = {
        "sub": "openid",
        "acr": "openid",
        "name": "profile",
        "phone_number": "phone",
        "phone_number_verified": "phone",
        "id_number": "idcard",
    }

    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        key = _secret_key(provided_secret, stored_secret)
        now = time.monotonic()
        with _verified_lock:
            until = _verified_secrets.get(key)
            if until is not None and until > now:
                return True
        ok: bool = super()._check_secret(provided_secret, stored_secret)
        if ok:
            with _verified_lock:
                _verified_secrets[key] = now + _SECRET_CACHE_SECONDS
                _verified_secrets.move_to_end(key)
                while len(_verified_secrets) > _SECRET_CACHE_SIZE:
                    _verified_secrets.popitem(last=False)
        return ok

    def _create_authorization_code(
        self, request: Request, code: dict[str, Any], expires: Any = None
    ) -> Any:
        grant = super()._create_authorization_code(request, code, expires)
        acr = getattr(request, "shebao_acr", "")
        if acr:
            GrantAssurance.objects.create(grant=grant, acr=acr)
        return grant

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        valid: bool = super().validate_code(client_id, code, client, request, *args, **kwargs)
        if valid:
            request.shebao_acr = (
                GrantAssurance.objects.filter(
                    grant__in=get_grant_model().objects.filter(code=code, application=client)
                )
                .values_list("acr", flat=True)
                .first()
                or ""
            )
        return valid

    def _person(self, request: Request) -> Any:
        """The holder behind the request's user, looked up once per request."""
        if not hasattr(request, "shebao_person"):
            request.shebao_person = holder_person(request.user)
        return request.shebao_person

    def get_additional_claims(self, request: Request) -> dict[str, Any]:
        person = self._person(request)
        if person is None:
            # Only holders reach the consent page; a token of anyone else carries no claims.
            return {}
        claims: dict[str, Any] = {
            "name": person.name,
            "id_number": person.id_number,
        }
        if person.phone:
            claims["phone_number"] = person.phone
            claims["phone_number_verified"] = True
        acr = getattr(request, "shebao_acr", "")
        if acr:
            claims["acr"] = acr
        return claims

    def get_claim_dict(self, request: Request) -> dict[str, Any]:
        claims = self.get_additional_claims(request)
        person = self._person(request)
        if person is not None:
            claims["sub"] = subject_for(application=request.client, person_id=person.pk)
        return claims

    def get_discovery_claims(self, request: Request) -> list[str]:
        return list(self.oidc_claim_scope)

    def get_oidc_claims(self, token: Any, token_handler: Any, request: Request) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_oidc_claims(token, token_handler, request)
        if "sub" not in claims:
            # Never fall back to the account's primary key: it would be one join key for
            # every partner.
            raise PermissionError("no holder behind this token")
        return claims
