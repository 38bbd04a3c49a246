"""Who may open each page and API endpoint, declared in one table the tests read (ADR 0014).

Every route of the URL configuration (by URL name) and every operation of the API schema
(by method and path) has an `AccessRule` here: the roles served, the kind of object its URL
names (so the access-matrix test can ask for one inside and one outside the user's scope),
and whether it shows personal data (so the audit-completeness test can check the audit row).
The views still enforce access themselves (decorators, selectors, `Scope`); this table is the
specification the generated matrix holds them to. A route missing from it fails the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from shebao.accounts.choices import Role

# Audiences. ANONYMOUS is nobody signed in; the rest are role values.
ANONYMOUS = "anonymous"
CITIZEN = frozenset({Role.CITIZEN.value})
# The offices that run the programme: holders and partner staff are never staff, and the
# views enforce it with `shebao.accounts.decorators.staff_required`.
PARTNER = frozenset({Role.PARTNER_OPERATOR.value})
STAFF = frozenset(r for r in Role.values if r not in (Role.CITIZEN, Role.PARTNER_OPERATOR))
SIGNED_IN = frozenset(Role.values)
PUBLIC = SIGNED_IN | {ANONYMOUS}
NOBODY: frozenset[str] = frozenset()


def roles(*members: Role) -> frozenset[str]:
    return frozenset(m.value for m in members)


@dataclass(frozen=True)
class AccessRule:
    """How one route is guarded.

    audience: the roles (and ANONYMOUS) the route serves; anyone else is turned away with
        403, 404 or a redirect to a sign-in page — never the content.
    obj: the kind of object the URL names (`person`, `village`, `partner`, ...), for routes
        whose answer depends on whether that object is in the user's scope.
    personal: the answer shows personal data of named persons, so it writes an audit row
        with the actor, a purpose and the persons concerned.
    token: the route is served to a credential other than a session (a partner terminal's
        token, an OAuth2 client), checked by its own tests.
    unaudited: why a page that shows persons writes no audit row (the audit log itself).
    """

    audience: frozenset[str]
    obj: str | None = None
    personal: bool = False
    token: bool = False
    why: str = ""
    # Shows persons without an audit row of its own, for the reason given (reviewed).
    unaudited: str = ""


@dataclass(frozen=True)
class Route:
    key: str  # URL name ("web:person_detail") or API operation ("GET /api/v1/persons/{id}")
    path: str  # the pattern, for messages and for filling in URL arguments
    kwargs: tuple[str, ...]
    methods: tuple[str, ...] = ("GET",)


def django_routes() -> Iterator[Route]:
    """Every named page of the URL configuration, the API's operations excepted (the API
    schema lists those, with their methods)."""

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> Iterator[Route]:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace or ""
                full = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
                yield from walk(pattern, prefix + str(pattern.pattern), full)
            elif isinstance(pattern, URLPattern):
                path = prefix + str(pattern.pattern)
                name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
                if namespace == "api-v1" and pattern.name not in API_SITE_PAGES:
                    continue
                yield Route(
                    key=name or f"unnamed:{path}",
                    path="/" + path,
                    kwargs=tuple(pattern.pattern.regex.groupindex),
                )

    yield from walk(get_resolver(), "", "")


API_SITE_PAGES = frozenset({"openapi-json", "openapi-view", "api-root"})


def api_routes(schema: dict[str, Any]) -> Iterator[Route]:
    """Every operation in the API schema, keyed by method and path."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            params = tuple(
                p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"
            )
            yield Route(
                key=f"{method.upper()} {path}",
                path=path,
                kwargs=params,
                methods=(method.upper(),),
            )


def rule_for(key: str) -> AccessRule | None:
    if key in RULES:
        return RULES[key]
    for prefix, rule in PREFIX_RULES.items():
        if key.startswith(prefix):
            return rule
    return None


