"""django-oauth-toolkit's endpoints at /o/: token, revocation, introspection and the OIDC
discovery, JWKS and userinfo, with our authorization view. Not mounted: the device flow
(no use here) and DOT's application management pages (clients are registered by the card
centre, see shebao.partners and shebao.sso.demo)."""

from django.urls import URLPattern, URLResolver, path, re_path
from oauth2_provider import urls as dot_urls

from shebao.sso.views import CitizenAuthorizationView, ShebaoDiscoveryView

app_name = "oauth2_provider"

_KEPT = {"token", "revoke-token", "introspect"}
_DISCOVERY = "oidc-connect-discovery-info"

urlpatterns: list[URLPattern | URLResolver] = [
    path("authorize/", CitizenAuthorizationView.as_view(), name="authorize"),
    *[p for p in dot_urls.base_urlpatterns if getattr(p, "name", None) in _KEPT],
    # Ours first: the document says what this provider really supports (see the view).
    re_path(
        r"^\.well-known/openid-configuration/?$",
        ShebaoDiscoveryView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    *[p for p in dot_urls.oidc_urlpatterns if getattr(p, "name", None) != _DISCOVERY],
]
