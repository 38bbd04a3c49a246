from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from shebao.api.v1 import api

admin.site.site_header = "社保卡与全民参保登记系统 · 管理后台"
admin.site.site_title = "shebao 管理后台"

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("reports/", include("shebao.reports.urls")),
    path("registration/", include("shebao.registration.urls")),
    path("cards/", include("shebao.cards.urls")),
    path("payments/", include("shebao.payments.urls")),
    path("ecard/", include("shebao.ecard.urls")),
    path("partners/", include("shebao.partners.urls")),
    path("sso/", include("shebao.sso.urls")),
    path("o/", include("shebao.sso.provider_urls")),
    path("usage/", include("shebao.usage.urls")),
    path("me/", include("shebao.citizen.urls")),
    path("account/", include("shebao.accounts.urls")),
    path("", include("shebao.web.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
