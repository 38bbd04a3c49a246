"""The navigation menu by role, and the page breadcrumb.

Every page a feature adds gets one `NavItem` in `NAV`; the side menu, the home page's
shortcuts and the header all read from here. `roles` names the roles that see an entry
(empty: every signed-in user); `staff_only` entries need Django's staff flag (the admin).
Entries only decide what is *shown*: the selectors and services behind a page still check
scope and roles themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.urls import get_script_prefix, reverse

from shebao.accounts.choices import Role
from shebao.accounts.decorators import OFFICE_ROLES
from shebao.accounts.models import User
from shebao.payments import roles as payment_roles
from shebao.registration import roles as registration_roles

# Sections of the side menu, in display order.
SECTION_WORK = "业务办理"
SECTION_SUPERVISION = "监督检查"
SECTION_SYSTEM = "系统"
SECTIONS: tuple[str, ...] = (SECTION_WORK, SECTION_SUPERVISION, SECTION_SYSTEM)


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str] = frozenset()
    staff_only: bool = False
    description: str = ""
    section: str = SECTION_WORK
    # Shown on the home page as a shortcut card (the home entry itself is not).
    on_home: bool = True


@dataclass(frozen=True)
class MenuEntry:
    """A navigation entry resolved for one user."""

    label: str
    url: str
    description: str
    section: str
    on_home: bool
    active: bool = False


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str = ""


AUDIT_ROLES = frozenset({Role.AUDITOR, Role.SYSTEM_ADMIN})
REPORT_ROLES = frozenset(
    {Role.LEADER_VIEWER, Role.CARD_CENTRE_OPERATOR, Role.DISTRICT_CLERK, Role.SYSTEM_ADMIN}
)
WORK_PLAN_ROLES = REPORT_ROLES | {Role.TOWN_CLERK, Role.VILLAGE_CLERK, Role.DEPARTMENT_CLERK}
# Card issuing (cards.views.issuing): every level of the application chain.
ISSUING_BATCH_ROLES = frozenset(
    {
        Role.CARD_CENTRE_OPERATOR,
        Role.DISTRICT_CLERK,
        Role.TOWN_CLERK,
        Role.VILLAGE_CLERK,
        Role.DEPARTMENT_CLERK,
        Role.EMPLOYER_CLERK,
        Role.SYSTEM_ADMIN,
    }
)
# The card custody chain (cards.views.custody).
CUSTODY_ROLES = frozenset(
    {
        Role.CARD_CENTRE_OPERATOR,
        Role.DISTRICT_CLERK,
        Role.TOWN_CLERK,
        Role.VILLAGE_CLERK,
        Role.DEPARTMENT_CLERK,
        Role.EMPLOYER_CLERK,
        Role.SYSTEM_ADMIN,
    }
)
PICKUP_ROLES = frozenset({Role.VILLAGE_CLERK, Role.EMPLOYER_CLERK, Role.SYSTEM_ADMIN})
COUNTER_ROLES = frozenset(
    {Role.BANK_OPERATOR, Role.CARD_CENTRE_OPERATOR, Role.DISTRICT_CLERK, Role.TOWN_CLERK,
     Role.SYSTEM_ADMIN}
)  # fmt: skip
SUBSIDY_ROLES = REPORT_ROLES | {Role.TOWN_CLERK}

NAV: tuple[NavItem, ...] = (
    NavItem("首页", "web:home", on_home=False),
    NavItem(
        "人员查询",
        "web:person_search",
        # Staff only (the page refuses holders and partner staff: `staff_required`).
        roles=OFFICE_ROLES,
        description="按身份证号码或姓名查询管辖范围内的人员，查看户籍、家庭与参保情况。",
    ),
    NavItem(
        "申领批次",
        "cards:issuing_batches",
        roles=ISSUING_BATCH_ROLES,
        description="单位上传集体申领文件和照片，逐级汇总上报，查看不符合制卡条件的记录并更正重报。",
    ),
    NavItem(
        "窗口申领",
        "cards:issuing_counter",
        roles=frozenset({Role.VILLAGE_CLERK}),
        description="村（居）委登记个人申领：银行、电话、照片、签字的申领登记表扫描件。",
    ),
    NavItem(
        "制卡管理",
        "cards:issuing_production",
        roles=frozenset({Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN}),
        description="符合条件的申领组成制卡批次，导出加密送厂文件，导入制卡结果。",
    ),
    NavItem(
        "开户工作台",
        "cards:issuing_accounts",
        roles=frozenset({Role.BANK_OPERATOR, Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN}),
        description="各银行、网点开户进度、完成率、到期与逾期；下载开户数据，上传开户结果，失败清理。",
    ),
    NavItem(
        "卡片交接",
        "cards:custody_home",
        roles=CUSTODY_ROLES,
        description="逐级移交和接收卡片（可扫码），核对短少、多出；签收表上交；逾期卡片回收。",
    ),
    NavItem(
        "领卡发放",
        "cards:pickup",
        roles=PICKUP_ROLES,
        description="核验持卡人（或代领人）身份，登记签名，打印领卡签收表。",
    ),
    NavItem(
        "邮寄到家",
        "cards:postal",
        roles=frozenset({Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN}),
        description="网上申领选择邮寄到家的卡片：登记邮寄单号，登记签收或邮件退回。",
    ),
    NavItem(
        "卡片业务",
        "cards:counter",
        roles=COUNTER_ROLES,
        description="激活、挂失、解挂、密码重置、信息变更、补领、换领、注销。",
    ),
    NavItem(
        "异地通办",
        "cards:cross_city",
        roles=COUNTER_ROLES,
        description="本省其他城市的持卡人持卡到场：核验卡号和身份证号码，办理挂失、解挂、密码重置、信息变更。",
    ),
    NavItem(
        "即时制卡",
        "cards:instant",
        roles=frozenset({Role.BANK_OPERATOR}),
        description="银行网点现场申领：核验身份和照片，开立银行账户，当场制卡发放。",
    ),
    NavItem(
        "待遇发放",
        "payments:batches",
        roles=payment_roles.BATCH_VIEW_ROLES,
        description="待遇及补贴发放批次：导入或生成、逐行校验、更正剔除、复核审批、银行文件、对账、失败重发和追回。",
    ),
    NavItem(
        "待遇发放文件",
        "payments:bank_files",
        roles=payment_roles.BANK_ROLES,
        description="下载发给本行的待遇发放文件和代扣文件（SM4 加密），上传发放和扣款结果。",
    ),
    NavItem(
        "工作补助经费",
        "cards:subsidy",
        roles=SUBSIDY_ROLES,
        section=SECTION_SUPERVISION,
        description="各镇（街）已发放卡片数量与按张计算的工作补助经费。",
    ),
    NavItem(
        "工作计划",
        "reports:work_plan",
        roles=WORK_PLAN_ROLES,
        description="本单位牵头或配合的工作事项、完成时限与进度，逾期事项突出显示。",
    ),
    NavItem(
        "数据导入",
        "registration:imports",
        roles=registration_roles.INTAKE_ROLES,
        description="上传各部门数据文件，查看导入进度和导入批次，下载拒收行。",
    ),
    NavItem(
        "数据比对",
        "registration:runs",
        roles=registration_roles.RUN_VIEW_ROLES,
        description="以最新导入的各部门数据发起比对，查看各类问题数量。",
    ),
    NavItem(
        "比对问题处理",
        "registration:findings",
        roles=registration_roles.FINDING_WORK_ROLES,
        description="本辖区的比对问题：分派、更正、确认或排除，导出清单。",
    ),
    NavItem(
        "入户调查",
        "registration:survey",
        roles=registration_roles.FINDING_WORK_ROLES,
        description="按村（居）生成入户调查花名册，登记调查结果，查看三不漏完成情况。",
    ),
    NavItem(
        "参保覆盖",
        "registration:coverage",
        roles=registration_roles.COVERAGE_ROLES,
        section=SECTION_SUPERVISION,
        description="按地区、险种统计参保覆盖率，对照养老95%、医疗100%目标。",
    ),
    NavItem(
        "合作机构",
        "partners:list",
        roles=frozenset(
            {Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN, Role.AUDITOR, Role.LEADER_VIEWER}
        ),
        description="一卡通合作机构的登记、审批、暂停，服务网点、终端凭证、授权范围、调用限额和调用记录。",
    ),
    NavItem(
        "本机构接入",
        "partners:mine",
        roles=frozenset({Role.PARTNER_OPERATOR}),
        description="本机构的服务网点、终端、授权范围、调用记录和应用目录条目。",
    ),
    NavItem(
        "持卡办事窗口",
        "partners:window",
        roles=frozenset(
            {
                Role.CARD_CENTRE_OPERATOR,
                Role.DISTRICT_CLERK,
                Role.TOWN_CLERK,
                Role.DEPARTMENT_CLERK,
                Role.SYSTEM_ADMIN,
            }
        ),
        description="输入社保卡号或扫描电子社保卡二维码，打开办事群众的人员信息（记入审计，用途为办事）。",
    ),
    NavItem(
        "用卡记录",
        "usage:records",
        roles=frozenset(
            {Role.CARD_CENTRE_OPERATOR, Role.LEADER_VIEWER, Role.DISTRICT_CLERK, Role.SYSTEM_ADMIN}
        ),
        description="各合作机构上传的用卡记录：按领域、服务、地区、月份、卡号查询（持卡人脱敏）。",
    ),
    NavItem(
        "上传用卡记录",
        "usage:upload",
        roles=frozenset({Role.PARTNER_OPERATOR}),
        description="为本机构的终端上传用卡记录 CSV 文件，重复上传不会重复记录。",
    ),
    NavItem(
        "上门服务",
        "cards:home_service_work",
        roles=frozenset(
            {Role.TOWN_CLERK, Role.DISTRICT_CLERK, Role.CARD_CENTRE_OPERATOR, Role.SYSTEM_ADMIN}
        ),
        description="辖区内行动不便群众预约的上门服务：接单、上门登记办结或取消。",
    ),
    NavItem(
        "用卡评估指标",
        "usage:metrics",
        on_home=False,
        description="各地区服务网点数、每月用卡次数、持卡人在各领域用卡的比例（公开页面）。",
    ),
    NavItem(
        "应用目录",
        "partners:directory",
        on_home=False,
        description="受理社保卡的服务：按领域和地区查看（公开页面）。",
    ),
    NavItem(
        "进度看板",
        "reports:dashboard",
        roles=REPORT_ROLES,
        section=SECTION_SUPERVISION,
        description="各地区对照任务目标的完成进度、逐月趋势、合作银行完成率和排名，可逐级下钻。",
    ),
    NavItem(
        "进度通报",
        "reports:bulletin",
        roles=REPORT_ROLES,
        section=SECTION_SUPERVISION,
        description="按月份和地区生成进度通报及附表，下载 Excel、Word、PDF，查看已发布的通报。",
    ),
    NavItem(
        "目标任务",
        "reports:targets",
        roles=REPORT_ROLES,
        section=SECTION_SUPERVISION,
        description="按年度和指标录入各地区、各合作银行的年度目标和逐月累计目标。",
    ),
    NavItem(
        "审计日志",
        "web:audit_list",
        roles=AUDIT_ROLES,
        section=SECTION_SUPERVISION,
        description="按用户、操作、人员和日期检索操作记录，导出 CSV。",
    ),
    NavItem(
        "管理后台",
        "admin:index",
        staff_only=True,
        section=SECTION_SYSTEM,
        description="维护机构、用户、角色与基础数据（Django 管理后台）。",
    ),
    NavItem(
        "接口文档",
        "api-v1:openapi-view",
        section=SECTION_SYSTEM,
        description="对外数据接口 /api/v1 的说明与在线调试（OpenAPI）。",
    ),
)


def _visible(item: NavItem, user: User) -> bool:
    if item.staff_only and not user.is_staff:
        return False
    # Roles, not the superuser flag, decide the menu: a page made for a village clerk's
    # counter would only refuse an administrator who has no village.
    return not item.roles or user.has_role(*item.roles)


@lru_cache(maxsize=256)
def _url(url_name: str, prefix: str) -> str:
    """The menu's URLs are fixed for a process (per script prefix): reversing some thirty
    of them on every page was a measurable part of each page's CPU (issue #14 §4)."""
    return reverse(url_name)


