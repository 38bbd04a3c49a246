from django.apps import AppConfig


class EcardConfig(AppConfig):
    name = "shebao.ecard"
    label = "ecard"
    verbose_name = "电子社保卡"

    def ready(self) -> None:
        from shebao.cards.signals import card_replaced, card_status_changed
        from shebao.ecard import (
            jobs,  # noqa: F401  (registers the hourly purge with the worker)
            receivers,
        )

        card_status_changed.connect(
            receivers.on_card_status_changed, dispatch_uid="ecard.card_status_changed"
        )
        card_replaced.connect(receivers.on_card_replaced, dispatch_uid="ecard.card_replaced")
