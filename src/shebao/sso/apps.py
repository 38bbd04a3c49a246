from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "shebao.sso"
    label = "sso"
    verbose_name = "单点登录"
