from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "shebao.payments"
    label = "payments"
    verbose_name = "待遇及补贴发放"
