from django.apps import AppConfig
from django.db.models.signals import post_save


class CardsConfig(AppConfig):
    name = "shebao.cards"
    label = "cards"
    verbose_name = "社会保障卡发行"

    def ready(self) -> None:
        from shebao.cards import (
            admin_custody,  # noqa: F401 - registers the custody admin
            jobs,  # noqa: F401 - registers the daily rules with the worker
        )
        from shebao.cards.receivers import person_saved
        from shebao.registry.models import Person

        # A death recorded in the registry cancels the person's cards (see receivers).
        post_save.connect(person_saved, sender=Person, dispatch_uid="cards_cancel_on_death")
