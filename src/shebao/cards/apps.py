from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "shebao.cards"
    label = "cards"
