from django.db import models


class Gender(models.TextChoices):
    MALE = "M", "男"
    FEMALE = "F", "女"


class HukouType(models.TextChoices):
    HUKOU = "hukou", "户籍"
    NON_HUKOU = "non_hukou", "非户籍"


class LifeStatus(models.TextChoices):
    ALIVE = "alive", "正常"
    DECEASED = "deceased", "死亡"
    MOVED_OUT = "moved_out", "迁出"


class EmployerKind(models.TextChoices):
    GOVERNMENT = "government", "机关"
    PUBLIC_INSTITUTION = "public_institution", "事业单位"
    ENTERPRISE = "enterprise", "企业"
    SOCIAL_ORGANISATION = "social_organisation", "社会组织"
    INDIVIDUAL_BUSINESS = "individual_business", "个体"


class SchemeGroup(models.TextChoices):
    PENSION = "pension", "养老保险"
    MEDICAL = "medical", "医疗保险"
    UNEMPLOYMENT = "unemployment", "失业保险"
    WORK_INJURY = "work_injury", "工伤保险"
    MATERNITY = "maternity", "生育保险"


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "参保缴费"
    SUSPENDED = "suspended", "暂停缴费"
    TERMINATED = "terminated", "终止参保"


# The eight national scheme codes (AAE140) with their names and groups.
SCHEMES: tuple[tuple[str, str, SchemeGroup], ...] = (
    ("110", "企业职工基本养老保险", SchemeGroup.PENSION),
    ("120", "机关事业单位养老保险", SchemeGroup.PENSION),
    ("170", "城乡居民基本养老保险", SchemeGroup.PENSION),
    ("210", "失业保险", SchemeGroup.UNEMPLOYMENT),
    ("310", "职工基本医疗保险", SchemeGroup.MEDICAL),
    ("390", "城乡居民基本医疗保险", SchemeGroup.MEDICAL),
    ("410", "工伤保险", SchemeGroup.WORK_INJURY),
    ("510", "生育保险", SchemeGroup.MATERNITY),
)
SCHEME_CODES = tuple(code for code, _, _ in SCHEMES)
