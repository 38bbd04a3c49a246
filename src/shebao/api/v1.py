from __future__ import annotations

from ninja import NinjaAPI

from shebao.api.auth import api_auth, docs_login_required
from shebao.api.errors import install_error_handlers
from shebao.cards.api import router as cards_router
from shebao.partners.api import router as partners_router
from shebao.payments.api import router as payments_router
from shebao.registration.api import router as registration_router
from shebao.registry.api import router as registry_router
from shebao.usage.api import router as usage_router

api = NinjaAPI(
    title="shebao API",
    version="1.0.0",
    description="社保卡发行与全民参保登记系统接口。错误统一为 {error: {code, message, details}}。",
    auth=api_auth(),
    urls_namespace="api-v1",
    docs_decorator=docs_login_required,
)
install_error_handlers(api)
api.add_router("/persons", registry_router, tags=["人员"])
api.add_router("/cards", cards_router, tags=["社保卡发行（银行、制卡厂商）"])
api.add_router("/registration", registration_router, tags=["全民参保登记"])
api.add_router("/partners", partners_router)
api.add_router("/payments", payments_router, tags=["待遇及补贴发放"])
api.add_router("/usage", usage_router)
