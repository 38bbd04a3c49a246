"""shebao as an OpenID Connect provider, driven by a real client library (authlib) against
the running provider (Django's live server): discovery, JWKS, the ID token's signature and
claims, userinfo, a replayed code and a request without PKCE refused, pairwise subjects,
and a revoked consent ending the portal's access."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from shebao.accounts.choices import AuditAction
from shebao.accounts.models import AuditEvent
from shebao.registry.models import Person
from shebao.sso.choices import Assurance
from shebao.sso.models import Consent
from tests.integration.sso.conftest import Portal, last_code, make_portal

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _csrf(browser: requests.Session, url: str) -> str:
    browser.get(url, timeout=10)
    return str(browser.cookies["csrftoken"])


def _sign_in_by_sms(base: str, person: Person) -> requests.Session:
    """The holder's browser signs in on the provider's page with card number + SMS code."""
    browser = requests.Session()
    login = f"{base}/sso/login/"
    card_number = person.cards.get().card_number
    token = _csrf(browser, login)
    sent = browser.post(
        login,
        data={"csrfmiddlewaretoken": token, "step": "send", "card_number": card_number},
        timeout=10,
    )
    assert "验证码已发送至" in sent.text, sent.text
    done = browser.post(
        login,
        data={"csrfmiddlewaretoken": token, "step": "verify", "code": last_code()},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 302, done.text
    return browser


def _client(base: str, portal: Portal, scope: str = "openid profile") -> OAuth2Session:
    return OAuth2Session(
        portal.client_id,
        portal.client_secret,
        scope=scope,
        redirect_uri=portal.redirect_uri,
        code_challenge_method="S256",
    )


def _authorize(
    browser: requests.Session, client: OAuth2Session, base: str, **extra: str
) -> tuple[str, str]:
    """Run the browser through /o/authorize/ (consenting if asked); the redirect back to
    the portal and the PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    url, _state = client.create_authorization_url(
        f"{base}/o/authorize/", code_verifier=verifier, nonce="n-0S6_WzA2Mj", **extra
    )
    page = browser.get(url, allow_redirects=False, timeout=10)
    if page.status_code == 200:  # the consent page, first time only
        assert "请求使用您的电子社保卡登录" in page.text
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        fields["allow"] = "Authorize"
        page = browser.post(url, data=fields, allow_redirects=False, timeout=10)
    assert page.status_code == 302, page.text
    return page.headers["Location"], verifier


def _jwks(base: str) -> Any:
    discovery = requests.get(f"{base}/o/.well-known/openid-configuration", timeout=10).json()
    return KeySet.import_key_set(requests.get(discovery["jwks_uri"], timeout=10).json())


def _id_claims(id_token: str, base: str) -> dict[str, Any]:
    """The ID token's claims once its RS256 signature checks against the published JWKS and
    its times are valid."""
    token = jwt.decode(id_token, _jwks(base), algorithms=["RS256"])
    jwt.JWTClaimsRegistry(exp={"essential": True}, iat={"essential": True}).validate(token.claims)
    return dict(token.claims)


