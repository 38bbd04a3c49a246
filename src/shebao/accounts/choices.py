from django.db import models


class OrganisationKind(models.TextChoices):
    BUREAU = "bureau", "人社局"
    CARD_CENTRE = "card_centre", "社保卡管理中心"
    DISTRICT_CARD_OFFICE = "district_card_office", "区卡办"
    DATA_CENTRE = "data_centre", "信息中心"
    DEPARTMENT = "department", "职能部门"
    EMPLOYER = "employer", "用人单位"
    PUBLIC_INSTITUTION = "public_institution", "事业单位"
    SCHOOL = "school", "学校"
    TOWN_OFFICE = "town_office", "镇（街道）办事处"
    VILLAGE_COMMITTEE = "village_committee", "村（居）委会"
    BANK = "bank", "合作银行"
    BANK_BRANCH = "bank_branch", "银行网点"
    CARD_VENDOR = "card_vendor", "制卡厂商"
    PARTNER = "partner", "合作机构"
    PAYING_OFFICE = "paying_office", "待遇发放机构"


class Role(models.TextChoices):
    LEADER_VIEWER = "leader_viewer", "领导查看"
    CARD_CENTRE_OPERATOR = "card_centre_operator", "卡中心经办"
    DISTRICT_CLERK = "district_clerk", "区级经办"
    TOWN_CLERK = "town_clerk", "镇（街）经办"
    VILLAGE_CLERK = "village_clerk", "村（居）经办"
    DEPARTMENT_CLERK = "department_clerk", "部门经办"
    EMPLOYER_CLERK = "employer_clerk", "单位经办"
    BANK_OPERATOR = "bank_operator", "银行经办"
    SURVEYOR = "surveyor", "入户调查员"
    AUDITOR = "auditor", "审计员"
    SYSTEM_ADMIN = "system_admin", "系统管理员"
    PAYING_OFFICE_CLERK = "paying_office_clerk", "待遇发放经办"
    PARTNER_OPERATOR = "partner_operator", "合作机构经办"
    CITIZEN = "citizen", "持卡人"


# Roles whose accounts reach card, bank-account or whole-system data: they sign in with a
# password AND a time-based one-time code (TOTP). Staff and superusers (the admin site) too.
SECOND_FACTOR_ROLES: frozenset[str] = frozenset(
    {Role.CARD_CENTRE_OPERATOR, Role.BANK_OPERATOR, Role.AUDITOR, Role.SYSTEM_ADMIN}
)


class ApiScope(models.TextChoices):
    """What an API token may call: one scope per API router (`/api/v1/<scope>/...`)."""

    PERSONS = "persons", "人员查询"
    CARDS = "cards", "社保卡发行"
    REGISTRATION = "registration", "全民参保登记"
    PARTNERS = "partners", "一卡通合作机构"
    PAYMENTS = "payments", "待遇及补贴发放"
    USAGE = "usage", "用卡服务"


class AuditAction(models.TextChoices):
    LOGIN = "login", "登录"
    LOGIN_FAILED = "login_failed", "登录失败"
    LOCKED_OUT = "locked_out", "账号锁定"
    LOGOUT = "logout", "退出"
    VIEW_PERSON = "view_person", "查看个人信息（脱敏）"
    REVEAL_PERSON = "reveal_person", "查看完整个人信息"
    SEARCH_PERSON = "search_person", "查询人员"
    API_LOOKUP_PERSON = "api_lookup_person", "接口查询人员"
    CREATE = "create", "新增"
    UPDATE = "update", "修改"
    DELETE = "delete", "删除"
    EXPORT = "export", "导出"
    IMPORT = "import", "导入"
    TOKEN_CREATE = "token_create", "创建接口令牌"
    TOKEN_REVOKE = "token_revoke", "吊销接口令牌"
    DENIED = "denied", "越权访问被拒绝"
    APPROVE = "approve", "审批"
    ISSUE_ECARD = "issue_ecard", "签发电子社保卡"
    QR_REDEEM = "qr_redeem", "扫码核验"
    IDENTITY_VERIFY = "identity_verify", "身份核验"
    SSO_LOGIN = "sso_login", "单点登录"
    CONSENT_GRANT = "consent_grant", "授权登录"
    CONSENT_REVOKE = "consent_revoke", "撤销授权"
    DOWNLOAD = "download", "下载"
    OTP_ENROL = "otp_enrol", "绑定动态口令"
    OTP_PASSED = "otp_passed", "动态口令验证通过"
    OTP_FAILED = "otp_failed", "动态口令错误"
    OTP_RESET = "otp_reset", "重置动态口令"


class Purpose(models.TextChoices):
    """Why personal data was looked at; the user picks one (and may add a note)."""

    CARD_SERVICE = "card_service", "社保卡业务办理"
    REGISTRATION = "registration", "全民参保登记核查"
    SURVEY = "survey", "入户调查"
    CITIZEN_REQUEST = "citizen_request", "本人申请查询"
    DATA_CORRECTION = "data_correction", "数据纠错"
    AUDIT = "audit", "审计检查"
    PAYMENT = "payment", "待遇及补贴发放"
    IDENTITY_VERIFICATION = "identity_verification", "身份核验"
    SERVICE_WINDOW = "service_window", "办事"
    CARD_USE = "card_use", "用卡服务"
    SINGLE_SIGN_ON = "single_sign_on", "单点登录"
    OTHER = "other", "其他（须说明）"
