from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "shebao.sms"
    label = "sms"
    verbose_name = "短信与验证码"
