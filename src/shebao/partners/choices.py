from django.db import models


class PartnerField(models.TextChoices):
    """The seed's seven fields of cooperation (应用领域)."""

    HUMAN_RESOURCES = "hr", "人社"
    MEDICAL = "medical", "医疗"
    TRANSPORT = "transport", "交通"
    CULTURE_TOURISM = "culture_tourism", "文旅"
    SPORTS = "sports", "体育"
    FINANCE = "finance", "金融"
    GOVERNMENT = "government", "政务"


class PartnerStatus(models.TextChoices):
    APPLIED = "applied", "已申请"
    APPROVED = "approved", "已批准"
    SUSPENDED = "suspended", "已暂停"
    ENDED = "ended", "已终止"


class ServicePointKind(models.TextChoices):
    HOSPITAL = "hospital", "医院"
    PHARMACY = "pharmacy", "药店"
    TRANSIT = "transit", "公交/地铁"
    LIBRARY = "library", "图书馆"
    MUSEUM = "museum", "博物馆"
    SCENIC_SPOT = "scenic_spot", "景区"
    SPORTS_VENUE = "sports_venue", "体育场馆"
    SERVICE_HALL = "service_hall", "政务服务大厅"
    BANK_BRANCH = "bank_branch", "银行网点"
    OTHER = "other", "其他"


class CardFunction(models.TextChoices):
    PHYSICAL_CARD = "physical", "实体卡"
    ECARD = "ecard", "电子卡"
    IDENTITY = "identity", "身份凭证"
    FINANCE = "finance", "金融"
    TRANSPORT = "transport", "交通"


class DirectoryStatus(models.TextChoices):
    IN_SERVICE = "in_service", "已开通"
    PLANNED = "planned", "建设中"
    WITHDRAWN = "withdrawn", "已停用"