def menu_for(user: User, current_path: str = "") -> list[MenuEntry]:
    """The entries `user` sees, the one matching `current_path` marked active."""
    prefix = get_script_prefix()
    entries = [(item, _url(item.url_name, prefix)) for item in NAV if _visible(item, user)]
    # The longest URL that prefixes the current path wins; "/" only matches itself.
    matches = [
        url
        for _, url in entries
        if current_path == url or (url != "/" and current_path.startswith(url))
    ]
    active_url = max(matches, key=len, default="")
    return [
        MenuEntry(
            label=item.label,
            url=url,
            description=item.description,
            section=item.section,
            on_home=item.on_home,
            active=url == active_url,
        )
        for item, url in entries
    ]


def menu_sections(entries: list[MenuEntry]) -> list[tuple[str, list[MenuEntry]]]:
    """Entries grouped by section, in `SECTIONS` order, empty sections left out."""
    order = {name: i for i, name in enumerate(SECTIONS)}
    grouped: dict[str, list[MenuEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.section, []).append(entry)
    return sorted(grouped.items(), key=lambda kv: order.get(kv[0], len(order)))


def role_labels(user: User) -> list[str]:
    labels = [Role(code).label for code in sorted(user.role_codes) if code in Role.values]
    if user.is_superuser and not labels:
        labels.append("超级管理员")
    return labels


__all__ = [
    "AUDIT_ROLES",
    "NAV",
    "REPORT_ROLES",
    "SECTIONS",
    "WORK_PLAN_ROLES",
    "Crumb",
    "MenuEntry",
    "NavItem",
    "menu_for",
    "menu_sections",
    "role_labels",
]