# Groups of roles several pages share (the views check the same sets).
FIGURES = roles(
    Role.LEADER_VIEWER, Role.CARD_CENTRE_OPERATOR, Role.DISTRICT_CLERK, Role.SYSTEM_ADMIN
)
COVERAGE = FIGURES | roles(Role.TOWN_CLERK, Role.VILLAGE_CLERK)
IMPORTS = roles(
    Role.CARD_CENTRE_OPERATOR, Role.DISTRICT_CLERK, Role.DEPARTMENT_CLERK, Role.SYSTEM_ADMIN
)
FINDINGS = roles(
    Role.CARD_CENTRE_OPERATOR,
    Role.DISTRICT_CLERK,
    Role.TOWN_CLERK,
    Role.VILLAGE_CLERK,
    Role.SURVEYOR,
    Role.SYSTEM_ADMIN,
)
PAYMENTS = roles(
    Role.CARD_CENTRE_OPERATOR, Role.AUDITOR, Role.SYSTEM_ADMIN, Role.PAYING_OFFICE_CLERK
)
PAYMENT_CLERKS = roles(Role.SYSTEM_ADMIN, Role.PAYING_OFFICE_CLERK)
BANK = roles(Role.BANK_OPERATOR, Role.SYSTEM_ADMIN)
CARD_CENTRE = roles(Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN)
PARTNER_DESK = roles(Role.LEADER_VIEWER, Role.CARD_CENTRE_OPERATOR, Role.AUDITOR, Role.SYSTEM_ADMIN)
CUSTODY_API = roles(
    Role.CARD_CENTRE_OPERATOR,
    Role.DISTRICT_CLERK,
    Role.TOWN_CLERK,
    Role.VILLAGE_CLERK,
    Role.DEPARTMENT_CLERK,
    Role.EMPLOYER_CLERK,
    Role.BANK_OPERATOR,
    Role.SURVEYOR,
)
BANK_AND_VENDOR = roles(Role.CARD_CENTRE_OPERATOR, Role.BANK_OPERATOR)

# Pages served to every signed-in account, holders and partner staff included. Each says
# why in its rule; every other page names its roles (issue #14 §1: the dozen staff pages
# once declared this way now use STAFF and `staff_required`).
_LANDING = "the landing page after sign-in: the user's own roles, scope and menu, no records"
_API_DOC = "the API description, the same for every account, no records"
_OWN_TOKENS = "a user's own API tokens only (partner staff may hold one); holders get 404"

_PERSON = "person"
_SHOWN = "shows named persons (masked), audited with the stated purpose"

# Routes served by a maintained library under one policy.
PREFIX_RULES: dict[str, AccessRule] = {
    # ---- the admin site's own pages: staff accounts (the administrator role) see its index
    "admin:login": AccessRule(PUBLIC),
    "admin:logout": AccessRule(PUBLIC),
    "admin:index": AccessRule(roles(Role.SYSTEM_ADMIN)),
    "admin:password_change": AccessRule(roles(Role.SYSTEM_ADMIN)),
    "admin:password_change_done": AccessRule(roles(Role.SYSTEM_ADMIN)),
    "admin:jsi18n": AccessRule(roles(Role.SYSTEM_ADMIN)),
    # Django's admin: its model pages need model permissions, which no role grants — only
    # superusers use them; person pages and ID number searches in it are audited
    # (registry.admin).
    "admin:": AccessRule(NOBODY, why="the admin site's model pages, superusers only"),
}

