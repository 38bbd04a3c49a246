from django.db import models


class RegionLevel(models.IntegerChoices):
    PROVINCE = 1, "省级"
    PREFECTURE = 2, "地级"
    COUNTY = 3, "县级"
    TOWN = 4, "乡镇（街道）"
    VILLAGE = 5, "村（居）委会"