def test_an_oidc_login_from_a_client_library(live_server: Any, holder: Person) -> None:
    base = live_server.url
    portal = make_portal("湖北政务服务网", "http://zwfw.example.cn/oidc/callback")
    discovery = requests.get(f"{base}/o/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == f"{base}/o"
    assert discovery["authorization_endpoint"] == f"{base}/o/authorize/"
    # The document is valid OIDC Discovery metadata for authlib (all but the issuer's
    # scheme: the test server speaks plain HTTP) and says what the provider really does.
    metadata = OpenIDProviderMetadata(discovery)
    for key in metadata.REGISTRY_KEYS:
        if key != "issuer":
            getattr(metadata, f"validate_{key}")()
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    assert discovery["response_types_supported"] == ["code"]
    assert discovery["subject_types_supported"] == ["pairwise"]
    assert discovery["acr_values_supported"] == [Assurance.SMS.value, Assurance.ECARD.value]
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert {"sub", "acr", "name", "phone_number", "id_number"} <= set(discovery["claims_supported"])
    assert discovery["request_uri_parameter_supported"] is False
    assert {"authorization_code", "refresh_token"} <= set(discovery["grant_types_supported"])

    browser = _sign_in_by_sms(base, holder)
    client = _client(base, portal)
    back, verifier = _authorize(browser, client, base)
    assert back.startswith(portal.redirect_uri)
    token = client.fetch_token(
        discovery["token_endpoint"], authorization_response=back, code_verifier=verifier
    )

    claims = _id_claims(token["id_token"], base)
    assert claims["iss"] == f"{base}/o"
    assert claims["aud"] == portal.client_id
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["acr"] == Assurance.SMS.value
    assert claims["name"] == "李四"
    assert "id_number" not in claims and "phone_number" not in claims  # not in the scope
    assert len(claims["sub"]) == 64 and str(holder.pk) != claims["sub"]

    info = client.get(discovery["userinfo_endpoint"], timeout=10).json()
    assert info["sub"] == claims["sub"] and info["name"] == "李四"
    assert "id_number" not in info

    # A forged signature is refused by the same verification.
    head, body, signature = token["id_token"].split(".")
    forged = f"{head}.{body}.{signature[:-4]}AAAA"
    with pytest.raises(BadSignatureError):
        _id_claims(forged, base)

    assert Consent.objects.filter(user__holder_account__person=holder).count() == 1
    actions = set(AuditEvent.objects.filter(person_id=holder.pk).values_list("action", flat=True))
    assert {AuditAction.CONSENT_GRANT, AuditAction.SSO_LOGIN} <= actions

    # The second sign-in to the same portal asks no consent again.
    again, verifier = _authorize(browser, client, base)
    assert "code=" in again

    # What the document leaves out is refused: an implicit-flow request gets no token.
    implicit = browser.get(
        f"{base}/o/authorize/?"
        + urlencode(
            {
                "response_type": "id_token token",
                "client_id": portal.client_id,
                "redirect_uri": portal.redirect_uri,
                "scope": "openid",
                "nonce": "n-1",
                "code_challenge": "x" * 43,
                "code_challenge_method": "S256",
            }
        ),
        allow_redirects=False,
        timeout=10,
    )
    assert implicit.status_code in {302, 400}
    location = implicit.headers.get("Location", "")
    assert "access_token" not in location and "id_token=" not in location
    assert "error=" in location or implicit.status_code == 400
    # And prompt=login sends the holder to sign in again.
    url, _state = client.create_authorization_url(
        f"{base}/o/authorize/", code_verifier=secrets.token_urlsafe(48), prompt="login"
    )
    relogin = browser.get(url, allow_redirects=False, timeout=10)
    assert relogin.status_code == 302
    assert urlsplit(relogin.headers["Location"]).path == "/sso/login/"


def test_a_replayed_code_and_a_request_without_pkce_are_refused(
    live_server: Any, holder: Person
) -> None:
    base = live_server.url
    portal = make_portal("湖北政务服务网", "http://zwfw.example.cn/oidc/callback")
    browser = _sign_in_by_sms(base, holder)
    client = _client(base, portal)
    back, verifier = _authorize(browser, client, base)
    client.fetch_token(f"{base}/o/token/", authorization_response=back, code_verifier=verifier)
    code = parse_qs(urlsplit(back).query)["code"][0]
    replay = requests.post(
        f"{base}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": portal.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(portal.client_id, portal.client_secret),
        timeout=10,
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"

    plain = OAuth2Session(
        portal.client_id, portal.client_secret, scope="openid", redirect_uri=portal.redirect_uri
    )
    url, _state = plain.create_authorization_url(f"{base}/o/authorize/")
    refused = browser.get(url, allow_redirects=False, timeout=10)
    assert refused.status_code == 302
    error = parse_qs(urlsplit(refused.headers["Location"]).query)
    assert error["error"] == ["invalid_request"]
    assert "code" not in error

    # A code exchanged without its verifier is refused too.
    back, _verifier = _authorize(browser, client, base)
    no_verifier = requests.post(
        f"{base}/o/token/",
        data={
            "grant_type": "authorization_code",
            "code": parse_qs(urlsplit(back).query)["code"][0],
            "redirect_uri": portal.redirect_uri,
        },
        auth=(portal.client_id, portal.client_secret),
        timeout=10,
    )
    assert no_verifier.status_code == 400


def test_two_partners_get_different_subjects_and_a_revoked_consent_ends_access(
    live_server: Any, holder: Person
) -> None:
    base = live_server.url
    first = make_portal("湖北政务服务网", "http://zwfw.example.cn/cb")
    second = make_portal("武汉图书馆", "http://library.example.cn/cb")
    browser = _sign_in_by_sms(base, holder)
    subjects = []
    clients = []
    for portal in (first, second):
        client = _client(base, portal, scope="openid phone")
        back, verifier = _authorize(browser, client, base)
        token = client.fetch_token(
            f"{base}/o/token/", authorization_response=back, code_verifier=verifier
        )
        claims = _id_claims(token["id_token"], base)
        assert claims["phone_number"] == "13800001234" and "name" not in claims
        subjects.append(claims["sub"])
        clients.append(client)
    assert subjects[0] != subjects[1]

    consent = Consent.objects.get(application=first.application)
    page = browser.get(f"{base}/me/consents/", timeout=10)
    assert "湖北政务服务网" in page.text and "武汉图书馆" in page.text
    revoked = browser.post(
        f"{base}/me/consents/revoke/",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"], "consent": consent.pk},
        timeout=10,
    )
    assert "已撤销对「湖北政务服务网」的授权" in revoked.text
    assert clients[0].get(f"{base}/o/userinfo/", timeout=10).status_code == 401
    assert clients[1].get(f"{base}/o/userinfo/", timeout=10).status_code == 200
    assert AuditEvent.objects.filter(
        person_id=holder.pk, action=AuditAction.CONSENT_REVOKE
    ).exists()
