from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "shebao.geo"
    label = "geo"
    verbose_name = "行政区划"
