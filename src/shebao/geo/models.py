from __future__ import annotations

from django.db import models

from shebao.geo.choices import RegionLevel


class Region(models.Model):
    """An administrative division: GB/T 2260 (6 digits) plus towns (9) and villages (12)."""

    code = models.CharField("区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=64, db_index=True)
    level = models.PositiveSmallIntegerField("级别", choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # The subtree prefix (see geo.codes.prefix_of): scoping filters on it with LIKE 'p%'.
    prefix = models.CharField("子树前缀", max_length=12, db_index=True)
    full_name = models.CharField("全称", max_length=255, blank=True)

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=5), name="region_level_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"