RULES: dict[str, AccessRule] = {
    # ---- sign-in pages and public service pages
    "web:login": AccessRule(PUBLIC),
    "web:login_code": AccessRule(PUBLIC, why="second step of sign-in"),
    "web:login_enrol": AccessRule(PUBLIC, why="second-factor enrolment during sign-in"),
    "web:logout": AccessRule(PUBLIC),
    "web:home": AccessRule(SIGNED_IN, why=_LANDING),
    "citizen:login": AccessRule(PUBLIC),
    "citizen:logout": AccessRule(PUBLIC),
    "sso:login": AccessRule(PUBLIC),
    "sso:qr_status": AccessRule(PUBLIC),
    "sso:qr_complete": AccessRule(PUBLIC),
    "sso:qr_confirm": AccessRule(CITIZEN, obj="qr_login"),
    "cards:self_service": AccessRule(PUBLIC, why="a holder proves card number and ID number"),
    "cards:home_service_book": AccessRule(PUBLIC, why="a holder books a home visit"),
    "ecard:keys": AccessRule(PUBLIC, why="public verification keys"),
    "partners:directory": AccessRule(PUBLIC, why="public list of service points"),
    "usage:metrics": AccessRule(PUBLIC, why="aggregate figures only"),
    "api-v1:openapi-json": AccessRule(SIGNED_IN, why=_API_DOC),
    "api-v1:openapi-view": AccessRule(SIGNED_IN, why=_API_DOC),
    "api-v1:api-root": AccessRule(NOBODY, why="ninja's catch-all, answers 404"),
    # ---- the OIDC provider (django-oauth-toolkit): clients and tokens, not sessions
    "oauth2_provider:authorize": AccessRule(CITIZEN, token=True),
    "oauth2_provider:token": AccessRule(NOBODY, token=True),
    "oauth2_provider:revoke-token": AccessRule(NOBODY, token=True),
    "oauth2_provider:introspect": AccessRule(NOBODY, token=True),
    "oauth2_provider:oidc-connect-discovery-info": AccessRule(PUBLIC),
    "oauth2_provider:jwks-info": AccessRule(PUBLIC),
    "oauth2_provider:user-info": AccessRule(NOBODY, token=True),
    "oauth2_provider:rp-initiated-logout": AccessRule(NOBODY, token=True),
    # ---- the holder's own pages (the holder's own data: no purpose asked)
    "citizen:home": AccessRule(CITIZEN),
    "citizen:cards": AccessRule(CITIZEN),
    "citizen:loss": AccessRule(CITIZEN),
    "citizen:card_use": AccessRule(CITIZEN),
    "citizen:access_log": AccessRule(CITIZEN),
    "citizen:consents": AccessRule(CITIZEN),
    "citizen:consent_revoke": AccessRule(CITIZEN),
    "ecard:mine": AccessRule(CITIZEN),
    "ecard:next_code": AccessRule(CITIZEN),
    "ecard:apply": AccessRule(CITIZEN),
    # ---- persons
    "web:person_search": AccessRule(STAFF, personal=True, why=_SHOWN),
    "web:person_detail": AccessRule(STAFF, obj=_PERSON, personal=True, why=_SHOWN),
    "web:person_reveal": AccessRule(STAFF, obj=_PERSON, personal=True),
    "web:person_revoke_death": AccessRule(STAFF, obj=_PERSON),
    "web:audit_list": AccessRule(
        roles(Role.AUDITOR, Role.SYSTEM_ADMIN),
        unaudited="the audit log itself, masked, read by auditors only",
    ),
    "web:audit_export": AccessRule(roles(Role.AUDITOR, Role.SYSTEM_ADMIN)),
    "accounts:api_tokens": AccessRule(STAFF | PARTNER, why=_OWN_TOKENS),
    "accounts:api_token_revoke": AccessRule(STAFF | PARTNER, obj="api_token", why=_OWN_TOKENS),
    # ---- figures and reports
    "reports:bulletin": AccessRule(FIGURES),
    "reports:bulletin_produce": AccessRule(FIGURES),
    "reports:bulletin_stored": AccessRule(FIGURES, obj="bulletin"),
    "reports:bulletin_correct": AccessRule(FIGURES, obj="bulletin"),
    "reports:dashboard": AccessRule(FIGURES),
    "reports:dashboard_data": AccessRule(FIGURES),
    "reports:dashboard_export": AccessRule(FIGURES),
    "reports:targets": AccessRule(FIGURES),
    "reports:work_plan": AccessRule(STAFF),
    "reports:work_plan_import": AccessRule(FIGURES),
    "reports:work_plan_export": AccessRule(STAFF, obj="work_plan"),
    "reports:work_plan_item_status": AccessRule(STAFF, obj="work_plan_item"),
    "usage:records": AccessRule(FIGURES),
    "usage:upload": AccessRule(roles(Role.PARTNER_OPERATOR)),
    # ---- universal insurance registration
    "registration:imports": AccessRule(IMPORTS),
    "registration:import_detail": AccessRule(IMPORTS, obj="import_batch"),
    "registration:import_current": AccessRule(IMPORTS, obj="import_batch"),
    "registration:import_rejected": AccessRule(IMPORTS, obj="import_batch", personal=True),
    "registration:runs": AccessRule(FIGURES),
    "registration:run_detail": AccessRule(FIGURES, obj="run"),
    "registration:findings": AccessRule(FINDINGS, personal=True, why=_SHOWN),
    "registration:findings_export": AccessRule(FINDINGS, personal=True),
    "registration:findings_assign": AccessRule(FINDINGS),
    "registration:finding_detail": AccessRule(FINDINGS, obj="finding", personal=True),
    "registration:finding_assign": AccessRule(FINDINGS, obj="finding"),
    "registration:finding_resolve": AccessRule(FINDINGS, obj="finding"),
    "registration:survey": AccessRule(FINDINGS),
    "registration:roster": AccessRule(FINDINGS, obj="village", personal=True, why=_SHOWN),
    "registration:roster_xlsx": AccessRule(FINDINGS, obj="village", personal=True),
    "registration:survey_person": AccessRule(FINDINGS, obj=_PERSON, personal=True),
    "registration:coverage": AccessRule(COVERAGE),
    "registration:coverage_data": AccessRule(COVERAGE),
    "registration:coverage_export": AccessRule(COVERAGE),
    "registration:job_progress": AccessRule(STAFF, obj="job"),
    "registration:job_progress_fragment": AccessRule(STAFF, obj="job"),
    # ---- card issuing, custody, counter
    "cards:issuing_batches": AccessRule(STAFF),
    "cards:issuing_batch": AccessRule(STAFF, obj="application_batch", personal=True),
    "cards:issuing_batch_forward": AccessRule(STAFF, obj="application_batch"),
    "cards:issuing_batch_correct": AccessRule(STAFF, obj="application_batch"),
    "cards:issuing_batch_ineligible": AccessRule(STAFF, obj="application_batch", personal=True),
    "cards:issuing_counter": AccessRule(roles(Role.VILLAGE_CLERK)),
    "cards:issuing_counter_submit": AccessRule(roles(Role.VILLAGE_CLERK)),
    "cards:issuing_production": AccessRule(STAFF),
    "cards:issuing_production_form": AccessRule(CARD_CENTRE),
    "cards:issuing_production_export": AccessRule(
        CARD_CENTRE, obj="production_batch", personal=True
    ),
    "cards:issuing_production_import": AccessRule(CARD_CENTRE),
    "cards:issuing_production_remake": AccessRule(CARD_CENTRE),
    "cards:issuing_accounts": AccessRule(STAFF),
    "cards:issuing_accounts_download": AccessRule(
        BANK_AND_VENDOR, obj="account_request", personal=True
    ),
    "cards:issuing_accounts_import": AccessRule(BANK_AND_VENDOR),
    "cards:issuing_accounts_resubmit": AccessRule(CARD_CENTRE),
    "cards:custody_home": AccessRule(STAFF, personal=True, why=_SHOWN),
    "cards:custody_dispatch": AccessRule(STAFF),
    "cards:handover_detail": AccessRule(STAFF, obj="handover", personal=True),
    "cards:handover_receive": AccessRule(STAFF, obj="handover"),
    "cards:handover_cancel": AccessRule(STAFF, obj="handover"),
    "cards:handover_print": AccessRule(STAFF, obj="handover", personal=True),
    "cards:shortages": AccessRule(STAFF),
    "cards:pickup": AccessRule(STAFF, personal=True),
    "cards:receipts": AccessRule(STAFF),
    "cards:receipts_send": AccessRule(STAFF),
    "cards:receipt_print": AccessRule(STAFF, obj="receipt", personal=True),
    "cards:receipt_seal": AccessRule(STAFF, obj="receipt"),
    "cards:receipt_signature": AccessRule(STAFF, obj="receipt", personal=True),
    "cards:recall": AccessRule(STAFF, personal=True),
    "cards:subsidy": AccessRule(STAFF),
    "cards:subsidy_export": AccessRule(STAFF),
    "cards:counter": AccessRule(STAFF, personal=True),
    "cards:postal": AccessRule(CARD_CENTRE, personal=True),
    "cards:postal_labels": AccessRule(CARD_CENTRE, personal=True),
    "cards:postal_export": AccessRule(CARD_CENTRE, personal=True),
    "cards:reissue_receipt": AccessRule(STAFF, obj="reissue", personal=True),
    "cards:instant": AccessRule(roles(Role.BANK_OPERATOR)),
    "cards:instant_result": AccessRule(
        roles(Role.BANK_OPERATOR), obj="instant_issuance", personal=True
    ),
    "cards:home_service_work": AccessRule(
        roles(Role.CARD_CENTRE_OPERATOR, Role.DISTRICT_CLERK, Role.TOWN_CLERK, Role.SYSTEM_ADMIN),
        personal=True,
    ),
    "cards:cross_city": AccessRule(
        roles(
            Role.CARD_CENTRE_OPERATOR,
            Role.DISTRICT_CLERK,
            Role.TOWN_CLERK,
            Role.BANK_OPERATOR,
            Role.SYSTEM_ADMIN,
        ),
        personal=True,
    ),
    # ---- payments
    "payments:batches": AccessRule(PAYMENTS),
    "payments:batch_new": AccessRule(PAYMENT_CLERKS),
    "payments:batch": AccessRule(PAYMENTS, obj="payment_batch", personal=True),
    "payments:job": AccessRule(PAYMENTS, obj="job"),
    "payments:job_progress": AccessRule(STAFF, obj="job"),
    "payments:job_progress_fragment": AccessRule(STAFF, obj="job"),
    "payments:failures": AccessRule(PAYMENTS, personal=True),
    "payments:recoveries": AccessRule(PAYMENTS, personal=True),
    "payments:withholding": AccessRule(PAYMENTS, personal=True),
    "payments:deductions": AccessRule(PAYMENTS),
    "payments:bank_files": AccessRule(BANK),
    "payments:bank_file_download": AccessRule(BANK, obj="bank_file", personal=True),
    "payments:bank_deductions": AccessRule(BANK),
    "payments:bank_deduction_download": AccessRule(BANK, obj="deduction_file", personal=True),
    # ---- partners
    "partners:window": AccessRule(STAFF),
    "partners:list": AccessRule(PARTNER_DESK),
    "partners:detail": AccessRule(PARTNER_DESK, obj="partner"),
    "partners:action": AccessRule(CARD_CENTRE, obj="partner"),
    "partners:scopes": AccessRule(CARD_CENTRE, obj="partner"),
    "partners:point_create": AccessRule(CARD_CENTRE, obj="partner"),
    "partners:terminal_issue": AccessRule(CARD_CENTRE, obj="partner"),
    "partners:terminal_rotate": AccessRule(CARD_CENTRE, obj="terminal"),
    "partners:mine": AccessRule(roles(Role.PARTNER_OPERATOR)),
    # ---- the API, by method and path (session or bearer token; partner terminals apart)
    "GET /api/v1/persons/{id_number}": AccessRule(STAFF, obj="id_number", personal=True),
    "GET /api/v1/cards/account-requests": AccessRule(BANK_AND_VENDOR),
    "GET /api/v1/cards/account-requests/{code}/file": AccessRule(
        BANK_AND_VENDOR, obj="account_request_code", personal=True
    ),
    "POST /api/v1/cards/account-requests/results": AccessRule(BANK_AND_VENDOR),
    "GET /api/v1/cards/production-batches": AccessRule(NOBODY, why="card vendors' tokens"),
    "GET /api/v1/cards/production-batches/{code}/file": AccessRule(
        NOBODY, obj="production_batch_code", personal=True, why="card vendors' tokens"
    ),
    "POST /api/v1/cards/production-batches/results": AccessRule(NOBODY),
    "GET /api/v1/cards/custody/cards": AccessRule(CUSTODY_API, personal=True),
    "GET /api/v1/cards/custody/handovers": AccessRule(CUSTODY_API),
    "POST /api/v1/cards/custody/handovers": AccessRule(CUSTODY_API),
    "POST /api/v1/cards/custody/handovers/{number}/confirm": AccessRule(
        CUSTODY_API, obj="handover_number"
    ),
    "POST /api/v1/cards/instant-issuance": AccessRule(roles(Role.BANK_OPERATOR)),
    "POST /api/v1/cards/cross-city/service": AccessRule(roles(Role.BANK_OPERATOR)),
    "POST /api/v1/registration/imports": AccessRule(IMPORTS),
    "GET /api/v1/registration/imports/{batch_id}": AccessRule(IMPORTS, obj="import_batch"),
    "POST /api/v1/registration/imports/{batch_id}/current": AccessRule(IMPORTS, obj="import_batch"),
    "GET /api/v1/registration/findings": AccessRule(FINDINGS, personal=True),
    "GET /api/v1/registration/persons/{id_number}": AccessRule(
        FINDINGS, obj="id_number", personal=True
    ),
    "GET /api/v1/partners/directory": AccessRule(PUBLIC, why="public list of service points"),
    "GET /api/v1/payments/batches": AccessRule(PAYMENTS),
    "GET /api/v1/payments/batches/{code}": AccessRule(PAYMENTS, obj="payment_batch"),
    "GET /api/v1/payments/batches/{code}/rows": AccessRule(
        PAYMENTS, obj="payment_batch", personal=True
    ),
    "POST /api/v1/payments/batches/{code}/approve": AccessRule(PAYMENTS, obj="payment_batch"),
    "GET /api/v1/payments/batches/{code}/reconciliation": AccessRule(PAYMENTS, obj="payment_batch"),
    "GET /api/v1/payments/bank-files": AccessRule(PAYMENTS | BANK),
    "GET /api/v1/payments/bank-files/{code}/file": AccessRule(
        PAYMENTS | BANK, obj="bank_file", personal=True
    ),
    "POST /api/v1/payments/bank-files/results": AccessRule(BANK),
    "GET /api/v1/payments/deduction-files": AccessRule(PAYMENTS | BANK),
    "GET /api/v1/payments/deduction-files/{code}/file": AccessRule(
        PAYMENTS | BANK, obj="deduction_file", personal=True
    ),
    "POST /api/v1/payments/deduction-files/results": AccessRule(BANK),
}

# Partner terminals call these with their own OAuth2 client-credentials token (ADR 0009);
# a session is never enough. Tested in tests/integration/partners and usage.
for _key in (
    "POST /api/v1/partners/verify",
    "POST /api/v1/partners/qr/redeem",
    "GET /api/v1/partners/changes",
    "GET /api/v1/partners/me",
    "GET /api/v1/partners/terminals",
    "GET /api/v1/partners/terminals/{code}",
    "GET /api/v1/partners/calls",
    "POST /api/v1/usage/records",
    "POST /api/v1/usage/batch",
):
    RULES[_key] = AccessRule(NOBODY, token=True, why="partner terminals' tokens")
