"""Which roles use which registration pages (navigation shows them; views and services
check them)."""

from __future__ import annotations

from typing import Final

from shebao.accounts.choices import Role

INTAKE_ROLES: Final = frozenset(
    {Role.CARD_CENTRE_OPERATOR, Role.DEPARTMENT_CLERK, Role.DISTRICT_CLERK, Role.SYSTEM_ADMIN}
)
RUN_ROLES: Final = frozenset({Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN})
RUN_VIEW_ROLES: Final = RUN_ROLES | {Role.LEADER_VIEWER, Role.DISTRICT_CLERK}
FINDING_WORK_ROLES: Final = frozenset(
    {
        Role.CARD_CENTRE_OPERATOR,
        Role.DISTRICT_CLERK,
        Role.TOWN_CLERK,
        Role.VILLAGE_CLERK,
        Role.SURVEYOR,
        Role.SYSTEM_ADMIN,
    }
)
# Who may export findings with the household number and address: those who visit households.
ADDRESS_EXPORT_ROLES: Final = frozenset(
    {Role.TOWN_CLERK, Role.VILLAGE_CLERK, Role.SURVEYOR, Role.SYSTEM_ADMIN}
)
COVERAGE_ROLES: Final = frozenset(
    {
        Role.LEADER_VIEWER,
        Role.CARD_CENTRE_OPERATOR,
        Role.DISTRICT_CLERK,
        Role.TOWN_CLERK,
        Role.VILLAGE_CLERK,
        Role.SYSTEM_ADMIN,
    }
)
