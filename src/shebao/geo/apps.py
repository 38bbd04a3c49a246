from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "shebao.geo"
    label = "geo"
